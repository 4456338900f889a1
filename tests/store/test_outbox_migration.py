"""Migration 0015 keys the rows queued for a ${VAR} destination by its masked label, as the
dispatcher now does, so a copy of a story found after the upgrade (or after the secret is
rotated) queues no second alert; rows that may be sent again keep the key a receiver knows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from monitor.config import load_config
from monitor.delivery.channels import ChannelDirectory, destination_key
from monitor.models import RuleHit
from monitor.store import upgrade

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _directory(tmp_path: Path, url: str) -> ChannelDirectory:
    (tmp_path / "monitor.yaml").write_text(
        "channels:\n  hook:\n    urls: ['${HOOK_URL}']\n"
        "delivery:\n  default_channels: [hook]\n  console: false\n", encoding="utf-8")
    return ChannelDirectory(load_config(tmp_path / "monitor.yaml", {"HOOK_URL": url}))


def test_rows_of_a_variable_destination_take_its_label_key_unless_they_may_be_resent(
        database_url: str, tmp_path: Path) -> None:
    old_url = "json://hook:old-Secret1@hooks.example.com/in"
    url = "json://hook:new-Secret2@hooks.example.com/in"
    directory = _directory(tmp_path, url)
    (route,) = directory.routes_for(RuleHit("r", "R", ()))
    label = route.destination
    literal = "json://hooks.example.com/plain"
    rows = [  # (alert, status, attempts, key, label)
        ("alert:r:1", "sent", 1, destination_key(old_url), label),
        ("alert:r:2", "pending", 0, destination_key(url), label),
        ("alert:r:3", "pending", 1, destination_key(url), label),  # retrying
        ("alert:r:4", "dead", 2, destination_key(url), label),
        ("alert:r:5", "unknown", 1, destination_key(url), label),
        ("alert:r:6", "sent", 1, destination_key(literal), literal),
        ("alert:r:1", "sent", 1, destination_key(url), label),  # its copy after a rotation
    ]
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0014")
        with engine.begin() as conn:
            for alert, status, attempts, key, shown in rows:
                conn.execute(text(
                    "INSERT INTO notifications (kind, dedupe_key, rule_id, channel, "
                    "destination_key, destination, status, attempts, next_attempt_at, "
                    "created_at) VALUES ('alert', :alert, 'r', 'hook', :key, :shown, :status, "
                    ":attempts, :t, :t)"),
                    {"alert": alert, "key": key, "shown": shown, "status": status,
                     "attempts": attempts, "t": T0})
        upgrade(engine)
        with engine.connect() as conn:
            keys = list(conn.execute(text(
                "SELECT destination_key FROM notifications ORDER BY id")).scalars())
    finally:
        engine.dispose()
    assert route.destination_key != destination_key(url)
    assert keys == [route.destination_key, route.destination_key, *(r[3] for r in rows[2:])]
    # The rows kept under their old key still reach the URL (rotated since, for the last).
    assert directory.url_for("hook", keys[2], label) == url
    assert directory.url_for("hook", destination_key(old_url), label) == url
