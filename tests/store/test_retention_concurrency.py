"""Retention while daemons write: short write transactions, and a batch that checks again.

A prune finds its candidates in a read transaction and deletes them in short write
transactions, each checking its rows again (monitor.store.retention, "Sharing the database").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, insert, select, text, update

from monitor.config import RetentionConfig
from monitor.errors import StoreError
from monitor.store import Outbox, Store, TextIndex, prune, prune_plan, retention
from monitor.store.engine import SQLITE_BUSY_TIMEOUT_MS
from monitor.store.schema import (
    ArticleRow,
    DeliveryAttemptRow,
    FeedEntryRow,
    HitRow,
    NotificationRow,
    StoryRow,
)
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store

DAY = 86400.0
# With two articles each: about 190,000 rows. A prune that looked its candidates up in each
# batch's write transaction, batches back to back, took 6 to 7.5 s here with a daemon saving
# all along, whose saves then waited up to 2 to 3 s (and longer with more rows).
STORIES = 30_000
TEXT = ("Qatar dan Mesir mendesak gencatan senjata di Gaza setelah perundingan panjang yang "
        "melibatkan banyak pihak dan berlangsung selama beberapa pekan terakhir. ") * 3
ONLY = {"article_text": None, "attempts": None, "notifications": None, "articles": None}
CUTOFFS = {"article_text": 90 * DAY, "attempts": 30 * DAY, "notifications": 90 * DAY,
           "articles": 365 * DAY}


def _fill(store: Store, stories: int, at: datetime, *, body: str = TEXT,
          chunk: int = 5000) -> None:
    """``stories`` more stories fetched ``at``, two articles each with their feed entries;
    every third story has a hit whose alert was sent, with its attempt (as the daemon leaves
    them). An empty ``body``: articles a prune has emptied already (signature gone too)."""
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    with store.read() as session:
        first = (session.scalar(select(func.max(StoryRow.id))) or 0) + 1
    for start in range(first, first + stories, chunk):
        rows: dict[Any, list[dict[str, object]]] = {
            model: [] for model in (StoryRow, ArticleRow, FeedEntryRow, HitRow,
                                    NotificationRow, DeliveryAttemptRow)}
        for i in range(start, min(start + chunk, first + stories)):
            rows[StoryRow].append({"id": i, "created_at": at})
            for a in (2 * i, 2 * i + 1):
                rows[ArticleRow].append({
                    "id": a, "canonical_url": f"https://a.example/{a}", "feed_id": fid,
                    "story_id": i, "source_name": "Example News", "title": f"Gaza {a}",
                    "text": body, "text_source": "page", "language": "id", "fetched_at": at,
                    "content_hash": f"{a:x}", "signature": b"\x01" * 64 if body else None})
                rows[FeedEntryRow].append({"feed_id": fid, "entry_key": f"k{a}",
                                           "article_id": a, "first_seen_at": at})
            if i % 3 == 0:
                rows[HitRow].append({"id": i, "article_id": 2 * i, "story_id": i,
                                     "rule_id": "gaza", "rule_name": "Gaza", "evidence": "[]",
                                     "matched_at": at})
                rows[NotificationRow].append({
                    "id": i, "kind": "alert", "dedupe_key": f"alert:gaza:{i}", "hit_id": i,
                    "rule_id": "gaza", "story_id": i, "channel": "console",
                    "destination_key": "console", "destination": "console", "status": "sent",
                    "attempts": 1, "next_attempt_at": at, "created_at": at, "sent_at": at})
                rows[DeliveryAttemptRow].append({"notification_id": i, "attempted_at": at,
                                                 "outcome": "sent"})
        with store.engine.begin() as conn:  # Core, not the ORM's bulk insert: faster
            for model, values in rows.items():
                if values:
                    conn.execute(insert(model.__table__), values)
    TextIndex(store).index_pending(batch=5000)  # SQLite: in FTS5, as the daemon leaves them


@contextmanager
def _write_locks(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """How long each of a prune's write transactions (its turns: batches, index merges, vacuum
    steps) held the write lock: from its BEGIN IMMEDIATE's return, not from when it asked (a
    wait for a daemon's save is not a hold), to its commit."""
    began: list[float] = []
    held: list[float] = []

    def on_begin(conn: Any) -> None:  # runs after the engine's own listener has begun
        if conn.get_execution_options().get("sqlite_begin", "IMMEDIATE") == "IMMEDIATE":
            began.append(time.monotonic())

    original = retention._Turns.turn

    @contextmanager
    def timed(self: Any) -> Iterator[None]:
        with original(self):
            asked, before = time.monotonic(), len(began)
            yield
            # A vacuum step's raw connection has no begin event: counted from the asking.
            held.append(time.monotonic() - (began[-1] if len(began) > before else asked))

    event.listen(store.engine, "begin", on_begin)
    monkeypatch.setattr(retention._Turns, "turn", timed)
    try:
        yield held
    finally:
        event.remove(store.engine, "begin", on_begin)


@pytest.mark.slow
def test_a_big_prune_lets_another_daemon_save_throughout(
        tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prune works for seconds (longer than the old one-batch-after-another prune let a
    waiting writer in), yet another daemon's saves, with the normal busy timeout, go through
    all along: no write transaction of the prune is long, and it steps aside between turns."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = open_store(url, clock)
    daemon = open_store(url, clock)  # another process's store: its own connections
    stop = threading.Event()
    waits: list[float] = []
    errors: list[BaseException] = []

    def save_until_stopped() -> None:
        fid = daemon.feed_health()[0].id
        while not stop.is_set():
            n = len(waits) + len(errors)
            started = time.monotonic()
            try:
                daemon.save_article(fid, article(f"https://new.example/{n}", key=f"new{n}"),
                                    [], console_route)
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
                return
            waits.append(time.monotonic() - started)

    try:
        _fill(store, STORIES, clock() - timedelta(days=400))
        plan = {p.step: p.rows for p in prune_plan(store, RetentionConfig())}
        writer = threading.Thread(target=save_until_stopped)
        with _write_locks(store, monkeypatch) as turns:
            writer.start()
            started = time.monotonic()
            try:
                done = prune(store, RetentionConfig())
            finally:
                elapsed = time.monotonic() - started
                stop.set()
                writer.join(timeout=60)
        saved = len(waits)
        assert errors == []
        assert done == plan == {"article_text": 2 * STORIES, "attempts": STORIES // 3,
                                "notifications": STORIES // 3, "articles": STORIES}
        assert store.count("articles") == saved  # every old one went, every new one stayed
    finally:
        store.close()
        daemon.close()
    print(f"prune {elapsed:.2f} s, {len(turns)} write transactions, longest {max(turns):.3f} s,"
          f" {sum(turns):.2f} s in all; {saved} saves meanwhile, longest {max(waits):.3f} s")
    assert max(turns) < 1.0
    # The work is many short turns, not one long one. A turn's time is an upper bound (its
    # commit's WAL checkpoint; a vacuum step's wait for the lock too), and one of them took
    # 0.40 s of 3.78 s on a busy machine: a fifth of the whole is the line, not a tenth.
    assert sum(turns) > 5 * max(turns)
    assert saved >= 20
    # A save waits for one turn at most (a quarter second), not for the prune to finish; far
    # below the busy timeout.
    assert max(waits) < 1.5 < SQLITE_BUSY_TIMEOUT_MS / 1000


def _after_scan(monkeypatch: pytest.MonkeyPatch, step: str,
                change: Callable[[Sequence[int]], None]) -> list[Sequence[int]]:
    """Run ``change`` once ``step``'s candidates are found, before its first batch (what a
    daemon could do meanwhile); returns the candidates found."""
    found: list[Sequence[int]] = []
    scan = retention._scan

    def scan_then_change(store: Store, name: str, cutoff: datetime,
                         now: datetime) -> Sequence[int]:
        ids = scan(store, name, cutoff, now)
        if name == step:
            found.append(ids)
            change(ids)
        return ids

    monkeypatch.setattr(retention, "_scan", scan_then_change)
    return found


def _send_all(store: Store) -> None:
    outbox = Outbox(store)
    for note in outbox.claim("me", timedelta(minutes=5), 100):
        outbox.record_sent(note.id, "me")


def _set_status(store: Store, note_id: int, status: str) -> None:
    with store.write() as session:
        session.execute(update(NotificationRow).where(NotificationRow.id == note_id)
                        .values(status=status))


def _notification_ids(store: Store) -> dict[int | None, int]:
    """Notification id by story."""
    with store.read() as session:
        return {story: note for note, story in session.execute(
            select(NotificationRow.id, NotificationRow.story_id))}


def test_a_story_that_gains_an_article_after_the_scan_is_kept(
        store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy saved into an old story after the scan found the story old enough: the
    batch's check sees the new article, and the story stays whole."""
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    joined = store.save_article(fid, article("https://a.example/1", key="k1"), [hit()],
                                console_route)
    _send_all(store)
    store.save_article(fid, article("https://a.example/2", key="k2"), [], console_route)
    clock.advance(400 * DAY)

    def copy_joins(ids: Sequence[int]) -> None:
        assert joined.story_id in ids  # a candidate when the scan ran
        store.save_article(fid, article("https://b.example/copy", key="k3", source="Other"),
                           [], console_route, story_id=joined.story_id)

    found = _after_scan(monkeypatch, "articles", copy_joins)
    done = prune(store, RetentionConfig(**{**ONLY, "articles": CUTOFFS["articles"]}))
    assert len(found[0]) == 2 and done["articles"] == 1  # only the other story went
    assert store.count("stories") == 1
    assert store.count("articles") == 2 and store.count("hits") == 1
    assert store.count("notifications") == 1
    assert store.story_sources(joined.story_id) == ["Example News", "Other"]


@pytest.mark.parametrize("step", retention.STEPS)
def test_an_alert_queued_again_after_the_scan_keeps_everything(
        store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """A sent alert put back to pending (what `monitor notifications retry` does) after the
    scan found it settled: the batch leaves its story, text, row and attempts alone."""
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    kept = store.save_article(fid, article("https://a.example/1", key="k1"), [hit()],
                              console_route)
    gone = store.save_article(fid, article("https://a.example/2", key="k2"), [hit()],
                              console_route)
    _send_all(store)
    notes = _notification_ids(store)
    clock.advance(400 * DAY)
    retention_config = RetentionConfig(**{**ONLY, step: CUTOFFS[step]})
    assert {p.step: p.rows for p in prune_plan(store, retention_config)}[step] == 2

    def queued_again(ids: Sequence[int]) -> None:
        assert len(ids) == 2  # both were candidates
        _set_status(store, notes[kept.story_id], "pending")

    _after_scan(monkeypatch, step, queued_again)
    assert prune(store, retention_config)[step] == 1  # the other one's
    assert _notification_ids(store).get(kept.story_id) == notes[kept.story_id]
    assert Outbox(store).counts()["pending"] == 1
    with store.read() as session:
        texts = dict(session.execute(select(ArticleRow.id, ArticleRow.text)).all())
        attempts = list(session.scalars(select(DeliveryAttemptRow.notification_id)))
    assert texts[kept.article_id] != ""
    assert notes[kept.story_id] in attempts
    went = {"article_text": texts.get(gone.article_id) == "",
            "attempts": notes[gone.story_id] not in attempts,
            "notifications": gone.story_id not in _notification_ids(store),
            "articles": gone.article_id not in texts}
    assert went[step]


@pytest.mark.parametrize(("step", "change"), [
    ("notifications", "retry"), ("articles", "retry"), ("articles", "copy")])
def test_a_change_under_way_when_its_batch_starts_is_waited_for_on_postgres(
        store: Store, clock: FakeClock, database_url: str, monkeypatch: pytest.MonkeyPatch,
        step: str, change: str) -> None:
    """PostgreSQL: a transaction that committed between a batch's check and its delete was not
    seen by the check, yet the delete took its row; so the batch locks its rows first. Here a
    retry (the alert back to pending) or a copy joining the story is under way, uncommitted,
    when the batch starts: the batch waits for it, then sees it and keeps the story's rows."""
    if store.dialect != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE, no other writer between the check and the delete
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    kept = store.save_article(fid, article("https://a.example/1", key="k1"), [hit()],
                              console_route)
    store.save_article(fid, article("https://a.example/2", key="k2"), [hit()], console_route)
    _send_all(store)
    note = _notification_ids(store)[kept.story_id]
    clock.advance(400 * DAY)
    other = create_engine(database_url)
    watcher = create_engine(database_url, isolation_level="AUTOCOMMIT")
    conn = other.connect()
    under_way = conn.begin()
    errors: list[BaseException] = []

    def commit_once_the_prune_waits() -> None:
        try:
            deadline = time.monotonic() + 30
            with watcher.connect() as watch:
                while time.monotonic() < deadline and not watch.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()")).scalar():
                    time.sleep(0.01)
            under_way.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    committer = threading.Thread(target=commit_once_the_prune_waits)

    def start_the_change(ids: Sequence[int]) -> None:
        assert len(ids) == 2  # both were candidates
        if change == "retry":
            conn.execute(update(NotificationRow).where(NotificationRow.id == note)
                         .values(status="pending"))
        else:
            conn.execute(insert(ArticleRow).values(
                canonical_url="https://b.example/copy", feed_id=fid, story_id=kept.story_id,
                source_name="Other", title="Gaza", text=TEXT, text_source="page",
                fetched_at=clock(), content_hash="copy"))
        committer.start()

    _after_scan(monkeypatch, step, start_the_change)
    try:
        done = prune(store, RetentionConfig(**{**ONLY, step: CUTOFFS[step]}))
    finally:
        committer.join(timeout=60)
        conn.close()
        other.dispose()
        watcher.dispose()
    assert errors == []
    assert done[step] == 1  # the other story's
    assert _notification_ids(store) == {kept.story_id: note}
    assert Outbox(store).counts()["pending"] == (change == "retry")


def test_a_prune_stopped_by_a_lock_keeps_the_batches_done(
        tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon holding the lock past the busy timeout stops the prune with a StoreError; what
    the batches before did stays done, and the next prune does the rest."""
    import sqlite3

    from monitor.store import engine
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    daemon = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        _fill(store, 30, clock() - timedelta(days=400))
        batches: list[int] = []

        def lock_after_two(_step: str, rows: int) -> None:
            batches.append(rows)
            if len(batches) == 2:  # a daemon starts a long write between two batches
                daemon.execute("BEGIN IMMEDIATE")

        only_stories = RetentionConfig(**{**ONLY, "articles": 365 * DAY})
        with pytest.raises(StoreError, match="database is locked"):
            prune(store, only_stories, progress=lock_after_two, batch=10)
        daemon.execute("ROLLBACK")
        assert batches == [10, 10] and store.count("stories") == 10
        assert prune(store, only_stories)["articles"] == 10
        assert store.count("stories") == 0
    finally:
        daemon.close()
        store.close()
