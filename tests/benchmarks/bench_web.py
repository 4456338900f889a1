"""Web view, search and backtest at 200,000 articles and 50,000 hits, on SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_web.py [--articles 200000] [--hits 50000]
        [--postgres URL]   (PostgreSQL too; MONITOR_TEST_POSTGRES_URL is used when set)

Setup: a store filled in bulk with synthetic articles (a 12-word title and 120 words of text
from a 6,000-word vocabulary, ~1 KB each; "gaza", "ceasefire", "qatar" sprinkled so that
the search query matches about 0.5 % of them), one story per article, and 50,000 hits over
five rules with evidence, 1,000 with feedback.

Measured, in this process (Starlette's TestClient, so the ASGI app, templates and queries
all count, but no socket):

- pages: p95 of 30 requests each of the stories list (plain, filtered by rule, by outlet,
  a deep keyset page), a story, the rules page, feeds, outbox and two API lists. Target:
  p95 <= 100 ms.
- search: the search page for ``gaza AND ceasefire`` (parse, candidates, matcher, render).
  Peer: SQLite FTS5 alone counting the same query on the same index. Target: <= 1 s. And a
  search every article is a candidate for (400 common words ORed), which reads the newest
  10,000 of them: target <= 2 s.
- backtest: one rule (the same query) over every article, in a child process: seconds and
  peak RSS. Target: <= 1 s and < 300 MB. Then the same rule with ``stem: true``: a first run
  that computes every article's stems (as ``monitor db upgrade`` does), and a second, which
  must read the index's candidates only.

On PostgreSQL the text index is ``articles.text_tokens`` (a GIN-indexed tsvector of the
matcher's folded tokens); the bulk fill leaves it NULL, so its backfill (what
``monitor db upgrade`` runs) is timed and reported before the pages; the peer there is the
tsquery count alone. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from monitor.config import Config, WebConfig  # noqa: E402
from monitor.rules import Rule as QueryRule  # noqa: E402
from monitor.rules import RuleBook, candidate_query, tokenize  # noqa: E402
from monitor.store import Store, TextIndex, upgrade  # noqa: E402
from monitor.store.schema import (  # noqa: E402
    ArticleRow,
    FeedbackRow,
    FeedRow,
    HitRow,
    StoryRow,
)
from monitor.web import create_app  # noqa: E402
from tests.store_support import reset_postgres  # noqa: E402

QUERY = "gaza AND ceasefire"
RULES = ["gaza-talks", "ukraine-plan", "sudan-aid", "eu-energy", "asean-sea"]
CHUNK = 5000


def _vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnoprstuvwyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(6000)]


def fill(store: Store, articles: int, hits: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    now = datetime.now(UTC)
    start = now - timedelta(days=90)
    with store.engine.begin() as conn:
        conn.execute(insert(FeedRow), [{
            "url": "https://bench.example/feed", "name": "Bench", "tags": "",
            "interval_seconds": 900, "configured": True, "next_check_at": now,
            "consecutive_failures": 0, "entries_seen": 0, "origin": "config",
            "health_episode": 0, "parse_failures": 0}])
    index = TextIndex(store)
    for base in range(0, articles, CHUNK):
        n = min(CHUNK, articles - base)
        moments = [start + timedelta(seconds=90 * 86400 * (base + i) / articles)
                   for i in range(n)]
        rows = []
        for i in range(n):
            words = rng.choices(vocab, k=120)
            if rng.random() < 0.02:
                words[rng.randrange(120)] = "Gaza"
                if rng.random() < 0.3:
                    words[rng.randrange(120)] = "ceasefire"
            if rng.random() < 0.01:
                words[rng.randrange(120)] = "Qatar"
            rows.append({
                "id": base + i + 1, "canonical_url": f"https://bench.example/a/{base + i}",
                "feed_id": 1, "story_id": base + i + 1,
                "source_name": f"Outlet {rng.randrange(40)}",
                "title": " ".join(rng.choices(vocab, k=12)).capitalize(),
                "text": " ".join(words) + ".", "text_source": "page",
                "language": rng.choice(["en", "id", "ru"]), "published_at": moments[i],
                "fetched_at": moments[i], "content_hash": f"h{base + i}"})
        with store.engine.begin() as conn:
            conn.execute(insert(StoryRow), [{"id": base + i + 1, "created_at": moments[i]}
                                            for i in range(n)])
            conn.execute(insert(ArticleRow), rows)
        # SQLite: into the FTS5 index chunk by chunk, as the daemon indexes its articles as
        # they come. Indexed only after the whole table was loaded, each later single-row
        # change of an indexed article (the stems backfill below) took 5.5 ms instead of 0.1
        # at 50,000 articles, mostly in page reads (measured 2026-12-06).
        index.index_pending(batch=CHUNK)
    with store.engine.begin() as conn:
        chosen = sorted(rng.sample(range(1, articles + 1), hits))
        evidence = json.dumps([{"term": "gaza", "matched": "Gaza", "field": "body",
                                "start": 0, "end": 4, "snippet": "…Gaza…", "entity": None}])
        hit_rows = [{"id": i + 1, "article_id": a, "story_id": a, "rule_id": RULES[i % 5],
                     "rule_name": RULES[i % 5],
                     "evidence": evidence,
                     "matched_at": start + timedelta(seconds=90 * 86400 * a / articles)}
                    for i, a in enumerate(chosen)]
        for base in range(0, len(hit_rows), CHUNK):
            conn.execute(insert(HitRow), hit_rows[base:base + CHUNK])
        conn.execute(insert(FeedbackRow), [
            {"hit_id": h["id"], "rule_id": h["rule_id"], "relevant": rng.random() < 0.7,
             "author": "bench", "updated_at": now} for h in hit_rows[:1000]])
    if store.dialect == "sqlite":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def best_seconds(action: Callable[[], object], runs: int = 3) -> float:
    """The fastest of ``runs`` calls of ``action``, in seconds."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        action()
        times.append(time.perf_counter() - t)
    return min(times)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def time_pages(client: TestClient, paths: list[str], rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {p: [] for p in paths}
    for path in paths:
        client.get(path)  # warm-up (templates, rule book, caches)
    for _ in range(rounds):
        for path in paths:
            t = time.perf_counter()
            response = client.get(path)
            out[path].append((time.perf_counter() - t) * 1000)
            if response.status_code not in (200, 303):
                raise SystemExit(f"{path}: HTTP {response.status_code}")
    return out


BACKTEST_CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from monitor.rules import Rule, RuleBook, backtest_store, compile_rules
from monitor.store import Store
store = Store.open({url!r}, Path({tmp!r}))
rule = Rule.from_query("bench", {query!r}, stem={stem!r})
book = RuleBook(rules=(rule,))
matcher = compile_rules(book)
t = time.perf_counter()
report = backtest_store(store, book, matcher, None)
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "matches": report.matches, "read": report.articles,
                  "indexed": report.indexed,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def backtest_child(url: str, tmp: str, stem: bool = False) -> dict[str, float]:
    code = BACKTEST_CHILD.format(root=str(REPO_ROOT), url=url, tmp=tmp, query=QUERY, stem=stem)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=1800)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(url: str, tmp: str, articles: int, hits: int, rounds: int) -> list[str]:
    """Fill, measure, print; returns the missed targets."""
    store = Store.open(url, Path(tmp))
    upgrade(store.engine)
    t = time.perf_counter()
    fill(store, articles, hits)
    backend = store.dialect
    print(f"\n{backend}: {articles:,} articles, {hits:,} hits filled in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    # As `monitor db upgrade` does: SQLite's FTS5 index takes the articles waiting for it (the
    # daemon does so every few hundred), PostgreSQL computes their lexemes.
    t = time.perf_counter()
    index = TextIndex(store)
    indexed = index.index_pending() + (index.catch_up(tokenize) if backend == "postgresql"
                                       else 0)
    print(f"text index backfill (monitor db upgrade): {indexed:,} articles in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    if backend == "postgresql":
        with store.write() as session:
            session.execute(text("ANALYZE articles"))
    cfg = Config(base_dir=Path(tmp), database_url=url, rules_dir=REPO_ROOT / "rules",
                 web=WebConfig())
    missed = []
    with TestClient(create_app(cfg, store), base_url="http://127.0.0.1",
                    follow_redirects=False) as client:
        mid_story = articles // 2
        paths = ["/", f"/?rule={RULES[0]}", "/?outlet=Outlet+7", f"/?before={mid_story}",
                 "/?feedback=relevant", f"/stories/{articles - 3}", "/rules", "/feeds",
                 "/outbox", f"/api/v1/hits?rule={RULES[1]}", "/api/v1/stories?limit=50"]
        timings = time_pages(client, paths, rounds)
        print(f"{'page':<34} {'median ms':>10} {'p95 ms':>8}")
        for path, samples in timings.items():
            worst = p95(samples)
            print(f"{path:<34} {statistics.median(samples):10.1f} {worst:8.1f}")
            if worst > 100:
                missed.append(f"{backend} {path} p95 {worst:.0f} ms")
        def search_page() -> None:
            assert client.get(f"/search?q={QUERY.replace(' ', '+')}").status_code == 200

        search = best_seconds(search_page)
        # The unkind search: 400 of the vocabulary's words, ORed, match nearly every article
        # (as "dan" or "said" do in real archives), so the index narrows nothing.
        common = " OR ".join(_vocabulary(random.Random(7))[:400])

        def common_page() -> None:
            assert client.get("/search", params={"q": common}).status_code == 200

        common_search = best_seconds(common_page)
    peer = None
    if backend == "sqlite":
        engine = create_engine(url)
        with engine.connect() as conn:
            peer = best_seconds(lambda: conn.execute(text(
                "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :q"),
                {"q": QUERY}).scalar())
        engine.dispose()
    else:
        tsquery = candidate_query(QueryRule.from_query("q", QUERY), RuleBook(rules=()),
                                  "postgresql")
        with store.read() as session:
            peer = best_seconds(lambda: session.execute(text(
                "SELECT count(*) FROM articles WHERE text_tokens @@ CAST(:q AS tsquery)"),
                {"q": tsquery}).scalar())
    store.close()
    bt = backtest_child(url, tmp)
    peer_text = f"{peer * 1000:.1f} ms" if peer is not None else "-"
    alone = "FTS5" if backend == "sqlite" else "tsquery on the GIN index"
    print(f"search '{QUERY}': {search * 1000:.0f} ms (best of runs); peer {alone} alone: "
          f"{peer_text}")
    print(f"search of 400 common words (every article a candidate; reads the newest "
          f"10,000): {common_search * 1000:.0f} ms (best of runs)")
    print(f"1-rule backtest: {bt['seconds']:.2f} s, {int(bt['matches'])} matches, "
          f"{int(bt['read'])} articles read ({'index' if bt['indexed'] else 'full scan'}), "
          f"peak RSS {bt['rss_mb']:.0f} MB")
    # The same rule with stem: true: the first backtest computes every article's stems
    # (what `monitor db upgrade` does after migration 0011), the second reads the index.
    first = backtest_child(url, tmp, stem=True)
    stemmed = backtest_child(url, tmp, stem=True)
    print(f"stemmed 1-rule backtest: first {first['seconds']:.1f} s (computes the stems of "
          f"every article), then {stemmed['seconds']:.2f} s, {int(stemmed['matches'])} "
          f"matches, {int(stemmed['read'])} articles read "
          f"({'index' if stemmed['indexed'] else 'full scan'}), peak RSS "
          f"{stemmed['rss_mb']:.0f} MB")
    # Not held to 1 s: a fresh process first stems the vocabulary it meets (Sastrawi, for
    # the Indonesian third, ~80 us a word); what must hold is that it reads the index.
    if not stemmed["indexed"]:
        missed.append(f"{backend} stemmed backtest read every article")
    if search > 1:
        missed.append(f"{backend} search {search:.1f} s")
    if common_search > 2:
        missed.append(f"{backend} search of common words {common_search:.1f} s")
    if bt["seconds"] > 1:
        missed.append(f"{backend} backtest {bt['seconds']:.1f} s")
    if bt["rss_mb"] >= 300:
        missed.append(f"{backend} backtest memory {bt['rss_mb']:.0f} MB")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, help="unused (accepted from run_all.py)")
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--postgres", default=os.environ.get("MONITOR_TEST_POSTGRES_URL"),
                        help="a throwaway PostgreSQL database (its schema is dropped)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_sqlite:
            missed += run(f"sqlite:///{Path(tmp) / 'web.db'}", tmp, args.articles, args.hits,
                          args.rounds)
        if args.postgres:
            reset_postgres(args.postgres)
            missed += run(args.postgres, tmp, args.articles, args.hits, args.rounds)
    if missed:
        print("\nmissed targets: " + "; ".join(missed))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
