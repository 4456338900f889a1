"""Migration 0022 gives articles stored with their page's language as written (``en-US``,
``ua``) the code the rules use, as newer articles have it, so the web view's language filter
finds them all under one choice; where the language itself changes, their stems are computed
again."""

from __future__ import annotations

import dataclasses

from alembic import command
from sqlalchemy import text

from monitor.store import TextIndex, upgrade
from monitor.store.migrate import _alembic_config
from tests.store_support import article, console_route, feed, open_store

WRITTEN = ["en-US", "id_ID", "ua", "rus", "zz", "ru", None]


def test_stored_languages_become_the_codes_rules_use(database_url: str) -> None:
    store = open_store(database_url)
    try:
        store.sync_feeds([feed()])
        feed_id = store.feed_health()[0].id
        for i, written in enumerate(WRITTEN):
            item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                       language=written, content_hash=f"h{i}")
            store.save_article(feed_id, item, [], console_route)
        cfg = _alembic_config()
        with store.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0021")
            connection.execute(text("UPDATE articles SET stems = 'computed'"))
        upgrade(store.engine)
        with store.read() as session:
            rows = session.execute(text(
                "SELECT language, stems FROM articles ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            ("en", "computed"), ("id", "computed"),  # only respelt: the stems stand
            ("uk", None), ("ru", None),  # another language: stems to compute again
            ("zz", "computed"), ("ru", "computed"), (None, "computed")]
        assert TextIndex(store).pending()[0] == 2  # what `monitor db upgrade` computes next
    finally:
        store.close()
