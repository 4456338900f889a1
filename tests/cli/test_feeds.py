"""``monitor feeds`` add, import, export, remove and enable, with a real SQLite database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from monitor.feeds.opml import OpmlFeed, read_opml, write_opml
from monitor.models import FeedSource
from monitor.store import PollOutcome, Store

CONFIGURED = "https://configured.example/rss"


@dataclass
class Cli:
    config: Path
    db_url: str
    runner: CliRunner

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, ["--config", str(self.config), *args],
                                    env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result.stdout if code == 0 else result.stderr

    def listing(self) -> dict[str, dict[str, object]]:
        rows = [json.loads(line) for line in self("feeds", "--json").splitlines()]
        return {str(r["url"]): r for r in rows}

    def store(self) -> Store:
        # The real clock: the CLI stamped the rows with it.
        return Store.open(self.db_url, Path.cwd())

    def write_config(self, feeds: list[dict[str, object]]) -> None:
        self.config.write_text(yaml.safe_dump({
            "database_url": self.db_url, "feeds": feeds}), encoding="utf-8")


@pytest.fixture
def cli(tmp_path: Path, sqlite_url: str) -> Cli:
    c = Cli(tmp_path / "monitor.yaml", sqlite_url, CliRunner())
    c.write_config([{"url": CONFIGURED, "name": "Configured"}])
    c("db", "upgrade")
    return c


def test_added_feeds_are_listed_with_their_settings_and_outlive_config_syncs(cli: Cli) -> None:
    out = cli("feeds", "add", "--no-fetch", "https://b.example/feed", "--name", "B News",
              "--interval", "30m", "--language", "id", "--tag", "asia", "--tag", "wire")
    assert out.strip() == "added: B News <https://b.example/feed>"
    feeds = cli.listing()
    assert feeds["https://b.example/feed"]["origin"] == "cli"
    assert feeds["https://b.example/feed"]["interval"] == 1800
    assert feeds[CONFIGURED]["origin"] == "config"
    # The daemon syncs monitor.yaml at every start: CLI feeds are not the file's to retire.
    store = cli.store()
    store.sync_feeds([])
    store.sync_feeds([FeedSource(CONFIGURED, "Configured", 900)])
    claimed = store.claim_due_feeds("w", timedelta(seconds=60), 10)
    store.close()
    assert {f.url for f in claimed} == {CONFIGURED, "https://b.example/feed"}
    rows = {line.split()[1]: line.split() for line in cli("feeds").splitlines()[1:]}
    assert rows["B"][-3:] == ["cli", "asia,", "wire"] and rows["Configured"][-1] == "file"


def test_adding_again_updates_and_a_removed_feed_comes_back_with_its_history(cli: Cli) -> None:
    cli("feeds", "add", "--no-fetch", "https://b.example/feed")
    assert cli("feeds", "add", "--no-fetch", "https://b.example/feed", "--name",
               "Renamed").startswith("updated: Renamed")
    assert cli("feeds", "remove", "https://b.example/feed").strip() == (
        "removed: https://b.example/feed")
    assert cli.listing()["https://b.example/feed"]["status"] == "removed"
    store = cli.store()
    assert [f.url for f in store.claim_due_feeds("w", timedelta(seconds=60), 10)] == [
        CONFIGURED]
    store.close()
    assert cli("feeds", "add", "--no-fetch", "https://b.example/feed").startswith("added again: ")
    assert cli.listing()["https://b.example/feed"]["configured"] is True


@pytest.mark.parametrize(("url", "reason"), [
    # A feed read from disk belongs in monitor.yaml, whose author trusts it.
    ("file:///etc/passwd", "a local file is a feed only in the configuration file"),
    (__file__, "a local file is a feed only in the configuration file"),
    ("ftp://files.example/feed", "scheme 'ftp' is not fetched (only http and https)\n"),
    ("htps://files.example/feed", "scheme 'htps' is not fetched (only http and https); did "
                                  "you mean https?"),
    ("news.example/rss", "no scheme (only http and https are fetched): write https:// before"),
    ("http://127.0.0.1:8888\\@example.com/", "backslash"),
    ("https://user:pw@news.example/rss", "credentials"),
    ("https://news.example/a b", "whitespace"),
    ("https://news\u200b.example/rss", "invisible character, U+200B ZERO WIDTH SPACE"),
    ("https://www.exa[mple.com/rss", "'[' and ']' belong around an IPv6 address only"),
    # typed in a Latin-1 terminal: Python gives the byte as a lone surrogate (was a traceback)
    ("https://news.example/caf\udce9.xml", "bytes that are not UTF-8"),
])
def test_invalid_urls_are_refused_in_one_line_with_exit_2(cli: Cli, url: str,
                                                          reason: str) -> None:
    err = cli("feeds", "add", url, code=2)
    assert err.count("\n") == 1 and err.startswith("monitor: ") and reason in err
    assert url not in cli.listing()


def test_bad_options_are_refused_with_exit_2(cli: Cli) -> None:
    assert "--interval" in cli("feeds", "add", "https://b.example/", "--interval", "soon",
                               code=2)
    assert "--language" in cli("feeds", "add", "https://b.example/", "--language", "<x>",
                               code=2)
    assert "'zz' is not an ISO 639-1 language code" in cli(
        "feeds", "add", "https://b.example/", "--language", "zz", "--no-fetch", code=2)


def test_configured_feeds_belong_to_the_file(cli: Cli) -> None:
    assert "change it there" in cli("feeds", "add", CONFIGURED, code=2)
    assert "remove it there" in cli("feeds", "remove", CONFIGURED, code=2)
    assert cli("feeds", "remove", "https://nowhere.example/", code=2) == (
        "monitor: https://nowhere.example/ is not in the feed list; monitor feeds lists them\n")
    assert cli("feeds", "remove", "https://configured.example/rs", code=2) == (
        "monitor: https://configured.example/rs is not in the feed list (did you mean "
        "https://configured.example/rss?); monitor feeds lists them\n")
    # A CLI feed that monitor.yaml starts listing is the file's from then on.
    cli("feeds", "add", "--no-fetch", "https://b.example/feed")
    cli.write_config([{"url": CONFIGURED}, {"url": "https://b.example/feed", "name": "B"}])
    assert cli.listing()["https://b.example/feed"]["origin"] == "config"
    cli.write_config([{"url": CONFIGURED}])
    assert cli.listing()["https://b.example/feed"]["status"] == "removed"


def _opml(tmp_path: Path, feeds: list[OpmlFeed]) -> Path:
    path = tmp_path / "list.opml"
    path.write_bytes(write_opml(feeds))
    return path


def test_import_adds_new_feeds_once_and_export_round_trips(cli: Cli, tmp_path: Path) -> None:
    listed = [OpmlFeed(f"https://site{i}.example/rss", f"Site {i}", tags=("news", f"t{i % 3}"))
              for i in range(120)]
    listed.append(OpmlFeed(CONFIGURED, "Configured again"))
    path = _opml(tmp_path, listed)
    out = cli("feeds", "import", str(path))
    assert out.strip() == (f"{path}: 121 feeds: 120 added, 0 added again, 1 already listed, "
                           "0 refused")
    again = cli("feeds", "import", str(path))
    assert "0 added, 0 added again, 121 already listed" in again
    exported = read_opml(cli("feeds", "export").encode("utf-8")).feeds
    by_url = {f.url: f for f in exported}
    assert set(by_url) == {f.url for f in listed}
    assert by_url["https://site7.example/rss"].tags == ("news", "t1")
    assert by_url["https://site7.example/rss"].title == "Site 7"
    assert by_url[CONFIGURED].title == "Configured"  # the file's name wins over the OPML's


def test_import_refuses_bad_urls_and_bad_files(cli: Cli, tmp_path: Path) -> None:
    path = _opml(tmp_path, [OpmlFeed("https://ok.example/rss", "OK"),
                            OpmlFeed("https://user:pw@bad.example/rss", "Bad")])
    result = cli.runner.invoke(app, ["--config", str(cli.config), "feeds", "import", str(path)],
                               env={"MONITOR_DATABASE_URL": None})
    assert result.exit_code == 0
    assert "1 added" in result.stdout and "1 refused" in result.stdout
    assert "credentials" in result.stderr
    bomb = tmp_path / "bomb.opml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]>'
                    "<opml><body><outline xmlUrl='https://x.example/'>&a;</outline></body>"
                    "</opml>")
    assert "OPML refused" in cli("feeds", "import", str(bomb), code=2)
    assert "cannot read" in cli("feeds", "import", str(tmp_path / "missing.opml"), code=2)


def test_import_says_why_each_outline_is_skipped_with_its_password_masked(
        cli: Cli, tmp_path: Path) -> None:
    long_url = "https://long.example/" + "a" * 2100  # over the column PostgreSQL refuses
    path = tmp_path / "mixed.opml"
    path.write_text(f"""<?xml version="1.0"?>
<opml version="2.0"><body>
  <outline text="local" xmlUrl="file:///etc/passwd"/>
  <outline text="ftp" xmlUrl="ftp://u:Secr3tPw@files.example/feed"/>
  <outline text="long" xmlUrl="{long_url}"/>
  <outline text="ok" xmlUrl="https://ok.example/rss"/>
</body></opml>""", encoding="utf-8")
    result = cli.runner.invoke(app, ["--config", str(cli.config), "feeds", "import", str(path)],
                               env={"MONITOR_DATABASE_URL": None})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Secr3tPw" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "monitor: skipped file:///etc/passwd: a local file is a feed only in the configuration "
        "file (feeds: - url: PATH); the command line adds http(s) feeds",
        "monitor: skipped ftp://u:****@files.example/feed: scheme 'ftp' is not fetched (only "
        "http and https)",
        f"monitor: skipped {long_url}: URL longer than 2048 characters",
    ]
    assert result.stdout.strip() == (f"{path}: 4 feeds: 1 added, 0 added again, "
                                     "0 already listed, 3 refused")
    assert set(cli.listing()) == {CONFIGURED, "https://ok.example/rss"}


def test_add_refuses_a_url_longer_than_the_database_keeps(cli: Cli) -> None:
    err = cli("feeds", "add", "--no-fetch", "https://long.example/" + "a" * 2100, code=2)
    assert err.endswith(": URL longer than 2048 characters\n")


def test_import_errors_name_the_file_and_line(cli: Cli, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.opml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaa">]>\n'
                    "<opml><body><outline xmlUrl='https://x.example/'>&a;</outline></body>"
                    "</opml>")
    assert cli("feeds", "import", str(bomb), code=2) == (
        f"monitor: {bomb}:2: OPML refused: DOCTYPE with an internal subset\n")
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml>\n<body>\n<outline text='a'>\n</body>\n</opml>\n")
    assert cli("feeds", "import", str(broken), code=2) == (
        f"monitor: {broken}:4: OPML is not well-formed XML: mismatched tag (column 3)\n")


def test_import_refuses_a_file_too_large_for_a_feed_list(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.cli import feeds_opml

    monkeypatch.setattr(feeds_opml, "MAX_OPML_BYTES", 1000)
    path = _opml(tmp_path, [OpmlFeed(f"https://s{i}.example/", "S") for i in range(40)])
    assert cli("feeds", "import", str(path), code=2) == (
        f"monitor: {path}: larger than 1,000 bytes; not a feed list\n")
    assert set(cli.listing()) == {CONFIGURED}


def test_export_is_utf8_whatever_the_terminal_encoding(cli: Cli) -> None:
    cli("feeds", "add", "--no-fetch", "https://jp.example/rss", "--name", "日本語ニュース")
    result = CliRunner(charset="latin-1").invoke(
        app, ["--config", str(cli.config), "feeds", "export"],
        env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
    assert result.exit_code == 0, (result.stderr, result.exception)
    # The document says it is UTF-8: it must be, not the terminal's encoding.
    assert read_opml(result.stdout_bytes).feeds[-1].title == "日本語ニュース"


def test_feed_listings_and_messages_mask_url_secrets(cli: Cli) -> None:
    cli.write_config([{"url": "https://cred.example/rss?token=Pw0rd9"}])
    assert "api_key=****" in cli("feeds", "add", "--no-fetch",
                                 "https://t.example/rss?api_key=Tok3n42")
    outputs = [cli("feeds"), cli("feeds", "--json"),
               cli("feeds", "remove", "https://t.example/rss?api_key=Tok3n4", code=2)]
    for out in outputs:
        assert "Pw0rd9" not in out and "Tok3n42" not in out, out
    assert "https://cred.example/rss?token=****" in outputs[0]
    assert "did you mean https://t.example/rss?api_key=****?" in outputs[2]


def test_help_tells_the_name_a_feed_added_without_fetching_gets(cli: Cli) -> None:
    assert "with--no-fetch,itsURL" in "".join(cli("feeds", "add", "--help").split())


def test_a_large_import_shows_a_progress_bar(cli: Cli, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import rich.progress

    shown: list[bool] = []

    original = rich.progress.Progress.__init__

    def spy(self: rich.progress.Progress, *args: object, **kwargs: object) -> None:
        shown.append(not kwargs.get("disable", False))
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rich.progress.Progress, "__init__", spy)
    cli("feeds", "import", str(_opml(tmp_path, [OpmlFeed(f"https://s{i}.example/", "S")
                                                 for i in range(60)])))
    cli("feeds", "import", str(_opml(tmp_path, [OpmlFeed("https://one.example/", "One")])))
    assert shown == [True, False]


def test_a_disabled_feed_is_shown_and_comes_back_with_enable_or_a_config_change(
        cli: Cli) -> None:
    cli("feeds")  # brings monitor.yaml's feed into the database
    store = cli.store()
    (feed,) = store.claim_due_feeds("w", timedelta(seconds=60), 10)
    store.record_poll(feed.id, "w", PollOutcome(
        ok=False, next_check_at=store.clock(), error_code="not_a_feed",
        error_message="an HTML page", parse_failure=True, disable=True))
    assert store.claim_due_feeds("w", timedelta(seconds=60), 10) == []  # disabled: not polled
    store.close()
    row = cli.listing()[CONFIGURED]
    assert row["status"] == "disabled" and row["disabled"] is True
    assert f"monitor feeds enable {CONFIGURED}" in cli("feeds")
    assert cli("feeds", "enable", CONFIGURED).strip() == f"enabled: {CONFIGURED}"
    assert cli.listing()[CONFIGURED]["disabled"] is False
    assert "was not disabled" in cli("feeds", "enable", CONFIGURED)
    assert "not in the feed list" in cli("feeds", "enable", "https://no.example/", code=2)

    store = cli.store()
    (feed,) = store.claim_due_feeds("w", timedelta(seconds=60), 10)
    store.record_poll(feed.id, "w", PollOutcome(
        ok=False, next_check_at=store.clock(), error_code="not_a_feed", parse_failure=True,
        disable=True))
    store.close()
    cli.write_config([{"url": CONFIGURED, "name": "Configured"}])  # unchanged: stays off
    assert cli.listing()[CONFIGURED]["disabled"] is True
    cli.write_config([{"url": CONFIGURED, "name": "Configured", "interval": "1h"}])
    assert cli.listing()[CONFIGURED]["disabled"] is False


def test_a_local_feed_is_named_as_monitor_yaml_writes_it(cli: Cli, tmp_path: Path) -> None:
    """The feed list keeps a local feed's absolute path; the relative path of monitor.yaml
    (relative to that file, wherever the command runs) names it too."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "feed.xml").write_text("<rss/>", encoding="utf-8")
    cli.write_config([{"url": "seeds/feed.xml", "name": "Seeds"}])
    absolute = str((tmp_path / "seeds" / "feed.xml").resolve())
    assert absolute in cli.listing()
    assert cli("feeds", "enable", "seeds/feed.xml").strip() == f"{absolute} was not disabled"
    assert f"{absolute} is configured in" in cli("feeds", "remove", "seeds/feed.xml", code=2)
    assert "not in the feed list" in cli("feeds", "enable", "seeds/other.xml", code=2)
