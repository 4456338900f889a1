"""Extraction quality through the whole ingest path: the stored body text of 181 real pages.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_pipeline_f1.py [--shared ../shared]

The 181 pages of the article-extraction benchmark (``html/<id>.html.gz``) are served on
127.0.0.1 behind a generated RSS feed (one item per page, titled and summarised with the
page id only, so the feed adds no article text). One polling cycle of the real pipeline
(fetch, parse, page fetch, extraction in worker processes, fallback, matching, story index,
SQLite) stores them; the score is the scrapinghub benchmark's token-level F1 (multiset of
whitespace-separated tokens) of each STORED body text against ``articleBody``, averaged
over the pages. Rows:

(a) peer: ``trafilatura.extract`` with default options on the same pages, in process;
(b) the pipeline's stored text; target: mean F1 >= 0.95.

Settings for the run: ``http.allow_private_networks: [127.0.0.1/32]`` (the pages are on
loopback), ``http.respect_robots_txt: false`` (the server has no robots.txt),
``polling.max_new_entries`` the number of pages (the daemon's default takes a feed's newest
100 new entries per cycle and the rest in the next one). Exits 1 when (b) misses the target
or a page is not stored.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

# The peer row needs plain trafilatura; the package itself imports it only in extract.py.
import trafilatura  # noqa: E402

from tests.benchmarks.bench_extract import F1_TARGET, load_corpus, token_f1  # noqa: E402

Corpus = list[tuple[str, str, bytes, str]]  # id, original url, html, true body
RULES = """
rules:
  - id: anything
    name: Anything
    query: the
"""


@contextmanager
def serve(corpus: Corpus) -> Iterator[str]:
    """The pages at /p/<id>.html and a feed listing all of them at /feed.xml."""
    pages = {f"/p/{page_id}.html": html for page_id, _url, html, _truth in corpus}
    feed: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = feed[0] if self.path == "/feed.xml" else pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml" if self.path == "/feed.xml"
                             else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    items = "".join(
        f"<item><title>Page {page_id}</title><link>{base}/p/{page_id}.html</link>"
        f"<guid>{page_id}</guid><description>Page {page_id}</description></item>"
        for page_id, _url, _html, _truth in corpus)
    feed.append((f'<?xml version="1.0"?><rss version="2.0"><channel><title>Benchmark</title>'
                 f"<link>{base}/</link><description>pages</description>{items}</channel></rss>"
                 ).encode())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def pipeline_texts(corpus: Corpus) -> tuple[dict[str, str], Counter[str], float]:
    """Poll the served feed once through the real pipeline; the stored text per page id."""
    from sqlalchemy import select

    from monitor.config import Config
    from monitor.daemon.active_rules import ActiveRules
    from monitor.daemon.pipeline import Pipeline
    from monitor.daemon.poller import FeedPoller
    from monitor.delivery.channels import ChannelDirectory
    from monitor.extract.extractor import Extractor
    from monitor.net.fetch import Fetcher
    from monitor.store import Store, upgrade
    from monitor.store.schema import ArticleRow
    from monitor.stories.registry import StoryRegistry

    with serve(corpus) as base, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rules").mkdir()
        (root / "rules" / "rules.yaml").write_text(RULES)
        config = Config.model_validate({
            "base_dir": root, "rules_dir": root / "rules",
            "database_url": f"sqlite:///{root / 'bench.db'}",
            "feeds": [{"url": f"{base}/feed.xml", "name": "Benchmark"}],
            "http": {"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False},
            "polling": {"max_new_entries": len(corpus)},  # every page in this one cycle
            "delivery": {"console": False},
        })
        store = Store.open(config.database_url, root)
        upgrade(store.engine)
        store.sync_feeds(config.feed_sources())
        rules = ActiveRules(config.rules_path)
        rules.reload()
        fetcher, extractor = Fetcher(config.http), Extractor(config.extract)
        try:
            poller = FeedPoller(config, store, fetcher, extractor, rules,
                                ChannelDirectory(config), StoryRegistry(store))
            started = time.perf_counter()
            Pipeline(config, store, poller, "bench").run_cycle()
            seconds = time.perf_counter() - started
            with store.read() as session:
                rows = session.execute(select(ArticleRow.canonical_url, ArticleRow.text,
                                              ArticleRow.text_source)).all()
        finally:
            extractor.close()
            fetcher.close()
            store.close()
    texts = {url.rsplit("/", 1)[1].removesuffix(".html"): text for url, text, _ in rows}
    sources = Counter(source for _, _, source in rows)
    return texts, sources, seconds


def main(argv: list[str] | None = None) -> int:
    """Score the peer and the pipeline's stored text; 1 if the pipeline misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    args = parser.parse_args(argv)
    if not (args.shared / "corpora" / "article-extraction-benchmark").is_dir():
        print(f"bench_pipeline_f1: skipped: {args.shared} has no "
              "corpora/article-extraction-benchmark (../shared must sit beside the repository)")
        return 0
    corpus = load_corpus(args.shared)
    peer = [token_f1(trafilatura.extract(html, url=url) or "", truth)
            for _id, url, html, truth in corpus]
    texts, sources, seconds = pipeline_texts(corpus)
    ours = [token_f1(texts.get(page_id, ""), truth) for page_id, _url, _html, truth in corpus]
    peer_mean, mean = sum(peer) / len(peer), sum(ours) / len(ours)
    print(f"{len(corpus)} pages served on loopback behind one RSS feed; F1 target {F1_TARGET}")
    print(f"{'row':<58} {'mean F1':>8}  target")
    print(f"{'(a) peer: trafilatura.extract defaults, in process':<58} {peer_mean:>8.4f}  -")
    stored = f"(b) pipeline: stored body text ({len(texts)} stored in {seconds:.1f} s)"
    print(f"{stored:<58} {mean:>8.4f}  {'PASS' if mean >= F1_TARGET else 'FAIL'}")
    print("    text sources: " + ", ".join(f"{k} {v}" for k, v in sorted(sources.items())))
    return 0 if mean >= F1_TARGET and len(texts) == len(corpus) else 1


if __name__ == "__main__":
    sys.exit(main())
