"""The shared story index: LSH band rows of story representatives, in the database.

Which story a new article joins is decided inside the transaction that stores it, against
band rows every daemon on the database writes and reads (table ``story_bands``), so two
daemons put copies of one story into the same story. The decision is serialised where it
must be, in the database:

- PostgreSQL: the transaction first takes a transaction-scoped advisory lock on each of the
  article's band keys (``pg_advisory_xact_lock``, in ascending order, so two transactions
  never deadlock on them), then reads the candidates, decides and writes its own band rows.
  Two copies of one story are candidates of each other only through a shared band key, and
  a shared key is a shared lock: the second waits for the first to commit, then sees its
  rows (READ COMMITTED reads a fresh snapshot per statement). Saves of unrelated stories
  take different locks and do not wait for each other.
- SQLite: write transactions begin ``IMMEDIATE`` (see engine.py), which already serialises
  every writer on the file, across threads and processes.

Why locks and not unique band rows (``INSERT ... ON CONFLICT``): a unique key per band would
let one story own each band bucket. Two different stories that happen to share a band would
then fight over it, and a copy racing its original would learn of the conflict only after
deciding, and have to undo and decide again. A lock around "read candidates, decide, insert"
keeps the one-process logic exactly, with any number of representatives per bucket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    any_,
    bindparam,
    column,
    delete,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from monitor.store.records import StoryCandidate, StoryLookup, StoryMember
from monitor.store.schema import ArticleRow, StoryBandRow, UtcDateTime

# The first key of the two-key advisory lock form: the story index's own lock space ("ST"),
# apart from any other advisory lock taken on the same database.
LOCK_SPACE = 0x5354

_LOCK_BANDS = text(
    "SELECT count(pg_advisory_xact_lock(:space, k)) FROM "
    "(SELECT DISTINCT k FROM unnest(CAST(:keys AS integer[])) AS u(k) ORDER BY k) AS sorted")



def _candidates(keys: ColumnElement[bool]) -> Select[Any]:
    holders = (
        select(StoryBandRow.article_id, StoryBandRow.published_at)
        .where(keys,
               StoryBandRow.published_at >= bindparam("earliest"),
               StoryBandRow.published_at <= bindparam("latest"))
        .distinct()
        .subquery())
    # Without a signature too: a title-only item represents its story by its title keys
    # (retention drops a signature only after the story window, with the band rows).
    return (select(ArticleRow.id, ArticleRow.story_id, holders.c.published_at,
                   ArticleRow.signature, ArticleRow.title)
            .join(holders, holders.c.article_id == ArticleRow.id))


# The band keys go in as one parameter (a JSON list on SQLite, an array on PostgreSQL), not
# as an expanding IN list, which SQLAlchemy re-renders at every execution: this runs for every
# new article.
_CANDIDATES = {
    "sqlite": _candidates(StoryBandRow.band_key.in_(
        select(column("value")).select_from(func.json_each(bindparam("keys"))))),
    "postgresql": _candidates(StoryBandRow.band_key == any_(
        bindparam("keys", type_=postgresql.ARRAY(BigInteger)))),
}
_REPRESENTATIVES = (select(func.count(func.distinct(StoryBandRow.article_id)))
                    .where(StoryBandRow.story_id == bindparam("story_id")))
# One statement an article, its (distinct) keys as one parameter, as _CANDIDATES reads them
# (an executemany of 40 rows bound and converted the same date 40 times).
_INSERT_BANDS = {
    "sqlite": text(
        "INSERT INTO story_bands (band_key, article_id, story_id, published_at) "
        "SELECT value, :article_id, :story_id, :published_at FROM json_each(:keys)"
    ).bindparams(bindparam("published_at", type_=UtcDateTime())),
    "postgresql": text(
        "INSERT INTO story_bands (band_key, article_id, story_id, published_at) "
        "SELECT k, :article_id, :story_id, :published_at "
        "FROM unnest(CAST(:keys AS bigint[])) AS k"),
}


def lock_key(band_key: int) -> int:
    """A band key folded into the signed 32-bit second key of ``pg_advisory_xact_lock``
    (two bands folding together only ever wait for each other needlessly)."""
    folded = (band_key ^ (band_key >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded & 0x80000000 else folded


def lock_bands(conn: Connection, band_keys: Iterable[int]) -> None:
    """Serialise story decisions that share a band key (PostgreSQL; SQLite needs nothing)."""
    if conn.dialect.name != "postgresql":  # folding 40 keys an article for nothing
        return
    keys = sorted({lock_key(k) for k in band_keys})
    if keys:  # none: title-only articles
        conn.execute(_LOCK_BANDS, {"space": LOCK_SPACE, "keys": keys})


def candidates(conn: Connection, lookup: StoryLookup) -> list[StoryCandidate]:
    """Representatives holding any of the lookup's band keys, within its time window."""
    keys = list(lookup.band_keys)
    dialect = conn.dialect.name
    rows = conn.execute(_CANDIDATES[dialect], {
        "keys": json.dumps(keys) if dialect == "sqlite" else keys,
        "earliest": _shifted(lookup.published, -lookup.window),
        "latest": _shifted(lookup.published, lookup.window)})
    return [StoryCandidate(article_id, story_id, published,
                           None if signature is None else bytes(signature), title)
            for article_id, story_id, published, signature, title in rows]


def _shifted(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, held at the first or last representable moment: a page's or an old
    row's date can be year 1 or 9999, and a date must never cost the article."""
    try:
        return moment + by
    except OverflowError:
        return (datetime.max if by > timedelta(0) else datetime.min).replace(tzinfo=UTC)


def representatives(conn: Connection, story_id: int) -> int:
    """How many articles represent ``story_id`` in the index."""
    return int(conn.execute(_REPRESENTATIVES, {"story_id": story_id}).scalar_one())


def add_bands(conn: Connection, band_keys: Sequence[int], article_id: int, story_id: int,
              published: datetime) -> None:
    """Index one article as a representative of its story."""
    keys = list(dict.fromkeys(band_keys))
    if not keys:
        return
    dialect = conn.dialect.name
    conn.execute(_INSERT_BANDS[dialect], {
        "keys": json.dumps(keys) if dialect == "sqlite" else keys,
        "article_id": article_id, "story_id": story_id, "published_at": published})


def drop_bands(conn: Connection, article_id: int) -> None:
    """Take one article out of the index (it is indexed again by another text)."""
    conn.execute(delete(StoryBandRow).where(StoryBandRow.article_id == article_id))


def add_bands_once(conn: Connection, rows: Sequence[dict[str, object]]) -> None:
    """Insert band rows, skipping those already there (two daemons rebuilding at once)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(StoryBandRow).on_conflict_do_nothing(), list(rows))


def members_without_bands(conn: Connection, since: datetime) -> list[StoryMember]:
    """Recent signed articles of stories with no band rows (stored before the shared index
    existed, or whose representatives were pruned), oldest first."""
    moment = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    rows = conn.execute(
        select(ArticleRow.id, ArticleRow.story_id, moment, ArticleRow.signature)
        .where(ArticleRow.fetched_at >= since, ArticleRow.signature.is_not(None),
               ~exists().where(StoryBandRow.story_id == ArticleRow.story_id))
        .order_by(ArticleRow.id))
    return [StoryMember(a, s, t, bytes(sig)) for a, s, t, sig in rows
            if sig is not None and t is not None]


def prune(conn: Connection, before: datetime) -> int:
    """Drop band rows of representatives published before ``before``; returns how many."""
    result = conn.execute(delete(StoryBandRow).where(StoryBandRow.published_at < before))
    return int(result.rowcount or 0)
