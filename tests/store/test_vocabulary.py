"""The stored articles' words, counted from the text index on SQLite and PostgreSQL: what
a backtest compares a rule's words with (``monitor.rules.typos``)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import text

from monitor.rules import tokenize
from monitor.store import ArticleVocabulary, TextIndex
from tests.store_support import article, console_route, feed, open_store

TEXTS = [
    "Mediators push a ceasefire in Gaza.",
    "The ceasefire holds, officials say.",
    "A ceasefire and a celebration.",
    "Celebrations in the capital.",
]


def test_the_vocabulary_says_which_words_no_article_has_and_the_common_ones_alike(
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
    vocabulary = ArticleVocabulary(index)
    # In titles and texts alike, folded as the matcher folds ("Cérémonie")
    assert vocabulary.absent(["ceasfire", "gaza", "ceremonie", "celebration"]) == {"ceasfire"}
    # Of the words beginning so, those in 2 articles or more ("celebration" is in 1,
    # "capital" begins otherwise)
    assert vocabulary.alike(["ce"], 2) == {"ceasefire": 3, "ceremonie": 4}
    store.close()


def test_words_are_folded_as_the_matcher_folds_them(database_url: str) -> None:
    """The matcher folds ё to е, a last ى to ي, ٢٨ to 28 and أ to ا: a rule's "петр" is in
    the articles that write "Пётр" (on SQLite FTS5 keeps them apart, and the vocabulary asks
    for each spelling)."""
    store = open_store(database_url)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    for i, body in enumerate(["Пётр прилетел в Доху.", "Пётр улетел.", "Петров вернулся.",
                              "المبعوث الأمريكى وخطة ٢٨ نقطة"]):
        item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                   title="", text=body, content_hash=f"h{i}", language="ru")
        store.save_article(feed_id, item, [], console_route)
    index = TextIndex(store)
    index.index_pending()
    index.catch_up(tokenize)
    vocabulary = ArticleVocabulary(index)
    assert vocabulary.absent(["петр", "петров", "улетел", "прилетел", "пeтр", "الامريكي", "28",
                              "الامريكا"]) == {"пeтр", "الامريكا"}
    assert vocabulary.alike(["пе"], 2) == {"петр": 2}  # folded: no "пётр"
    store.close()


def test_a_store_without_a_text_index_cannot_say(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.write() as session:
        session.execute(text("DROP TABLE articles_fts"))
    vocabulary = ArticleVocabulary(TextIndex(store))
    assert vocabulary.absent(["gaza"]) is None and vocabulary.alike(["ga"], 1) is None
    store.close()
