"""SQLite's text index in batches (migration 0020): new articles wait in
``articles_fts_pending``, are candidates of every query meanwhile, and ``index_pending`` puts
them into FTS5 together; edits and deletes of waiting and indexed articles keep the index
sound (FTS5's own ``integrity-check`` compares it with the articles table)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update

from monitor.store import Store, TextIndex, upgrade
from monitor.store.schema import ArticleRow
from tests.store_support import article, console_route, feed, open_store

WORDS = ["ceasefire", "harbour", "election", "drought"]


def _save(store: Store, n: int, start: int = 0) -> list[int]:
    """``n`` articles, the i-th about ``WORDS[i % 4]``; their ids."""
    feed_id = store.feed_health()[0].id
    ids = []
    for i in range(start, start + n):
        word = WORDS[i % len(WORDS)]
        item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                   title=f"Story {i}", text=f"The {word} story number {i}.",
                                   content_hash=f"h{i}")
        ids.append(store.save_article(feed_id, item, [], console_route).article_id)
    return ids


def _with(store: Store, word: str) -> list[int]:
    """The articles whose title or text has ``word``, read from the articles table."""
    with store.read() as session:
        return [int(i) for i in session.execute(text(
            "SELECT id FROM articles WHERE lower(title || ' ' || text) LIKE :w ORDER BY id"),
            {"w": f"%{word}%"}).scalars()]


def _assert_sound(store: Store) -> None:
    """FTS5's index holds exactly the articles table (so: only when none waits)."""
    with store.write() as session:  # raises "database disk image is malformed" if not
        session.execute(text(
            "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"))


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    store = open_store(sqlite_url)
    store.sync_feeds([feed()])
    return store


def test_waiting_articles_are_candidates_then_indexed_in_batches(sqlite_store: Store) -> None:
    store = sqlite_store
    ids = _save(store, 9)
    index = TextIndex(store)
    assert index.pending()[1] == 9
    # Waiting: every query's candidates (a superset: nothing is lost before the batch).
    assert index.candidate_ids('"harbour"') == ids
    assert index.candidate_ids('"harbour"', newest=2) == ids[-2:]
    batches: list[int] = []
    assert index.index_pending(batch=4, progress=batches.append) == 9
    assert batches == [4, 4, 1]
    assert index.pending()[1] == 0
    for word in WORDS:
        assert index.candidate_ids(f'"{word}"') == _with(store, word)
    more = _save(store, 3, start=9)  # indexed and waiting ones together
    assert index.candidate_ids('"harbour"') == sorted(set(_with(store, "harbour")) | set(more))
    assert index.index_pending(limit=2) == 2 and index.pending()[1] == 1
    assert index.index_pending() == 1 and index.index_pending() == 0
    assert index.candidate_ids('"harbour"') == _with(store, "harbour")
    _assert_sound(store)
    store.close()


def test_edits_and_deletes_of_waiting_and_indexed_articles_keep_the_index_sound(
        sqlite_store: Store) -> None:
    store = sqlite_store
    indexed = _save(store, 8)
    index = TextIndex(store)
    index.index_pending()
    waiting = _save(store, 8, start=8)
    # Retention empties texts and deletes articles; a revision rewrites a text.
    edited = indexed[:2] + waiting[:2]
    gone = indexed[2:4] + waiting[2:4]
    with store.write() as session:
        session.execute(update(ArticleRow).where(ArticleRow.id.in_(edited))
                        .values(text="Now about a volcano.", stems="volcano"))
        session.execute(delete(ArticleRow).where(ArticleRow.id.in_(gone)))
    assert index.pending()[1] == 8 - 2  # a deleted article waits no more
    index.index_pending()
    _assert_sound(store)
    assert index.candidate_ids('"volcano"') == sorted(edited)
    for word in WORDS:  # the old texts' words left with them; the deleted are not found
        assert index.candidate_ids(f'"{word}"') == _with(store, word)
    stemmed = index.candidate_ids('stems : "volcano"')  # (with those whose stems are NULL)
    assert stemmed is not None and set(edited) <= set(stemmed)
    store.close()


def test_two_indexers_at_once_index_each_article_once(sqlite_store: Store, tmp_path: Path) -> None:
    """Two daemons on one file both index what waits: each article goes in once (twice
    would leave FTS5's index unsound)."""
    store = sqlite_store
    _save(store, 60)
    other = Store.open(store.engine.url.render_as_string(hide_password=False), tmp_path)
    done: list[int] = []
    start = threading.Barrier(2)

    def run(s: Store) -> None:
        start.wait()
        done.append(TextIndex(s).index_pending(batch=7))

    threads = [threading.Thread(target=run, args=(s,)) for s in (store, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 60
    assert TextIndex(store).pending()[1] == 0
    _assert_sound(store)
    for word in WORDS:
        assert TextIndex(store).candidate_ids(f'"{word}"') == _with(store, word)
    other.close()
    store.close()


def test_the_migration_leaves_nothing_waiting_and_down_indexes_what_waits(
        sqlite_store: Store) -> None:
    from alembic import command

    from monitor.store.migrate import _alembic_config

    store = sqlite_store
    cfg = _alembic_config()
    # Saved by today's code (its columns), indexed, then taken back to 0019, where 0011's
    # triggers index each article at once: the state 0020 found.
    before = _save(store, 4)
    TextIndex(store).index_pending()
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0019")
    assert TextIndex(store).candidate_ids('"harbour"') == _with(store, "harbour")
    upgrade(store.engine)
    index = TextIndex(store)
    assert index.pending()[1] == 0
    assert index.candidate_ids('"harbour"') == _with(store, "harbour")
    after = _save(store, 4, start=4)
    assert index.candidate_ids('"harbour"') == sorted(set(_with(store, "harbour")) | set(after))
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0019")
    old = TextIndex(store)
    assert old.pending()[1] == 0 and old.index_pending() == 0
    assert old.candidate_ids('"harbour"') == _with(store, "harbour")
    assert len(_with(store, "harbour")) == 2 and set(before) | set(after)
    _assert_sound(store)
    store.close()
