"""Several daemons starting at the same moment on one empty database (issue 14, item 5)."""

from __future__ import annotations

import threading
from pathlib import Path

from monitor.store import Store, current_revision, head_revision, upgrade
from tests.store_support import feed


def _start(url: str, barrier: threading.Barrier, errors: list[BaseException]) -> None:
    store = Store.open(url, Path())
    try:
        barrier.wait(timeout=30)
        upgrade(store.engine)  # what `monitor db upgrade` and `monitor run` do first
        store.sync_feeds([feed(f"https://news{i}.example/feed.xml", f"News {i}")
                          for i in range(50)])
    except BaseException as exc:
        errors.append(exc)
    finally:
        store.close()


def test_daemons_started_together_on_an_empty_database_all_start(database_url: str) -> None:
    """The migrations take turns (an advisory lock on PostgreSQL) and feed sync skips the
    URLs another daemon inserted first (ON CONFLICT DO NOTHING) instead of crashing."""
    rounds, daemons = 3, 3
    for _ in range(rounds):
        if database_url.startswith("postgresql"):
            from tests.store_support import reset_postgres
            reset_postgres(database_url)
        errors: list[BaseException] = []
        barrier = threading.Barrier(daemons)
        threads = [threading.Thread(target=_start, args=(database_url, barrier, errors))
                   for _ in range(daemons)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        store = Store.open(database_url, Path())
        try:
            assert current_revision(store.engine) == head_revision()
            assert store.count("feeds") == 50
        finally:
            store.close()
        if not database_url.startswith("postgresql"):
            break  # one SQLite file: BEGIN IMMEDIATE already serialises the writers
