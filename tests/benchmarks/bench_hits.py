"""Hits-listing benchmark: ``monitor hits --rule X --limit 50`` with 50,000 hits for X.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_hits.py [--hits 50000] [--rounds 30]

Setup: a SQLite store (the default deployment) with 50,000 articles (1.5 KB of text and a
1 KB signature each, as stored articles have) and 100,000 hits: 50,000 for rule ``x`` and
50,000 spread over four other rules, all at distinct times. The file is copied before the
last migration, so that the peer is exactly the previous version on the same data:

- ours: ``Store.hits(rule_id="x", limit=50)`` (what ``monitor hits --rule x --limit 50``
  runs) on the schema at head: the newest 50 picked on ``ix_hits_rule_matched`` alone,
  then joined to the columns of their articles that are shown;
- peer: the previous query (every hit of the rule joined to its full article row, sorted,
  then limited) on the previous schema (single-column indexes, before migration 0007).

Both run in this process, alternating (the first swapped each round), timed from the call
to the returned list (a fresh read transaction each time; the database pages are in the
OS cache for both after the first round, which is dropped as warm-up). Reported: best,
median, mean and p99 milliseconds of each, and the ratio of medians. Target: our median
<= 50 ms. Exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import bindparam, insert, inspect, select  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402
from sqlalchemy.sql.elements import KeyedColumnElement  # noqa: E402

from monitor.store import Store, upgrade  # noqa: E402
from monitor.store.records import evidence_from_json  # noqa: E402
from monitor.store.schema import ArticleRow, FeedRow, HitRow, StoryRow  # noqa: E402
from tests.benchmarks.fair import Stats, alternate, print_rows  # noqa: E402

TARGET_MS = 50.0
LIMIT = 50
EVIDENCE = ('[{"term": "x", "matched": "X", "field": "body", "start": 10, "end": 11, '
            '"snippet": "... X ...", "entity": null}]')


def populate(store: Store, n_hits: int) -> None:
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    text = "lorem ipsum dolor sit amet " * 55  # ~1.5 KB
    with store.engine.begin() as connection:
        # Plain SQL: the ORM's, and Core's defaults, name columns this old schema lacks.
        connection.execute(sql(
            "INSERT INTO feeds (id, url, name, tags, interval_seconds, configured, "
            "next_check_at, consecutive_failures, entries_seen) "
            "VALUES (1, 'http://bench.test/feed.xml', 'Bench', '', 900, 1, :t, 0, 0)"
        ).bindparams(bindparam("t", start, type_=FeedRow.__table__.c.next_check_at.type)))
        feed_id = 1  # the only feed
        connection.execute(insert(StoryRow), [{"id": 1, "created_at": start}])
        for base in range(0, n_hits, 5000):
            rows = range(base, min(n_hits, base + 5000))
            connection.execute(insert(ArticleRow), [{
                "id": i + 1, "canonical_url": f"http://bench.test/a/{i}", "feed_id": feed_id,
                "story_id": 1, "source_name": "Bench", "title": f"Article {i}", "text": text,
                "text_source": "page", "language": "en", "author": None,
                "published_at": start + timedelta(minutes=i),
                "fetched_at": start + timedelta(minutes=i), "content_hash": f"{i:064x}",
                "error": None, "signature": rng.randbytes(1024)} for i in rows])
            hits = []
            for i in rows:
                when = start + timedelta(minutes=i, seconds=rng.randrange(60))
                hits.append({"article_id": i + 1, "story_id": 1, "rule_id": "x",
                             "rule_name": "X", "evidence": EVIDENCE, "matched_at": when})
                hits.append({"article_id": i + 1, "story_id": 1,
                             "rule_id": f"other{rng.randrange(4)}", "rule_name": "Other",
                             "evidence": EVIDENCE, "matched_at": when + timedelta(seconds=1)})
            connection.execute(insert(HitRow), hits)


def article_columns(store: Store) -> list[KeyedColumnElement[Any]]:
    """The ``articles`` columns ``store``'s schema has (later migrations added some to the
    model, e.g. 0011's stems, which the previous schema lacks)."""
    present = {column["name"] for column in inspect(store.engine).get_columns("articles")}
    return [column for column in ArticleRow.__table__.columns if column.name in present]


def previous_query(store: Store, rule_id: str, limit: int,
                   article: list[KeyedColumnElement[Any]]) -> list[object]:
    """The query ``Store.hits`` ran before migration 0007, verbatim in effect: each hit with
    its whole article row (``article``: every column of that schema)."""
    query = (select(HitRow, *article).join(ArticleRow, HitRow.article_id == ArticleRow.id)
             .where(HitRow.rule_id == rule_id)
             .order_by(HitRow.matched_at.desc(), HitRow.id.desc()).limit(limit))
    with store.read() as session:
        return [(row[0].id, row.title, evidence_from_json(row[0].evidence))
                for row in session.execute(query)]


def main(argv: list[str] | None = None) -> int:
    """Print the table; 1 if the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--shared", type=Path, help="(unused: accepted like every benchmark)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        theirs_path, ours_path = base / "previous.db", base / "head.db"
        store = Store.open(f"sqlite:///{theirs_path}", base)
        upgrade(store.engine, "0006")
        populate(store, args.hits)
        store.close()
        shutil.copyfile(theirs_path, ours_path)
        ours_store = Store.open(f"sqlite:///{ours_path}", base)
        upgrade(ours_store.engine)
        peer_store = Store.open(f"sqlite:///{theirs_path}", base)
        columns = article_columns(peer_store)
        newest = ours_store.hits(rule_id="x", limit=LIMIT)
        assert len(newest) == LIMIT and [h.id for h in newest] == [
            row[0] for row in previous_query(peer_store, "x", LIMIT, columns)]  # type: ignore[index]

        def timed(call: object) -> float:
            started = time.perf_counter()
            call()  # type: ignore[operator]
            return (time.perf_counter() - started) * 1000

        ours, peer = alternate(
            lambda: timed(lambda: ours_store.hits(rule_id="x", limit=LIMIT)),
            lambda: timed(lambda: previous_query(peer_store, "x", LIMIT, columns)),
            args.rounds + 1)
        ours_store.close()
        peer_store.close()
    mine, prev = Stats.of(ours[1:]), Stats.of(peer[1:])
    print(f"SQLite, {args.hits} articles, {2 * args.hits} hits ({args.hits} for rule x); "
          f"--limit {LIMIT}; {args.rounds} alternating rounds in this process")
    return 1 if print_rows([
        ("ours: hits --rule x --limit 50, median ms", f"{mine.median:.1f}", f"<= {TARGET_MS:.0f}",
         mine.median <= TARGET_MS),
        ("ours: best / mean / p99 ms",
         f"{mine.best:.1f}/{mine.mean:.1f}/{mine.p99:.1f}", "-", None),
        ("peer (previous query + schema 0006): median ms", f"{prev.median:.1f}", "-", None),
        ("peer: best / mean / p99 ms",
         f"{prev.best:.1f}/{prev.mean:.1f}/{prev.p99:.1f}", "-", None),
        ("peer / ours (median)", f"{prev.median / mine.median:.0f}x", "-", None),
    ]) else 0


if __name__ == "__main__":
    sys.exit(main())
