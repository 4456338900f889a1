"""Story benchmark: the cost of saving a syndicated copy as its story grows to 3,000 copies.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_stories.py [--rounds 40] [--postgres URL]

One original article (300 made-up words) and N copies of it (each with its own header,
footer and a few changed words) are stored, for N = 1, 10, 100, 1,000 and 3,000. At each size
a new copy is saved, timed, checked to have joined the story, and deleted again (untimed), so
the story keeps its size; ours and the peer take turns, one save each, swapping who goes
first every round (tests/benchmarks/fair.py).

- ours: :class:`monitor.stories.StoryRegistry`, which decides the story in the database
  against the shared band index of each story's few representatives;
- peer: the registry as it was before, in memory: every stored article indexed, a new one
  verified against every candidate the LSH bands propose (every member of its story), under
  a process lock, then saved through the same :meth:`Store.save_article`.

Both get the text signature precomputed (it is the same work for both), so the table shows
the story decision plus the database write. The store is SQLite in a temporary folder, or the
PostgreSQL at ``--postgres`` (its schema is dropped first: use a throwaway database).

Targets (PASS/FAIL): every copy joins its story, for both; ours is flat: its median save at
3,000 copies is at most 1.5x its median at 1 copy. Exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import delete  # noqa: E402

from monitor.models import Article, FeedSource  # noqa: E402
from monitor.store import Route, SavedArticle, Store, upgrade  # noqa: E402
from monitor.store.schema import ArticleRow, StoryRow  # noqa: E402
from monitor.stories import StoryRegistry  # noqa: E402
from monitor.stories.lsh import StoryIndex  # noqa: E402
from monitor.stories.signatures import StorySignature, text_signature  # noqa: E402
from tests.benchmarks.fair import Stats, alternate, print_rows  # noqa: E402
from tests.store_support import reset_postgres  # noqa: E402

SIZES = (1, 10, 100, 1_000, 3_000)
TARGET_FLAT = 1.5


def _routes(_hit: object) -> list[Route]:
    return []


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnoprstuw") for _ in range(rng.randint(3, 9)))
            for _ in range(n)]


class Copies:
    """Syndicated copies of one made-up original, each new and with its signature."""

    def __init__(self, seed: int = 1) -> None:
        self.original = _words(random.Random(seed), 300)
        self.count = 0

    def next(self) -> tuple[Article, StorySignature]:
        self.count += 1
        rng = random.Random(f"copy-{self.count}")
        words = list(self.original)
        for _ in range(4):
            words[rng.randrange(len(words))] = _words(rng, 1)[0]
        body = " ".join(_words(rng, 10) + words + _words(rng, 12))
        url = f"https://outlet{self.count}.example/news/1"
        article = Article(url=url, title="A syndicated story", text=body,
                          source_name=f"Outlet {self.count}", feed_url="https://f.example/",
                          entry_key=url, text_source="page", language="en",
                          published=datetime.now(UTC))
        return article, text_signature(body)


class AllMembersPeer:
    """The story registry before the shared index: every member compared, in memory."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index = StoryIndex()
        self._lock = threading.Lock()

    def save(self, feed_id: int, article: Article, signature: StorySignature) -> SavedArticle:
        moment = article.published or self.store.clock()
        with self._lock:
            key = self.index.find(signature, moment)
            saved = self.store.save_article(
                feed_id, article, [], _routes, story_id=int(key) if key is not None else None,
                signature=signature.to_bytes())
            if saved.created:
                self.add(saved, signature, moment)
        return saved

    def add(self, saved: SavedArticle, signature: StorySignature, moment: datetime) -> None:
        self.index.add(str(saved.story_id), str(saved.article_id), signature, moment)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, help="unused (accepted from run_all.py)")
    parser.add_argument("--rounds", type=int, default=40, help="saves of each per size")
    parser.add_argument("--postgres", help="a throwaway PostgreSQL URL instead of SQLite")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'stories.db'}"
        if args.postgres:
            reset_postgres(url)
        store = Store.open(url, Path(tmp))
        upgrade(store.engine)
        store.sync_feeds([FeedSource(url="https://f.example/", name="Wire",
                                     interval_seconds=600)])
        feed_id = store.feed_health()[0].id
        ours, peer, copies = StoryRegistry(store), AllMembersPeer(store), Copies()
        misgrouped = {"ours": 0, "peer": 0}

        first, signature = copies.next()
        saved = ours.save(feed_id, first, [], _routes, signature=signature)
        story = saved.story_id
        peer.add(saved, signature, first.published or store.clock())
        members = 1

        def one(who: str, save: Callable[[Article, StorySignature], SavedArticle]) -> float:
            article, sig = copies.next()
            started = time.perf_counter()
            result = save(article, sig)
            elapsed = (time.perf_counter() - started) * 1000
            misgrouped[who] += result.story_id != story
            with store.write() as session:  # keep the story at its size (untimed)
                session.execute(delete(ArticleRow).where(ArticleRow.id == result.article_id))
                if result.story_id != story:
                    session.execute(delete(StoryRow).where(StoryRow.id == result.story_id))
            peer.index.remove(str(result.article_id))
            return elapsed

        def save_ours(article: Article, sig: StorySignature) -> SavedArticle:
            return ours.save(feed_id, article, [], _routes, signature=sig)

        def save_peer(article: Article, sig: StorySignature) -> SavedArticle:
            return peer.save(feed_id, article, sig)

        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"story save, ms per article ({backend}; {args.rounds} saves of each per size, "
              "alternating; signature precomputed)")
        print(f"{'copies':>7} {'who':<5} {'best':>8} {'median':>8} {'mean':>8} {'p99':>8}"
              f" {'peer/ours (median)':>20}")
        medians: dict[int, float] = {}
        for size in SIZES:
            while members < size + 1:  # the original and `size` copies
                article, sig = copies.next()
                grown = ours.save(feed_id, article, [], _routes, signature=sig)
                peer.add(grown, sig, article.published or store.clock())
                members += 1
            mine, theirs = alternate(lambda: one("ours", save_ours),
                                     lambda: one("peer", save_peer), args.rounds)
            a, b = Stats.of(mine), Stats.of(theirs)
            medians[size] = a.median
            for who, s in (("ours", a), ("peer", b)):
                ratio = f"{b.median / a.median:.1f}x" if who == "peer" else ""
                print(f"{size:>7} {who:<5} {s.best:8.3f} {s.median:8.3f} {s.mean:8.3f} "
                      f"{s.p99:8.3f} {ratio:>20}", flush=True)
        store.close()

    flat = medians[SIZES[-1]] / medians[SIZES[0]]
    print()
    failed = print_rows([
        ("copies that joined another story (ours)", str(misgrouped["ours"]), "0",
         misgrouped["ours"] == 0),
        ("copies that joined another story (peer)", str(misgrouped["peer"]), "0",
         misgrouped["peer"] == 0),
        (f"ours: median at {SIZES[-1]:,} copies / at {SIZES[0]} copy", f"{flat:.2f}x",
         f"<= {TARGET_FLAT}x", flat <= TARGET_FLAT),
    ])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
