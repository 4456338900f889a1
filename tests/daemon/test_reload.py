"""What a reload of monitor.yaml applies, and what it leaves for a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from monitor.config import Config, PollingConfig, load_config
from monitor.daemon import Daemon
from monitor.daemon.reload import FeedChanges, feed_changes, restart_settings
from monitor.models import FeedSource
from tests.daemon_support import daemon_in_thread, wait_for


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


def test_rules_swapped_as_kubernetes_updates_a_configmap_are_reloaded(tmp_path: Path) -> None:
    """A ConfigMap volume: the files live in a hidden timestamped folder behind the ``..data``
    link, which the kubelet renames over with a new folder's link on each update."""
    rules = tmp_path / "rules"
    rules.mkdir()

    def version(folder: str, query: str) -> None:
        (rules / folder).mkdir()
        (rules / folder / "watch.yaml").write_text(f"rules:\n  - id: talks\n    query: {query}\n")

    version("..2026_12_02_a", "ceasefire")
    (rules / "..data").symlink_to("..2026_12_02_a")
    (rules / "watch.yaml").symlink_to("..data/watch.yaml")
    config = Config(base_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'monitor.db'}",
                    rules_dir=rules, polling=PollingConfig(tick=1))

    with daemon_in_thread(config) as daemon:
        assert _first_query(daemon) == "ceasefire"
        _wait_until_watched(daemon, rules)
        version("..2026_12_02_b", "truce")
        (rules / "..data_tmp").symlink_to("..2026_12_02_b")
        (rules / "..data_tmp").replace(rules / "..data")
        shutil.rmtree(rules / "..2026_12_02_a")
        wait_for(lambda: _first_query(daemon) == "truce", 30, "the swapped rules loaded")


def test_a_rules_folder_swapped_by_a_deploy_is_followed(tmp_path: Path) -> None:
    """A deploy that puts a new folder in place (renamed over, or removed and copied in): the
    watcher follows the folder at that path, not the old one it first watched."""
    rules = tmp_path / "rules"

    def version(folder: Path, query: str) -> None:
        folder.mkdir()
        (folder / "watch.yaml").write_text(f"rules:\n  - id: talks\n    query: {query}\n")

    version(rules, "ceasefire")
    config = Config(base_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'monitor.db'}",
                    rules_dir=rules, polling=PollingConfig(tick=1))

    with daemon_in_thread(config) as daemon:
        _wait_until_watched(daemon, rules)
        version(tmp_path / "rules.new", "truce")
        rules.rename(tmp_path / "rules.old")
        (tmp_path / "rules.new").rename(rules)
        wait_for(lambda: _first_query(daemon) == "truce", 30,
                 "the swapped-in folder's rules loaded")

        _wait_until_watched(daemon, rules)  # edits in the new folder are seen
        (rules / "watch.yaml").write_text("rules:\n  - id: talks\n    query: armistice\n")
        wait_for(lambda: _first_query(daemon) == "armistice", 30,
                 "an edit in the new folder loaded")

        shutil.rmtree(rules)  # removed, then copied in again
        version(rules, "truce OR armistice")
        wait_for(lambda: _first_query(daemon) == "truce OR armistice", 30,
                 "the folder copied in loaded")


def test_a_rules_folder_missing_at_start_is_loaded_once_it_appears(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    config = Config(base_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'monitor.db'}",
                    rules_dir=rules, polling=PollingConfig(tick=1))
    with daemon_in_thread(config) as daemon:
        book = daemon.service.rules.book()
        assert book is not None and not book.rules and book.problems
        staging = tmp_path / "rules.new"
        staging.mkdir()
        (staging / "watch.yaml").write_text("rules:\n  - id: talks\n    query: truce\n")
        staging.rename(rules)
        def ids() -> list[str]:
            book = daemon.service.rules.book()
            return [r.id for r in book.rules] if book is not None else []

        wait_for(lambda: ids() == ["talks"], 30, "the rules of the folder that appeared")


def _first_query(daemon: Daemon) -> str | None:
    """The query of the first rule in force (the tests' folders hold one rule)."""
    book = daemon.service.rules.book()
    return book.rules[0].query if book is not None and book.rules else None


def _wait_until_watched(daemon: Daemon, rules: Path) -> None:
    """Touch a hidden rule file (the loader skips it) until the watcher reloads: from then on
    it sees every change, and the test's own change cannot fall before it started."""
    probe = rules / ".probe.yaml"

    def reloaded() -> bool:
        before = daemon.service.rules.book()
        probe.write_text("# probe\n")
        try:
            wait_for(lambda: daemon.service.rules.book() is not before, 1, "a reload")
        except AssertionError:
            return False
        return True

    wait_for(reloaded, 20, "the rule watcher to start")
    probe.unlink()
