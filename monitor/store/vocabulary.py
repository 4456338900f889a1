"""Which words the stored articles use: for "is this rule word a typo?" (a backtest, the
daemon's rule loads and the web's rules page ask).

A rule word that no stored article has, while a close spelling is in many, is most likely a
typo (``ceasfire``), and a typo in a query is a silent miss: nothing fails, nothing alerts.
The text index keeps every article's tokens as the matcher cuts them, so it answers in two
steps, the second only for the words the first finds in no article (rare: most rule words
are in many):

- :meth:`ArticleVocabulary.absent`: which words no article has. SQLite: FTS5's own
  vocabulary, through an ``fts5vocab`` table over ``articles_fts`` made in the connection's
  temporary schema (nothing is written to the database file), title and text only (not the
  stems column); PostgreSQL: a lookup of each word in the GIN index of ``text_tokens``.
- :meth:`ArticleVocabulary.alike`: the words that begin with given two characters and are in
  at least so many articles. SQLite: the same vocabulary, by range; PostgreSQL: ``ts_stat``
  over the lexemes of the newest :data:`NEWEST_ARTICLES` articles (about 2 s: all of them
  would take seconds per hundred thousand), without the ``~stem`` lexemes.

Words are folded as the matcher folds them; FTS5's vocabulary keeps ``ё`` apart from ``е``
(and ``ى`` from ``ي``, ``٢٨`` from ``28``, ``أ`` from ``ا``, and has ``перемир'я`` as two words),
so on SQLite each word is asked in its spellings (:func:`monitor.text.index_spellings`).
Articles still waiting for the index are not counted. A database that cannot answer (an
SQLite without fts5vocab, a lost connection) gives no answer (None): the check is advice, and
a daemon's reload must not fail on it.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from monitor.errors import StoreError
from monitor.store.lexemes import STEM_MARK
from monitor.store.textindex import TextIndex
from monitor.text import index_spellings, refolded

NEWEST_ARTICLES = 20_000
_LAST = "\U0010ffff"  # sorts after every other character (UTF-8 and code points alike)

_SQLITE_VOCABULARY = text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.articles_vocabulary "
                          "USING fts5vocab(main, articles_fts, col)")
_SQLITE_HAS = text("SELECT 1 FROM temp.articles_vocabulary "
                   "WHERE term = :word AND col IN ('title', 'text') LIMIT 1")
_SQLITE_ALIKE = text("SELECT term, max(doc) AS articles FROM temp.articles_vocabulary "
                     "WHERE term >= :low AND term < :high AND col IN ('title', 'text') "
                     "GROUP BY term HAVING articles >= :least")
# A folded token has no quote or backslash: quoted, it is one lexeme of a tsquery.
_POSTGRESQL_PRESENT = text(
    "SELECT w FROM unnest(CAST(:words AS text[])) AS w WHERE EXISTS (SELECT 1 FROM articles "
    "WHERE text_tokens @@ CAST('''' || w || '''' AS tsquery))")
_POSTGRESQL_ALIKE = text(
    "SELECT word, ndoc FROM ts_stat('SELECT text_tokens FROM articles "
    f"WHERE text_tokens IS NOT NULL ORDER BY id DESC LIMIT {NEWEST_ARTICLES}') "
    "WHERE left(word, 2) = ANY(:starts) AND ndoc >= :least AND left(word, 1) <> :stem")


def _sqlite_has(session: Session, word: str) -> bool:
    """Whether FTS5's vocabulary has ``word`` in one of its spellings (a word with too many
    to ask for counts as present: the check is advice)."""
    spellings = index_spellings(word)
    # A spelling of two words (an apostrophe FTS5 cut at): both words in its vocabulary.
    return spellings is None or any(
        all(session.execute(_SQLITE_HAS, {"word": part}).first() for part in spelling.split())
        for spelling in spellings)


class ArticleVocabulary:
    """The words of the stored articles, asked through the text index."""

    def __init__(self, index: TextIndex) -> None:
        self.index = index

    def absent(self, words: Collection[str]) -> set[str] | None:
        """Which of ``words`` (folded tokens) no indexed article has in its title or text;
        None when the store has no text index, or cannot answer now."""
        if not self.index.available:
            return None
        wanted = sorted(set(words))
        try:
            with self.index.store.read() as session:
                if self.index.dialect == "postgresql":
                    present = set(session.execute(_POSTGRESQL_PRESENT,
                                                  {"words": wanted}).scalars())
                else:  # FTS5 keeps ё apart from е (see above), where the words are folded
                    session.execute(_SQLITE_VOCABULARY)
                    present = {w for w in wanted if _sqlite_has(session, w)}
        except (DatabaseError, StoreError):
            return None
        return set(wanted) - present

    def alike(self, starts: Collection[str], least: int) -> dict[str, int] | None:
        """The words that begin with one of ``starts`` (two characters each) and are in at
        least ``least`` articles, with how many; None as for :meth:`absent`."""
        if not self.index.available:
            return None
        found: dict[str, int] = {}
        try:
            with self.index.store.read() as session:
                if self.index.dialect == "postgresql":
                    rows = session.execute(_POSTGRESQL_ALIKE, {
                        "starts": sorted(set(starts)), "least": least, "stem": STEM_MARK})
                    found.update((str(w), int(n)) for w, n in rows)
                    return found
                session.execute(_SQLITE_VOCABULARY)
                for start in sorted({s for given in starts
                                     for s in index_spellings(given) or [given]
                                     if " " not in s}):
                    for word, articles in session.execute(_SQLITE_ALIKE, {
                            "low": start, "high": start + _LAST, "least": least}):
                        # folded as the matcher folds (see above): spellings count as one
                        folded = refolded(str(word))
                        found[folded] = max(found.get(folded, 0), int(articles))
        except (DatabaseError, StoreError):
            return None
        return found
