"""Polling-cycle benchmark: 400 feeds x 5 new articles (by default) over 20 slow hosts, into SQLite.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_cycle.py [--shared ../shared] [--feeds 400] [--rounds 3]

Setup. A server process listens on 127.0.0.1 ... 127.0.0.20 (one ThreadingHTTPServer per
address) and answers every request after 100 ms. Feed ``n`` lives on host ``n % 20`` and
lists 5 articles on the same host; article pages are the 181 pages of the
article-extraction benchmark, reused in turn under distinct URLs (2,000 articles). The 20
host names (``news01.bench.test`` ...) reach their 127.0.0.x address through the Fetcher's
injectable resolver; ``http.allow_private_networks`` opens 127.0.0.0/8 for them. Nothing
leaves loopback.

The pipeline is the real one (claim, fetch, parse, new entries, page fetch, extraction in
worker processes, matching with 3 rules, story index, SQLite) with these settings, chosen
for the benchmark and differing from the defaults users get:

* ``http.workers: 16`` feeds polled at once (the default), and so 16 page-fetch threads
  (32 threads cost more CPU in GIL hand-offs than they gained in overlap);
* ``http.per_host_concurrency: 8`` (default 2: polite to real sites, but 20 hosts at 2
  requests each cannot hide 100 ms of latency per request);
* ``http.respect_robots_txt: false`` (the server has none; it would add a request per host);
* ``polling.default_interval`` / ``min_interval: 1s`` so that the second cycle finds every
  feed due again;
* ``extract.workers``: one per core (the default); feeds are parsed in the daemon's two
  killable parse workers (``monitor.daemon.parsing.FeedParser``, as ``build_service`` wires
  it);
* the extraction workers and the language model are loaded before the clock starts (a
  daemon loads them once, not per cycle).

Ours and the peer run in alternating rounds in this process tree (``--rounds``, the one
going first swapped each round), against the same server, on the same machine moments:

* ours: one cycle of the pipeline on a fresh SQLite store (every entry new): fetch, parse,
  fetch the pages, extract them in the extraction workers (which also sign each text for
  the story index), match, group into stories, store;
* the peer does the same fetching, parsing and extraction with the same parallelism and
  nothing else (no matching, no storing): httpx2 (one Client, the same per-host connection
  cap) with ``http.workers`` feed threads, feedparser in a ``multiprocessing`` forkserver
  pool of as many processes as ours' parse workers, each feed's pages fetched in a pool of
  as many page threads as ours, trafilatura in fast mode without metadata
  (``trafilatura.extract(html, fast=True, with_metadata=False)``) in a ``multiprocessing``
  forkserver pool of ``extract.workers`` processes (one per core, as ours).

Rows: pages per second of each (best-of and median over the rounds, mean and worst beside),
ours / peer (target: the median ratio of the rounds >= 90 %); cycle 2 on ours' first store
(nothing new: no page fetched or extracted, within 20 s); peak PSS of the whole process tree
(this process, its extraction and parse workers and their fork server, the peer's pools; the HTTP
server process not counted), sampled every 2 s: target 500 MB.

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from tests.benchmarks.fair import MemorySampler, Stats, print_rows  # noqa: E402

HOSTS = 20
ITEMS_PER_FEED = 5
LATENCY = 0.1
THROUGHPUT_TARGET = 0.9
SECOND_CYCLE_TARGET_S = 20.0
MEMORY_TARGET_MB = 500.0
RULES = """
rules:
  - id: election
    name: Election
    query: election OR vote OR ballot
  - id: markets
    name: Markets
    query: '"stock market" OR inflation OR "interest rates"'
  - id: storm
    name: Storm
    query: NEAR(storm damage, 5)
"""


def host_name(index: int) -> str:
    return f"news{index + 1:02d}.bench.test"


def load_pages(shared: Path) -> list[bytes]:
    """The benchmark's article pages (decompressed), sorted by id."""
    root = shared / "corpora" / "article-extraction-benchmark"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return [gzip.decompress((root / "html" / f"{page_id}.html.gz").read_bytes())
            for page_id in sorted(truth)]


# -- the slow server (its own process) --------------------------------------------------------


def _feed_xml(feed: int, origin: str) -> bytes:
    items = "".join(
        f"<item><title>Story {feed}-{k}</title><link>{origin}/a/{feed}/{k}.html</link>"
        f"<guid>{origin}/a/{feed}/{k}</guid><description>Story {feed}-{k}</description>"
        f"<pubDate>Mon, 0{1 + k} Jun 2026 10:00:00 GMT</pubDate></item>"
        for k in range(ITEMS_PER_FEED))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
            f"<link>{origin}/</link><description>bench</description>{items}</channel></rss>"
            ).encode()


def _serve(shared: str, ready: Connection, pages_served: Synchronized[int],
           feeds_served: Synchronized[int]) -> None:
    """Server process: one ThreadingHTTPServer per 127.0.0.x address, 100 ms per answer."""
    pages = load_pages(Path(shared))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers allow

        def do_GET(self) -> None:
            time.sleep(LATENCY)  # the latency of a remote server, not a wait for an event
            parts = self.path.strip("/").split("/")
            host = self.headers.get("Host", "")
            if parts[0] == "f" and len(parts) == 2:
                body = _feed_xml(int(parts[1].removesuffix(".xml")), f"http://{host}")
                kind = "application/rss+xml"
                with lock:
                    feeds_served.value += 1
            elif parts[0] == "a" and len(parts) == 3:
                feed, item = int(parts[1]), int(parts[2].removesuffix(".html"))
                body = pages[(feed * ITEMS_PER_FEED + item) % len(pages)]
                kind = "text/html"
                with lock:
                    pages_served.value += 1
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    servers = []
    for index in range(HOSTS):
        server = ThreadingHTTPServer((f"127.0.0.{index + 1}", 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 256
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    ready.send([s.server_address[1] for s in servers])
    ready.recv()  # block until the benchmark says stop


@dataclass
class SlowServer:
    ports: list[int]
    pages_served: Synchronized[int]
    feeds_served: Synchronized[int]
    pid: int

    def origin(self, host: int) -> str:
        return f"http://{host_name(host)}:{self.ports[host]}"


@contextmanager
def slow_server(shared: Path) -> Iterator[SlowServer]:
    context = multiprocessing.get_context("spawn")
    pages_served = context.Value("i", 0)
    feeds_served = context.Value("i", 0)
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(str(shared), child, pages_served,
                                                   feeds_served), daemon=True)
    process.start()
    try:
        ports = parent.recv()
        assert process.pid is not None
        yield SlowServer(ports, pages_served, feeds_served, process.pid)
    finally:
        parent.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


# -- the peer baseline ------------------------------------------------------------------------


def _peer_links(body: bytes) -> list[str]:
    import feedparser  # the peer parses each feed in a worker process, as ours

    return [str(entry.link) for entry in feedparser.parse(body).entries]


def _peer_extract(html: bytes) -> int:
    import trafilatura  # the peer: trafilatura's fast mode without metadata, as ours

    return len(trafilatura.extract(html, fast=True, with_metadata=False) or "")


class Peer:
    """The same fetching, parsing and extraction as ours, with the same parallelism."""

    def __init__(self, server: SlowServer, feeds: int, workers: int, per_host: int,
                 extract_workers: int) -> None:
        import httpx2

        self.client = httpx2.Client(timeout=30.0, limits=httpx2.Limits(
            max_connections=None, max_keepalive_connections=HOSTS * per_host))
        self.hosts = [threading.Semaphore(per_host) for _ in range(HOSTS)]
        self.feeds = [(n % HOSTS, f"http://127.0.0.{n % HOSTS + 1}:{server.ports[n % HOSTS]}"
                                  f"/f/{n}.xml") for n in range(feeds)]
        self.workers = workers
        self.pages = ThreadPoolExecutor(max(4, workers))  # ours: PagePool(max(4, workers))
        self.pool = multiprocessing.get_context("forkserver").Pool(extract_workers)
        self.pool.map(_peer_extract, [b"<html><body><p>warm-up</p></body></html>"]
                      * extract_workers)  # imports and lxml in every worker, as ours
        # Feeds parsed in a pool of their own, as ours (the daemon's FeedParser workers).
        from monitor.daemon.parsing import PARSE_WORKERS

        self.parsers = multiprocessing.get_context("forkserver").Pool(PARSE_WORKERS)
        self.parsers.map(_peer_links, [b"<rss version='2.0'><channel></channel></rss>"]
                         * PARSE_WORKERS)

    def _get(self, host: int, url: str) -> bytes:
        with self.hosts[host]:
            response = self.client.get(url)
            response.raise_for_status()
            return response.content

    def _page(self, host: int, link: str) -> Any:
        # Fetched in a page thread, extracted in the pool while the thread fetches the next.
        return self.pool.apply_async(_peer_extract, (self._get(host, link),))

    def _poll(self, feed: tuple[int, str]) -> int:
        host, url = feed
        links = self.parsers.apply(_peer_links, (self._get(host, url),))
        started = [self.pages.submit(self._page, host, link) for link in links]
        return sum(1 for page in started if page.result().get() >= 0)

    def cycle(self) -> int:
        """Poll every feed once; the number of pages extracted."""
        with ThreadPoolExecutor(self.workers) as feeds:
            return sum(feeds.map(self._poll, self.feeds))

    def close(self) -> None:
        self.pages.shutdown()
        self.pool.terminate()
        self.pool.join()
        self.parsers.terminate()
        self.parsers.join()
        self.client.close()


# -- ours -------------------------------------------------------------------------------------


@dataclass
class CycleResult:
    seconds: float
    articles: int
    new_entries: int
    failed: int
    pages_fetched: int
    extracted: int


class Ours:
    """The daemon's parts, loaded once; each round polls every feed into a fresh store."""

    def __init__(self, server: SlowServer, base: Path, feeds: int, workers: int,
                 per_host: int) -> None:
        from monitor.config import Config
        from monitor.daemon.active_rules import ActiveRules
        from monitor.daemon.parsing import FeedParser
        from monitor.delivery.channels import ChannelDirectory
        from monitor.extract.extractor import Extractor
        from monitor.language import detect_language
        from monitor.net.fetch import Fetcher
        from monitor.rules import analyze_text
        from monitor.stories import worker_signature

        self.server, self.base = server, base
        (base / "rules").mkdir()
        (base / "rules" / "rules.yaml").write_text(RULES)
        self.config = Config.model_validate({
            "base_dir": base, "rules_dir": base / "rules",
            "database_url": f"sqlite:///{base / 'bench.db'}",
            "feeds": [{"url": f"{server.origin(n % HOSTS)}/f/{n}.xml", "name": f"Feed {n}"}
                      for n in range(feeds)],
            "http": {"workers": workers, "per_host_concurrency": per_host,
                     "respect_robots_txt": False,
                     "allow_private_networks": ["127.0.0.0/8"]},
            "polling": {"default_interval": 1, "min_interval": 1},
            "delivery": {"console": False},
        })
        addresses = {host_name(i): f"127.0.0.{i + 1}" for i in range(HOSTS)}

        def resolver(host: str, port: int) -> list[str]:
            if host not in addresses:
                raise OSError(f"{host} is not a benchmark host")
            return [addresses[host]]

        self.rules = ActiveRules(self.config.rules_path)
        self.rules.reload()
        self.fetcher = Fetcher(self.config.http, resolver=resolver)
        self.extractor = Extractor(self.config.extract, signer=worker_signature,
                                   analyzer=analyze_text)  # as the daemon
        # Loaded once per daemon, not per cycle: the extraction workers and the language model.
        self.extractor.extract(b"<html><body><p>warm-up</p></body></html>", "http://warm.up/")
        detect_language("a warm-up sentence for the language model")
        self.channels = ChannelDirectory(self.config)
        # Feeds are parsed in the daemon's killable parse workers, as build_service wires it.
        self.parser = FeedParser(self.config)
        self.parser.parse(b"<rss version='2.0'><channel><title>w</title></channel></rss>",
                          url="http://warm.up/")
        self.rounds = 0
        self.second: CycleResult | None = None

    def cycle(self) -> CycleResult:
        """One cycle on a fresh store (the first round's store also runs cycle 2 after)."""
        from monitor.daemon.pipeline import Pipeline
        from monitor.daemon.poller import FeedPoller
        from monitor.rules import article_stems, tokenize
        from monitor.store import Store, upgrade
        from monitor.stories.registry import StoryRegistry

        self.rounds += 1
        store = Store.open(f"sqlite:///{self.base / f'round{self.rounds}.db'}", self.base)
        store.tokenizer, store.stemmer = tokenize, article_stems  # as build_service wires them
        try:
            upgrade(store.engine)
            store.sync_feeds(self.config.feed_sources())
            poller = FeedPoller(self.config, store, self.fetcher, self.extractor, self.rules,
                                self.channels, StoryRegistry(store), parse=self.parser.parse)
            pipeline = Pipeline(self.config, store, poller, "bench")
            first = self._timed(store, pipeline)
            if self.rounds == 1:
                time.sleep(1.1)  # the feeds' 1 s interval elapses before cycle 2
                self.second = self._timed(store, pipeline)
            return first
        finally:
            store.close()

    def _timed(self, store: Any, pipeline: Any) -> CycleResult:
        from monitor.store.schema import ArticleRow

        pages_before = self.server.pages_served.value
        stored_before = store.count("articles")
        started = time.perf_counter()
        report = pipeline.run_cycle()
        seconds = time.perf_counter() - started
        with store.read() as session:
            extracted = session.query(ArticleRow).filter(ArticleRow.text_source == "page").count()
        return CycleResult(seconds, store.count("articles") - stored_before, report.new_entries,
                           report.failed, self.server.pages_served.value - pages_before,
                           extracted)

    def close(self) -> None:
        self.parser.close()
        self.extractor.close()
        self.fetcher.close()


def main(argv: list[str] | None = None) -> int:
    """Ours and the peer in alternating rounds; print the table; 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16, help="http.workers")
    parser.add_argument("--per-host", type=int, default=8, help="http.per_host_concurrency")
    args = parser.parse_args(argv)
    from monitor.daemon.service import limit_malloc_arenas

    limit_malloc_arenas()  # as the daemon does at start (monitor.daemon.service.build_service)
    if not (args.shared / "corpora" / "article-extraction-benchmark").is_dir():
        print(f"bench_cycle: skipped: {args.shared} has no corpora/article-extraction-benchmark "
              "(../shared must sit beside the repository)")
        return 0
    articles = args.feeds * ITEMS_PER_FEED
    ours_rates: list[float] = []
    peer_rates: list[float] = []
    results: list[CycleResult] = []
    with slow_server(args.shared) as server, tempfile.TemporaryDirectory() as tmp:
        ours = Ours(server, Path(tmp), args.feeds, args.workers, args.per_host)
        peer = Peer(server, args.feeds, args.workers, args.per_host, ours.extractor.workers)
        try:
            with MemorySampler(exclude={server.pid}) as memory:
                for n in range(args.rounds):
                    for side in ("ours", "peer") if n % 2 == 0 else ("peer", "ours"):
                        if side == "ours":
                            result = ours.cycle()
                            results.append(result)
                            ours_rates.append(result.articles / result.seconds)
                        else:
                            started = time.perf_counter()
                            pages = peer.cycle()
                            peer_rates.append(pages / (time.perf_counter() - started))
        finally:
            peer.close()
            ours.close()
    second = ours.second
    assert second is not None
    mine = Stats.of(ours_rates, higher_is_better=True)
    theirs = Stats.of(peer_rates, higher_is_better=True)
    ratios = [a / b for a, b in zip(ours_rates, peer_rates, strict=True)]
    ratio = statistics.median(ratios)
    complete = all(r.articles == articles and r.failed == 0 for r in results)
    print(f"{args.feeds} feeds x {ITEMS_PER_FEED} items on {HOSTS} hosts, {LATENCY * 1000:.0f} "
          f"ms per response; {os.cpu_count()} cores; {args.rounds} alternating rounds; "
          f"{args.workers} feed threads, {max(4, args.workers)} page threads, "
          f"{args.per_host} per host, {ours.extractor.workers} extraction processes each")
    failed = print_rows([
        ("ours: pages/s best / median", f"{mine.best:.1f}/{mine.median:.1f}", "-", None),
        ("ours: pages/s mean / worst", f"{mine.mean:.1f}/{mine.worst:.1f}", "-", None),
        ("peer (httpx2+feedparser+trafilatura fast): best / median",
         f"{theirs.best:.1f}/{theirs.median:.1f}", "-", None),
        ("peer: pages/s mean / worst", f"{theirs.mean:.1f}/{theirs.worst:.1f}", "-", None),
        ("ours / peer, median of the rounds' ratios",
         f"{ratio:.0%}", f">= {THROUGHPUT_TARGET:.0%}", ratio >= THROUGHPUT_TARGET and complete),
        ("ours / peer, each round", " ".join(f"{r:.0%}" for r in ratios), "-", None),
        (f"cycle 2: {second.new_entries} new, {second.pages_fetched} pages fetched (s)",
         f"{second.seconds:.1f}", f"<= {SECOND_CYCLE_TARGET_S:.0f}",
         second.pages_fetched == 0 and second.articles == 0
         and second.seconds <= SECOND_CYCLE_TARGET_S),
        ("peak PSS of the process tree (MB)", f"{memory.peak_pss_mb:.0f}",
         f"<= {MEMORY_TARGET_MB:.0f}", memory.peak_pss_mb <= MEMORY_TARGET_MB),
        ("peak RSS summed over the tree (MB)", f"{memory.peak_rss_mb:.0f}", "-", None),
    ])
    if not complete:
        for r in results:
            print(f"a round: {r.failed} feeds failed, {r.articles} of {articles} stored")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
