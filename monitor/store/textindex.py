"""The article text index: candidates for a search or a backtest, before the matcher decides.

On SQLite an FTS5 table (migration 0008) follows the articles table through triggers, so it
is in step inside every article's own transaction. :meth:`TextIndex.candidate_ids` answers an
FTS5 query (from :func:`monitor.rules.candidate_query`) with article ids; where there is no
index (PostgreSQL) or the query cannot run, it answers None and the caller reads everything.
Articles then come in batches by id, so memory stays flat however many match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import bindparam, select, text

from monitor.errors import StoreError
from monitor.store.records import StoredArticle
from monitor.store.schema import ArticleRow, UtcDateTime
from monitor.store.store import Store

_BATCH = 500
_MATCH = ("SELECT a.id FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
          "WHERE articles_fts MATCH :query")
_SINCE = " AND a.fetched_at >= :since"


class TextIndex:
    """Candidate article ids for an FTS5 query, and the articles by id in batches."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._available: bool | None = None

    @property
    def available(self) -> bool:
        if self._available is None:
            self._available = False
            if self.store.dialect == "sqlite":
                with self.store.read() as session:
                    self._available = session.execute(text(
                        "SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'")).first() \
                        is not None
        return self._available

    def optimize(self) -> None:
        """Merge the index's segments, dropping what deleted or pruned texts left behind.

        FTS5 records a changed or deleted row as a tombstone in a new segment; until the
        segments merge, a pruned text still takes its space in the file (retention calls this).
        """
        if self.available:
            with self.store.write() as session:
                session.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')"))

    def candidate_ids(self, query: str | None, since: datetime | None = None) -> list[int] | None:
        """Ids of the articles the index finds for ``query`` (ascending), or None: no index."""
        if query is None or not self.available:
            return None
        sql = _MATCH + (_SINCE if since is not None else "") + " ORDER BY a.id"
        statement = text(sql).bindparams(bindparam("query"))
        params: dict[str, object] = {"query": query}
        if since is not None:
            statement = statement.bindparams(bindparam("since", type_=UtcDateTime()))
            params["since"] = since
        try:
            with self.store.read() as session:
                return [int(i) for i in session.execute(statement, params).scalars()]
        except StoreError as exc:
            if "fts5" in str(exc):
                return None  # a query FTS5 refuses: the caller reads every article instead
            raise

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
        return [StoredArticle(id=r.id, url=r.canonical_url, title=r.title, text=r.text,
                              source=r.source_name, language=r.language,
                              published=r.published_at, fetched_at=r.fetched_at)
                for r in (rows.get(i) for i in ids) if r is not None]
