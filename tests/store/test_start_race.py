"""Several daemons starting at the same moment on one empty database (issue 14, item 5)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from monitor.store import Store, current_revision, head_revision, upgrade
from monitor.store.engine import set_wal
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


class _SignallingCursor:
    """A cursor that signals once a statement has failed (the lock was met)."""

    def __init__(self, cursor: sqlite3.Cursor, failed: threading.Event) -> None:
        self._cursor = cursor
        self._failed = failed

    def execute(self, sql: str) -> sqlite3.Cursor:
        try:
            return self._cursor.execute(sql)
        except sqlite3.OperationalError:
            self._failed.set()
            raise


def test_switching_to_wal_waits_out_a_lock_the_busy_handler_does_not(tmp_path: Path) -> None:
    """The switch fails at once (here: no busy handler; at a real start: two connections
    both escalating) while another connection holds the lock; it is tried again until the
    lock goes, and gives up at the deadline."""
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    starting = sqlite3.connect(path, timeout=0, isolation_level=None)
    failed = threading.Event()

    def release_after_a_failure() -> None:
        failed.wait(timeout=30)
        holder.execute("COMMIT")

    releaser = threading.Thread(target=release_after_a_failure)
    releaser.start()
    set_wal(_SignallingCursor(starting.cursor(), failed), time.monotonic() + 30)
    releaser.join(timeout=30)
    assert failed.is_set()
    assert starting.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    holder.close()
    starting.close()

    # A lock never released: the deadline ends the retries.
    holder = sqlite3.connect(tmp_path / "held.db", isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    starting = sqlite3.connect(tmp_path / "held.db", timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        set_wal(starting.cursor(), time.monotonic() + 0.05)
    holder.close()
    starting.close()
