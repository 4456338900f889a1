"""Which words the stored articles use: for "is this rule word a typo?" (a backtest asks).

A rule word that no stored article has, while a close spelling is in many, is most likely a
typo (``ceasfire``), and a typo in a query is a silent miss: nothing fails, nothing alerts.
The counts come from the text index, which keeps every article's tokens as the matcher cuts
them:

- SQLite: FTS5's own vocabulary, through an ``fts5vocab`` table over ``articles_fts`` made in
  the connection's temporary schema (nothing is written to the database file), counting the
  articles with the word in their title or text (not the stems column);
- PostgreSQL: ``ts_stat`` over the lexemes (``text_tokens``) of the newest
  :data:`NEWEST_ARTICLES` articles (all of them would take seconds per million), without the
  ``~stem`` lexemes.

Articles still waiting for the index are not counted: a count is a lower bound. A database
that cannot answer (an SQLite without fts5vocab, a lost connection) gives no counts: the
check is advice, and a daemon's reload must not fail on it.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from monitor.errors import StoreError
from monitor.store.lexemes import STEM_MARK
from monitor.store.textindex import TextIndex

NEWEST_ARTICLES = 20_000
_LAST = "\U0010ffff"  # sorts after every other character (UTF-8 and code points alike)

_SQLITE_VOCABULARY = text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.articles_vocabulary "
                          "USING fts5vocab(main, articles_fts, col)")
_SQLITE_WORD = text("SELECT term, max(doc) FROM temp.articles_vocabulary "
                    "WHERE term = :word AND col IN ('title', 'text') GROUP BY term")
_SQLITE_ALIKE = text("SELECT term, max(doc) AS articles FROM temp.articles_vocabulary "
                     "WHERE term >= :low AND term < :high AND col IN ('title', 'text') "
                     "GROUP BY term HAVING articles >= :least")
_POSTGRESQL_WORDS = text(
    "SELECT word, ndoc FROM ts_stat('SELECT text_tokens FROM articles "
    f"WHERE text_tokens IS NOT NULL ORDER BY id DESC LIMIT {NEWEST_ARTICLES}') "
    "WHERE word = ANY(:words) OR (left(word, 2) = ANY(:starts) AND ndoc >= :least "
    "AND left(word, 1) <> :stem)")


def word_articles(index: TextIndex, words: Collection[str],
                  least: int) -> dict[str, int] | None:
    """How many stored articles have each of ``words`` (folded tokens; a word in none is
    absent), and every other word that begins with the same two characters as one of them
    and is in at least ``least`` articles. None when the store has no text index, or cannot
    count now."""
    if not index.available:
        return None
    wanted = sorted(set(words))
    starts = sorted({w[:2] for w in wanted})
    found: dict[str, int] = {}
    try:
        with index.store.read() as session:
            if index.dialect == "postgresql":
                rows = session.execute(_POSTGRESQL_WORDS, {
                    "words": wanted, "starts": starts, "least": least, "stem": STEM_MARK})
                found.update((str(word), int(count)) for word, count in rows)
                return found
            session.execute(_SQLITE_VOCABULARY)
            for word in wanted:
                found.update((str(w), int(n))
                             for w, n in session.execute(_SQLITE_WORD, {"word": word}))
            for start in starts:
                found.update((str(w), int(n)) for w, n in session.execute(_SQLITE_ALIKE, {
                    "low": start, "high": start + _LAST, "least": least}))
    except (DatabaseError, StoreError):
        return None
    return found
