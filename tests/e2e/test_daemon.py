"""End to end: the real daemon, the bundled rules and the seed feed, as `make run` starts it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.daemon_support import (
    REPO,
    DaemonProcess,
    invoke_cli,
    monitor_cmd,
    run_cli,
    serve_directory,
    wait_for,
)
from tests.fetch_support import Handler, LocalServer

GAZA_TITLE = "Diplomasi Tingkat Tinggi Pasca-Konflik"
UKRAINE_TITLE = "AS dan Rusia Gelar Negosiasi Rahasia"


def seed_only_config(tmp_path: Path, **overrides: object) -> Path:
    """The bundled monitor.yaml with only the local seed feed (tests reach no public host)."""
    data = yaml.safe_load((REPO / "monitor.yaml").read_text())
    data["feeds"] = [f for f in data["feeds"] if "://" not in f["url"]]
    for feed in data["feeds"]:
        feed["url"] = str(REPO / feed["url"])
        feed["interval"] = "2s"
    data["rules_dir"] = str(REPO / "rules")
    data["database_url"] = f"sqlite:///{tmp_path / 'monitor.db'}"
    data["polling"] = {"tick": "1s", "default_interval": "2s", "min_interval": "1s"}
    data["web"] = {"listen": "127.0.0.1:0"}  # any free port: tests run side by side
    data["metrics"] = {"listen": "127.0.0.1:0"}  # any free port: tests run side by side
    data.update(overrides)
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def stored_hits(config: Path) -> list[dict[str, object]]:
    result = invoke_cli(config, "hits", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def feed_entries_seen(config: Path) -> list[dict[str, object]]:
    result = invoke_cli(config, "feeds", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.slow
def test_seed_demo_alerts_once_and_survives_a_restart(tmp_path: Path) -> None:
    config = seed_only_config(tmp_path)
    assert invoke_cli(config, "db", "upgrade").returncode == 0

    daemon = DaemonProcess(config)
    try:
        hits = wait_for(lambda: len(stored_hits(config)) >= 2 and stored_hits(config), 60,
                        "hits for both seed articles")
        wait_for(lambda: GAZA_TITLE in daemon.output and UKRAINE_TITLE in daemon.output, 30,
                 "both alerts printed on the console")
    finally:
        code, seconds = daemon.terminate()
    assert code == 0 and seconds < 10
    assert {h["rule"] for h in hits} == {"gaza-ceasefire", "ukraine-peace-plan"}
    by_rule = {h["rule"]: h for h in hits}
    assert str(by_rule["gaza-ceasefire"]["title"]).startswith(GAZA_TITLE)
    assert str(by_rule["ukraine-peace-plan"]["title"]).startswith(UKRAINE_TITLE)
    for hit in hits:
        assert {"rule", "title", "url", "source", "published", "matched_at"} <= set(hit)
        assert hit["evidence"]
    first_output = daemon.output

    # Started again: the feed is polled again, but nothing is stored or alerted twice.
    before = feed_entries_seen(config)[0]
    again = DaemonProcess(config)
    try:
        wait_for(lambda: feed_entries_seen(config)[0]["last_success"] != before["last_success"],
                 30, "the seed feed to be polled again after the restart")
    finally:
        code, _ = again.terminate()
    assert code == 0
    assert len(stored_hits(config)) == 2
    assert GAZA_TITLE not in again.output and UKRAINE_TITLE not in again.output
    assert first_output.count(f"] {GAZA_TITLE}") == 1  # one alert header per article


@pytest.mark.slow
def test_run_once_over_http_on_loopback(tmp_path: Path) -> None:
    """The same seed feed served by a real HTTP server: fetch, extract, match, alert, exit 0."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "seeds", site)
    with serve_directory(site) as base:
        config = seed_only_config(
            tmp_path,
            feeds=[{"url": f"{base}/feed.xml", "name": "Loopback News", "language": "id"}],
            http={"allow_private_networks": ["127.0.0.1/32"]},
        )
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        result = run_cli(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert GAZA_TITLE in result.stdout and UKRAINE_TITLE in result.stdout
    # The daemon's own lines at INFO, not one line per HTTP request from the client library.
    assert "once: 1 feeds polled" in result.stderr
    assert "HTTP Request" not in result.stderr, result.stderr
    hits = stored_hits(config)
    assert {h["url"] for h in hits} == {f"{base}/pages/gaza-trilateral-new-york.html",
                                        f"{base}/pages/us-russia-ukraine-plan.html"}
    health = feed_entries_seen(config)[0]
    assert health["status"] == "ok" and health["entries_seen"] == 2


def test_run_refuses_a_database_without_schema(tmp_path: Path) -> None:
    config = seed_only_config(tmp_path)
    result = run_cli(config, "run", "--once")
    assert result.returncode == 2
    assert "monitor db upgrade" in result.stderr


def test_a_seed_alert_on_the_console_reads_as_the_readme_shows(tmp_path: Path) -> None:
    """The alert layout through the real command line: one header, what matched once each in
    the article's words, distinct passages, the other outlets; no stray whitespace."""
    config = seed_only_config(tmp_path)
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    result = run_cli(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith("[Gaza ceasefire diplomacy] Diplomasi Tingkat Tinggi"))
    block = lines[start:lines.index("", start + 4)]
    assert block[1] == "usmnews | 2025-12-08 02:00 UTC | id"
    assert block[2].startswith("file://") and block[2].endswith("gaza-trilateral-new-york.html")
    matched = lines[start + 4]
    assert matched == ("Matched: Gaza; Hamas; gencatan senjata; perjanjian damai; Kesepakatan; "
                       "Israel; Netanyahu; Qatar; Mesir; Mossad; Barnea; AS")
    snippets = [line for line in lines[start + 5:] if line.startswith("- ")][:5]
    assert len(snippets) == len(set(snippets)) >= 3
    assert sum(line.startswith("[Gaza ceasefire diplomacy]") for line in lines) == 1
    assert all(line == line.strip() for line in lines[start:start + 10])


def _news_site(site: Path, articles: int) -> None:
    """A feed of ``articles`` distinct pages of a few kilobytes each."""
    site.mkdir()
    items = []
    for i in range(articles):
        words = " ".join(f"ceasefire talks round {i} word{i}x{j} resumed." for j in range(60))
        (site / f"{i}.html").write_text(
            f"<html><head><title>Talks {i}</title></head><body><article><h1>Talks {i}</h1>"
            f"<p>{words}</p><p>{words[::-1]}</p></article></body></html>", encoding="utf-8")
        items.append(f"<item><title>Talks {i}</title><link>BASE/{i}.html</link>"
                     f"<guid>t{i}</guid></item>")
    (site / "feed.xml").write_text("<rss version='2.0'><channel><title>Wire</title>"
                                   + "".join(items) + "</channel></rss>", encoding="utf-8")


@pytest.mark.slow
def test_run_once_on_a_full_disk_fails_in_one_line(tmp_path: Path) -> None:
    """The disk fills mid-cycle (a file-size limit on the process: SQLite's writes then fail
    as on a full disk): `run --once` ends with one line naming the cause and exit 1, not a
    traceback; a run after space is freed stores every article."""
    site = tmp_path / "site"
    _news_site(site, 60)
    with serve_directory(site) as base:
        feed = site / "feed.xml"
        feed.write_text(feed.read_text().replace("BASE", base))
        config = seed_only_config(
            tmp_path, feeds=[{"url": f"{base}/feed.xml", "name": "Wire", "language": "en"}],
            http={"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False})
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        limit = (tmp_path / "monitor.db").stat().st_size + 32 * 1024  # the WAL's room
        # The limit set in the child itself, before it becomes the command (no preexec_fn:
        # this process runs the server's thread).
        limited = [sys.executable, "-c",
                   "import os, resource, sys; "
                   f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
                   "os.execv(sys.argv[1], sys.argv[1:])", *monitor_cmd("run", "--once")]
        env = {**os.environ, "MONITOR_CONFIG": str(config)}
        env.pop("MONITOR_DATABASE_URL", None)
        full = subprocess.run(limited, env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, check=False)
        assert full.returncode == 1, full.stderr
        assert "Traceback" not in full.stderr, full.stderr
        assert full.stderr.splitlines()[-1].startswith("monitor: database unavailable: ")
        assert feed_entries_seen(config)[0]["entries_seen"] in range(60)

        freed = run_cli(config, "run", "--once")
    assert freed.returncode == 0, freed.stderr
    assert feed_entries_seen(config)[0]["entries_seen"] == 60


def test_a_rule_file_named_in_latin1_is_reported_not_fatal(tmp_path: Path) -> None:
    """A broken rule file whose name is not UTF-8: the daemon's notice of its problem hashed
    the text strictly and the daemon died at start-up. Now the notice names it with U+FFFD."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / os.fsdecode(b"tr\xeave.yaml")).write_text(
        "rules:\n  - id: x\n    query: (a AND\n", encoding="utf-8")
    config = seed_only_config(tmp_path, rules_dir=str(rules))
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    result = run_cli(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert GAZA_TITLE in result.stdout and UKRAINE_TITLE in result.stdout
    assert "Rule problems: 1" in result.stdout
    assert f"{rules}/tr\ufffdve.yaml:3: rule x: query:" in result.stdout


@contextmanager
def _stalled_cycle(tmp_path: Path, command: tuple[str, ...], *,
                   ignore_hangup: bool = False) -> Iterator[tuple[subprocess.Popen[str],
                                                                  threading.Event]]:
    """``command`` running a cycle whose four pages answer only once the yielded event is set
    (or after 120 s: slower than the run's whole grace), once the first page was asked for."""
    asked, release = threading.Event(), threading.Event()

    def tarpit(handler: Handler) -> None:
        asked.set()
        release.wait(120)
        handler.reply(200, b"<html><body><p>late</p></body></html>",
                      {"Content-Type": "text/html"})

    with LocalServer() as server:
        items = "".join(f"<item><title>Talks {i}</title><link>{server.url(f'/{i}.html')}"
                        f"</link><guid>t{i}</guid></item>" for i in range(4))
        server.route("/feed.xml", body=f"<rss version='2.0'><channel><title>W</title>{items}"
                     "</channel></rss>".encode(), headers={"Content-Type": "application/rss+xml"})
        for i in range(4):
            server.routes[f"/{i}.html"] = tarpit
        config = seed_only_config(
            tmp_path, feeds=[{"url": server.url("/feed.xml"), "name": "Wire"}],
            http={"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False,
                  "read_timeout": "60s", "total_timeout": "60s"})
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        env = {**os.environ, "MONITOR_CONFIG": str(config)}
        env.pop("MONITOR_DATABASE_URL", None)

        def nohup() -> None:  # as `nohup` starts it
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        once = subprocess.Popen(monitor_cmd(*command), env=env, cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=nohup if ignore_hangup else None)  # noqa: PLW1509
        try:
            assert asked.wait(60), "no page was asked for"
            yield once, release
        finally:
            release.set()
            if once.poll() is None:
                once.kill()


@pytest.mark.slow
@pytest.mark.parametrize(("command", "sig"), [
    (("run", "--once"), signal.SIGTERM), (("run", "--once"), signal.SIGINT),
    (("run", "--once"), signal.SIGHUP), (("feeds", "refresh", "--all"), signal.SIGINT),
], ids=["once-SIGTERM", "once-SIGINT", "once-SIGHUP", "refresh-SIGINT"])
def test_a_cycle_run_from_the_command_line_stops_on_a_signal_within_the_grace(
        tmp_path: Path, command: tuple[str, ...], sig: signal.Signals) -> None:
    """SIGTERM (a cron job's `timeout`) killed `run --once` outright, leaving its feed leased
    for minutes; Ctrl-C waited for every poll in flight (pages slower than every timeout:
    minutes), in `feeds refresh` too; a hangup (the SSH session that ran it dropped) killed it
    outright as well. All now stop as the daemon stops: within its 8 s grace, the feed
    released, exit 1 (the run did not finish)."""
    with _stalled_cycle(tmp_path, command) as (once, _release):
        stopped = time.monotonic()
        once.send_signal(sig)
        _out, err = once.communicate(timeout=30)
        seconds = time.monotonic() - stopped
    assert once.returncode == 1, err
    assert seconds < 12, seconds
    assert "stopped: polls still running after 8 s are left" in err
    assert "Traceback" not in err
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        assert db.execute("SELECT lease_owner FROM feeds").fetchall() == [(None,)]


@pytest.mark.slow
def test_a_run_started_with_nohup_keeps_running_through_a_hangup(tmp_path: Path) -> None:
    with _stalled_cycle(tmp_path, ("run", "--once"), ignore_hangup=True) as (once, release):
        once.send_signal(signal.SIGHUP)
        # still running, not stopping: its log would say so at once
        with pytest.raises(subprocess.TimeoutExpired):
            once.wait(1.5)
        release.set()
        _out, err = once.communicate(timeout=60)
    assert once.returncode == 0, err
    assert "received" not in err and "stopped" not in err
