"""Configuration: validated once, one-line errors with file and line, secrets from env."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from monitor.config import WebConfig, load_config, parse_duration, parse_size
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_configuration_is_valid() -> None:
    config = load_config(REPO / "monitor.yaml", {})
    assert config.feed_sources()[0].url == str(REPO / "seeds" / "feed.xml")
    assert config.rules_path == REPO / "rules"


def test_defaults_need_no_file() -> None:
    config = load_config(None, {})
    assert config.database_url.startswith("sqlite:///")
    assert config.http.total_timeout == 30 and config.http.feed_max_bytes == 10 * 2**20


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: a\n    name: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value).startswith(f"{path}:")
    assert info.value.line is not None and info.value.line >= 3


def test_unknown_setting_names_its_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: https://a.example/rss\n    intervall: 5m\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == (f"{path}:3: feeds[0].intervall: unknown setting; "
                               "did you mean interval?")


def test_bad_value_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "polling:\n  tick: soon\n")
    with pytest.raises(ConfigError, match=r":2: polling.tick: 'soon' is not a duration"):
        load_config(path, {})


def test_channel_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, 'channels:\n  chat:\n    urls: ["${HOOK_URL}"]\n')
    config = load_config(path, {"HOOK_URL": "json://127.0.0.1:9/x"})
    assert config.channels["chat"].urls == ["json://127.0.0.1:9/x"]
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == (f"{path}:3: channels.chat.urls[0]: environment variable "
                               "HOOK_URL is not set")


def test_an_environment_value_that_is_not_utf8_is_a_problem_at_its_reference(
        tmp_path: Path) -> None:
    """Set from a Latin-1 shell, a value comes with a lone surrogate per byte: referenced, it
    crashed `monitor check` and the daemon (UnicodeEncodeError); as the database URL too.
    Unreferenced variables (LS_COLORS...) do not matter."""
    path = write(tmp_path, 'channels:\n  chat:\n    urls: ["${HOOK_URL}"]\n')
    env = {"HOOK_URL": "json://127.0.0.1:9/caf\udce9", "OTHER": "\udcff"}
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    assert str(info.value) == (f"{path}:3: channels.chat.urls[0]: environment variable "
                               "HOOK_URL has bytes that are not UTF-8")
    env = {"HOOK_URL": "json://127.0.0.1:9/x", "MONITOR_DATABASE_URL": "sqlite:///m\udcff.db"}
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    assert "database_url: environment variable MONITOR_DATABASE_URL has bytes that are not " \
           "UTF-8" in str(info.value)
    assert load_config(path, {"HOOK_URL": "json://127.0.0.1:9/x", "OTHER": "\udcff"})


def test_secrets_file_supplies_variables_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("# comment\nHOOK_URL='json://file/x'\nOTHER=1\n")
    (tmp_path / "secrets.env").chmod(0o600)
    path = write(tmp_path, 'secrets_file: secrets.env\nchannels:\n  chat:\n'
                           '    urls: ["${HOOK_URL}", "${OTHER}"]\n')
    assert load_config(path, {}).channels["chat"].urls == ["json://file/x", "1"]
    assert load_config(path, {"OTHER": "2"}).channels["chat"].urls[1] == "2"


def test_database_url_from_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite:///x.db\n")
    config = load_config(path, {"MONITOR_DATABASE_URL": "postgresql+psycopg://h/db"})
    assert config.database_url == "postgresql+psycopg://h/db"


def test_channels_referenced_by_delivery_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, "delivery:\n  default_channels: [nowhere]\n")
    with pytest.raises(ConfigError, match="channel 'nowhere' is not defined"):
        load_config(path, {})


@pytest.mark.parametrize("name", ["c" * 129, "'  '"])
def test_channel_names_fit_the_outbox(tmp_path: Path, name: str) -> None:
    # notifications.channel is VARCHAR(128): PostgreSQL refused every alert to a longer name.
    path = write(tmp_path, f"channels:\n  {name}:\n    urls: ['json://127.0.0.1:9/x']\n")
    with pytest.raises(ConfigError, match="must be 1 to 128 characters"):
        load_config(path, {})
    assert load_config(write(tmp_path, f"channels:\n  {'c' * 128}:\n    urls: "
                                       "['json://127.0.0.1:9/x']\n"), {}).channels


def test_send_timeout_defaults_to_30s_and_the_lease_must_outlast_two_sends(
        tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "log_level: INFO\n"), {}).delivery.send_timeout == 30
    path = write(tmp_path, "delivery:\n  lease: 60s\n  send_timeout: 45s\n")
    with pytest.raises(ConfigError, match=r"lease .* at least twice delivery\.send_timeout"):
        load_config(path, {})


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900),
                                               ("2h", 7200), ("1d", 86400), (5, 5)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_sizes() -> None:
    assert parse_size("10MiB") == 10 * 2**20 and parse_size("500 kB") == 500_000
    with pytest.raises(ValueError, match="not a size"):
        parse_size("big")


def test_cli_reports_a_malformed_config_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: x\n   bad indent: [\n")
    env = {**os.environ, "MONITOR_CONFIG": str(path)}
    result = subprocess.run([sys.executable, "-m", "monitor", "feeds"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"monitor: {path}:")
    assert "Traceback" not in result.stderr


def test_sec_F9_literal_secrets_in_a_readable_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'channels:\n  chat:\n    urls: ["json://user:s3cret@hooks.example/x"]\n')
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"readable by other users \(mode 0644\)"):
        load_config(path, {})
    path.chmod(0o600)
    assert load_config(path, {}).channels["chat"].urls


def test_sec_F9_token_urls_count_as_secrets_and_references_do_not(tmp_path: Path) -> None:
    token_url = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/42"
    path = write(tmp_path, f'channels:\n  chat:\n    urls: ["{token_url}"]\n')
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="contain secrets"):
        load_config(path, {})
    path.write_text('channels:\n  chat:\n    urls: ["${CHAT_URL}"]\n')
    assert load_config(path, {"CHAT_URL": "tgram://x/1"}).channels["chat"].urls == ["tgram://x/1"]


def test_sec_F9_a_readable_secrets_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("HOOK_URL=json://u:p@h/x\n")
    (tmp_path / "secrets.env").chmod(0o640)
    path = write(tmp_path,
                 'secrets_file: secrets.env\nchannels:\n  c:\n    urls: ["${HOOK_URL}"]\n')
    with pytest.raises(ConfigError, match="secrets file"):
        load_config(path, {})


def problems_of(path: Path) -> list[str]:
    """The problems ``load_config`` reports for the file, one line each."""
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    return str(info.value).splitlines()


def test_a_url_that_does_not_parse_is_a_problem_at_its_line_not_a_crash(tmp_path: Path) -> None:
    # urlsplit raises ValueError for a '[' or ']' around no IPv6 address: it was a traceback.
    path = write(tmp_path, "feeds:\n  - url: https://www.exa[mple.com/rss\n"
                           "  - url: file://[x/feed.xml\n")
    brackets = ("not a valid URL: '[' and ']' belong around an IPv6 address only "
                "(elsewhere %5B, %5D)")
    assert problems_of(path) == [f"{path}:2: feeds[0].url: {brackets}",
                                 f"{path}:3: feeds[1].url: {brackets}"]
    # A channel URL's secrets are still found in such a URL (F9: the file is readable).
    path = write(tmp_path,
                 "channels:\n  a:\n    urls: ['json://h[ost/abcdefghijklmnopqrstuvwxyz']\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="contain secrets"):
        load_config(path, {})


def test_every_problem_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "default_intervall: 5m\nfeeds:\n  - url: ftp://x.example/rss\n"
                           "  - url: missing.xml\npolling:\n  tick: soon\nchannels:\n"
                           "  a:\n    urls: ['${NOPE}']\n    formt: text\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value).splitlines() == [
        f"{path}:1: default_intervall: unknown setting; did you mean polling.default_interval?",
        f"{path}:3: feeds[0].url: scheme 'ftp' is not fetched (use http, https or a local "
        "file path)",
        f"{path}:4: feeds[1].url: local file {tmp_path / 'missing.xml'} does not exist",
        f"{path}:6: polling.tick: 'soon' is not a duration (use e.g. 90s, 15m, 1.5h, 1h30m, 1d)",
        f"{path}:9: channels.a.urls[0]: environment variable NOPE is not set",
        f"{path}:10: channels.a.formt: unknown setting; did you mean format?",
    ]
    assert len(info.value.problems) == 6


# The full table of plain words is tests/test_yamldoc.py's; here, that they reach the user.
@pytest.mark.parametrize(("text", "line", "words"), [
    ("feeds:\n  - url: a\n    name: [unclosed\n", 3,
     "a list opened with '[' is not closed with ']'"),
    ("polling:\n  tick: 5\n default_interval: 3\n", 3,
     "this line's indentation does not match the lines above it"),
])
def test_yaml_syntax_errors_in_plain_words(tmp_path: Path, text: str, line: int,
                                           words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == f"{path}:{line}: YAML syntax: {words}"


def test_a_setting_given_twice_is_a_problem_not_a_silent_override(tmp_path: Path) -> None:
    # YAML keeps the last of two equal keys: the first feed list would vanish without a word.
    path = write(tmp_path, "feeds:\n  - url: https://a.example/feed.xml\npolling:\n"
                           "  tick: 30s\n  tick: 60s\nfeeds:\n  - url: https://b.example/f\n"
                           "channels:\n  ops:\n    urls: ['json://x']\n  ops:\n"
                           "    urls: ['json://y']\n")
    assert problems_of(path) == [
        f"{path}:5: polling.tick: given twice (first on line 4): keep one",
        f"{path}:6: feeds: given twice (first on line 1): keep one",
        f"{path}:11: channels.ops: given twice (first on line 9): keep one",
    ]


def test_unknown_channel_names_are_problems_at_their_own_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "channels:\n  team:\n    urls: ['json://127.0.0.1/x']\n"
                           "delivery:\n  default_channels: [team, tema]\n  admin_channel: ops\n")
    assert problems_of(path) == [
        f"{path}:5: delivery.default_channels[1]: channel 'tema' is not defined under "
        "channels; did you mean team?",
        f"{path}:6: delivery.admin_channel: channel 'ops' is not defined under channels",
    ]


def test_a_feed_listed_twice_is_a_problem(tmp_path: Path) -> None:
    # One feed per URL is kept: the second entry's name and interval would silently win.
    path = write(tmp_path, "feeds:\n  - url: https://a.example/feed.xml\n    name: A\n"
                           "  - url: https://a.example/feed.xml/\n"
                           "  - url: ' HTTPS://A.EXAMPLE/feed.xml'\n    name: A again\n"
                           "  - url: https://пример.рф/rss\n"
                           "  - url: https://xn--e1afmkfd.xn--p1ai/rss\n")  # the same host
    assert problems_of(path) == [
        f"{path}:5: feeds[2].url: listed twice (first as feeds[0], line 2): keep one",
        f"{path}:8: feeds[4].url: listed twice (first as feeds[3], line 7): keep one"]


def test_a_feed_language_that_is_no_language_code_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: https://a.example/f\n    language: english\n"
                           "  - url: https://b.example/f\n    language: zz\n"
                           "  - url: https://c.example/f\n    language: id-ID\n")
    assert problems_of(path) == [
        f"{path}:3: feeds[0].language: 'english' is a language's name, not a language code: "
        "write en",
        f"{path}:5: feeds[1].language: 'zz' is not an ISO 639-1 language code (id, en, ru, uk, "
        "ar...)",
    ]


def test_local_feed_files_and_file_urls_must_exist(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text("<rss/>")
    path = write(tmp_path, f"feeds:\n  - url: feed.xml\n  - url: file://{tmp_path}/feed.xml\n"
                           f"  - url: file://{tmp_path}/gone.xml\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == (f"{path}:4: feeds[2].url: local file {tmp_path}/gone.xml "
                               "does not exist")


def test_web_users_need_argon2_hashes_and_names_a_form_can_send(tmp_path: Path) -> None:
    """A password written as is under web.users (or a hash cut short) signed nobody in, with
    not a word from monitor check; the value is not quoted back (it may be a password)."""
    path = write(tmp_path, 'web:\n  users:\n    bob: hunter2\n    "": "$argon2id$v=19$x"\n'
                           '    ana: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    message = str(info.value)
    assert message.startswith(f"{path}:2: web.users: user 'bob': the value is not an argon2 "
                              "hash, so no password signs in; put the line `monitor web "
                              "passwd bob` prints")
    assert "user '': a name is text on one line, not empty" in message
    assert "hunter2" not in message and "ana" not in message


def test_time_zones_need_no_system_time_zone_database(tmp_path: Path) -> None:
    """A slim container image has no /usr/share/zoneinfo: there `timezone: Asia/Jakarta` was
    an unknown zone. The tzdata package is the fallback zoneinfo reads."""
    path = write(tmp_path, "channels:\n  team:\n    urls: ['json://127.0.0.1:9/x']\n"
                           "    timezone: Asia/Jakarta\n    digest_schedule: 0 8 * * *\n")
    check = ("import sys, zoneinfo; from pathlib import Path; "
             "from monitor.config import load_config; "
             "assert not zoneinfo.TZPATH, zoneinfo.TZPATH; "
             "print(load_config(Path(sys.argv[1]), {}).channels['team'].timezone)")
    done = subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONTZPATH": ""})
    assert (done.returncode, done.stdout) == (0, "Asia/Jakarta\n"), done.stderr


def test_a_secrets_file_saved_by_a_windows_editor_still_reads(tmp_path: Path) -> None:
    """A byte-order mark and CRLF line ends (Notepad): the mark became part of the first
    name, and `${HOOK_URL}` then read as not set."""
    secrets = tmp_path / "secrets.env"
    secrets.write_bytes(b"\xef\xbb\xbfHOOK_URL='json://127.0.0.1:9/x'\r\nOTHER=1\r\n")
    secrets.chmod(0o600)
    path = write(tmp_path, 'secrets_file: secrets.env\n'
                           'channels:\n  chat:\n    urls: ["${HOOK_URL}"]\n')
    assert load_config(path, {}).channels["chat"].urls == ["json://127.0.0.1:9/x"]


@pytest.mark.parametrize("line", ["HOOK_URL: json://127.0.0.1:9/s3cret", "HOOK URL=s3cret",
                                  "json://127.0.0.1:9/s3cret"])
def test_a_secrets_file_line_that_is_not_name_value_is_named_not_skipped(
        tmp_path: Path, line: str) -> None:
    """Skipped silently, such a line left its variable unset, and the error named the
    reference, not the file's line. The line is not quoted back: it holds a secret."""
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"# channels\nOTHER=1\n{line}\n", encoding="utf-8")
    secrets.chmod(0o600)
    path = write(tmp_path, 'secrets_file: secrets.env\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == (f"{path}:1: secrets_file: {secrets}: line 3 is not NAME=VALUE "
                               "(a name of letters, digits and _, then =, then the value)")
    assert "s3cret" not in str(info.value)


def test_a_feed_path_that_is_a_folder_or_a_device_is_not_called_missing(
        tmp_path: Path) -> None:
    """`local file /dev/zero does not exist` sent the user looking for a file that is there."""
    (tmp_path / "feeds").mkdir()
    path = write(tmp_path, "feeds:\n  - url: feeds\n    name: Folder\n"
                           "  - url: /dev/null\n    name: Device\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert [str(p) for p in info.value.problems] == [
        f"{path}:2: feeds[0].url: local file {tmp_path / 'feeds'} is not a regular file",
        f"{path}:4: feeds[1].url: local file /dev/null is not a regular file"]


@pytest.mark.parametrize(("given", "kept", "base"), [
    ("https://News.example.org/monitor", "https://news.example.org/monitor/", "/monitor"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/", ""),
    ("https://example.org/a/b.c/~d/", "https://example.org/a/b.c/~d/", "/a/b.c/~d"),
    # the default port as a browser's Origin header leaves it out
    ("HTTPS://Example.org:443/m/", "https://example.org/m/", "/m"),
    ("http://[::1]:80", "http://[::1]/", ""),
    ("https://example.org:8443/", "https://example.org:8443/", ""),
    ("https://example.org:/", "https://example.org/", ""),
])
def test_the_public_url_is_kept_with_a_last_slash(tmp_path: Path, given: str, kept: str,
                                                  base: str) -> None:
    config = load_config(write(tmp_path, f"web:\n  public_url: {given}\n"), {})
    assert config.web.public_url == kept
    assert config.web.base_path == base


@pytest.mark.parametrize(("given", "said"), [
    ("ftp://example.org/", "is not an http(s) address"),
    ("/monitor/", "is not an http(s) address"),
    ("https://bücher.example/", "xn-- form"),
    ("https://news example.org/", "is not an http(s) address"),
    ("https://example.org/?a=1", "no ?query, #fragment, user or password"),
    ("https://ana:pw@example.org/", "no ?query, #fragment, user or password"),
    ("https://example.org/a/../b", "without an empty, . or .. segment"),
    ("https://example.org/a%20b/", "letters, digits"),
    ("https://example.org:99999/", "Port out of range"),
])
def test_a_public_url_the_web_view_cannot_serve_is_a_problem_at_its_line(
        tmp_path: Path, given: str, said: str) -> None:
    path = write(tmp_path, f"web:\n  listen: 127.0.0.1:8080\n  public_url: '{given}'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value).startswith(f"{path}:3: web.public_url: ")
    assert said in str(info.value)
    assert "pw" not in str(info.value)


def test_a_configuration_read_from_a_pipe_has_paths_relative_to_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`monitor -c <(...)` or `-c /dev/stdin`: the file's folder was /proc/<pid>/fd or /dev,
    so `rules_dir: rules` named /dev/rules ("no such rule file or directory")."""
    monkeypatch.chdir(tmp_path)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_text, args=("rules_dir: mine\n",))
    writer.start()
    config = load_config(pipe, {})
    writer.join(10)
    assert config.rules_path == tmp_path / "mine"
    assert load_config(Path(os.devnull), {}).base_dir == tmp_path


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    assert WebConfig().trusted_proxies == ["127.0.0.1", "::1"]
    assert WebConfig(trusted_proxies=[" 172.16.0.0/12", "fd00::/8", "10.0.0.7"]
                     ).trusted_proxies == ["172.16.0.0/12", "fd00::/8", "10.0.0.7"]
    config = tmp_path / "monitor.yaml"
    config.write_text("web:\n  trusted_proxies:\n    - 172.18.0.1\n    - proxy.local\n")
    with pytest.raises(ConfigError, match=r"monitor\.yaml:2: web\.trusted_proxies(\[1\])?: "
                                          r"'proxy\.local' is not an IP address or network"):
        load_config(config, {})
