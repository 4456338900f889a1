"""Saving new articles: a feed's new articles, their entry records, hits and outbox rows in
one transaction, with prepared Core statements.

This runs for every new article, so it is built for few round trips and little Python per
row: the URLs of the whole batch are looked up in one statement, the entry records go in one
``INSERT ... ON CONFLICT DO NOTHING`` at the end, hits and alerts are Core inserts (the
unique keys, not a look-up first, keep an alert from being queued twice), and the batch
commits once. Only the story decision is per article, because an article may join the story
of one saved just before it in the same batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite

from monitor.errors import StoreError
from monitor.models import MAX_URL_CHARS, Article, RuleHit
from monitor.store import story_index
from monitor.store.lexemes import (
    SET_LEXEMES,
    ArticleStemmer,
    Tokenizer,
    index_lexemes,
    stems_text,
)
from monitor.store.records import Route, SavedArticle, StoryLookup, evidence_to_json
from monitor.store.schema import (
    ArticleRow,
    FeedEntryRow,
    HitRow,
    NotificationRow,
    StoryRow,
)
from monitor.text import clean_line, clean_text

IN_CHUNK = 500  # values per IN (...) list: far below every backend's parameter limit

_ARTICLES_BY_URL = select(ArticleRow.canonical_url, ArticleRow.id, ArticleRow.story_id).where(
    ArticleRow.canonical_url.in_(bindparam("urls", expanding=True)))
_STORY_ID = select(StoryRow.id).where(StoryRow.id == bindparam("id"))
_INSERT_STORY = insert(StoryRow)
_INSERT_ARTICLE = insert(ArticleRow)
_INSERT_HIT = insert(HitRow)
_SET_LEXEMES = text(SET_LEXEMES)
# Per dialect: a row whose unique key is taken is skipped (an entry listed before, an alert
# already queued for this story and destination, perhaps by another daemon a moment ago).
_INSERT_ENTRY_ONCE = {"sqlite": sqlite.insert(FeedEntryRow).on_conflict_do_nothing(),
                      "postgresql": postgresql.insert(FeedEntryRow).on_conflict_do_nothing()}
# Its id is returned only when the row went in: a row count is not reliable across drivers.
_INSERT_NOTIFICATION_ONCE = {
    "sqlite": sqlite.insert(NotificationRow).on_conflict_do_nothing()
    .returning(NotificationRow.id),
    "postgresql": postgresql.insert(NotificationRow).on_conflict_do_nothing()
    .returning(NotificationRow.id)}


@dataclass(frozen=True)
class NewArticle:
    """One article to save, with what goes with it.

    ``story_id`` joins that story; ``story`` decides the story in the transaction instead
    (see :mod:`monitor.store.story_index`). ``stems`` are the article's distinct stems when the
    caller has them already (the matcher computes them from the tokens it read anyway); else
    the store's stemmer computes them from the cleaned title and text.
    """

    feed_id: int
    article: Article
    hits: Sequence[RuleHit] = ()
    story_id: int | None = None
    story: StoryLookup | None = None
    signature: bytes | None = None
    stems: Sequence[str] | None = None
    # The entry's FeedEntry.fingerprint, kept with its record (revisions, migration 0016).
    fingerprint: str | None = None
    # False: its hits are stored, but queue no alert (published before delivery.max_article_age).
    alert: bool = True


@dataclass(frozen=True)
class Indexing:
    """The rules' text functions the store is handed (it does not tokenize on its own)."""

    tokenizer: Tokenizer | None
    stemmer: ArticleStemmer | None


Routes = Callable[[RuleHit], Sequence[Route]]


def inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None or key[0] is None:  # pragma: no cover - every table has an id column
        raise StoreError("the database returned no id for a new row")
    return int(key[0])


def save_batch(conn: Connection, items: Sequence[NewArticle], routes: Routes, now: datetime,
               indexing: Indexing) -> list[SavedArticle]:
    """Save ``items`` in ``conn``'s transaction; one result per item, in their order.

    An article already stored under its canonical URL (or earlier in the batch) is linked to
    the entry, not stored again, and gains no hit or alert twice.
    """
    # PostgreSQL: every advisory lock of the batch first, in one sorted statement, before any
    # other lock (see story_index.lock_bands).
    story_index.lock_bands(conn, [k for item in items if item.story is not None
                                  for k in item.story.band_keys])
    stored = stored_articles(conn, [item.article.url for item in items])
    entries: list[dict[str, object]] = []
    results: list[SavedArticle | None] = [None] * len(items)
    # In URL order: two daemons saving batches that share URLs (two feeds listing the same
    # articles) then wait for each other's unique URLs in one order and cannot deadlock.
    for i in sorted(range(len(items)), key=lambda i: items[i].article.url):
        item = items[i]
        article = item.article
        known = stored.get(article.url)
        if known is None:
            saved = _insert(conn, item, routes, now, indexing)
            stored[article.url] = (saved.article_id, saved.story_id)
        else:
            saved = SavedArticle(known[0], known[1], created=False)
        entries.append(entry_row(item.feed_id, article.entry_key, saved.article_id, now,
                                 item.fingerprint))
        results[i] = saved
    add_entries(conn, entries)
    return [saved for saved in results if saved is not None]


def entry_row(feed_id: int, key: str, article_id: int | None, now: datetime,
              fingerprint: str | None = None) -> dict[str, object]:
    """A feed entry record: the feed listed ``key`` (for ``article_id``, if it has one), as
    ``fingerprint`` shows it (None: unknown)."""
    row: dict[str, object] = {"feed_id": feed_id, "entry_key": key[:512],
                              "article_id": article_id, "first_seen_at": now}
    if fingerprint is not None:  # (without one, the row also suits a schema before 0016)
        row["fingerprint"] = fingerprint
    return row


def add_entries(conn: Connection, rows: Sequence[dict[str, object]]) -> None:
    """Insert entry records; an entry the feed listed before keeps its first record."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in rows:  # one statement per set of columns (with and without a fingerprint)
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        conn.execute(_INSERT_ENTRY_ONCE[conn.dialect.name], group)


def stored_articles(conn: Connection, urls: Iterable[str]) -> dict[str, tuple[int, int]]:
    """``(article id, story id)`` by canonical URL, for those of ``urls`` stored."""
    found: dict[str, tuple[int, int]] = {}
    distinct = list(dict.fromkeys(urls))
    for i in range(0, len(distinct), IN_CHUNK):
        found.update((url, (article_id, story_id)) for url, article_id, story_id in
                     conn.execute(_ARTICLES_BY_URL, {"urls": distinct[i:i + IN_CHUNK]}))
    return found


def _insert(conn: Connection, item: NewArticle, routes: Routes, now: datetime,
            indexing: Indexing) -> SavedArticle:
    article, story, story_id = item.article, item.story, item.story_id
    if len(article.url) > MAX_URL_CHARS:  # PostgreSQL would refuse it and SQLite keep it
        raise ValueError(f"article URL longer than {MAX_URL_CHARS} characters")
    represent = False
    if story is not None:
        choice = story.choose(story_index.candidates(conn, story))
        story_id, represent = choice.story_id, choice.represent
    if story_id is None or conn.execute(_STORY_ID, {"id": story_id}).first() is None:
        story_id = inserted_id(conn.execute(_INSERT_STORY, {"created_at": now}))
        represent = story is not None
    elif represent and story is not None:
        represent = story_index.representatives(conn, story_id) < story.max_representatives
    title, body = clean_line(article.title), clean_text(article.text)
    stems = article_stems(item, title, body, indexing)
    article_id = inserted_id(conn.execute(_INSERT_ARTICLE, {
        "canonical_url": article.url, "feed_id": item.feed_id, "story_id": story_id,
        "source_name": clean_line(article.source_name)[:512],
        "title": title, "text": body,
        "text_source": article.text_source, "language": article.language,
        "language_detected": article.language_detected,
        "author": clean_line(article.author)[:512] if article.author else None,
        "published_at": article.published, "fetched_at": now,
        "content_hash": article.content_hash, "error": article.error,
        "signature": item.signature, "stems": stems,
    }))
    store_lexemes(conn, article_id, title, body, stems, indexing)
    if represent and story is not None:
        story_index.add_bands(conn, story.band_keys, article_id, story_id, story.published)
    notes = 0
    for hit in item.hits:
        hit_id = inserted_id(conn.execute(_INSERT_HIT, hit_row(hit, article_id, story_id, now)))
        if item.alert:
            notes += enqueue_alerts(conn, hit, hit_id, story_id, routes, now)
    return SavedArticle(article_id, story_id, created=True, new_hits=len(item.hits),
                        new_notifications=notes)


def article_stems(item: NewArticle, title: str, body: str, indexing: Indexing) -> str | None:
    """What ``articles.stems`` stores for the item: the caller's stems, else the store's
    stemmer's, else None (computed later)."""
    if item.stems is not None:
        return " ".join(item.stems)
    if indexing.stemmer is not None:
        return stems_text(title, body, item.article.language, indexing.stemmer)
    return None


def alert_key(rule_id: str, story_id: int) -> str:
    """What an alert announces: a rule's match of a story (so copies of it do not re-alert)."""
    return f"alert:{rule_id}:{story_id}"


def store_lexemes(conn: Connection, article_id: int, title: str, body: str, stems: str | None,
                  indexing: Indexing) -> None:
    """PostgreSQL's text-index lexemes of an article, when the store has a tokenizer (else a
    later catch-up computes them; SQLite's FTS5 index follows by triggers)."""
    if indexing.tokenizer is not None and conn.dialect.name == "postgresql":
        conn.execute(_SET_LEXEMES, {"id": article_id, "lexemes": index_lexemes(
            title, body, indexing.tokenizer, stems)})


def hit_row(hit: RuleHit, article_id: int, story_id: int, now: datetime) -> dict[str, object]:
    """The ``hits`` row of a rule's match on an article."""
    return {"article_id": article_id, "story_id": story_id, "rule_id": hit.rule_id,
            "rule_name": hit.rule_name, "evidence": evidence_to_json(hit.evidence),
            "matched_at": now}


def enqueue_alerts(conn: Connection, hit: RuleHit, hit_id: int, story_id: int, routes: Routes,
                   now: datetime) -> int:
    """Queue the hit's alert to each of its routes unless this story's is queued there; how
    many were added."""
    return sum(enqueue_once(conn, alert_row(hit.rule_id, story_id, hit_id, route, now))
               for route in routes(hit))


def alert_row(rule_id: str, story_id: int, hit_id: int, route: Route,
              now: datetime) -> dict[str, object]:
    """The outbox row of a hit's alert to ``route``, due now."""
    return {"kind": "alert", "dedupe_key": alert_key(rule_id, story_id), "hit_id": hit_id,
            "rule_id": rule_id, "story_id": story_id, "channel": route.channel,
            "destination_key": route.destination_key, "destination": route.destination,
            "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}


def enqueue_once(conn: Connection, row: dict[str, object]) -> int:
    """Add an outbox row unless one with its key and destination exists (queued before, or
    by another daemon a moment ago: the unique key decides, not a look-up first); returns
    1 if added. The one way every alert and notice is queued."""
    result = conn.execute(_INSERT_NOTIFICATION_ONCE[conn.dialect.name], row)
    return int(result.first() is not None)
