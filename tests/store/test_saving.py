"""A feed's new articles saved in one transaction (Store.save_articles), on SQLite and a real
PostgreSQL: the same outcome as saving them one by one, and one refusal costs one article."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.models import MAX_URL_CHARS
from monitor.store import (
    NewArticle,
    SavedArticle,
    Store,
    StoryCandidate,
    StoryChoice,
    StoryLookup,
)
from monitor.store.schema import ArticleRow
from monitor.stories import StoryRegistry, text_signature
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store

_TEXT = ("Qatar, Egypt and the United States pressed both sides on Tuesday to accept a "
         "ceasefire in Gaza and an exchange of hostages, officials in Doha said. ") * 4


def _feed_id(store: Store) -> int:
    store.sync_feeds([feed()])
    return store.feed_health()[0].id


def test_a_batch_links_a_url_it_already_stored_and_queues_one_alert_per_story(
        store: Store) -> None:
    fid = _feed_id(store)
    stored = store.save_article(fid, article(url="https://news.example/a/0", key="guid:0"),
                                [hit()], console_route)
    results = store.save_articles([
        NewArticle(fid, article(url="https://news.example/a/0", key="guid:0b"), [hit()]),
        NewArticle(fid, article(url="https://news.example/a/1", key="guid:1"), [hit()],
                   story_id=stored.story_id),
        NewArticle(fid, article(url="https://news.example/a/1", key="guid:1b"), [hit()]),
    ], console_route)
    again, copy, twice = results
    assert not isinstance(again, Exception) and not again.created
    assert again.article_id == stored.article_id
    assert not isinstance(copy, Exception) and copy.created and copy.new_hits == 1
    assert copy.story_id == stored.story_id and copy.new_notifications == 0  # alerted once
    assert not isinstance(twice, Exception) and not twice.created
    assert twice.article_id == copy.article_id
    assert store.count("articles") == 2 and store.count("hits") == 2
    assert store.count("notifications") == 1
    keys = ["guid:0", "guid:0b", "guid:1", "guid:1b", "guid:2"]
    assert store.unseen_entry_keys(fid, keys) == {"guid:2"}


def test_an_article_refused_in_a_batch_fails_alone(store: Store) -> None:
    """The batch is rolled back and its articles saved one by one: only the bad one fails."""
    fid = _feed_id(store)

    def choose(_candidates: Sequence[StoryCandidate]) -> StoryChoice:
        raise ValueError("a broken story decision")

    broken = StoryLookup(band_keys=[1, 2], published=store.clock(), window=timedelta(days=7),
                         max_representatives=8, choose=choose)
    results = store.save_articles([
        NewArticle(fid, article(url=f"https://news.example/a/{n}", key=f"guid:{n}"), [hit()],
                   story=broken if n == 1 else None)
        for n in range(3)], console_route)
    assert [type(r).__name__ for r in results] == ["SavedArticle", "ValueError",
                                                     "SavedArticle"]
    assert store.count("articles") == 2 and store.count("notifications") == 2
    assert store.unseen_entry_keys(fid, ["guid:0", "guid:1", "guid:2"]) == {"guid:1"}


def test_a_copy_saved_in_the_same_batch_as_its_original_joins_its_story(store: Store) -> None:
    fid = _feed_id(store)
    signature = text_signature(_TEXT).to_bytes()
    results = StoryRegistry(store).save_all([
        NewArticle(fid, article(url=f"https://outlet{n}.example/a", key=f"guid:{n}"),
                   signature=signature)
        for n in range(3)], console_route)
    story_ids = {r.story_id for r in results if not isinstance(r, Exception)}
    assert len(story_ids) == 1 and store.count("articles") == 3
    assert store.count("stories") == 1


@pytest.mark.parametrize("published", [datetime(1, 1, 1, tzinfo=UTC),
                                       datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)])
def test_an_article_dated_at_either_end_of_the_calendar_is_stored_in_its_story(
        store: Store, published: datetime) -> None:
    """The story window around year 1 or 9999 is held at the calendar's ends, not overflowed;
    a copy with the same date still finds the first as a candidate."""
    fid = _feed_id(store)
    signature = text_signature(_TEXT).to_bytes()
    results = StoryRegistry(store).save_all([
        NewArticle(fid, dataclasses.replace(
            article(url=f"https://outlet{n}.example/a", key=f"guid:{n}"), text=_TEXT,
            published=published), [hit()], signature=signature)
        for n in range(2)], console_route)
    assert [type(r).__name__ for r in results] == ["SavedArticle", "SavedArticle"]
    assert len({r.story_id for r in results if not isinstance(r, Exception)}) == 1
    assert store.count("articles") == 2 and store.count("notifications") == 1


def test_an_article_url_longer_than_the_column_is_refused_alike_on_both_backends(
        store: Store) -> None:
    """PostgreSQL enforces VARCHAR(2048) and SQLite does not: the store refuses it on both."""
    fid = _feed_id(store)
    long_url = "https://news.example/" + "x" * MAX_URL_CHARS
    results = store.save_articles([
        NewArticle(fid, article(url=long_url, key="guid:long"), [hit()]),
        NewArticle(fid, article(url="https://news.example/a/1", key="guid:1"), [hit()]),
    ], console_route)
    assert isinstance(results[0], ValueError) and "longer than 2048" in str(results[0])
    assert not isinstance(results[1], Exception) and results[1].created
    assert store.count("articles") == 1
    assert ArticleRow.__table__.c.canonical_url.type.length == MAX_URL_CHARS  # type: ignore[attr-defined]


def test_two_daemons_saving_batches_of_the_same_urls_in_opposite_orders_never_deadlock(
        database_url: str, clock: FakeClock) -> None:
    """Two feeds list the same articles (short texts: no story lock serialises them), polled
    by two daemons at once: each batch waits for the other's URLs in one order (on PostgreSQL
    a deadlock would fail one daemon's whole cycle)."""
    stores = [open_store(database_url, clock) for _ in range(2)]
    try:
        fid = _feed_id(stores[0])
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def save(store: Store, rounds: range, reverse: bool) -> None:
            try:
                for n in rounds:
                    urls = [f"https://wire.example/{n}/{k}" for k in range(6)]
                    start.wait(timeout=30)
                    results = store.save_articles([
                        NewArticle(fid, article(url=url, key=f"{'b' if reverse else 'a'}:{url}"),
                                   [hit()])
                        for url in (reversed(urls) if reverse else urls)], console_route)
                    errors.extend(r for r in results if isinstance(r, Exception))
            except BaseException as exc:  # reported by the test below
                errors.append(exc)
                start.abort()

        threads = [threading.Thread(target=save, args=(s, range(15), i == 1))
                   for i, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert stores[0].count("articles") == 15 * 6
        assert stores[0].count("notifications") == 15 * 6  # each story alerted once
    finally:
        for s in stores:
            s.close()


def test_two_daemons_saving_one_new_article_at_once_both_succeed(
        database_url: str, clock: FakeClock) -> None:
    """Two feeds list one new article (a short text: no story lock), polled by two daemons at
    once, each with nothing else new: the daemon whose insert lost the race on the unique URL
    links the article instead of recording a failure (on PostgreSQL each of 20 races was a
    UniqueViolation, an item failure and a degraded feed)."""
    stores = [open_store(database_url, clock) for _ in range(2)]
    try:
        stores[0].sync_feeds([feed(), feed("https://b.example/feed.xml", "B")])
        fids = [h.id for h in stores[0].feed_health()]
        start = threading.Barrier(2)
        results: list[list[object]] = [[], []]

        def save(i: int) -> None:
            try:
                for n in range(20):
                    start.wait(timeout=30)
                    results[i].extend(stores[i].save_articles([NewArticle(
                        fids[i], article(url=f"https://wire.example/{n}", key=f"k{n}"),
                        [hit()])], console_route))
            except BaseException as exc:  # reported by the test below
                results[i].append(exc)
                start.abort()

        threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        errors = [r for rs in results for r in rs if not isinstance(r, SavedArticle)]
        assert errors == []
        created = [r.created for rs in results for r in rs if isinstance(r, SavedArticle)]
        assert created.count(True) == created.count(False) == 20
        assert stores[0].count("articles") == 20 and stores[0].count("notifications") == 20
        assert stores[0].count("feed_entries") == 40  # each feed's entry is recorded
    finally:
        for s in stores:
            s.close()

def test_an_sqlite_too_old_for_returning_is_refused_at_open_with_its_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(StoreError, match=r"SQLite is 3\.31\.1; newsmonitor needs 3\.35\.0"):
        Store.open(f"sqlite:///{tmp_path / 'old.db'}", tmp_path)
