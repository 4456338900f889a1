"""A per-feed budget: at most ``polling.max_new_entries`` new entries per feed per cycle, newest
first; the rest wait for the next cycle and are not lost (issue 10, item 5; case G14)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from monitor.store.schema import FeedEntryRow
from tests.daemon.test_pipeline import served_world
from tests.hostile_support import many_entries


def _stored_keys(world_store: object) -> list[str]:
    from monitor.store import Store
    assert isinstance(world_store, Store)
    with world_store.read() as session:
        return list(session.scalars(select(FeedEntryRow.entry_key)))


def test_G14_a_feed_of_50000_entries_gives_100_per_cycle_newest_first(
        tmp_path: Path, sqlite_url: str) -> None:
    with served_world(tmp_path, sqlite_url, ("big.json", "Big")) as w:
        w.write("big.json", many_entries(w.base, 50_000).decode())
        started = time.monotonic()
        report = w.pipeline.run_cycle()
        first = time.monotonic() - started
        assert report.failed == 0 and report.new_entries == 100 and report.articles == 100
        keys = set(_stored_keys(w.store))
        assert keys == {f"guid:e{i}" for i in range(49_900, 50_000)}  # the newest 100
        (health,) = w.store.feed_health()
        assert health.warning is not None and "49900 more new entries wait" in (
            health.warning)
        assert health.next_check_at <= w.clock() + timedelta(seconds=1)  # due at the next tick
        w.clock.advance(15)
        # The server answers conditional requests with 304: no validator may be kept, or the
        # next poll would see nothing and the 49,900 would be lost.
        report = w.pipeline.run_cycle()
        assert report.new_entries == 100 and report.articles == 100
        assert set(_stored_keys(w.store)) - keys == {f"guid:e{i}" for i in range(49_800, 49_900)}
    assert first < 60


def test_G14_every_entry_arrives_once_over_the_cycles(tmp_path: Path, sqlite_url: str) -> None:
    with served_world(tmp_path, sqlite_url, ("big.json", "Big")) as w:
        w.write("big.json", many_entries(w.base, 250).decode())
        counts = []
        for _ in range(4):
            counts.append(w.pipeline.run_cycle().articles)
            w.clock.advance(15)  # the next tick
        assert counts == [100, 100, 50, 0]
        keys = _stored_keys(w.store)
        assert sorted(keys) == sorted(f"guid:e{i}" for i in range(250))
        assert w.store.count("articles") == 250
        (health,) = w.store.feed_health()
        # Nothing waits any more; the only warning left is that the entries' pages (under
        # /gone/) were not there, so they were matched on the feed's text.
        assert health.warning == ("50 of 50 new pages not read (http_status: 50): "
                                       "matched on the feed's text")
        assert health.next_check_at > w.clock()
