"""The stored articles' words, counted from the text index on SQLite and PostgreSQL: what
a backtest compares a rule's words with (``monitor.rules.typos``)."""

from __future__ import annotations

import dataclasses

from monitor.rules import tokenize
from monitor.store import TextIndex, word_articles
from tests.store_support import article, console_route, feed, open_store

TEXTS = [
    "Mediators push a ceasefire in Gaza.",
    "The ceasefire holds, officials say.",
    "A ceasefire and a celebration.",
    "Celebrations in the capital.",
]


def test_word_articles_counts_title_and_text_words_and_common_ones_that_begin_alike(
        database_url: str) -> None:
    store = open_store(database_url)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    for i, body in enumerate(TEXTS):
        item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                   title=f"Cérémonie {i}", text=body, content_hash=f"h{i}",
                                   language="en")
        store.save_article(feed_id, item, [], console_route)
    index = TextIndex(store)
    index.index_pending()  # SQLite: the waiting articles into FTS5
    index.catch_up(tokenize)  # PostgreSQL: their lexemes
    counts = word_articles(index, ["ceasfire", "gaza", "ceremonie"], 2)
    assert counts is not None
    # The words asked for, however rare; of the others, those in 2 articles or more that
    # begin as one of them does ("celebration" is in 1, "capital" begins otherwise).
    assert counts == {"gaza": 1, "ceasefire": 3, "ceremonie": 4}
    assert "ceasfire" not in counts
    store.close()
