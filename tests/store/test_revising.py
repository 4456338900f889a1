"""Revised entries in the store: migration 0016 (fingerprints and revision counts on
``feed_entries``) and :meth:`Store.revise_article` (the article updated in place, only the new
rules' hits added and alerted, once per story and rule)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text

from monitor.models import Article, Evidence, RuleHit
from monitor.store import NewArticle, SavedArticle, Store, TextIndex, upgrade
from monitor.store.schema import ArticleRow, FeedEntryRow, HitRow, NotificationRow
from tests.store_support import FakeClock, article, console_route, feed, hit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _qatar() -> RuleHit:
    ev = Evidence(term="qatar", matched="Qatar", field="body", start=0, end=5, snippet="Qatar")
    return RuleHit(rule_id="qatar", rule_name="Qatar", evidence=(ev,))


def _revision(store: Store, feed_id: int, base: Article, hits: list[RuleHit],
              body: str = "Qatar menjadi tuan rumah perundingan baru di Doha.",
              fingerprint: str = "f2") -> NewArticle:
    revised = dataclasses.replace(base, text=body, content_hash=f"hash of {body}",
                                  language="id")
    return NewArticle(feed_id, revised, hits, fingerprint=fingerprint)


def _save(store: Store, item: NewArticle) -> SavedArticle:
    (saved,) = store.save_articles([item], console_route)
    assert isinstance(saved, SavedArticle)
    return saved


def _feed_id(store: Store) -> int:
    store.sync_feeds([feed()])
    return store.feed_health()[0].id


def test_0016_upgrades_known_entries_to_an_unknown_fingerprint(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0015")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO feeds (url, name, tags, interval_seconds, configured, "
                "next_check_at, consecutive_failures, entries_seen, origin, health_episode, "
                "parse_failures) VALUES ('https://f.example/', 'F', '', 600, :yes, :t, 0, 0, "
                "'config', 0, 0)"), {"t": T0.replace(tzinfo=None), "yes": True})
            conn.execute(text(
                "INSERT INTO feed_entries (feed_id, entry_key, article_id, first_seen_at) "
                "SELECT id, 'guid:old', NULL, :t FROM feeds"), {"t": T0.replace(tzinfo=None)})
        upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT fingerprint, revisions FROM feed_entries")).one()
    finally:
        engine.dispose()
    assert tuple(row) == (None, 0)
    store = Store(create_engine(database_url))
    try:
        (fid,) = [h.id for h in store.feed_health()]
        (known,) = store.known_entries(fid, ["guid:old", "guid:new"]).values()
        assert known.fingerprint is None and known.revisions == 0 and known.revised_at is None
    finally:
        store.close()


def test_a_first_save_records_the_fingerprint(store: Store) -> None:
    fid = _feed_id(store)
    store.save_articles([NewArticle(fid, article(), [hit()], fingerprint="f1")], console_route)
    store.link_entry(fid, "guid:skipped", None, "f9")
    known = store.known_entries(fid, ["guid:1", "guid:skipped", "guid:unseen"])
    assert {k: (e.fingerprint, e.revisions) for k, e in known.items()} == {
        "guid:1": ("f1", 0), "guid:skipped": ("f9", 0)}
    store.record_fingerprints(fid, {"guid:skipped": "f10"})
    assert store.known_entries(fid, ["guid:skipped"])["guid:skipped"].fingerprint == "f10"


def test_a_revision_updates_the_article_and_adds_and_alerts_only_new_rules(
        store: Store, clock: FakeClock) -> None:
    fid = _feed_id(store)
    base = dataclasses.replace(article(), text="Perundingan gencatan senjata di Gaza.",
                               published=T0)
    saved = _save(store, NewArticle(fid, base, [hit("gaza")], fingerprint="f1"))
    assert store.count("notifications") == 1
    clock.advance(3600)
    result = store.revise_article(_revision(store, fid, base, [hit("gaza"), _qatar()]),
                                  console_route)
    assert result.updated and result.new_hits == ("qatar",) and result.new_notifications == 1
    assert (result.article_id, result.story_id) == (saved.article_id, saved.story_id)
    with store.read() as session:
        (row,) = session.scalars(select(ArticleRow))
        hits = {h.rule_id: h for h in session.scalars(select(HitRow))}
        notes = sorted(n.dedupe_key for n in session.scalars(select(NotificationRow)))
        entry = session.scalars(select(FeedEntryRow)).one()
    assert row.text == "Qatar menjadi tuan rumah perundingan baru di Doha."
    assert row.canonical_url == base.url and row.story_id == saved.story_id
    assert row.published_at == T0 and row.fetched_at == clock.now
    assert hits["gaza"].matched_at == T0  # the first hit keeps its row
    assert hits["qatar"].matched_at == clock.now
    assert notes == [f"alert:gaza:{saved.story_id}", f"alert:qatar:{saved.story_id}"]
    assert (entry.fingerprint, entry.revisions) == ("f2", 1)
    # The same revision again: nothing new, but it counts toward the bound.
    again = store.revise_article(_revision(store, fid, base, [hit("gaza"), _qatar()],
                                           fingerprint="f3"), console_route)
    assert not again.updated and again.new_hits == () and again.new_notifications == 0
    assert store.count("hits") == 2 and store.count("notifications") == 2
    known = store.known_entries(fid, ["guid:1"])["guid:1"]
    assert (known.fingerprint, known.revisions) == ("f3", 2)
    assert known.revised_at == clock.now  # polling.revise_every counts from here


def test_a_story_that_alerted_for_a_rule_does_not_alert_again(store: Store) -> None:
    fid = _feed_id(store)
    first = store.save_article(fid, article("https://a.example/1", key="k1"), [_qatar()],
                               console_route)
    copy = article("https://b.example/1", key="k2")
    second = store.save_article(fid, copy, [], console_route, story_id=first.story_id)
    assert second.story_id == first.story_id and store.count("notifications") == 1
    result = store.revise_article(_revision(store, fid, copy, [_qatar()]), console_route)
    assert result.new_hits == ("qatar",) and result.new_notifications == 0
    assert store.count("hits") == 2 and store.count("notifications") == 1


def test_a_revision_whose_page_gave_no_text_keeps_the_page_text(store: Store) -> None:
    fid = _feed_id(store)
    base = article()
    store.save_articles([NewArticle(fid, base, [], fingerprint="f1")], console_route)
    failed = _revision(store, fid, base, [_qatar()], body="Only the feed's summary.")
    failed = dataclasses.replace(failed, article=dataclasses.replace(
        failed.article, error="timeout", text_source="feed_summary"))
    result = store.revise_article(failed, console_route)
    assert result.retry and not result.updated and store.count("hits") == 0
    known = store.known_entries(fid, ["guid:1"])["guid:1"]
    assert (known.fingerprint, known.revisions) == ("f1", 1)  # tried again at the next poll
    assert next(store.articles()).text == base.text


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "waiting"])
def test_the_text_index_finds_a_word_only_the_revision_has(store: Store, indexed: bool) -> None:
    """Whether SQLite's FTS5 index had the article before the revision or it was still
    waiting for its batch (then indexed as revised)."""
    from monitor.rules import tokenize

    store.tokenizer = tokenize  # as the daemon wires it (PostgreSQL lexemes at save)
    fid = _feed_id(store)
    base = dataclasses.replace(article(), text="Perundingan berlanjut di Kairo.")
    saved = _save(store, NewArticle(fid, base, [], fingerprint="f1"))
    index = TextIndex(store)
    query = '"doha"' if store.dialect == "sqlite" else "'doha'"
    gaza = '"perundingan"' if store.dialect == "sqlite" else "'perundingan'"
    if indexed:
        index.index_pending()
        assert index.candidate_ids(query) == []
    store.revise_article(_revision(store, fid, base, []), console_route)
    index.index_pending()
    assert index.candidate_ids(query) == [saved.article_id]
    assert index.candidate_ids(gaza) == [saved.article_id]  # "perundingan" in both
    old_only = '"kairo"' if store.dialect == "sqlite" else "'kairo'"
    assert index.candidate_ids(old_only) == []  # the old text's words left the index
    if store.dialect == "postgresql":
        with store.read() as session:
            tokens = session.execute(text("SELECT text_tokens IS NULL FROM articles")).scalar()
        assert tokens is False  # stored again with the revision, not left for a catch-up


def test_known_entries_carry_their_articles_page_error_and_a_retry_records_the_new_one(
        store: Store) -> None:
    fid = _feed_id(store)
    base = dataclasses.replace(article(), error="server_error", text_source="feed_summary")
    store.save_articles([NewArticle(fid, base, [], fingerprint="f1")], console_route)
    store.link_entry(fid, "guid:skipped", None, "f9")
    known = store.known_entries(fid, ["guid:1", "guid:skipped"])
    assert (known["guid:1"].page_error, known["guid:skipped"].page_error) == (
        "server_error", None)
    # Tried again, the page now gives a 404: the same summary text, the new (lasting) code.
    again = NewArticle(fid, dataclasses.replace(base, error="http_status"), [],
                       fingerprint="f1")
    result = store.revise_article(again, console_route)
    assert not result.updated and not result.retry
    assert store.known_entries(fid, ["guid:1"])["guid:1"].page_error == "http_status"
    assert store.known_entries(fid, ["guid:1"])["guid:1"].revisions == 1


def test_unlisted_retries_find_this_feeds_waiting_pages_and_a_failed_try_only_counts(
        store: Store) -> None:
    fid = _feed_id(store)
    clock_now = store.clock()

    def saved(n: int, error: str | None) -> None:
        item = dataclasses.replace(article(f"https://news.example/a/{n}", key=f"guid:{n}"),
                                   error=error, text_source="feed_summary")
        store.save_articles([NewArticle(fid, item, [], fingerprint=f"f{n}")], console_route)

    saved(1, "server_error")
    saved(2, "timeout_total")
    saved(3, "http_status")  # lasting: never tried again
    saved(4, None)  # read
    found = store.unlisted_retries(fid, {"guid:2"}, clock_now - timedelta(days=1))
    assert [(u.key, u.url, u.known.page_error) for u in found] == [
        ("guid:1", "https://news.example/a/1", "server_error")]
    assert store.unlisted_retries(fid, set(), clock_now + timedelta(seconds=1)) == []
    # A try that fails again: counted, its code recorded, the feed's text and fingerprint kept.
    store.record_failed_try(fid, "guid:1", "http_status")
    known = store.known_entries(fid, ["guid:1"])["guid:1"]
    assert (known.revisions, known.page_error, known.fingerprint) == (1, "http_status", "f1")
    with store.read() as session:
        text_now = session.scalar(select(ArticleRow.text).where(
            ArticleRow.canonical_url == "https://news.example/a/1"))
    assert text_now == article().text
    assert [u.known.page_error for u in store.unlisted_retries(
        fid, set(), clock_now - timedelta(days=1))] == ["timeout_total"]  # 1's is lasting now


def test_the_page_retry_index_is_the_one_the_query_reads() -> None:
    """Migration 0018's condition, written out, is the query's, and names the transient
    codes: a new code needs a migration that writes the index again."""
    import importlib

    from monitor.store.revising import TRANSIENT_ERRORS_SQL

    migration = importlib.import_module(
        "monitor.store.migrations.versions.0018_articles_page_retry_index")
    assert migration.CONDITION == TRANSIENT_ERRORS_SQL
