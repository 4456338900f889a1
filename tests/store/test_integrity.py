"""A damaged SQLite file (monitor.store.integrity): PRAGMA quick_check names its first damaged
page, and a statement that meets one is a StoreError naming the file, not a driver error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.store import DATABASE_DAMAGED, NewArticle, Store, quick_check
from monitor.store.integrity import is_damage
from tests.store.damage_support import damage_page
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store


def _stored(path: Path) -> int:
    """A database at ``path`` with one feed, one article and its hit; returns the feed's id."""
    store = open_store(f"sqlite:///{path}")
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article(), [hit()], console_route)
    store.close()
    return fid


def test_a_sound_database_passes(store: Store) -> None:
    seconds = quick_check(store.engine)
    if store.dialect == "sqlite":
        assert seconds is not None and seconds >= 0
    else:
        assert seconds is None  # PostgreSQL's files are the server's: not checked


@pytest.mark.parametrize("name", ["ix_articles_fetched_at", "feeds"])
def test_quick_check_names_the_file_and_the_first_damaged_page(tmp_path: Path,
                                                               name: str) -> None:
    """An index page, and a table page (where a plain quick_check fails as "malformed")."""
    _stored(tmp_path / "m.db")
    page = damage_page(tmp_path / "m.db", name)
    store = Store.open(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, FakeClock())
    try:
        with pytest.raises(StoreError) as caught:
            quick_check(store.engine)
    finally:
        store.close()
    assert caught.value.code == DATABASE_DAMAGED
    message = str(caught.value)
    assert message.startswith(f"the database file {tmp_path / 'm.db'} is damaged: Page {page}:")
    assert message.endswith("(PRAGMA quick_check)") and "\n" not in message


def test_a_damaged_page_met_by_the_store_is_a_store_error(tmp_path: Path) -> None:
    """Reading it, and saving through it: a save raises (the cycle stops and is retried)
    instead of recording the damage as each article's own failure."""
    fid = _stored(tmp_path / "m.db")
    damage_page(tmp_path / "m.db", "ix_articles_fetched_at")
    damage_page(tmp_path / "m.db", "feeds")
    store = Store.open(f"sqlite:///{tmp_path / 'm.db'}", tmp_path, FakeClock())
    try:
        with pytest.raises(StoreError, match="is damaged: database disk image is malformed"):
            store.feed_health()
        item = NewArticle(fid, article("https://news.example/a/2", key="guid:2"), [hit()])
        with pytest.raises(StoreError) as caught:
            store.save_articles([item], console_route)
        assert caught.value.code == DATABASE_DAMAGED
    finally:
        store.close()


def test_only_damage_counts_as_damage() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k INTEGER UNIQUE)")
    db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    assert not is_damage(duplicate.value)  # a lost race on a unique key: saved again
    assert not is_damage(sqlite3.OperationalError("database is locked"))
