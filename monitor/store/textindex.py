"""The article text index: candidates for a search or a backtest, before the matcher decides.

Which index serves which query:

- SQLite: an FTS5 table (migration 0008, ``unicode61 remove_diacritics 2``, the tokenizer the
  matcher is differential-tested against) follows the articles table through triggers; the
  query is FTS5's. A new article waits in ``articles_fts_pending`` (migration 0020) until
  :meth:`TextIndex.index_pending` indexes the waiting ones together (the daemon, every few
  hundred articles and at the end of each cycle): FTS5 writes a segment per commit, and one
  save's few articles at a time cost twice as much. A pending article is a candidate of
  every query, so nothing is lost meanwhile.
- Stemmed rules: ``articles.stems`` holds each article's distinct stems in its own language
  (migration 0011), computed in Python by the rules' stemmer at save time when the store has
  one, else by :meth:`TextIndex.catch_up_stems` (``monitor db upgrade``, a backtest); on
  SQLite a third FTS5 column, on PostgreSQL ``~stem`` lexemes in ``text_tokens``. A stemmed
  token asks for the token or any of its stems; an article whose stems are NULL is a
  candidate of every stemmed query.
- PostgreSQL: ``articles.text_tokens``, a ``tsvector`` of the article's distinct folded tokens
  with a GIN index (migration 0010), queried with a ``tsquery`` of the same superset structure
  (terms AND/OR, prefixes ``:*``). Full text, not pg_trgm: the rules match whole tokens and
  token prefixes, which a lexeme index answers exactly, while trigrams would need a substring
  recheck and miss the matcher's folding. PostgreSQL's own parsers and ``unaccent`` cut and
  fold differently from the matcher (``a@b.example``, ``3.5``, Cyrillic й), so the lexemes are
  the matcher's own tokens, computed in Python (:mod:`monitor.store.lexemes`) at save time when
  the store has a tokenizer, else by :meth:`TextIndex.catch_up` before the next query. A row
  whose lexemes are not (or no longer, a trigger sees title and text change) computed is NULL,
  and NULL rows are always candidates, so the index never loses a result.

:meth:`TextIndex.candidate_ids` answers a query (from :func:`monitor.rules.candidate_query`
for :attr:`TextIndex.dialect`) with article ids; where there is no index or the query cannot
run, it answers None and the caller reads everything. Articles then come in batches by id,
so memory stays flat however many match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Row, TextClause, bindparam, select, text
from sqlalchemy.exc import ProgrammingError

from monitor.errors import StoreError
from monitor.store.lexemes import (
    SET_LEXEMES,
    STEM_MARK,
    UNINDEXED,
    ArticleStemmer,
    Tokenizer,
    index_lexemes,
    stems_text,
)
from monitor.store.records import StoredArticle
from monitor.store.schema import ArticleRow, UtcDateTime
from monitor.store.store import Store

_BATCH = 500
_MATCH = ("SELECT a.id FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
          "WHERE articles_fts MATCH :query")
_SINCE = " AND a.fetched_at >= :since"
# SQLite: the articles not in the FTS5 index yet (candidates of every query), read in the
# same transaction as the match (a snapshot: none can move from one to the other unseen).
_FTS_PENDING = "SELECT a.id FROM articles_fts_pending p JOIN articles a ON a.id = p.id"
_FTS_PENDING_SINCE = _FTS_PENDING + " WHERE a.fetched_at >= :since"
_FTS_PENDING_COUNT = text("SELECT count(*) FROM articles_fts_pending")
# The oldest ``batch`` waiting articles into the index, then off the waiting list, in one
# write transaction.
_NEXT_PENDING = text("SELECT id FROM articles_fts_pending ORDER BY id LIMIT :batch")
# (The span's ids still waiting when the write begins: a concurrent indexer took the others.)
_INDEX_PENDING = text("INSERT INTO articles_fts(rowid, title, text, stems) "
                      "SELECT id, title, text, stems FROM articles "
                      "WHERE id BETWEEN :first AND :last AND id IN "
                      "(SELECT id FROM articles_fts_pending WHERE id BETWEEN :first AND :last)")
_UNPEND = text("DELETE FROM articles_fts_pending WHERE id BETWEEN :first AND :last")
INDEX_BATCH = 256  # articles per FTS5 write: about half the cost of one save's few at a time
# The partial index on NULL rows and the GIN index answer the two sides (a BitmapOr).
_TS_MATCH = ("SELECT a.id FROM articles a WHERE (a.text_tokens @@ "
             "(CAST(:query AS tsquery) || CAST(:unindexed AS tsquery)) "
             "OR a.text_tokens IS NULL)")
_TS_MATCH_STEMS = _TS_MATCH[:-1] + " OR a.stems IS NULL)"
# A stemmed query also takes the articles whose stems are not computed yet (partial index).
_STEMS_PENDING = " UNION SELECT a.id FROM articles a WHERE a.stems IS NULL"
_PENDING = text("SELECT id, xmin::text AS version, title, text, stems FROM articles "
                "WHERE text_tokens IS NULL AND id > :after ORDER BY id LIMIT :batch")
_STEMS_TODO = text("SELECT id, title, text, language FROM articles "
                   "WHERE stems IS NULL AND id > :after ORDER BY id LIMIT :batch")
_SET_STEMS = text("UPDATE articles SET stems = :stems WHERE id = :id AND stems IS NULL")
_STEMS_COUNT = text("SELECT count(*) FROM articles WHERE stems IS NULL")
_LEXEMES_COUNT = text("SELECT count(*) FROM articles WHERE text_tokens IS NULL")
STEMS_COLUMN = "stems"  # the FTS5 column of the stems: a query asks for one as "stems : x"


def asks_for_stems(query: str, dialect: str) -> bool:
    """Whether a candidate query asks for stems (articles without theirs are candidates)."""
    return ("'" + STEM_MARK) in query if dialect == "postgresql" else f"{STEMS_COLUMN} :" in query

# Only if the row is unchanged since it was read: a concurrent edit stays NULL (a candidate).
_CATCH_UP = text(SET_LEXEMES + " AND xmin::text = :version AND text_tokens IS NULL")
_UNINDEXED_QUERY = "'" + UNINDEXED + "'"


class TextIndex:
    """Candidate article ids for an FTS5 query, and the articles by id in batches."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._available: bool | None = None
        self._waits = False  # SQLite: new articles wait in articles_fts_pending (0020)

    @property
    def dialect(self) -> str:
        """Which query language :meth:`candidate_ids` takes: "sqlite" (FTS5) or "postgresql"."""
        return self.store.dialect

    @property
    def available(self) -> bool:
        if self._available is None:
            self._available = False
            probe = {
                "sqlite": "SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'",
                "postgresql": "SELECT 1 FROM information_schema.columns WHERE "
                              "table_name = 'articles' AND column_name = 'text_tokens' "
                              "AND table_schema = current_schema()",
            }.get(self.store.dialect)
            if probe is not None:
                with self.store.read() as session:
                    self._available = session.execute(text(probe)).first() is not None
                    # Before migration 0020 the triggers index each article at once.
                    self._waits = self.dialect == "sqlite" and session.execute(text(
                        "SELECT 1 FROM sqlite_master WHERE name = 'articles_fts_pending'"
                    )).first() is not None
        return self._available

    def optimize(self) -> None:
        """Bring the index up to date after texts were pruned or deleted (retention calls this).

        FTS5 records a changed or deleted row as a tombstone in a new segment; until the
        segments merge, a pruned text still takes its space in the file. On PostgreSQL the
        pruned rows' lexemes went NULL (the trigger); with the store's tokenizer they are
        computed again now, from what is left.
        """
        if not self.available:
            return
        if self.dialect == "sqlite":
            self.index_pending()
            with self.store.write() as session:
                session.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')"))
        elif self.store.tokenizer is not None:
            self.catch_up(self.store.tokenizer)

    def catch_up(self, tokenize: Tokenizer, batch: int = _BATCH,
                 progress: Callable[[int], None] | None = None) -> int:
        """Compute the lexemes of every article that has none (PostgreSQL), ``batch`` at a
        time, each batch its own transaction; returns how many it computed. ``progress`` is
        told each batch's size."""
        if self.dialect != "postgresql" or not self.available:
            return 0
        return self._backfill(_PENDING, _CATCH_UP, batch, lambda row: {
            "id": row.id, "version": row.version,
            "lexemes": index_lexemes(row.title, row.text, tokenize, row.stems)}, progress)

    def catch_up_stems(self, stem: ArticleStemmer, batch: int = _BATCH,
                       progress: Callable[[int], None] | None = None) -> int:
        """Compute the stems of every article that has none (both databases), ``batch`` at a
        time, each batch its own transaction; returns how many it computed. On PostgreSQL the
        lexemes of those articles go NULL (a trigger): :meth:`catch_up` adds the stems."""
        if not self.available:
            return 0
        return self._backfill(_STEMS_TODO, _SET_STEMS, batch, lambda row: {
            "id": row.id, "stems": stems_text(row.title, row.text, row.language, stem)},
            progress)

    def index_pending(self, batch: int = INDEX_BATCH, limit: int | None = None,
                      progress: Callable[[int], None] | None = None) -> int:
        """SQLite: put the articles waiting for the FTS5 index into it, ``batch`` at a time
        (each batch its own write transaction, oldest first), until none waits or ``limit``
        are done; returns how many. PostgreSQL: 0 (:meth:`catch_up` computes its lexemes)."""
        if not (self.available and self._waits):
            return 0
        done = 0
        while limit is None or done < limit:
            size = batch if limit is None else min(batch, limit - done)
            # Found in a read (no write lock for a tick that finds none); the write then takes
            # what still waits in that span, so a concurrent indexer's work is not redone.
            with self.store.read() as session:
                ids = session.execute(_NEXT_PENDING, {"batch": size}).scalars().all()
            if not ids:
                break
            span = {"first": ids[0], "last": ids[-1]}
            with self.store.write() as session:
                session.execute(_INDEX_PENDING, span)
                indexed = cast("CursorResult[Any]", session.execute(_UNPEND, span)).rowcount
            done += indexed
            if progress is not None and indexed:
                progress(indexed)
        return done

    def pending(self) -> tuple[int, int]:
        """Articles still without stems, and without their entry in the index (PostgreSQL:
        lexemes; SQLite: waiting for :meth:`index_pending`): what the catch-ups have to do
        (a progress bar's total)."""
        if not self.available:
            return 0, 0
        postgres = self.dialect == "postgresql"
        with self.store.read() as session:
            unindexed = (session.execute(_LEXEMES_COUNT).scalar_one() if postgres
                         else session.execute(_FTS_PENDING_COUNT).scalar_one() if self._waits
                         else 0)
        return self.stems_pending(), int(unindexed)

    def stems_pending(self) -> int:
        """Articles still without stems: what a stemmed search computes first."""
        if not self.available:
            return 0
        with self.store.read() as session:
            return int(session.execute(_STEMS_COUNT).scalar_one())

    def _backfill(self, pending: TextClause, update: TextClause, batch: int,
                  values: Callable[[Row[Any]], dict[str, object]],
                  progress: Callable[[int], None] | None) -> int:
        """Run ``update`` with ``values`` of every row ``pending`` selects (by id, ``batch``
        at a time, each batch its own transaction); returns how many rows."""
        done, after = 0, 0
        while True:
            with self.store.read() as session:
                rows = session.execute(pending, {"after": after, "batch": batch}).all()
            if not rows:
                return done
            computed = [values(row) for row in rows]  # outside the write transaction
            with self.store.write() as session:
                session.execute(update, computed)
            done += len(rows)
            after = rows[-1].id
            if progress is not None:
                progress(len(rows))

    def candidate_ids(self, query: str | None, since: datetime | None = None,
                      newest: int | None = None) -> list[int] | None:
        """Ids of the articles the index finds for ``query`` (ascending), or None: no index.
        ``newest``: only the newest (highest) that many; a word most articles have returned
        them all (PostgreSQL: 0.9 s for 100,000, to be read by no one)."""
        if query is None or not self.available:
            return None
        postgres = self.dialect == "postgresql"
        since_sql = _SINCE if since is not None else ""
        stemmed = asks_for_stems(query, self.dialect)
        order = " ORDER BY {} DESC LIMIT :newest" if newest is not None else " ORDER BY {}"
        if postgres:
            sql = (_TS_MATCH_STEMS if stemmed else _TS_MATCH) + since_sql + order.format("a.id")
        elif stemmed:
            sql = (f"SELECT id FROM ({_MATCH}{since_sql}{_STEMS_PENDING}{since_sql})"
                   + order.format("id"))
        else:  # in FTS5's own order: by a.id, a temporary B-tree sorted every candidate
            sql = _MATCH + since_sql + order.format("articles_fts.rowid")
        statement = text(sql).bindparams(bindparam("query"))
        params: dict[str, object] = {"query": query}
        if newest is not None:
            params["newest"] = newest
        if postgres:
            params["unindexed"] = _UNINDEXED_QUERY
        if since is not None:
            statement = statement.bindparams(bindparam("since", type_=UtcDateTime()))
            params["since"] = since
        waiting: list[int] = []
        try:
            with self.store.read() as session:
                ids = [int(i) for i in session.execute(statement, params).scalars()]
                if self._waits:
                    waiting = [int(i) for i in session.execute(
                        self._waiting(since), {"since": since} if since else {}).scalars()]
        except (StoreError, ProgrammingError) as exc:
            if "fts5" in str(exc) or "tsquery" in str(exc):
                return None  # a query the index refuses: the caller reads every article
            raise
        if newest is not None:
            ids.reverse()
        if not waiting:
            return ids
        merged = sorted(set(ids).union(waiting))
        return merged[-newest:] if newest is not None else merged

    @staticmethod
    def _waiting(since: datetime | None) -> TextClause:
        """SQLite: the articles not indexed yet (:meth:`index_pending`), ``since`` then."""
        if since is None:
            return text(_FTS_PENDING)
        return text(_FTS_PENDING_SINCE).bindparams(bindparam("since", type_=UtcDateTime()))

    def articles(self, ids: Iterable[int], batch: int = _BATCH) -> Iterator[StoredArticle]:
        """The articles with these ids, in the given order, read ``batch`` at a time."""
        chunk: list[int] = []
        for article_id in ids:
            chunk.append(article_id)
            if len(chunk) >= batch:
                yield from self._load(chunk)
                chunk = []
        if chunk:
            yield from self._load(chunk)

    def _load(self, ids: list[int]) -> list[StoredArticle]:
        with self.store.read() as session:
            rows = {r.id: r for r in session.scalars(
                select(ArticleRow).where(ArticleRow.id.in_(ids)))}
        return [r.record()
                for r in (rows.get(i) for i in ids) if r is not None]
