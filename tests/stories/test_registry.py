"""The story registry: copies join one story across saves and across a restart."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from monitor.store import Store
from monitor.store.schema import ArticleRow
from monitor.stories.registry import StoryRegistry
from tests.store_support import FakeClock, article, console_route, feed, open_store

TEXT = ("Utusan khusus Amerika Serikat Steve Witkoff bertemu Kepala Mossad David Barnea dan "
        "Perdana Menteri Qatar di New York untuk membahas pelaksanaan gencatan senjata di Gaza. "
        "Pertemuan tertutup itu juga membahas pemulihan hubungan setelah serangan di Doha.")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = open_store(sqlite_url, FakeClock())
    s.sync_feeds([feed()])
    yield s
    s.close()


def _save(registry: StoryRegistry, store: Store, url: str, text: str) -> int:
    item = dataclasses.replace(article(url=url, key=url), text=text)
    return registry.save(store.feed_health()[0].id, item, [], console_route).story_id


def test_a_copy_saved_after_a_restart_joins_the_stored_story(store: Store) -> None:
    first = _save(StoryRegistry(store), store, "https://a.example/1", TEXT)
    restarted = StoryRegistry(store)
    assert restarted.load() == 1
    copy = TEXT + " Dikutip dari detiknews."
    assert _save(restarted, store, "https://b.example/1", copy) == first


def test_signatures_in_an_unreadable_format_are_skipped_at_load(store: Store) -> None:
    _save(StoryRegistry(store), store, "https://a.example/1", TEXT)
    # What the first release stored: SHA-1 shingle hashes under the tag MH1.
    with store.write() as session:
        session.execute(update(ArticleRow).values(signature=b"MH1\x80\x00\x01\x00\x00\x00"
                                                  + bytes(8 * 128)))
    registry = StoryRegistry(store)
    assert registry.load() == 0
    assert len(registry.index) == 0
    # The article is still there; a new copy simply starts its own story.
    assert _save(registry, store, "https://b.example/1", TEXT) != 0
