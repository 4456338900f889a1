"""Database growth per article, and the steady-state size under the default retention.

Stores N articles (real article bodies from the extraction benchmark's ground truth, about
4.5 KB of text each) the way the daemon does: a feed entry, the article, a hit on 30 % of them
with its outbox row sent and its attempt logged. Measures the database before and after, once
with the text and once with the text dropped (what ``retention.article_text`` leaves), and
prints the growth per article, per day for 1,000 feeds at 10 articles a day, and the steady
state under the defaults.

    python tests/benchmarks/bench_growth.py [--shared ../shared] [--articles 3000] [URL ...]

URL: a database URL (default: a temporary SQLite database). No peer and no target: it
reports sizes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402

from monitor.config import RetentionConfig  # noqa: E402
from monitor.models import Article, Evidence, RuleHit  # noqa: E402
from monitor.store import Outbox, Route, Store, upgrade  # noqa: E402
from monitor.store.retention import vacuum  # noqa: E402
from monitor.text import clean_text  # noqa: E402

N = 3000
PER_DAY = 10_000  # 1,000 feeds x 10 articles a day


def bodies(shared: Path) -> list[str]:
    truth = shared / "corpora" / "article-extraction-benchmark" / "ground-truth.json"
    data = json.loads(truth.read_text(encoding="utf-8"))
    return [clean_text(v["articleBody"]) for v in data.values() if v.get("articleBody")]


def size(store: Store) -> int:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0
            page = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
            return int((pages - free) * page)
        return int(conn.execute(text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"))
            .scalar() or 0)


def fill(store: Store, texts: list[str], with_text: bool, start: int, n: int = N) -> float:
    store.sync_feeds([])
    from monitor.models import FeedSource
    store.sync_feeds([FeedSource(url="https://news.example/feed.xml", name="Example",
                                 interval_seconds=900)])
    fid = store.feed_health()[0].id
    outbox = Outbox(store)
    route = [Route("console", "console", "console")]
    before = size(store)
    for i in range(n):
        body = texts[i % len(texts)]
        article = Article(url=f"https://news.example/{start + i}/story-title-words-here",
                          title=body[:90], text=body if with_text else "",
                          source_name="Example News", feed_url="https://news.example/feed.xml",
                          entry_key=f"https://news.example/{start + i}", text_source="page",
                          language="en", content_hash=f"{start + i:064x}")
        hits = []
        if i % 10 < 3:
            hits = [RuleHit(rule_id="rule-a", rule_name="Rule A", evidence=tuple(
                Evidence(term="term", matched="term", field="body", start=0, end=4,
                         snippet=body[j * 150:j * 150 + 140]) for j in range(3)))]
        store.save_article(fid, article, hits, lambda _h: route)
        if hits:
            for note in outbox.claim("bench", timedelta(minutes=5), 10):
                outbox.record_sent(note.id, "bench")
    if store.dialect == "sqlite":
        vacuum(store)
    else:
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
    return (size(store) - before) / n


def measure(url: str, shared: Path, n: int = N) -> None:
    texts = bodies(shared)
    store = Store.open(url, Path.cwd())
    upgrade(store.engine)
    full = fill(store, texts, True, 0, n)
    bare = fill(store, texts, False, n, n)
    store.close()
    r = RetentionConfig()
    text_days = (r.article_text or 0) / 86400
    keep_days = (r.articles or 0) / 86400
    steady = PER_DAY * (text_days * full + (keep_days - text_days) * bare)
    print(f"{store.dialect}: {full / 1024:.1f} KB per article with its text, "
          f"{bare / 1024:.2f} KB once the text is dropped; "
          f"{PER_DAY * full / 2**20:.0f} MB a day for 1,000 feeds x 10 articles; "
          f"steady state under the defaults (text {text_days:.0f} d, stories "
          f"{keep_days:.0f} d): {steady / 2**30:.1f} GB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="*", metavar="DATABASE_URL")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--articles", type=int, default=N, help="articles stored per pass")
    args = parser.parse_args(argv)
    for url in args.urls or [f"sqlite:///{tempfile.mkdtemp()}/growth.db"]:
        measure(url, args.shared, args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
