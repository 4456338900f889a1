"""Retention: what ``monitor db prune`` and the daemon's daily job remove (``retention.*``).

Four steps (each run as described under "Sharing the database" below):

``article_text``
    Articles fetched before the cutoff lose their text (set to "") and their story
    signature (the signature not before the story window has closed: a copy that comes later
    still joins the story); title, URL, metadata, hits and the hits' evidence snippets stay,
    so ``monitor hits`` still shows them.
``attempts``
    Delivery attempts logged before the cutoff.
``notifications``
    Sent and dead outbox rows settled before the cutoff, with their attempts.
``articles``
    Whole stories whose newest article was fetched before the cutoff (and before the story
    window: a copy may still join the story until then): their articles, hits, the hits'
    feedback (the web view's relevant / not relevant verdicts) and notifications. Feed entry
    keys stay (their article link becomes empty), so an old item that a feed lists again is
    recognised and never alerts twice. Feedback is not kept apart: a verdict is on an article
    a backtest can no longer replay, and the rules page's precision then counts the verdicts
    on the stories still stored.

Nothing a notification not yet settled needs is touched: an article, story or hit referenced
by an open row (pending, held, digest) or by one whose outcome is ``unknown`` (sent without an
answer, waiting for the operator's retry) keeps everything, text and attempts included. A
sent or dead row stays while a copy may still join its story (the story window), or the copy
would find no row with its key and alert again.

Sharing the database: daemons keep writing while a prune runs, so a prune holds the write lock
only briefly. Each step finds its candidates in one read transaction (a reader blocks no
writer), then takes them ``BATCH`` at a time, each batch in a write transaction of its own that
checks every condition again for its rows alone, so what changed since the scan stays (a story
that gained an article, a notification queued again). On PostgreSQL a batch that deletes
notifications or stories first locks them (and the stories' notifications) until it commits.
On SQLite, whose write lock has no queue, a prune steps aside after each ``HOLD_SECONDS`` of
write transactions (see there); the text index's merge and the vacuum below go in steps too.

SQLite gives the freed pages back with ``PRAGMA incremental_vacuum`` (new databases are
created with ``auto_vacuum=INCREMENTAL``; an older file is converted by one full ``VACUUM``
at its first prune, the one long lock). PostgreSQL's autovacuum reclaims dead rows on its own.
"""

from __future__ import annotations

import sqlite3
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from monitor.config import RetentionConfig
from monitor.errors import StoreError
from monitor.store.ops import OPEN_STATUSES
from monitor.store.schema import (
    ArticleRow,
    DeliveryAttemptRow,
    FeedbackRow,
    FeedEntryRow,
    HitRow,
    NotificationRow,
    StoryRow,
)
from monitor.store.store import Store
from monitor.store.textindex import TextIndex

BATCH = 500
# The story window (monitor.stories' DEFAULT_WINDOW; the store cannot import it): a later copy
# can join an article's story until then, so a story and its articles' signatures outlive a
# shorter retention.articles or retention.article_text.
STORY_WINDOW = timedelta(days=7)
STEPS = ("article_text", "attempts", "notifications", "articles")
Progress = Callable[[str, int], None]  # (step, rows just done)
# Not settled: still to be sent, or sent without an answer and waiting for the operator's
# `monitor notifications retry` (which needs the hit, the article and its text).
UNSETTLED = (*OPEN_STATUSES, "unknown")
# SQLite's write lock has no queue: a writer kept out sleeps and tries again, at most 100 ms
# apart (SQLite's busy handler), until its busy timeout. Batches run back to back left it gaps
# of microseconds, so a long prune locked the daemons' saves out ("database is locked"). After
# each HOLD_SECONDS of write transactions a prune lets go for BREAK_SECONDS, longer than that
# retry interval, so a writer waiting gets in between two turns.
HOLD_SECONDS = 0.25
BREAK_SECONDS = 0.15
SCAN_CHUNK = 10_000  # candidate ids fetched per round trip of a scan
MERGE_PAGES = 256  # FTS5 leaf pages merged per transaction (a few tens of milliseconds)
VACUUM_PAGES = 4096  # free pages given back per transaction


@dataclass(frozen=True)
class PruneCount:
    step: str
    rows: int
    cutoff: datetime | None  # None: this step is switched off (kept forever)
    what: str


def _cutoff(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now - timedelta(seconds=seconds)


def _open_story_ids(within: Sequence[int] | Select[Any] | None = None) -> Select[Any]:
    """Stories an unsettled notification needs (directly or through its hit); with ``within``,
    only among those stories."""
    direct = select(NotificationRow.story_id).where(
        NotificationRow.status.in_(UNSETTLED), NotificationRow.story_id.is_not(None))
    via_hit = (select(HitRow.story_id).join(NotificationRow, NotificationRow.hit_id == HitRow.id)
               .where(NotificationRow.status.in_(UNSETTLED)))
    if within is not None:
        direct = direct.where(NotificationRow.story_id.in_(within))
        via_hit = via_hit.where(HitRow.story_id.in_(within))
    return direct.union(via_hit)  # type: ignore[return-value]


def _signature_cutoff(cutoff: datetime, now: datetime) -> datetime:
    """Signatures of articles fetched before this go with (or after) their text."""
    return min(cutoff, now - STORY_WINDOW)


def _candidates(step: str, cutoff: datetime, now: datetime,
                ids: Sequence[int] | None = None) -> Select[Any]:
    """Ids of the rows ``step`` would prune (stories for ``articles``).

    With ``ids`` (a batch): only among these, and every subquery narrowed to them and their
    stories, so a batch's check under the write lock reads its own rows, not the database.
    """
    if step == "article_text":
        within = None if ids is None else (  # an independent subquery, not the outer row
            select(ArticleRow.story_id).where(ArticleRow.id.in_(ids)).correlate(None))
        # A text still there, or a signature kept past its text until the window closed.
        query = (select(ArticleRow.id)
                 .where(ArticleRow.fetched_at < cutoff,
                        or_(ArticleRow.text != "",
                            and_(ArticleRow.signature.is_not(None),
                                 ArticleRow.fetched_at < _signature_cutoff(cutoff, now))),
                        ArticleRow.story_id.not_in(_open_story_ids(within))))
        return query if ids is None else query.where(ArticleRow.id.in_(ids))
    if step == "attempts":
        query = (select(DeliveryAttemptRow.id)
                 .join(NotificationRow, NotificationRow.id == DeliveryAttemptRow.notification_id)
                 .where(DeliveryAttemptRow.attempted_at < cutoff,
                        NotificationRow.status.not_in(UNSETTLED)))
        return query if ids is None else query.where(DeliveryAttemptRow.id.in_(ids))
    if step == "notifications":
        # A story a copy can still join keeps its rows: their key stops a second alert.
        joinable = exists().where(ArticleRow.story_id == NotificationRow.story_id,
                                  ArticleRow.fetched_at >= now - STORY_WINDOW)
        query = (select(NotificationRow.id)
                 .where(NotificationRow.status.in_(("sent", "dead")),
                        func.coalesce(NotificationRow.sent_at, NotificationRow.created_at)
                        < cutoff,
                        or_(NotificationRow.story_id.is_(None), ~joinable)))
        return query if ids is None else query.where(NotificationRow.id.in_(ids))
    newest = (select(ArticleRow.story_id).group_by(ArticleRow.story_id)
              .having(func.max(ArticleRow.fetched_at) < cutoff))
    query = select(StoryRow.id).where(StoryRow.id.not_in(_open_story_ids(ids)))
    if ids is not None:
        newest = newest.where(ArticleRow.story_id.in_(ids))
        query = query.where(StoryRow.id.in_(ids))
    return query.where(StoryRow.id.in_(newest))


_WHAT = {
    "article_text": "article texts dropped (metadata, hits and snippets kept)",
    "attempts": "delivery attempts deleted",
    "notifications": "sent or dead notifications deleted",
    "articles": "stories deleted with their articles, hits (and feedback) and notifications",
}


def _cutoffs(retention: RetentionConfig, now: datetime) -> dict[str, datetime | None]:
    cutoffs = {step: _cutoff(now, getattr(retention, step)) for step in STEPS}
    for step in ("articles", "notifications"):
        cutoff = cutoffs[step]
        if cutoff is not None:  # what a copy joining its story needs stays, or it alerts again
            cutoffs[step] = min(cutoff, now - STORY_WINDOW)
    return cutoffs


@contextmanager
def _database_errors() -> Iterator[None]:
    """What the store's transactions pass on (a malformed SQLite file: "database disk image is
    malformed") as a StoreError, like an unreachable database."""
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc


class _Turns:
    """A prune's write transactions, taken in turns on SQLite (see ``HOLD_SECONDS``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._sqlite = store.dialect == "sqlite"
        self._held = 0.0  # seconds in write transactions since the last break

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.turn(), _database_errors(), self.store.write() as session:
            yield session

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Time one write transaction; after enough of them, a break."""
        started = time.monotonic()
        yield
        self._held += time.monotonic() - started
        if self._sqlite and self._held >= HOLD_SECONDS:
            time.sleep(BREAK_SECONDS)
            self._held = 0.0


def prune_plan(store: Store, retention: RetentionConfig,
               now: datetime | None = None) -> list[PruneCount]:
    """What a prune would remove now, step by step (``monitor db prune --dry-run``)."""
    now = now or store.clock()
    plan = []
    with _database_errors(), store.read() as session:
        for step, cutoff in _cutoffs(retention, now).items():
            rows = 0
            if cutoff is not None:
                rows = session.scalar(select(func.count()).select_from(
                    _candidates(step, cutoff, now).subquery())) or 0
            plan.append(PruneCount(step, rows, cutoff, _WHAT[step]))
    return plan


def prune(store: Store, retention: RetentionConfig, now: datetime | None = None,
          progress: Progress = lambda _step, _n: None, batch: int = BATCH) -> dict[str, int]:
    """Apply retention; returns the rows handled per step. Safe while daemons write, and to run
    again or concurrently (each batch checks again what is still there)."""
    now = now or store.clock()
    turns = _Turns(store)
    done = dict.fromkeys(STEPS, 0)
    for step, cutoff in _cutoffs(retention, now).items():
        if cutoff is None:
            continue
        found = _scan(store, step, cutoff, now)
        for start in range(0, len(found), batch):
            with turns.write() as session:
                rows = _prune_batch(session, step, list(found[start:start + batch]),
                                    cutoff, now)
            if rows:
                done[step] += rows
                progress(step, rows)
    if done["article_text"] or done["articles"]:
        _optimize_text_index(store, turns)  # else the index keeps the pruned texts' terms
    vacuum(store, turns)
    return done


def _scan(store: Store, step: str, cutoff: datetime, now: datetime) -> Sequence[int]:
    """The ids ``step`` would prune now, found in one read transaction (in the order the
    database finds them: an ORDER BY id made SQLite walk every article, texts and all, instead
    of the fetched_at index)."""
    with _database_errors(), store.read() as session:
        return array("q", session.scalars(_candidates(step, cutoff, now),
                                          execution_options={"yield_per": SCAN_CHUNK}))


def _prune_batch(session: Session, step: str, ids: Sequence[int], cutoff: datetime,
                 now: datetime) -> int:
    """Prune those of ``ids`` that ``step`` still would, checked again in this write
    transaction (the scan's read may be minutes old); returns how many."""
    if step in ("notifications", "articles") and session.get_bind().dialect.name != "sqlite":
        _lock(session, step, ids)
    kept = [int(i) for i in session.scalars(_candidates(step, cutoff, now, ids))]
    if kept:
        _apply(session, step, kept, _signature_cutoff(cutoff, now))
    return len(kept)


def _lock(session: Session, step: str, ids: Sequence[int]) -> None:
    """PostgreSQL (SQLite's BEGIN IMMEDIATE lets no other writer in): lock the rows a batch
    deletes and decides on until it commits, in id order like every prune. A change committed
    between the check and the delete is not seen by the check: an alert queued again (a retry)
    was deleted all the same (the delete rechecks only its own WHERE on the changed row), a copy
    joining the story went with it or failed the batch. Locked, the batch waits for such a
    transaction and then sees it, or that one waits for the batch. (Dropping a text or an
    attempt changes no row the check reads: what commits meanwhile ends as it would have just
    after the batch.)"""
    notes: ColumnElement[bool] = NotificationRow.id.in_(ids)
    if step == "articles":  # a new article, hit or alert of a story waits: its key shares it
        session.execute(select(StoryRow.id).where(StoryRow.id.in_(ids))
                        .order_by(StoryRow.id).with_for_update())
        notes = or_(NotificationRow.story_id.in_(ids), NotificationRow.hit_id.in_(
            select(HitRow.id).where(HitRow.story_id.in_(ids))))
    session.execute(select(NotificationRow.id).where(notes)
                    .order_by(NotificationRow.id).with_for_update())


def _apply(session: Session, step: str, ids: Sequence[int],
           signature_cutoff: datetime) -> None:
    if step == "article_text":
        session.execute(update(ArticleRow).where(ArticleRow.id.in_(ids), ArticleRow.text != "")
                        .values(text=""))
        # The story signature only serves the near-duplicate window (days): it goes too, but
        # not before the window has closed, or a later copy would start a story and re-alert.
        session.execute(update(ArticleRow).where(ArticleRow.id.in_(ids),
                                                 ArticleRow.fetched_at < signature_cutoff)
                        .values(signature=None))
    elif step == "attempts":
        session.execute(delete(DeliveryAttemptRow).where(DeliveryAttemptRow.id.in_(ids)))
    elif step == "notifications":
        session.execute(delete(DeliveryAttemptRow)
                        .where(DeliveryAttemptRow.notification_id.in_(ids)))
        session.execute(delete(NotificationRow).where(NotificationRow.id.in_(ids)))
    else:  # whole stories
        articles = select(ArticleRow.id).where(ArticleRow.story_id.in_(ids))
        hits = select(HitRow.id).where(HitRow.article_id.in_(articles))
        notes = select(NotificationRow.id).where(or_(NotificationRow.story_id.in_(ids),
                                                     NotificationRow.hit_id.in_(hits)))
        session.execute(delete(DeliveryAttemptRow)
                        .where(DeliveryAttemptRow.notification_id.in_(notes)))
        session.execute(delete(NotificationRow).where(NotificationRow.id.in_(notes)))
        # ON DELETE CASCADE would take it too: said here, as with the rows above.
        session.execute(delete(FeedbackRow).where(FeedbackRow.hit_id.in_(hits)))
        session.execute(delete(HitRow).where(HitRow.article_id.in_(articles)))
        session.execute(update(FeedEntryRow).where(FeedEntryRow.article_id.in_(articles))
                        .values(article_id=None))
        session.execute(delete(ArticleRow).where(ArticleRow.story_id.in_(ids)))
        session.execute(delete(StoryRow).where(and_(
            StoryRow.id.in_(ids),
            ~exists().where(ArticleRow.story_id == StoryRow.id),
            ~exists().where(HitRow.story_id == StoryRow.id))))


# FTS5's incremental merge: a negative count first puts every segment in the merge (as
# 'optimize' does); a positive one then carries that merge on, while the segments the daemons'
# saves add meanwhile wait for the next prune.
_MERGE = text("INSERT INTO articles_fts(articles_fts, rank) VALUES ('merge', :pages)")
_CHANGES = text("SELECT total_changes()")


def _optimize_text_index(store: Store, turns: _Turns) -> None:
    """:meth:`TextIndex.optimize` (PostgreSQL's is batched already); on SQLite the same merge
    ``MERGE_PAGES`` at a time, not in one transaction as long as the index is big."""
    index = TextIndex(store)
    with _database_errors():
        if store.dialect != "sqlite" or not index.available:
            index.optimize()
            return
    pages = -MERGE_PAGES
    while True:
        with turns.write() as session:
            before = session.scalar(_CHANGES) or 0
            session.execute(_MERGE, {"pages": pages})
            changed = (session.scalar(_CHANGES) or 0) - before
        if changed < 2:  # FTS5's sign that the merge found nothing left to do
            return
        pages = MERGE_PAGES


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    cursor = conn.execute(f"PRAGMA {name}")
    value = int(cursor.fetchone()[0])
    cursor.close()  # an open statement would lock the vacuum out
    return value


def vacuum(store: Store, turns: _Turns | None = None) -> None:
    """SQLite: return free pages to the file system (see the module docstring),
    ``VACUUM_PAGES`` per transaction; a database locked past the busy timeout, or a disk too
    full to vacuum, is a StoreError."""
    if store.dialect != "sqlite":
        return
    turns = turns or _Turns(store)
    raw = store.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        if _pragma(conn, "auto_vacuum") != 2:  # once
            conn.executescript("PRAGMA auto_vacuum=INCREMENTAL; VACUUM;")
            return
        free = _pragma(conn, "freelist_count")
        while True:
            with turns.turn():
                # executescript steps each statement to its end: a plain execute of
                # incremental_vacuum frees one page per step, i.e. one page in all.
                conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
            left = _pragma(conn, "freelist_count")
            if not left or left >= free:  # or pages freed as fast: the next prune's
                return
            free = left
    except sqlite3.Error as exc:
        if "locked" in str(exc):  # a daemon's write past the busy timeout, as anywhere else
            raise StoreError(f"database unavailable: {exc}") from exc
        raise StoreError(f"database unavailable: cannot give the freed space back: {exc}"
                         ) from exc
    finally:
        raw.close()
