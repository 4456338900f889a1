"""Command-line edges: usage errors for bad flags, the bound port of
``monitor web``, JSON health on a bad configuration, YAML-safe ``web passwd`` output, feeds
added again, and the help of ``monitor web``."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.cli_support import cli
from tests.daemon_support import monitor_cmd


def run(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    return cli(*args, config=config, stdin=stdin)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'm.db'}",
                                    "web": {"listen": "127.0.0.1:0"}}), encoding="utf-8")
    path.chmod(0o600)
    (tmp_path / "rules").mkdir()
    assert run(path, "db", "upgrade")[0] == 0
    return path


def test_a_tag_in_a_rule_file_is_a_problem_with_its_line(config: Path) -> None:
    rules = config.parent / "rules" / "watch.yaml"
    rules.write_text("rules:\n  - id: gaza\n    query: !q gaza\n", encoding="utf-8")
    code, out, err = run(config, "check")
    assert code == 1, (out, err)
    assert f"{rules}:3: invalid YAML: the tag !q is not supported" in out + err


@pytest.mark.parametrize("args", [("hits", "--since", "100000000d"),
                                  ("backtest", "--since", "100000000d"),
                                  ("hits", "--since", "nonsense")])
def test_a_since_out_of_range_is_a_usage_error(config: Path, args: tuple[str, ...]) -> None:
    code, _out, err = run(config, *args)
    assert code == 2, err
    assert err.startswith("monitor: --since") and len(err.strip().splitlines()) == 1, err


def test_a_since_of_a_long_time_is_fine(config: Path) -> None:
    assert run(config, "hits", "--since", "36500d") == (0, "no hits since 36500d\n", "")


@pytest.mark.parametrize("args", [("hits", "--limit", "0"), ("hits", "--limit", "-1"),
                                  ("notifications", "--limit", "-5")])
def test_limits_below_one_are_refused(config: Path, args: tuple[str, ...]) -> None:
    code, _out, err = run(config, *args)
    assert code == 2 and "--limit" in err and "1" in err, err


@pytest.mark.parametrize("given", ["99", "2147483648", "99999999999999999999999"])
def test_retrying_an_unknown_notification_says_so(config: Path, given: str) -> None:
    """Past 64 bits the id was an OverflowError traceback."""
    code, out, err = run(config, "notifications", "retry", given)
    assert code == 1, (out, err)
    assert f"no such notification to queue again: {given} (" in err
    assert "queued again\n" not in out and "Traceback" not in err


def test_health_json_on_a_bad_configuration_is_json(config: Path) -> None:
    config.write_text("polling:\n  tik: 5s\n", encoding="utf-8")
    code, out, _err = run(config, "health", "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ready"] is False
    assert report["errors"] == [f"{config}:2: polling.tik: unknown setting; did you mean "
                                "tick?"]


@pytest.mark.parametrize("name", ["ali: ce", "#admin", "yes", "12", 'sa"m', "plain"])
def test_web_passwd_prints_yaml_that_reads_back_with_the_name(config: Path, name: str) -> None:
    code, out, err = run(config, "web", "passwd", name, stdin="s3cret-pw\n")
    assert code == 0, err
    users = yaml.safe_load(out)["web"]["users"]
    assert list(users) == [name] and users[name].startswith("$argon2")


@pytest.mark.parametrize(("name", "problem"), [
    ("", "needs a name"), ("  ", "needs a name"),
    ("a\nb", "has a line break, a control character or bytes that are not UTF-8"),
    ("caf\udce9", "has a line break, a control character or bytes that are not UTF-8"),
])
def test_a_name_no_listing_can_show_is_refused_for_users_and_tokens(
        config: Path, name: str, problem: str) -> None:
    """A Latin-1 terminal's byte (a lone surrogate to Python) crashed `web passwd` and `web
    token create` with a traceback; an empty name or a line break made a user no login form
    can send, or a token listing on two lines."""
    for args in (("web", "passwd", name), ("web", "token", "create", name),
                 ("web", "token", "revoke", name)):
        code, out, err = run(config, *args, stdin="s3cret-pw\n")
        assert code == 2 and out == "", err
        assert err.startswith("monitor: ") and err.count("\n") == 1 and problem in err
    assert run(config, "web", "token", "list")[1] == "no API tokens\n"
    code, _, err = run(config, "web", "token", "create", "x" * 129)
    assert code == 2 and "has 129 characters; at most 128" in err


def test_adding_a_feed_again_keeps_what_is_not_given(config: Path) -> None:
    url = "https://b.example/feed"
    run(config, "feeds", "add", "--no-fetch", url, "--name", "B News", "--interval", "30m",
        "--language", "id", "--tag", "asia")
    code, out, err = run(config, "feeds", "add", "--no-fetch", url, "--tag", "wire")
    assert code == 0, err
    assert out == f"updated: B News <{url}>: tags asia -> wire\n"
    (row,) = [json.loads(line) for line in run(config, "feeds", "--json")[1].splitlines()]
    assert (row["name"], row["interval"], row["tags"]) == ("B News", 1800, ["wire"])
    code, out, _ = run(config, "feeds", "add", "--no-fetch", url)
    assert code == 0 and out.startswith(f"unchanged: B News <{url}>"), out
    _, out, _ = run(config, "feeds", "add", "--no-fetch", url, "--interval", "1h",
                    "--language", "en")
    assert out == f"updated: B News <{url}>: interval 30m -> 1h; language id -> en\n"


def test_web_help_says_the_bare_command_serves_the_web_view(config: Path) -> None:
    code, out, _ = run(config, "web", "--help")
    assert code == 0
    assert out.startswith("Usage: monitor web [OPTIONS] [COMMAND [ARGS]...]\n")
    assert "Without a command, monitor web serves the web view" in out


def test_web_prints_the_port_it_bound(config: Path) -> None:
    env = {**os.environ, "MONITOR_CONFIG": str(config)}
    env.pop("MONITOR_DATABASE_URL", None)
    proc = subprocess.Popen(monitor_cmd("web"), env=env, cwd=config.parent, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            assert sel.select(timeout=60), "no output from monitor web"
        line = proc.stdout.readline()
        found = re.fullmatch(r"web view: (http://127\.0\.0\.1:(\d+)/)\n", line)
        assert found is not None and found.group(2) != "0", line
        with urllib.request.urlopen(found.group(1) + "healthz", timeout=10) as response:
            assert response.status in (200, 404)
    except urllib.error.HTTPError as exc:  # any answer proves the port is the bound one
        assert exc.code < 500
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, proc.stderr.read() if proc.stderr else ""


def test_list_as_a_command_says_the_group_alone_lists(config: Path) -> None:
    # `monitor feeds` and `monitor notifications` list with no command; "list" is what
    # people type first.
    for group, word in (("feeds", "list"), ("notifications", "ls"), ("feeds", "Show")):
        code, out, err = run(config, group, word)
        assert (code, out) == (2, "")
        assert err.endswith(f"Error: No such command {word!r}. `monitor {group}` with no "
                            "command lists them (see --help for its options).\n"), err
    # Other unknown commands: click's message, with typer's suggestion when one is close.
    code, _, err = run(config, "feeds", "remve")
    assert code == 2
    assert err.endswith("Error: No such command 'remve'. Did you mean 'remove'?\n"), err
    code, _, err = run(config, "db", "list")
    assert code == 2
    assert err.endswith("Error: No such command 'list'.\n"), err


def test_option_values_are_refused_in_the_tools_own_words(config: Path) -> None:
    # Typer checks them with pydantic: "Input should be greater than or equal to 1", "Value
    # error, 'nope' is not one of ...".
    for args, words in (
            (("hits", "--limit", "0"), "Invalid value for '--limit': must be at least 1"),
            (("hits", "--limit", "many"), "Invalid value for '--limit': must be a whole number"),
            (("feeds", "--status", "nope"), "Invalid value for '--status': 'nope' is not one "
             "of 'ok', 'failing', 'degraded', 'disabled', 'removed', 'never'.")):
        code, out, err = run(config, *args)
        assert (code, out) == (2, "")
        assert err.endswith(f"Error: {words}\n"), err
