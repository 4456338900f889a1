"""The store stage: feeds and their health, articles, stories and hits, in SQL.

Writes go through :meth:`Store.write` (one transaction, ``BEGIN IMMEDIATE`` on SQLite) and
reads through :meth:`Store.read`. An article, its feed-entry record, its hits and their outbox
rows commit together (a feed's new articles in one transaction, :meth:`Store.save_articles`,
see :mod:`monitor.store.saving`), so a crash leaves either all or nothing. The per-article
path (entry keys, URL lookups, saving) runs prepared Core statements on the same engines, in
the same kinds of transaction, without an ORM session.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, literal, select, tuple_
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.errors import StoreError
from monitor.models import Article, RuleHit
from monitor.store import revising, story_index
from monitor.store.engine import make_engine, resolve_database_url, safe_url
from monitor.store.feeds import FeedTable
from monitor.store.integrity import damage_named
from monitor.store.lexemes import ArticleStemmer, Tokenizer
from monitor.store.records import (
    KnownEntry,
    RevisedArticle,
    Route,
    SavedArticle,
    StoredArticle,
    StoredHit,
    StoryLookup,
    StoryMember,
    UnlistedRetry,
    evidence_from_json,
)
from monitor.store.saving import (
    IN_CHUNK,
    Indexing,
    NewArticle,
    Routes,
    add_entries,
    alert_row,
    enqueue_once,
    entry_row,
    save_batch,
    stored_articles,
)
from monitor.store.schema import (
    ArticleRow,
    FeedEntryRow,
    FeedRow,
    HitRow,
    NotificationRow,
    StoryBandRow,
    StoryRow,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


RowT = TypeVar("RowT")
KeyT = TypeVar("KeyT")


def in_batches(fetch: Callable[[int, KeyT | None], list[RowT]], key: Callable[[RowT], KeyT],
               limit: int | None, batch: int) -> Iterator[RowT]:
    """Up to ``limit`` rows (None: all), read ``batch`` at a time by keyset: ``fetch(n,
    after)`` gives the next ``n`` rows past the ``key`` of the last row read (None: from
    the start), so each read is short and only one batch is held."""
    after: KeyT | None = None
    left = limit
    while left is None or left > 0:
        wanted = batch if left is None else min(batch, left)
        page = fetch(wanted, after)
        yield from page
        if len(page) < wanted:
            return
        if left is not None:
            left -= len(page)
        after = key(page[-1])


class Store(FeedTable):
    """Typed access to the database; every method is one short transaction.

    The feed methods (feed list, leases, health) live in :class:`~monitor.store.feeds.FeedTable`.
    """

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self._reader = engine.execution_options(sqlite_begin="DEFERRED")
        # The rules' tokenizer, when the caller wires it in: on PostgreSQL a new article's
        # text index lexemes are then stored with it (else the next search computes them).
        self.tokenizer: Tokenizer | None = None
        # The rules' stemmer, likewise: a new article's stems are stored with it (else NULL,
        # a candidate of every stemmed query until TextIndex.catch_up_stems computes them).
        self.stemmer: ArticleStemmer | None = None

    @classmethod
    def open(cls, url: str, base_dir: Path, clock: Clock = utc_now) -> Store:
        """Connect to ``url`` (a relative SQLite path is taken from ``base_dir``)."""
        try:
            return cls(make_engine(resolve_database_url(url, base_dir)), clock)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {safe_url(url)}: {exc}") from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def write(self) -> AbstractContextManager[Session]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite); committed on exit."""
        return _transaction(self.engine)

    def read(self) -> AbstractContextManager[Session]:
        """A read transaction (a deferred BEGIN, so readers do not queue behind writers)."""
        return _transaction(self._reader)

    # -- entries and articles ------------------------------------------------------------

    def unseen_entry_keys(self, feed_id: int, keys: Iterable[str]) -> set[str]:
        """The keys this feed has never listed before: only these are fetched and extracted."""
        wanted = set(keys)
        return wanted - self.known_entries(feed_id, wanted).keys() if wanted else set()

    def article_id_for_url(self, canonical_url: str) -> int | None:
        """The id of the article stored under ``canonical_url``, if any."""
        return self.article_ids_for_urls([canonical_url]).get(canonical_url)

    def article_ids_for_urls(self, canonical_urls: Iterable[str]) -> dict[str, int]:
        """Stored articles' ids by canonical URL, for those of ``canonical_urls`` stored."""
        urls = list(canonical_urls)
        if not urls:
            return {}
        with _connection(self._reader) as conn:
            return {url: ids[0] for url, ids in stored_articles(conn, urls).items()}

    def link_entry(self, feed_id: int, entry_key: str, article_id: int | None,
                   fingerprint: str | None = None) -> None:
        """Remember an entry that needs no new article (already stored, or skipped)."""
        with _connection(self.engine) as conn:
            add_entries(conn, [entry_row(feed_id, entry_key, article_id, self.clock(),
                                         fingerprint)])

    def known_entries(self, feed_id: int, keys: Iterable[str]) -> dict[str, KnownEntry]:
        """The records of those of ``keys`` this feed listed before (the others are new)."""
        with _connection(self._reader) as conn:
            return revising.known_entries(conn, feed_id, keys)

    def unlisted_retries(self, feed_id: int, listed: Collection[str], since: datetime
                         ) -> list[UnlistedRetry]:
        """This feed's entries it no longer lists whose page failed transiently (see
        :func:`monitor.store.revising.unlisted_retries`)."""
        with _connection(self._reader) as conn:
            return revising.unlisted_retries(conn, feed_id, listed, since)

    def record_failed_try(self, feed_id: int, entry_key: str, error: str) -> None:
        """A page tried again failed again (:func:`monitor.store.revising.record_failed_try`)."""
        with _connection(self.engine) as conn:
            revising.record_failed_try(conn, feed_id, entry_key, error, self.clock())

    def record_fingerprints(self, feed_id: int, fingerprints: Mapping[str, str]) -> None:
        """Remember how the feed now shows these known entries, fetching nothing."""
        if fingerprints:
            with _connection(self.engine) as conn:
                revising.record_fingerprints(conn, feed_id, fingerprints)

    def revise_article(self, item: NewArticle, routes: Routes) -> RevisedArticle:
        """Store a revised entry's article (see :mod:`monitor.store.revising`): its text
        updated, the hits of rules new to it and their alerts, and the entry's fingerprint
        and revision count, in one transaction."""
        with _connection(self.engine) as conn:
            return revising.revise(conn, item, routes, self.clock(), self._indexing())

    def save_article(
        self,
        feed_id: int,
        article: Article,
        hits: Sequence[RuleHit],
        routes: Routes,
        *,
        story_id: int | None = None,
        signature: bytes | None = None,
        story: StoryLookup | None = None,
    ) -> SavedArticle:
        """Store an article with its entry record, hits and outbox rows in one transaction.

        Idempotent: an article already stored under the same canonical URL is linked, not
        stored again, and gains no hit or notification twice. ``story_id`` joins an existing
        story (a syndicated copy); an alert goes out once per (rule, story, destination).
        With ``story``, the story is decided here instead, in this transaction, against the
        shared band index (see :mod:`monitor.store.story_index`), so every daemon on the
        database decides it the same way.
        """
        with _connection(self.engine) as conn:
            item = NewArticle(feed_id, article, hits, story_id=story_id, story=story,
                              signature=signature)
            return save_batch(conn, [item], routes, self.clock(), self._indexing())[0]

    def save_articles(self, items: Sequence[NewArticle],
                      routes: Routes) -> list[SavedArticle | Exception]:
        """:meth:`save_article` for several articles (a feed's new ones) in one transaction.

        One result per item, in order: what it saved, or the exception that kept it out. When
        one article fails (anything but an unreachable database, which raises StoreError), the
        transaction is rolled back and each article is saved in a transaction of its own, so
        the failure costs that article alone (one that lost its URL to another daemon's
        concurrent save is then linked to that article).
        """
        if not items:
            return []
        try:
            with _connection(self.engine) as conn:
                return list(save_batch(conn, items, routes, self.clock(), self._indexing()))
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - one article's fault: found below, alone
            if len(items) == 1:
                return [self._save_again(items[0], routes, exc)]
        return [result for item in items for result in self.save_articles([item], routes)]

    def _save_again(self, item: NewArticle, routes: Routes,
                     exc: Exception) -> SavedArticle | Exception:
        """One article whose save failed with ``exc``: saved once more when a unique key was
        taken by a concurrent transaction (another daemon stored its URL a moment ago, and a
        new transaction links to that row); else ``exc``."""
        if not isinstance(exc, IntegrityError):
            return exc
        try:
            with _connection(self.engine) as conn:
                return save_batch(conn, [item], routes, self.clock(), self._indexing())[0]
        except StoreError:
            raise
        except Exception as again:  # noqa: BLE001 - the article's own fault after all
            return again

    def _indexing(self) -> Indexing:
        return Indexing(self.tokenizer, self.stemmer)

    def queue_rule_hits(self, rule_id: str, since: datetime, routes: Sequence[Route]) -> int:
        """Queue alerts for ``rule_id``'s hits matched since ``since`` to ``routes``, once each
        (hits stored while the rule named no deliverable channel); returns rows added."""
        now = self.clock()
        added = 0
        with self.write() as session:
            conn = session.connection()
            for hit in session.scalars(select(HitRow).where(
                    HitRow.rule_id == rule_id, HitRow.matched_at >= since)):
                for route in routes:
                    added += enqueue_once(conn, alert_row(
                        hit.rule_id, hit.story_id, hit.id, route, now))
        return added

    def unindexed_story_members(self, since: datetime) -> list[StoryMember]:
        """Recent signed articles of stories without representatives in the shared index."""
        with _connection(self._reader) as conn:
            return story_index.members_without_bands(conn, since)

    def index_story_members(self, members: Sequence[tuple[StoryMember, Sequence[int]]]) -> int:
        """Make these articles representatives of their stories (with their band keys);
        rows already present are kept. Returns how many articles were given."""
        rows: list[dict[str, object]] = [
            {"band_key": key, "article_id": m.article_id, "story_id": m.story_id,
             "published_at": m.published}
            for m, keys in members for key in dict.fromkeys(keys)]
        with _connection(self.engine) as conn:
            for i in range(0, len(rows), IN_CHUNK):
                story_index.add_bands_once(conn, rows[i:i + IN_CHUNK])
        return len(members)

    def prune_story_index(self, before: datetime) -> int:
        """Forget representatives published before ``before``; returns band rows dropped."""
        with _connection(self.engine) as conn:
            return story_index.prune(conn, before)

    def articles(self, since: datetime | None = None,
                 batch: int = 500) -> Iterator[StoredArticle]:
        """Stored articles, oldest first, read in batches (for backtests over the archive)."""
        last_id = 0
        while True:
            query = select(ArticleRow).where(ArticleRow.id > last_id)
            if since is not None:
                query = query.where(ArticleRow.fetched_at >= since)
            with self.read() as session:
                rows = list(session.scalars(query.order_by(ArticleRow.id).limit(batch)))
            if not rows:
                return
            for r in rows:
                yield r.record()
            last_id = rows[-1].id

    def story_sources(self, story_id: int) -> list[str]:
        """Outlet names that carried a story, first reporter first."""
        with self.read() as session:
            return story_outlets(session, story_id)

    # -- hits ----------------------------------------------------------------------------

    def hits(self, *, rule_id: str | None = None, since: datetime | None = None,
             limit: int | None = None,
             before: tuple[datetime, int] | None = None) -> list[StoredHit]:
        """Stored hits, newest first (older than ``before``, a hit's ``(matched_at, id)``).

        The newest hits are picked on the hits table alone, walking ``ix_hits_rule_matched``
        (``ix_hits_matched`` without a rule) backwards and stopping at ``limit``; only then
        are their articles joined, and only the columns shown (never text or signature).
        """
        page = select(HitRow.id, HitRow.article_id, HitRow.matched_at)
        if rule_id is not None:
            page = page.where(HitRow.rule_id == rule_id)
        if since is not None:
            page = page.where(HitRow.matched_at >= since)
        if before is not None:
            page = page.where(tuple_(HitRow.matched_at, HitRow.id)
                              < tuple_(literal(before[0], HitRow.matched_at.type),
                                       literal(before[1])))
        page = page.order_by(HitRow.matched_at.desc(), HitRow.id.desc())
        if limit is not None:
            page = page.limit(limit)
        newest = page.subquery()
        query = (select(HitRow.id, HitRow.rule_id, HitRow.rule_name, HitRow.evidence,
                        HitRow.matched_at, HitRow.story_id, ArticleRow.title,
                        ArticleRow.canonical_url, ArticleRow.source_name, ArticleRow.language,
                        ArticleRow.published_at)
                 .join(newest, newest.c.id == HitRow.id)
                 .join(ArticleRow, ArticleRow.id == newest.c.article_id)
                 .order_by(newest.c.matched_at.desc(), newest.c.id.desc()))
        with self.read() as session:
            return [
                StoredHit(
                    id=row.id, rule_id=row.rule_id, rule_name=row.rule_name, title=row.title,
                    url=row.canonical_url, source=row.source_name, language=row.language,
                    published=row.published_at, matched_at=row.matched_at,
                    evidence=evidence_from_json(row.evidence), story_id=row.story_id,
                )
                for row in session.execute(query)
            ]

    def iter_hits(self, *, rule_id: str | None = None, since: datetime | None = None,
                  limit: int | None = None, batch: int = 1000) -> Iterator[StoredHit]:
        """:meth:`hits`, ``batch`` at a time, each in a short read of its own: an export of
        every hit holds one batch (50,000 hits at once took 95 MB, a million 2 GB)."""
        return in_batches(
            lambda wanted, before: self.hits(rule_id=rule_id, since=since, limit=wanted,
                                             before=before),
            lambda hit: (hit.matched_at, hit.id), limit, batch)

    def hit_rule_ids(self) -> list[str]:
        """The rule ids that have stored hits, sorted."""
        with self.read() as session:
            return sorted(session.scalars(select(HitRow.rule_id).distinct()))

    def count(self, table: str) -> int:
        """Rows in one of the store's tables (for status output and tests)."""
        model = {"feeds": FeedRow, "articles": ArticleRow, "hits": HitRow, "stories": StoryRow,
                 "notifications": NotificationRow, "feed_entries": FeedEntryRow,
                 "story_bands": StoryBandRow}[table]
        with self.read() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    """One transaction, rolled back on error; an unreachable database or a damaged SQLite
    file is a StoreError."""
    with _driver_errors(engine), Session(engine, expire_on_commit=False) as session, \
            session.begin():
        yield session


@contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    """One transaction on a Core connection (no ORM session: for the per-article path)."""
    with _driver_errors(engine), engine.begin() as conn:
        yield conn


@contextmanager
def _driver_errors(engine: Engine) -> Iterator[None]:
    """An unreachable database or a damaged SQLite file as a StoreError. A damaged page
    ("malformed") is the driver's DatabaseError: else a traceback at the daemon's start, and
    a save recorded it as each article's own failure."""
    try:
        with damage_named(engine):
            yield
    except OperationalError as exc:
        raise StoreError(f"database unavailable: {exc.orig}") from exc


def story_outlets(session: Session, story_id: int) -> list[str]:
    """Outlet names that carried a story, first reporter first, each once."""
    names = session.scalars(select(ArticleRow.source_name)
                            .where(ArticleRow.story_id == story_id).order_by(ArticleRow.id))
    return list(dict.fromkeys(names))


