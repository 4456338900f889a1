"""Configuration files that used to crash or pass when they should not: each problem is one
``path:line: message`` ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.permissions_support import needs_permissions


def write(tmp_path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "monitor.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return str(info.value).splitlines()


# -- YAML that parses but is not plain data ------------------------------------------------


def test_a_tag_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: INFO\npolling:\n  tick: !duration 15s\n")
    assert problems(path) == [f"{path}:3: YAML syntax: the tag !duration is not supported: "
                              "remove it (or quote the value)"]


def test_a_list_as_a_key_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: INFO\n? [a, b]\n: 1\n")
    assert problems(path) == [f"{path}:2: YAML syntax: a key must be a plain value, not a "
                              "list or a mapping"]


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\nb: !!int abc\n", 2), ("a: 2024-13-45\n", 1), ("a: &x [1, *x]\n", 1),
    ("a:\n  <<: 5\n", 2)])
def test_other_values_the_constructor_refuses(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    (only,) = problems(path)
    assert only.startswith(f"{path}:{line}: YAML syntax: "), only


def test_a_merge_of_a_mapping_still_works(tmp_path: Path) -> None:
    path = write(tmp_path, "polling: &p {tick: 20s}\nweb:\n  listen: 127.0.0.1:8081\n")
    assert load_config(path, {}).polling.tick == 20


# -- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("polling:\n  tick: .nan\n", "NaN"),
    ("retention:\n  article_text: .inf\n", "at most 100 years"),
    ("retention:\n  articles: 100000000d\n", "at most 100 years"),
    ("retention:\n  articles: 1" + "0" * 400 + "\n", "at most 100 years"),
    ("polling:\n  tick: 0\n", "must be more than 0, not 0"),
    ("http:\n  total_timeout: 0s\n", "must be more than 0, not '0s'"),
])
def test_durations_are_finite_bounded_and_positive_where_zero_makes_no_sense(
        tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    (only,) = problems(path)
    assert only.startswith(f"{path}:2: "), only
    assert words in only, only


@pytest.mark.parametrize(("written", "seconds"), [
    ("90", 90), ("0.5", 0.5), ("'90'", 90), ("500ms", 0.5), ("90s", 90), ("15m", 900),
    ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400), ("1d12h", 129600),
    ("0", 0), ("1.5h", 5400), ("'1 h'", 3600), ("1h 30m", 5400), ("0.5s", 0.5),
    ("30m1h", 5400)])
def test_every_form_of_duration_the_readme_lists_loads(tmp_path: Path, written: str,
                                                       seconds: float) -> None:
    path = write(tmp_path, f"polling:\n  full_fetch_every: {written}\n")
    assert load_config(path, {}).polling.full_fetch_every == seconds


@pytest.mark.parametrize(("written", "message"), [
    ("-5m", "a duration cannot be negative ('-5m')"),
    ("-5", "a duration cannot be negative (-5)"),
    ("1h30", "'1h30' is not a duration (use e.g. 90s, 15m, 1.5h, 1h30m, 1d)"),
    ("5min", "'5min': unknown unit 'min' (the units are ms, s, m, h, d and w, in lower case)"),
    ("2H", "'2H': unknown unit 'H' (the units are ms, s, m, h, d and w, in lower case)"),
    ("soon", "'soon' is not a duration (use e.g. 90s, 15m, 1.5h, 1h30m, 1d)"),
])
def test_a_duration_written_another_way_says_what_to_write(tmp_path: Path, written: str,
                                                           message: str) -> None:
    path = write(tmp_path, f"log_level: INFO\npolling:\n  full_fetch_every: {written}\n")
    assert problems(path) == [f"{path}:3: polling.full_fetch_every: {message}"]


def test_a_zero_retention_and_a_long_one_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "retention:\n  attempts: 0\n  articles: 36500d\n")
    config = load_config(path, {})
    assert config.retention.attempts == 0 and config.retention.articles == 36500 * 86400


def test_a_retention_period_without_its_unit_is_refused_before_it_prunes_the_archive(
        tmp_path: Path) -> None:
    """``articles: 365`` is 365 seconds: the daily prune would delete every story past the
    story window. A bare number under a day is refused at its line; with its unit, or as a
    bare number of a day or more (seconds, written on purpose), it is taken as written."""
    path = write(tmp_path, "retention:\n  articles: 365\n  article_text: '90'\n"
                           "  notifications: 0.5\n  attempts: 30\n")
    found = problems(path)
    assert [p.split(": ")[0] for p in found] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert found[0] == (
        f"{path}:2: retention.articles: 365 is 365 seconds (a number without a unit is "
        "seconds), and pruning would delete what is older: write 365d for days (a period "
        "under a day needs its unit, such as 12h; null keeps everything)")
    path = write(tmp_path, "delivery:\n  max_article_age: 3\n")
    assert problems(path) == [
        f"{path}:2: delivery.max_article_age: 3 is 3 seconds (a number without a unit is "
        "seconds), and no article published longer ago would alert: write 3d for days (a "
        "period under a day needs its unit, such as 12h)"]
    path = write(tmp_path, "delivery:\n  max_article_age: 0\n")  # no dated article alerts
    (zero,) = problems(path)
    assert zero == f"{path}:2: delivery.max_article_age: must be more than 0, not 0"
    kept = write(tmp_path, "retention:\n  articles: 365d\n  article_text: 12h\n"
                           "  notifications: 7776000\n  attempts: null\n")
    config = load_config(kept, {})
    assert (config.retention.articles, config.retention.article_text,
            config.retention.notifications, config.retention.attempts) == (
        365 * 86400, 12 * 3600, 7776000, None)


# -- secrets_file --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["[a, b]", "5", "{a: 1}"])
def test_a_secrets_file_that_is_not_a_path(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"log_level: INFO\nsecrets_file: {value}\n")
    assert problems(path) == [f"{path}:2: secrets_file: expected the path of a KEY=VALUE file"]


def test_a_secrets_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_bytes(b"A=1\nB=caf\xe9\n")
    (tmp_path / "secrets.env").chmod(0o600)
    path = write(tmp_path, "secrets_file: secrets.env\n")
    (only,) = problems(path)
    assert only.startswith(f"{path}:1: secrets_file: {tmp_path / 'secrets.env'} is not UTF-8 "
                           "text"), only
    assert "on its line 2" in only


def test_a_secrets_file_that_is_a_folder_or_missing(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").mkdir()
    path = write(tmp_path, "secrets_file: secrets.env\n")
    assert problems(path) == [f"{path}:1: secrets_file: {tmp_path / 'secrets.env'} is not a "
                              "file"]
    path = write(tmp_path, 'secrets_file: gone.env\nchannels:\n  c:\n    urls: ["${HOOK}"]\n')
    assert problems(path) == [f"{path}:1: secrets_file: {tmp_path / 'gone.env'} does not "
                              "exist"]


@needs_permissions
def test_an_unreadable_secrets_file(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("A=1\n")
    (tmp_path / "secrets.env").chmod(0o000)
    path = write(tmp_path, "secrets_file: secrets.env\n")
    (only,) = problems(path)
    assert only.startswith(f"{path}:1: secrets_file: cannot read "), only


def test_a_secrets_file_behind_a_folder_this_user_cannot_enter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Path.exists() raises PermissionError (not False) when a folder on the way is closed to
    # this user, which was a traceback. Root enters any folder: the refusal is simulated.
    secrets = tmp_path / "closed" / "secrets.env"
    real_exists = Path.exists

    def exists(self: Path, **kwargs: bool) -> bool:
        if self == secrets:
            raise PermissionError(13, "Permission denied")
        return real_exists(self, **kwargs)

    monkeypatch.setattr(Path, "exists", exists)
    path = write(tmp_path, "secrets_file: closed/secrets.env\n")
    assert problems(path) == [f"{path}:1: secrets_file: cannot read {secrets}: Permission "
                              "denied"]


def test_a_misspelt_secrets_file_gets_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "secret_file: secrets.env\n")
    assert problems(path) == [f"{path}:1: secret_file: unknown setting; did you mean "
                              "secrets_file?"]


# -- invalid UTF-8, literal database passwords ---------------------------------------------


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, b"log_level: INFO\n# a comment\nfeeds: []  # caf\xe9\n")
    (only,) = problems(path)
    assert only.startswith(f"{path}:3: not UTF-8 text ("), only


def test_a_readable_file_with_a_literal_database_password_is_refused(tmp_path: Path) -> None:
    url = "postgresql+psycopg://newsuser:S3cretPgPass@127.0.0.1:1/news"
    path = write(tmp_path, f"database_url: {url}\n", mode=0o644)
    (only,) = problems(path)
    assert "database_url in this file contains a password" in only
    assert "chmod 600" in only and "S3cretPgPass" not in only
    path.chmod(0o600)
    assert load_config(path, {}).database_url == url
    path = write(tmp_path, "database_url: postgresql+psycopg://u:${PGPW}@h/news\n", mode=0o644)
    assert load_config(path, {"PGPW": "x"}).database_url == "postgresql+psycopg://u:x@h/news"
    path = write(tmp_path, "database_url: postgresql+psycopg://u@h/news\n", mode=0o644)
    assert load_config(path, {}).database_url == "postgresql+psycopg://u@h/news"


# -- found by the configuration and rule-file audit ----------------------------------------


def test_a_merge_that_overrides_a_key_is_not_a_key_given_twice(tmp_path: Path) -> None:
    path = write(tmp_path, "channels:\n  a: &a\n    urls: ['json://localhost']\n"
                 "    format: text\n  b:\n    <<: *a\n    format: html\n")
    channels = load_config(path, {}).channels
    assert (channels["a"].format, channels["b"].format) == ("text", "html")
    assert channels["b"].urls == ["json://localhost"]
    # A key the mapping itself gives twice still is.
    path = write(tmp_path, "channels:\n  a: &a\n    urls: ['json://localhost']\n  b:\n"
                 "    <<: *a\n    format: text\n    format: html\n")
    assert problems(path) == [f"{path}:7: channels.b.format: given twice (first on line 6): "
                              "keep one"]


def test_of_several_mappings_merged_the_first_listed_wins_as_in_rule_files(
        tmp_path: Path) -> None:
    """YAML's merge key: the first mapping of ``<<: [*a, *b]`` wins, as rule files read it.
    PyYAML 6.0.4's constructor let the last win for keys longer than one character, so the
    value used was not the one at the line a problem named."""
    path = write(tmp_path, "channels:\n  a: &a\n    urls: ['json://a.example']\n"
                 "    format: text\n  b: &b\n    urls: ['json://b.example']\n    format: html\n"
                 "  c:\n    <<: [*a, *b]\n")
    channel = load_config(path, {}).channels["c"]
    assert (channel.urls, channel.format) == (["json://a.example"], "text")
    path = write(tmp_path, "log_level: INFO\npolling:\n  <<: [{tick: 20s}, {tick: 5min}]\n")
    assert load_config(path, {}).polling.tick == 20  # 5min is merged over: never read
    path = write(tmp_path, "log_level: INFO\npolling:\n  <<: [{tick: 5min}, {tick: 20s}]\n")
    assert problems(path) == [
        f"{path}:3: polling.tick: '5min': unknown unit 'min' (the units are ms, s, m, h, d "
        "and w, in lower case)"]


def test_a_problem_in_a_merged_setting_is_at_the_line_it_is_written(tmp_path: Path) -> None:
    # As in rule files: the line of the value, not of the mapping that merges it.
    path = write(tmp_path, "log_level: INFO\npolling:\n  <<: &p\n    tick: 5min\n"
                 "  min_interval: 5m\n")
    assert problems(path) == [
        f"{path}:4: polling.tick: '5min': unknown unit 'min' (the units are ms, s, m, h, d "
        "and w, in lower case)"]
    path = write(tmp_path, "polling: &p\n  tick: 20s\nhttp:\n  read_timeout: 5s\n  <<: *p\n")
    assert problems(path) == [f"{path}:2: http.tick: unknown setting"]
    path = write(tmp_path, "polling:\n  <<: {tick: 20s}\n  <<: {min_interval: 5m}\n")
    assert problems(path) == [f"{path}:3: polling.<<: given twice (first on line 2): keep one"]


def test_an_alias_bomb_is_one_problem_not_a_memory_error(tmp_path: Path) -> None:
    text = "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['x'] * 9)}]\n"
        for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True))
    path = write(tmp_path, text + "http:\n  allow_private_networks: *i\n")
    (only,) = problems(path)
    assert only.startswith(f"{path}:7: YAML syntax: the aliases (*name) here expand to more "
                           "than 1,000,000 values"), only


def test_a_control_character_is_one_line_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level: INFO\npolling:\n  tick: 20s\x00\n")
    assert problems(path) == [f"{path}:3: YAML syntax: the control character U+0000 is not "
                              "allowed: remove it (or, if the file is UTF-16 text, save it as "
                              "UTF-8)"]


@pytest.mark.parametrize(("text", "message"), [
    ("http:\n  workers: yes\n", "http.workers: expected a whole number, not true or false"),
    ("polling:\n  max_failures_before_disable: no\n",
     "polling.max_failures_before_disable: expected a whole number, not true or false"),
    ("channels:\n  a:\n    urls: ['json://localhost']\n    max_per_hour: on\n",
     "channels.a.max_per_hour: expected a whole number, not true or false"),
    ("http:\n  feed_max_bytes: -1\n",
     "http.feed_max_bytes: a size must be at least 1 byte (use e.g. 512KiB, 10MiB)"),
    ("http:\n  page_max_bytes: 0KiB\n",
     "http.page_max_bytes: a size must be at least 1 byte (use e.g. 512KiB, 10MiB)"),
    ("extract:\n  memory_limit: 99999999999GiB\n",
     "extract.memory_limit: a size can be at most 1048576GiB"),
    ("polling:\n  tick: 1:30\n",
     "polling.tick: '1:30' is not a duration (use e.g. 90s, 15m, 1.5h, 1h30m, 1d)"),
])
def test_values_yaml_or_pydantic_would_turn_into_another_number(
        tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    line = text.count("\n")
    assert problems(path) == [f"{path}:{line}: {message}"]


def test_a_text_read_as_true_false_or_a_number_says_to_quote_it(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: http://a.example/f\n    language: no\n"
                 "    name: 2024\n")
    assert problems(path) == [
        f"{path}:3: feeds[0].language: must be a text, not true or false (unquoted, YAML reads "
        "yes, no, on and off as true or false): put it in quotes",
        f"{path}:4: feeds[0].name: must be a text, not the number 2024: put it in quotes"]
    path = write(tmp_path, "channels:\n  on:\n    urls: ['json://localhost']\n")
    assert problems(path) == [
        f"{path}:1: channels: a name must be a text, not true or false (unquoted, YAML reads "
        "yes, no, on and off as true or false): put it in quotes"]
    # No name at all (`~:`, or an anchor alone, `&team:`), with a channel list naming one: the
    # suggestion for the list compared texts with None (a TypeError).
    path = write(tmp_path, "delivery:\n  default_channels: [team]\nchannels:\n  &team :\n"
                 "    urls: ['json://localhost']\n")
    assert problems(path) == [
        f"{path}:2: delivery.default_channels[0]: channel 'team' is not defined under channels",
        f"{path}:3: channels: a name must be a text, not empty (YAML reads ~, null and nothing "
        "at all as no value)"]
    path = write(tmp_path, "feeds:\n  - url: ~\n")
    assert problems(path) == [f"{path}:2: feeds[0].url: must be a text, not empty (YAML reads "
                              "~, null and nothing at all as no value)"]
    # A leading zero is kept (YAML 1.1 read 0123 as the octal 83).
    path = write(tmp_path, "feeds:\n  - url: http://a.example/f\n    name: 0123\n")
    assert load_config(path, {}).feeds[0].name == "0123"


@pytest.mark.parametrize("agent", ["newsmonitor \u2014 Jakarta desk", "desk\\r\\nX-Evil: 1", "  "])
def test_a_user_agent_no_request_header_can_carry_is_refused(tmp_path: Path,
                                                             agent: str) -> None:
    # It passed monitor check, and then every fetch failed (UnicodeEncodeError in httpx2).
    path = write(tmp_path, f'http:\n  user_agent: "{agent}"\n')
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:2: http.user_agent: ")
    assert "cannot be sent as an HTTP header" in problem


@needs_permissions
def test_a_feed_file_behind_a_folder_this_user_cannot_enter(tmp_path: Path) -> None:
    # is_file() raises PermissionError there (not False): monitor check ended in a traceback.
    closed = tmp_path / "closed"
    closed.mkdir()
    (closed / "feed.xml").write_text("<rss/>")
    closed.chmod(0o000)
    try:
        path = write(tmp_path, f"feeds:\n  - url: {closed / 'feed.xml'}\n")
        assert problems(path) == [f"{path}:2: feeds[0].url: local file {closed / 'feed.xml'} "
                                  "cannot be read: Permission denied"]
    finally:
        closed.chmod(0o700)


# -- listeners -----------------------------------------------------------------------------


@pytest.mark.parametrize(("web", "metrics", "clash"), [
    ("127.0.0.1:8080", "127.0.0.1:8080", True), ("127.0.0.1:8080", "0.0.0.0:8080", True),
    ("[::1]:8080", "[::]:8080", True), ("127.0.0.1:8080", "[::]:8080", True),
    ("127.0.0.1:8080", "127.0.0.1:9464", False), ("127.0.0.1:8080", "127.0.0.2:8080", False),
    ("[::1]:8080", "0.0.0.0:8080", False), ("127.0.0.1:0", "127.0.0.1:0", False)])
def test_metrics_cannot_listen_on_the_web_views_port(tmp_path: Path, web: str, metrics: str,
                                                      clash: bool) -> None:
    """The daemon logged an ERROR at start and served no probes there; check had passed."""
    path = write(tmp_path, f"web:\n  listen: '{web}'\nmetrics:\n  listen: '{metrics}'\n")
    if not clash:
        assert load_config(path, {}).metrics.listen == metrics
        return
    assert problems(path) == [f"{path}:4: metrics.listen: {metrics} is web.listen's port too "
                              f"({web}): give it another, or leave metrics.listen out (the web "
                              "view serves /metrics, /healthz and /readyz itself when `monitor "
                              "run` serves it)"]
    disabled = write(tmp_path, f"web:\n  enabled: false\n  listen: '{web}'\nmetrics:\n"
                               f"  listen: '{metrics}'\n")
    assert load_config(disabled, {}).metrics.listen == metrics


def test_a_feed_may_be_written_as_its_url_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - https://a.example/f\n  - url: https://b.example/g\n"
                 "    name: B\n")
    config = load_config(path, {})
    assert [(f.url, f.name) for f in config.feeds] == [
        ("https://a.example/f", None), ("https://b.example/g", "B")]
    # Checked as the long form is: its scheme, and a second listing of the same feed.
    path = write(tmp_path, "feeds:\n  - ftp://a.example/f\n  - https://b.example/g\n"
                 "  - url: https://b.example/g\n")
    assert problems(path) == [
        f"{path}:2: feeds[0].url: scheme 'ftp' is not fetched (use http, https or a local "
        "file path)",
        f"{path}:4: feeds[2].url: listed twice (first as feeds[1], line 3): keep one"]


def test_a_feed_url_with_a_misspelt_or_missing_scheme_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - htps://a.example/f\n  - news.example.com/rss\n"
                 "  - feed.xml\n")
    assert problems(path) == [
        f"{path}:2: feeds[0].url: scheme 'htps' is not fetched (use http, https or a local "
        "file path); did you mean https?",
        f"{path}:3: feeds[1].url: local file {tmp_path / 'news.example.com/rss'} does not "
        "exist; a web address needs https:// before it",
        f"{path}:4: feeds[2].url: local file {tmp_path / 'feed.xml'} does not exist"]


def test_a_section_written_as_one_value_says_it_holds_settings(tmp_path: Path) -> None:
    # These read "Input should be a valid dictionary or instance of PollingConfig".
    path = write(tmp_path, "polling: 15m\nweb: true\nchannels:\n  team: json://x\n"
                 "feeds:\n  - 2024\n  - [https://a.example/f]\n  - ''\n")
    settings = "holds settings (each `name: value` on a line of its own, indented below it)"
    feed = "a feed is its URL (- https://...) or its settings (- url: ...)"
    assert sorted(problems(path)) == sorted([
        f"{path}:1: polling: {settings}, not the text '15m'",
        f"{path}:2: web: {settings}, not true or false",
        f"{path}:4: channels.team: {settings}, not the text 'json://x'",
        f"{path}:6: feeds[0]: {feed}, not the number 2024",
        f"{path}:7: feeds[1]: {feed}, not a list",
        f"{path}:8: feeds[2].url: must not be empty"])


def test_wrong_kinds_of_value_are_said_in_words_with_what_was_written(tmp_path: Path) -> None:
    # Each read as pydantic words it ("Input should be a valid integer, unable to parse
    # string as an integer", "List should have at least 1 item after validation, not 0").
    path = write(tmp_path, "http:\n  workers: many\n  per_host_concurrency: -1\n"
                 "  max_redirects: 1.5\ndelivery:\n  console: maybe\nchannels:\n  team:\n"
                 "    urls: json://x\n    format: rich\n  other:\n    urls: []\n")
    assert problems(path) == [
        f"{path}:2: http.workers: must be a whole number, not the text 'many'",
        f"{path}:3: http.per_host_concurrency: must be at least 1, not -1",
        f"{path}:4: http.max_redirects: must be a whole number, not the number 1.5",
        f"{path}:6: delivery.console: must be true or false, not the text 'maybe'",
        f"{path}:9: channels.team.urls: must be a list ([a, b], or one `- item` per line below "
        "it), not the text 'json://x'",
        f"{path}:10: channels.team.format: must be one of 'text', 'markdown' or 'html', not "
        "the text 'rich'",
        f"{path}:12: channels.other.urls: must not be empty"]


@pytest.mark.parametrize(("zone", "hint"), [
    ("Jakarta", "; did you mean Asia/Jakarta?"),  # a city: its IANA name
    ("new york", "; did you mean America/New_York?"),
    ("Asia/Jakrta", "; did you mean Asia/Jakarta?"),  # a typo in the full name
    ("Moskow", "; did you mean Europe/Moscow?"),  # a typo in the city
    ("XYZ", " (IANA names such as Asia/Jakarta or UTC)"),
])
def test_an_unknown_time_zone_names_the_zone_it_probably_means(tmp_path: Path, zone: str,
                                                                hint: str) -> None:
    path = write(tmp_path, "channels:\n  desk:\n    urls: ['json://localhost']\n"
                 f"    timezone: {zone}\n")
    assert problems(path) == [f"{path}:4: channels.desk.timezone: unknown time zone "
                              f"{zone!r}{hint}"]
