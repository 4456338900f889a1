"""``monitor check`` on a broken configuration, and ``monitor init``, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def check_of(config: str) -> list[str]:
    """``monitor check``'s lines on a folder with this monitor.yaml (private) and no rules;
    it must fail."""
    Path("rules").mkdir()
    Path("monitor.yaml").write_text(config, encoding="utf-8")
    Path("monitor.yaml").chmod(0o600)
    code, out, _ = run("check")
    assert code == 1
    return out.splitlines()


def test_check_rejects_ftp_and_reports_every_config_problem(tmp_path: Path) -> None:
    assert check_of("feeds:\n  - url: ftp://files.example/news.xml\n  - url: gone.xml\n"
                    "polling:\n  default_intervall: 5m\n") == [
        "monitor.yaml:2: feeds[0].url: scheme 'ftp' is not fetched (use http, https or a "
        "local file path)",
        f"monitor.yaml:3: feeds[1].url: local file {tmp_path / 'gone.xml'} does not exist",
        "monitor.yaml:5: polling.default_intervall: unknown setting; did you mean "
        "default_interval?",
    ]


def test_check_refuses_feed_urls_the_fetcher_or_the_store_would_refuse(tmp_path: Path) -> None:
    # Accepted before, then every poll failed (credentials), or PostgreSQL refused the feed.
    long_url = "https://news.example/feed?" + "q" * 2048
    lines = check_of(f"feeds:\n  - url: https://ana:s3cret@news.example/rss\n"
                     f"  - url: {long_url}\n")
    assert lines[0] == ("monitor.yaml:2: feeds[0].url: credentials (user@host) in a feed URL "
                        "are not supported: the fetcher refuses them")
    assert lines[1] == "monitor.yaml:3: feeds[1].url: URL longer than 2048 characters"
    assert not any("s3cret" in line for line in lines)


def test_check_refuses_feed_urls_whose_text_the_fetcher_cannot_read() -> None:
    """A space, a port past 65535 or a zero-width space in the host passed the check, and
    then every poll of the feed failed."""
    lines = check_of("feeds:\n  - url: 'https://news.example/a b'\n"
                     "  - url: https://news.example:99999/rss\n"
                     "  - url: \"https://news\\u200b.example/rss\"\n"
                     "  - url: https://пример.рф/rss\n")
    assert lines == [
        "monitor.yaml:2: feeds[0].url: whitespace or control character in URL",
        "monitor.yaml:3: feeds[1].url: bad port in URL (a port is a number from 0 to 65535)",
        "monitor.yaml:4: feeds[2].url: invalid URL: Invalid IDNA hostname: the host has an "
        "invisible character, U+200B ZERO WIDTH SPACE"]  # a Cyrillic host is a host


CHANNELS = ("channels:\n  mail:\n    urls: ['maito://ops@example.com']\n"
            "  chat:\n    urls: ['tgram://${BOT}/-100']\n"
            "  hook:\n    urls: ['json//127.0.0.1/x', 'json://127.0.0.1/ok']\n"
            "    delivery: digest\n    digest_schedule: '0 25 * * *'\n")


def test_check_reports_channel_urls_and_schedules_no_service_can_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A typo in a channel URL used to surface only as dead alerts.
    monkeypatch.setenv("BOT", "123456789-secrettokensecrettoken")  # no ':': not a bot token
    out = check_of(CHANNELS)
    assert out == [
        "monitor.yaml:3: channels.mail.urls[0]: no notification service has the scheme "
        "maito://; did you mean mailto://?",
        "monitor.yaml:5: channels.chat.urls[0]: not a tgram:// URL apprise can read (is a "
        "token or a part of the address missing?)",
        "monitor.yaml:7: channels.hook.urls[0]: not a notification URL: it needs a scheme, "
        "such as mailto:// or json://",
        "monitor.yaml:9: channels.hook.digest_schedule: '0 25 * * *' is neither an interval "
        "such as 1h nor a cron expression such as '0 8 * * *': Error validating expression "
        "'25': the last value (25) is higher than the maximum value (23)",
    ]
    assert "secrettoken" not in "".join(out)


def test_check_reports_a_channel_template_that_does_not_parse() -> None:
    # Used to surface only as "template not used" warnings, alert after alert.
    assert check_of("channels:\n  hook:\n    urls: ['json://127.0.0.1/x']\n"
                    "    template: '{{ title '\n") == [
        "monitor.yaml:4: channels.hook.template: not a valid template: unexpected end of "
        "template, expected 'end of print statement'. (template line 1)"]


def test_check_reports_private_network_entries_that_are_neither_network_nor_host() -> None:
    assert check_of("http:\n  allow_private_networks: [10.0.0.0/8, 10.0.0.0/33, "
                    "intranet.example, 'not a host']\n") == [
        f"monitor.yaml:2: http.allow_private_networks[{i}]: {entry!r} is neither a network "
        "(CIDR, such as 10.1.0.0/16) nor a host name"
        for i, entry in ((1, "10.0.0.0/33"), (3, "not a host"))]


def test_check_reports_an_open_web_address_without_authentication() -> None:
    assert check_of("web:\n  listen: '0.0.0.0:8080'\n") == [
        "monitor.yaml:2: web.listen 0.0.0.0:8080 is not a loopback address and no "
        "authentication is configured: set web.users or web.trusted_proxy_header, or listen "
        "on 127.0.0.1"]


def test_run_without_the_web_view_does_not_check_its_address() -> None:
    # Daemons beside one `monitor web` run with --no-web on the same monitor.yaml: its open
    # web.listen is the web server's business (and `monitor run` with the view still refuses).
    Path("monitor.yaml").write_text("database_url: sqlite:///m.db\nweb:\n  listen: "
                                    "'0.0.0.0:8080'\n", encoding="utf-8")
    Path("monitor.yaml").chmod(0o600)
    assert run("db", "upgrade")[0] == 0
    for args in (["--once"], ["--once", "--no-web"]):  # --once serves no web view either
        code, _, err = run("run", *args)
        assert code == 0, err


def test_run_refuses_a_channel_url_no_service_can_use(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("monitor.yaml").write_text(CHANNELS, encoding="utf-8")
    Path("monitor.yaml").chmod(0o600)
    monkeypatch.setenv("BOT", "123456789:AAHsecrettokensecrettokensecret")
    code, _, err = run("run", "--once")
    assert code == 2
    assert "channels.mail.urls[0]: no notification service has the scheme maito://" in err
    assert "channels.chat" not in err and "secrettoken" not in err


def test_other_commands_show_every_config_problem_and_exit_2() -> None:
    Path("monitor.yaml").write_text("log_levl: INFO\nrules_dri: rules\n", encoding="utf-8")
    code, _, err = run("hits")
    assert code == 2
    assert err.splitlines() == [
        "monitor: monitor.yaml:1: log_levl: unknown setting; did you mean log_level?",
        "monitor: monitor.yaml:2: rules_dri: unknown setting; did you mean rules_dir?",
    ]


def test_init_writes_a_starter_that_checks_and_never_overwrites(tmp_path: Path) -> None:
    code, out, _ = run("init", "--no-entities")
    assert code == 0
    assert out == ("wrote monitor.yaml and rules/example.yaml\n"
                   "next: monitor check, then monitor db upgrade and monitor run --once\n")
    assert "#" in Path("monitor.yaml").read_text(encoding="utf-8")
    code, out, _ = run("check")
    assert (code, out) == (0, f"{tmp_path / 'rules'}: 1 rule, 0 entities, 2 examples: "
                              "all hold\n")
    code, _, err = run("init")
    assert code == 2
    assert err == ("monitor: monitor.yaml and rules/example.yaml already exist; "
                   "nothing written\n")


def test_init_copies_the_bundled_entities_so_their_rules_check(tmp_path: Path,
                                                              repo_root: Path) -> None:
    bundled = sorted(p.name for p in (repo_root / "rules" / "entities").glob("*.yaml"))
    Path("rules/entities").mkdir(parents=True)
    own = "entities:\n  - id: mayor\n    aliases: [Mayor Ali]\n"
    Path("rules/entities/people.yaml").write_text(own, encoding="utf-8")
    code, out, _ = run("init")
    assert code == 0
    assert out.startswith(f"wrote monitor.yaml, rules/example.yaml and {len(bundled) - 1} "
                          "entity files in rules/entities\n")
    assert sorted(p.name for p in Path("rules/entities").iterdir()) == bundled
    # Never overwritten: the user's own people.yaml stays.
    assert Path("rules/entities/people.yaml").read_text(encoding="utf-8") == own
    Path("rules/example.yaml").write_text(
        "rules:\n  - id: qatar\n    query: '@country-qa AND @gaza'\n    tests:\n"
        "      match: [Katar menengahi perundingan Gaza]\n", encoding="utf-8")
    code, out, _ = run("check")  # @country-qa and @gaza are there
    assert code == 0 and out.endswith(" entities, 1 example: all hold\n"), out


def test_the_bundled_entity_files_are_package_data(repo_root: Path) -> None:
    """An installed program carries them (monitor init copies them out): the package's
    ``bundled/entities`` is a link to ``rules/entities``, and its files are package data,
    so a wheel holds copies."""
    import tomllib

    from monitor.cli.starter import bundled_entities

    link = repo_root / "monitor" / "bundled" / "entities"
    assert link.is_symlink() and link.resolve() == (repo_root / "rules" / "entities").resolve()
    assert bundled_entities() == link
    project = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]["monitor"]
    assert "bundled/entities/*.yaml" in data
    names = {p.name for p in link.glob("*.yaml")}
    assert {"countries.yaml", "places.yaml", "people.yaml"} <= names


def test_init_without_the_bundled_entities_says_where_they_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("monitor.cli.starter.bundled_entities", lambda: None)
    code, out, _ = run("init")
    assert code == 0
    assert out.splitlines()[1] == (
        "the bundled entity files are not installed with the program: copy rules/entities/ "
        "from newsmonitor's source into rules to use them")
    assert not Path("rules/entities").exists()


def test_check_refuses_a_feed_tag_with_a_comma(tmp_path: Path) -> None:
    # Stored comma-separated, "asia,gaza" came back as two tags.
    lines = check_of("feeds:\n  - url: https://news.example/rss\n    tags: ['asia,gaza']\n")
    assert lines[0].startswith("monitor.yaml:3: feeds[0].tags: the tag 'asia,gaza' holds a "
                               "comma; for two tags write a list: [asia, gaza]")



def test_check_points_out_polling_intervals_written_as_a_few_seconds() -> None:
    """``default_interval: 15`` polls every feed four times a minute: valid, but rarely what
    was meant. The units say what is meant, and then the check passes."""
    lines = check_of("polling:\n  default_interval: 15\n  min_interval: '30'\n"
                     "  max_interval: 86400\nfeeds:\n  - url: https://a.example/rss\n"
                     "    interval: 45\n  - url: https://b.example/rss\n    interval: 120\n")
    assert lines == [
        "monitor.yaml:2: polling.default_interval: 15 is 15 seconds (a number without a unit "
        "is seconds): write 15s if you mean it, 15m for minutes",
        "monitor.yaml:3: polling.min_interval: 30 is 30 seconds (a number without a unit is "
        "seconds): write 30s if you mean it, 30m for minutes",
        "monitor.yaml:7: feeds[0].interval: 45 is 45 seconds (a number without a unit is "
        "seconds): write 45s if you mean it, 45m for minutes",
    ]
    Path("monitor.yaml").write_text("polling:\n  default_interval: 15s\n  min_interval: 30m\n"
                                    "feeds:\n  - url: https://a.example/rss\n"
                                    "    interval: 45s\n", encoding="utf-8")
    code, out, _ = run("check")
    assert code == 0, out


def test_run_logs_a_polling_interval_written_as_a_few_seconds_and_runs() -> None:
    Path("monitor.yaml").write_text("database_url: sqlite:///m.db\npolling:\n"
                                    "  default_interval: 15\n", encoding="utf-8")
    assert run("db", "upgrade")[0] == 0
    code, _, err = run("run", "--once")
    assert code == 0, err
    assert ("monitor.yaml:3: polling.default_interval: 15 is 15 seconds (a number without a "
            "unit is seconds)") in err
