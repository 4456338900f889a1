"""What a reload of monitor.yaml applies, and what it leaves for a restart."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.config import Config, load_config
from monitor.daemon.reload import FeedChanges, feed_changes, restart_settings
from monitor.models import FeedSource


def _config(tmp_path: Path, data: dict[str, object]) -> Config:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return load_config(path, {"HOOK": "json://127.0.0.1:9/secret-token"})


BASE: dict[str, object] = {
    "feeds": [{"url": "https://a.example/rss"}, {"url": "https://b.example/rss", "name": "B"}],
    "channels": {"hook": {"urls": ["${HOOK}"]}},
    "polling": {"tick": "30s", "default_interval": "15m"},
}


def test_feed_changes_tell_added_removed_and_changed_feeds_by_url() -> None:
    a = FeedSource("https://a.example/rss", "A", 900)
    b = FeedSource("https://b.example/rss", "B", 900)
    c = FeedSource("https://c.example/rss", "C", 900)
    changes = feed_changes([a, b], [FeedSource(a.url, "A", 1800), c])
    assert changes == FeedChanges(added=(c.url,), removed=(b.url,), changed=(a.url,))
    assert changes.summary() == "1 added, 1 removed, 1 changed"
    assert not feed_changes([a, b], [a, b])
    assert feed_changes([a, b], [a, b]).summary() == "unchanged"


def test_the_feed_list_and_default_interval_need_no_restart(tmp_path: Path) -> None:
    running = _config(tmp_path, BASE)
    edited = {**BASE, "feeds": [{"url": "https://c.example/rss"}],
              "polling": {"tick": "30s", "default_interval": "1h"}}
    assert restart_settings(running, _config(tmp_path, edited)) == []


def test_other_settings_are_named_for_a_restart_and_channels_without_their_urls(
        tmp_path: Path) -> None:
    running = _config(tmp_path, BASE)
    edited = {**BASE, "polling": {"tick": "10s", "default_interval": "15m"},
              "channels": {"hook": {"urls": ["json://127.0.0.1:9/other-token"]}},
              "http": {"user_agent": "x/1"}, "log_level": "DEBUG"}
    waiting = restart_settings(running, _config(tmp_path, edited))
    assert waiting == ["channels.hook", "http.user_agent", "log_level", "polling.tick"]
    assert not any("token" in name for name in waiting)
