"""``monitor db prune``: a dry run lists what would go; after a real prune the old hits and
their snippets are still shown."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.errors import StoreError
from monitor.models import Evidence
from monitor.store import Outbox
from tests.daemon_support import run_cli
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store


def test_prune_dry_run_then_prune_keeps_hits_with_snippets(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'm.db'}"}))
    clock = FakeClock(datetime.now(UTC) - timedelta(days=120))
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    # Found in the body: the snippet is kept when the text is pruned.
    body = Evidence(term="qatar", matched="Qatar", field="body", start=0, end=5,
                    snippet="Qatar dan Mesir mendesak gencatan senjata.")
    store.save_article(fid, article(), [dataclasses.replace(hit(), evidence=(body,))],
                       console_route)
    outbox = Outbox(store)
    for note in outbox.claim("me", timedelta(minutes=5), 10):
        outbox.record_sent(note.id, "me")
    store.close()

    dry = run_cli(config, "db", "prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = {line.split()[0]: line for line in dry.stdout.splitlines() if line.strip()}
    assert lines["article_text"].split()[1] == "1"
    assert lines["notifications"].split()[1] == "1"  # sent 120 days ago (kept 90 days)
    assert lines["articles"].split()[1] == "0"  # stories are kept 365 days
    assert "dry run: nothing changed" in dry.stdout
    assert "1 hits" not in dry.stdout

    done = run_cli(config, "db", "prune")
    assert done.returncode == 0, done.stderr
    assert "article_text 1" in done.stdout and "notifications 1" in done.stdout
    again = run_cli(config, "db", "prune", "--dry-run")
    assert all(line.split()[1] == "0" for line in again.stdout.splitlines()
               if line.split() and line.split()[0] in ("article_text", "notifications"))

    hits = run_cli(config, "hits")
    assert hits.returncode == 0, hits.stderr
    assert "Gencatan senjata di Gaza" in hits.stdout  # the title
    assert "    - Qatar dan Mesir mendesak gencatan senjata." in hits.stdout  # the snippet


def test_feeds_show_a_server_pause_and_its_end(tmp_path: Path) -> None:
    from monitor.store import PollOutcome

    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'm.db'}"}))
    now = datetime.now(UTC)
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", FakeClock(now))
    store.add_feed(feed("https://outlet.example/section.xml", "Section"))
    fid = store.feed_health()[0].id
    until = now + timedelta(hours=1)
    store.record_poll(fid, "me", PollOutcome(
        ok=False, next_check_at=until, error_code="rate_limited",
        error_message="HTTP 503; Retry-After 7200 s; this URL paused 3600 s",
        paused_until=until))
    store.close()
    shown = run_cli(config, "feeds")
    assert shown.returncode == 0, shown.stderr
    assert f"Section: paused by the server (Retry-After) until {until:%Y-%m-%d %H:%M} UTC" in (
        shown.stdout)
    listed = run_cli(config, "feeds", "--json")
    assert '"paused_until": "' + until.isoformat() in listed.stdout


def test_prune_on_a_database_locked_by_a_daemon_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon's write transaction longer than the busy timeout: no traceback, exit 1."""
    import sqlite3

    from typer.testing import CliRunner

    import monitor.store
    from monitor.cli import app
    from monitor.store import engine

    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'm.db'}"}))
    config.chmod(0o600)
    open_store(f"sqlite:///{tmp_path / 'm.db'}").close()
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    daemon = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    plan = monitor.store.prune_plan

    def plan_then_lock(*args: object, **kwargs: object) -> object:
        counted = plan(*args, **kwargs)  # type: ignore[arg-type]
        daemon.execute("BEGIN IMMEDIATE")  # the daemon starts writing as the prune begins
        return counted

    monkeypatch.setattr(monitor.store, "prune_plan", plan_then_lock)
    try:
        result = CliRunner().invoke(app, ["--config", str(config), "db", "prune"],
                                    env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
    finally:
        daemon.close()
    assert not isinstance(result.exception, StoreError), result.exception
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "monitor: prune stopped: database unavailable: database is locked (the batches done "
        "stay done)"]


def _status(config: Path, *args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from monitor.cli import app

    result = CliRunner().invoke(app, ["--config", str(config), "status", *args],
                                env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
    return result.exit_code, result.stdout, result.stderr


def test_status_json_gives_the_outbox_depth_with_or_without_a_daemon(tmp_path: Path) -> None:
    """Alerts piling up with no daemon alive is when the depth matters most: one object."""
    from monitor.store import Route, heartbeat

    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'm.db'}"}))
    now = datetime.now(UTC)
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", FakeClock(now))
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article(), [hit()], lambda _h: [
        Route("console", f"k{n}", f"console {n}") for n in range(4)])
    outbox = Outbox(store)
    first, second, *_sending = outbox.claim("w", timedelta(minutes=5), 10)
    outbox.record_sent(first.id, "w")
    outbox.hold(second.id, "w")  # kept for the channel's digest; the other two still claimed
    store.close()

    code, out, err = _status(config, "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report == {"daemons": [], "outbox": {
        "depth": 3, "pending": 2, "held": 1, "digest": 0, "sending": 2,
        "oldest_open_at": report["outbox"]["oldest_open_at"]}}
    oldest = datetime.fromisoformat(report["outbox"]["oldest_open_at"])
    assert oldest.replace(tzinfo=oldest.tzinfo or UTC) == now  # the alerts' creation
    assert _status(config)[1] == "0 daemons alive; outbox: 3 notifications open (2 sending now)\n"

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", FakeClock(datetime.now(UTC)))
    heartbeat(store, "host-1", hostname="host", pid=7, version="1.0",
              started_at=datetime.now(UTC), last_cycle="1 feeds polled")
    store.close()
    report = json.loads(_status(config, "--json")[1])
    assert [d["id"] for d in report["daemons"]] == ["host-1"]
    assert report["daemons"][0]["last_cycle"] == "1 feeds polled"
    assert report["outbox"]["depth"] == 3
