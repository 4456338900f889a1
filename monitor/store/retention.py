"""Retention: what ``monitor db prune`` and the daemon's daily job remove (``retention.*``).

Four steps, each in batches of short transactions (a prune never holds the database long):

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

SQLite gives the freed pages back with ``PRAGMA incremental_vacuum`` (new databases are
created with ``auto_vacuum=INCREMENTAL``; an older file is converted by one full ``VACUUM``
at its first prune). PostgreSQL's autovacuum reclaims dead rows on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
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


@dataclass(frozen=True)
class PruneCount:
    step: str
    rows: int
    cutoff: datetime | None  # None: this step is switched off (kept forever)
    what: str


def _cutoff(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now - timedelta(seconds=seconds)


def _open_story_ids() -> Select[Any]:
    """Stories an unsettled notification needs (directly or through its hit)."""
    direct = select(NotificationRow.story_id).where(
        NotificationRow.status.in_(UNSETTLED), NotificationRow.story_id.is_not(None))
    via_hit = (select(HitRow.story_id).join(NotificationRow, NotificationRow.hit_id == HitRow.id)
               .where(NotificationRow.status.in_(UNSETTLED)))
    return direct.union(via_hit)  # type: ignore[return-value]


def _signature_cutoff(cutoff: datetime, now: datetime) -> datetime:
    """Signatures of articles fetched before this go with (or after) their text."""
    return min(cutoff, now - STORY_WINDOW)


def _candidates(step: str, cutoff: datetime, now: datetime) -> Select[Any]:
    """Ids of the rows ``step`` would prune (stories for ``articles``)."""
    if step == "article_text":
        # A text still there, or a signature kept past its text until the window closed.
        return (select(ArticleRow.id)
                .where(ArticleRow.fetched_at < cutoff,
                       or_(ArticleRow.text != "",
                           and_(ArticleRow.signature.is_not(None),
                                ArticleRow.fetched_at < _signature_cutoff(cutoff, now))),
                       ArticleRow.story_id.not_in(_open_story_ids())))
    if step == "attempts":
        return (select(DeliveryAttemptRow.id)
                .join(NotificationRow, NotificationRow.id == DeliveryAttemptRow.notification_id)
                .where(DeliveryAttemptRow.attempted_at < cutoff,
                       NotificationRow.status.not_in(UNSETTLED)))
    if step == "notifications":
        # A story a copy can still join keeps its rows: their key stops a second alert.
        joinable = select(ArticleRow.story_id).where(ArticleRow.fetched_at >= now - STORY_WINDOW)
        return (select(NotificationRow.id)
                .where(NotificationRow.status.in_(("sent", "dead")),
                       func.coalesce(NotificationRow.sent_at, NotificationRow.created_at)
                       < cutoff,
                       or_(NotificationRow.story_id.is_(None),
                           NotificationRow.story_id.not_in(joinable))))
    newest = (select(ArticleRow.story_id).group_by(ArticleRow.story_id)
              .having(func.max(ArticleRow.fetched_at) < cutoff))
    return select(StoryRow.id).where(StoryRow.id.in_(newest),
                                     StoryRow.id.not_in(_open_story_ids()))


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
    """Apply retention; returns the rows handled per step. Safe to run again or concurrently
    (each batch re-selects what is still there)."""
    now = now or store.clock()
    done = dict.fromkeys(STEPS, 0)
    for step, cutoff in _cutoffs(retention, now).items():
        if cutoff is None:
            continue
        while True:
            with _database_errors(), store.write() as session:
                ids = [int(i) for i in
                       session.scalars(_candidates(step, cutoff, now).limit(batch))]
                if ids:
                    _apply(session, step, ids, _signature_cutoff(cutoff, now))
            if not ids:
                break
            done[step] += len(ids)
            progress(step, len(ids))
    if done["article_text"] or done["articles"]:
        with _database_errors():
            TextIndex(store).optimize()  # else the index keeps the pruned texts' terms
    vacuum(store)
    return done


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


def vacuum(store: Store) -> None:
    """SQLite: return free pages to the file system (see the module docstring); a database
    locked past the busy timeout, or a disk too full to vacuum, is a StoreError."""
    if store.dialect != "sqlite":
        return
    raw = store.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        cursor = conn.execute("PRAGMA auto_vacuum")
        mode = cursor.fetchone()[0]
        cursor.close()  # an open statement would lock the vacuum out
        # executescript steps each statement to its end: a plain execute of
        # incremental_vacuum frees one page per step, i.e. one page in all.
        conn.executescript("PRAGMA auto_vacuum=INCREMENTAL; VACUUM;" if mode != 2  # once
                           else "PRAGMA incremental_vacuum;")
    except sqlite3.Error as exc:
        raise StoreError(f"database unavailable: cannot give the freed space back: {exc}"
                         ) from exc
    finally:
        raw.close()
