"""``monitor notify test`` and ``monitor notifications`` against a real webhook receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.store import Outbox
from tests.daemon_support import run_cli
from tests.notify_support import Receiver
from tests.store_support import article, feed, hit, open_store


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{tmp_path / 'm.db'}",
        "channels": {"hook": {"urls": [url]}},
        "http": {"allow_private_networks": ["127.0.0.1/32"]},
    }))
    path.chmod(0o600)
    return path


def test_notify_test_reports_each_destination_masked(tmp_path: Path,
                                                     receiver: Receiver) -> None:
    secret = "tok3n-SECRET-value"
    ok = _config(tmp_path, f"json://u:{secret}@127.0.0.1:{receiver.port}/hook")
    result = run_cli(ok, "notify", "test", "hook")
    assert result.returncode == 0, result.stderr
    assert ": ok" in result.stdout and secret not in result.stdout + result.stderr
    (posted,) = receiver.hits_for("/hook")
    assert posted.json()["alert"]["title"] == "Test alert from newsmonitor"
    failing = _config(tmp_path, f"json://127.0.0.1:{receiver.port}/status/401")
    result = run_cli(failing, "notify", "test", "hook")
    assert result.returncode == 1 and "FAILED" in result.stdout
    assert run_cli(failing, "notify", "test", "nowhere").returncode == 2


def test_notifications_list_and_retry_dead(tmp_path: Path) -> None:
    config = _config(tmp_path, "json://127.0.0.1:9/hook")
    assert run_cli(config, "db", "upgrade").returncode == 0
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    from monitor.store import Route

    store.save_article(fid, article(), [hit()], lambda _h: [Route("hook", "k", "json://***")])
    outbox = Outbox(store)
    from datetime import timedelta

    (note,) = outbox.claim("w", timedelta(seconds=60))
    outbox.record_failure(note.id, "w", "HTTP 401", None)
    store.close()
    listing = run_cli(config, "notifications", "--status", "dead", "--json")
    (row,) = [json.loads(line) for line in listing.stdout.splitlines()]
    assert row["status"] == "dead" and row["last_error"] == "HTTP 401"
    assert set(row) == {"id", "status", "channel", "destination", "rule", "title", "attempts",
                        "created_at", "next_attempt_at", "sent_at", "last_error"}  # as the API
    result = run_cli(config, "notifications", "retry", "--dead")
    assert result.returncode == 0 and "1 notification queued again" in result.stdout
    table = run_cli(config, "notifications").stdout.splitlines()
    assert table[0].split() == ["id", "status", "channel", "destination", "rule", "title",
                                "attempts", "last", "change"]
    assert table[1].split()[:3] == [str(note.id), "pending", "hook"]
    # columns line up: each header starts where its values start
    assert table[0].index("status") == table[1].index("pending")
    # retried: a whole schedule again, its attempts counted afresh
    assert table[0].index("attempts") == table[1].index("0 ", table[0].index("attempts") - 1)
    assert run_cli(config, "notifications", "retry").returncode == 2


def test_sec_a_password_from_a_variable_is_masked_and_the_variable_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Sup3r-Secret-pw"
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{tmp_path / 'm.db'}",
        "channels": {"mail": {"urls": ["${SMTP_URL}"]}}}))
    # a closed port on loopback: the attempt fails at once and is logged at DEBUG
    monkeypatch.setenv("SMTP_URL", f"mailto://desk:{secret}@127.0.0.1:9/?to=desk@news.test")
    result = run_cli(path, "--verbose", "notify", "test", "mail")
    assert result.returncode == 1
    assert result.stdout.startswith(
        "mailto://desk:****@127.0.0.1:9/?to=desk@news.test (${SMTP_URL}): FAILED: ")
    assert secret not in result.stdout + result.stderr
