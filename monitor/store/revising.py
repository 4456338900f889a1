"""Revised entries: a known feed entry whose fingerprint changed (a developing story) and whose
page was fetched and extracted again.

The article keeps its row, its canonical URL, its story, its publication date and its story
signature (the story is not decided again); its title, text, content hash, stems, language and
fetch time follow the revision when the text or title changed. The rules that hit the revision
and had not hit the article before gain a hit (``uq_hit_article_rule`` decides, ``INSERT ... ON
CONFLICT DO NOTHING``), queued for alerting as a new article's are: same routes, same
``alert:<rule>:<story>`` key, so a story that alerted for a rule before does not alert again.
The article update, the new hits, their outbox rows and the entry's record commit together.
The text indexes follow by triggers (FTS5 on SQLite; on PostgreSQL the lexemes go NULL and
are stored again here when the store has a tokenizer).

The same path takes an article whose page failed transiently and is fetched again
(:mod:`monitor.daemon.revisions`): its entry's record carries the article's error code
(:func:`known_entries`), and a try whose text is unchanged still records how the page failed
this time, so a lasting failure (a 404) ends the tries. An entry the feed no longer lists is
found by :func:`unlisted_retries` (a partial index on such articles, migration 0018); a try
of its page that fails again only counts and records the code (:func:`record_failed_try`),
since nothing listed gives the feed's text again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.errors import TRANSIENT_FETCH_CODES
from monitor.store import story_index
from monitor.store.records import KnownEntry, RevisedArticle, UnlistedRetry
from monitor.store.saving import (
    IN_CHUNK,
    Indexing,
    NewArticle,
    Routes,
    article_stems,
    enqueue_alerts,
    hit_row,
    store_lexemes,
)
from monitor.store.schema import ArticleRow, FeedEntryRow, HitRow
from monitor.text import clean_line, clean_text

_KNOWN = select(FeedEntryRow.entry_key, FeedEntryRow.fingerprint, FeedEntryRow.revisions,
                FeedEntryRow.first_seen_at, FeedEntryRow.article_id,
                FeedEntryRow.revised_at, ArticleRow.error).outerjoin(
    ArticleRow, ArticleRow.id == FeedEntryRow.article_id).where(
    FeedEntryRow.feed_id == bindparam("feed_id"),
    FeedEntryRow.entry_key.in_(bindparam("keys", expanding=True)))
# Written out as migration 0018's partial index is, so that both databases' planners see the
# query's condition imply the index's (bound parameters would hide it).
TRANSIENT_ERRORS_SQL = (
    f"articles.error IN ({', '.join(repr(code) for code in sorted(TRANSIENT_FETCH_CODES))})")
# From the articles, through that index (recent ones only: old, abandoned failures stay in
# it), then their entries: CROSS JOIN fixes that order in SQLite, which runs no ANALYZE and
# would otherwise walk every entry of the feed (1.8 ms at 2,000 entries; this, 0.03 ms).
_UNLISTED = text(
    "SELECT feed_entries.entry_key, feed_entries.fingerprint, feed_entries.revisions, "
    "feed_entries.first_seen_at, feed_entries.article_id, feed_entries.revised_at, "
    "articles.error, articles.canonical_url, articles.title, articles.published_at "
    "FROM articles CROSS JOIN feed_entries "
    f"WHERE {TRANSIENT_ERRORS_SQL} AND articles.fetched_at >= :since "
    "AND feed_entries.article_id = articles.id AND feed_entries.feed_id = :feed_id "
    "AND feed_entries.first_seen_at >= :since "
    "ORDER BY feed_entries.first_seen_at DESC, feed_entries.id DESC LIMIT 1000"
).bindparams(bindparam("since", type_=ArticleRow.__table__.c.fetched_at.type)).columns(
    first_seen_at=FeedEntryRow.__table__.c.first_seen_at.type,
    revised_at=FeedEntryRow.__table__.c.revised_at.type,
    published_at=ArticleRow.__table__.c.published_at.type)
_ENTRY = select(FeedEntryRow.id, FeedEntryRow.article_id).where(
    FeedEntryRow.feed_id == bindparam("feed_id"), FeedEntryRow.entry_key == bindparam("key"))
_ARTICLE = select(ArticleRow.id, ArticleRow.story_id, ArticleRow.content_hash,
                  ArticleRow.error).where(ArticleRow.id == bindparam("id"))
# Every stored revision counts toward polling.max_revisions; the fingerprint is kept as it
# was when NULL is given (a revision to try again).
_COUNT_REVISION = update(FeedEntryRow).where(FeedEntryRow.id == bindparam("entry_id")).values(
    revisions=FeedEntryRow.revisions + 1,
    revised_at=bindparam("now", type_=FeedEntryRow.revised_at.type),
    fingerprint=func.coalesce(bindparam("fp", type_=FeedEntryRow.fingerprint.type),
                              FeedEntryRow.fingerprint))
_SET_FINGERPRINT = update(FeedEntryRow).where(
    FeedEntryRow.feed_id == bindparam("feed"),
    FeedEntryRow.entry_key == bindparam("key")).values(
    fingerprint=bindparam("fp", type_=FeedEntryRow.fingerprint.type))
_INSERT_HIT_ONCE = {
    "sqlite": sqlite.insert(HitRow).on_conflict_do_nothing().returning(HitRow.id),
    "postgresql": postgresql.insert(HitRow).on_conflict_do_nothing().returning(HitRow.id)}


def known_entries(conn: Connection, feed_id: int, keys: Iterable[str]) -> dict[str, KnownEntry]:
    """The records of those of ``keys`` this feed listed before, by key."""
    found: dict[str, KnownEntry] = {}
    wanted = list(dict.fromkeys(keys))
    for i in range(0, len(wanted), IN_CHUNK):
        for row in conn.execute(_KNOWN, {"feed_id": feed_id, "keys": wanted[i:i + IN_CHUNK]}):
            found[row.entry_key] = _known_entry(row)
    return found


def _known_entry(row: Row[*tuple[Any, ...]]) -> KnownEntry:
    """An entry's record as :data:`_KNOWN` and :data:`_UNLISTED` both read it."""
    return KnownEntry(fingerprint=row.fingerprint, revisions=row.revisions or 0,
                      first_seen_at=row.first_seen_at, article_id=row.article_id,
                      revised_at=row.revised_at, page_error=row.error)


def unlisted_retries(conn: Connection, feed_id: int, listed: Collection[str], since: datetime
                     ) -> list[UnlistedRetry]:
    """This feed's entries not in ``listed`` whose article's page failed transiently, first
    seen since ``since``, newest first (those whose tries are spent too: the feed's health
    says so)."""
    found: list[UnlistedRetry] = []
    for row in conn.execute(_UNLISTED, {"feed_id": feed_id, "since": since}):
        if row.entry_key in listed:
            continue  # the listing's own plan takes it
        found.append(UnlistedRetry(
            key=row.entry_key, known=_known_entry(row), url=row.canonical_url,
            title=row.title, published=row.published_at))
    return found


def record_failed_try(conn: Connection, feed_id: int, entry_key: str, error: str,
                      now: datetime) -> None:
    """A page tried again that failed again: the try counts toward ``polling.max_revisions``
    and the article keeps its text with this try's error code (a lasting one ends the
    tries)."""
    entry = conn.execute(_ENTRY, {"feed_id": feed_id, "key": entry_key[:512]}).first()
    if entry is None:
        return
    conn.execute(_COUNT_REVISION, {"entry_id": entry.id, "now": now, "fp": None})
    if entry.article_id is not None:
        conn.execute(update(ArticleRow).where(ArticleRow.id == entry.article_id)
                     .values(error=error))


def record_fingerprints(conn: Connection, feed_id: int, fingerprints: Mapping[str, str]) -> None:
    """Remember how the feed shows these entries now (no fetch, no revision counted)."""
    if fingerprints:
        conn.execute(_SET_FINGERPRINT, [{"feed": feed_id, "key": key[:512], "fp": fp}
                                        for key, fp in fingerprints.items()])


def revise(conn: Connection, item: NewArticle, routes: Routes, now: datetime,
           indexing: Indexing) -> RevisedArticle:
    """Store a revision of the entry ``item.article.entry_key`` of feed ``item.feed_id``:
    ``item`` is the article as the revised page gives it, with the rules' hits on it."""
    article = item.article
    entry = conn.execute(_ENTRY, {"feed_id": item.feed_id, "key": article.entry_key[:512]}
                         ).first()
    if entry is None:  # not listed before (a concurrent prune of feeds): nothing to revise
        return RevisedArticle(None, None)
    stored = (conn.execute(_ARTICLE, {"id": entry.article_id}).first()
              if entry.article_id is not None else None)
    # A page that gave no text does not replace the text its first fetch gave: the entry
    # keeps its fingerprint, and the next poll tries again (within polling.max_revisions).
    retry = stored is not None and article.error is not None and stored.error is None
    # The article's page came only now (its first fetch failed, or gave a wall): its text is
    # signed and indexed for the story, as a new article's would have been. The story's band
    # locks first, before any row lock, as a save takes them (story_index.lock_bands).
    resign = (stored is not None and stored.error is not None and article.error is None
              and article.text_source == "page" and stored.content_hash != article.content_hash
              and item.story is not None and item.signature is not None)
    if resign:
        assert item.story is not None
        story_index.lock_bands(conn, item.story.band_keys)
    conn.execute(_COUNT_REVISION, {"entry_id": entry.id, "now": now,
                                   "fp": None if retry else item.fingerprint})
    if stored is None or retry:
        return RevisedArticle(entry.article_id, stored.story_id if stored else None,
                              retry=retry)
    if stored.content_hash == article.content_hash:
        if stored.error != article.error:  # the page failed otherwise (or came, textless)
            conn.execute(update(ArticleRow).where(ArticleRow.id == stored.id).values(
                error=article.error))
        return RevisedArticle(stored.id, stored.story_id)
    title, body = clean_line(article.title), clean_text(article.text)
    stems = article_stems(item, title, body, indexing)
    conn.execute(update(ArticleRow).where(ArticleRow.id == stored.id).values(
        title=title, text=body, content_hash=article.content_hash, stems=stems,
        language=article.language, language_detected=article.language_detected,
        text_source=article.text_source, error=article.error, fetched_at=now))
    # On PostgreSQL the trigger made the lexemes NULL (title and text changed): stored again.
    store_lexemes(conn, stored.id, title, body, stems, indexing)
    if resign:
        _resign(conn, stored.id, stored.story_id, item)
    new_hits: list[str] = []
    notes = 0
    for hit in item.hits:
        hit_id = conn.execute(_INSERT_HIT_ONCE[conn.dialect.name],
                              hit_row(hit, stored.id, stored.story_id, now)).scalar()
        if hit_id is None:  # the rule hit this article before: its first hit stays
            continue
        new_hits.append(hit.rule_id)
        if item.alert:
            notes += enqueue_alerts(conn, hit, int(hit_id), stored.story_id, routes, now)
    return RevisedArticle(stored.id, stored.story_id, updated=True,
                          new_hits=tuple(new_hits), new_notifications=notes)


def _resign(conn: Connection, article_id: int, story_id: int, item: NewArticle) -> None:
    """Give the article ``item``'s signature, and its band rows in its story (within the
    story's representatives), in place of those of the text it had: later copies of the
    page's text then find the story. The story itself is not decided again."""
    story = item.story
    assert story is not None
    conn.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(
        signature=item.signature))
    story_index.drop_bands(conn, article_id)
    if story_index.representatives(conn, story_id) < story.max_representatives:
        story_index.add_bands(conn, story.band_keys, article_id, story_id, story.published)
