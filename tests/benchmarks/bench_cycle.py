"""Polling-cycle benchmark: 1,000 feeds x 5 new articles over 20 slow hosts, into SQLite.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_cycle.py [--shared ../shared] [--feeds 1000]

Setup. A server process listens on 127.0.0.1 ... 127.0.0.20 (one ThreadingHTTPServer per
address) and answers every request after 100 ms. Feed ``n`` lives on host ``n % 20`` and
lists 5 articles on the same host; article pages are the 181 pages of the
article-extraction benchmark, reused in turn under distinct URLs (5,000 articles). The 20
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
* ``extract.workers``: one per core (the default);
* the extraction workers and the language model are loaded before the clock starts (a
  daemon loads them once, not per cycle).

Rows:

(a) peer baseline: ``trafilatura.extract`` with default options in a ``multiprocessing``
    pool with one process per core, over the same 5,000 pages already in memory;
(b) cycle 1: fetch, parse, fetch 5,000 pages, extract, match and store all 5,000 articles;
    target: at least 80 % of (a)'s pages per second;
(c) cycle 2: nothing is new; target: no page fetched or extracted, done within 20 s;
(d) peak resident memory of the benchmark process and its children (extraction workers and
    their fork server; the HTTP server process is not counted): target 500 MB.

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

HOSTS = 20
ITEMS_PER_FEED = 5
LATENCY = 0.1
THROUGHPUT_TARGET = 0.8
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


# -- memory of a process tree -----------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _field_mb(path: str, name: str) -> float:
    try:
        for line in Path(path).read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith(name):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemorySampler:
    """Peak memory of this process and its descendants (``exclude`` pids and theirs left out).

    ``peak_rss_mb`` sums resident sets, as asked; it counts the pages the extraction workers
    share with their fork server once per process. ``peak_pss_mb`` (proportional set size)
    shares them out, so it is what the processes really occupy together.
    """

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, with_pss: bool = True) -> None:
        # PSS comes from smaps_rollup, which walks every page table of the process: read
        # every 0.25 s it cost 2 % of the machine, charged to the pipeline being measured.
        tree = _children()
        rss = pss = 0.0
        stack = [os.getpid()]
        while stack:
            pid = stack.pop()
            rss += _field_mb(f"/proc/{pid}/status", "VmRSS:")
            if with_pss:
                pss += _field_mb(f"/proc/{pid}/smaps_rollup", "Pss:")
            stack.extend(c for c in tree.get(pid, []) if c not in self.exclude)
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        if with_pss:
            self.peak_pss_mb = max(self.peak_pss_mb, pss)

    def _run(self) -> None:
        samples = 0
        while not self._stop.wait(0.25):
            samples += 1
            self._sample(with_pss=samples % 8 == 0)

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# -- the peer baseline ------------------------------------------------------------------------


def _peer_extract(html: bytes) -> int:
    import trafilatura  # the peer baseline: plain trafilatura, as a user would call it

    return len(trafilatura.extract(html) or "")


def peer_pages_per_second(pages: list[bytes], count: int) -> tuple[float, int]:
    work = [pages[i % len(pages)] for i in range(count)]
    workers = os.cpu_count() or 1
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        pool.map(_peer_extract, work[:workers])  # warm up: imports and lxml in every worker
        started = time.perf_counter()
        for _length in pool.imap_unordered(_peer_extract, work, chunksize=4):
            pass
        seconds = time.perf_counter() - started
    return count / seconds, workers


# -- the pipeline -----------------------------------------------------------------------------


@dataclass
class CycleResult:
    seconds: float
    articles: int
    new_entries: int
    failed: int
    pages_fetched: int
    extracted: int


def run_pipeline(shared: Path, feeds: int, workers: int, per_host: int
                 ) -> tuple[CycleResult, CycleResult, MemorySampler, int]:
    from monitor.config import Config
    from monitor.daemon.active_rules import ActiveRules
    from monitor.daemon.pipeline import FeedPoller, Pipeline
    from monitor.delivery.channels import ChannelDirectory
    from monitor.extract.extractor import Extractor
    from monitor.language import detect_language
    from monitor.net.fetch import Fetcher
    from monitor.store import Store, upgrade
    from monitor.store.schema import ArticleRow
    from monitor.stories.registry import StoryRegistry

    with slow_server(shared) as server, tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "rules").mkdir()
        (base / "rules" / "rules.yaml").write_text(RULES)
        config = Config.model_validate({
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

        store = Store.open(config.database_url, base)
        upgrade(store.engine)
        store.sync_feeds(config.feed_sources())
        rules = ActiveRules(config.rules_path)
        rules.reload()
        fetcher = Fetcher(config.http, resolver=resolver)
        extractor = Extractor(config.extract)
        # Loaded once per daemon, not per cycle: the extraction workers and the language model.
        extractor.extract(b"<html><body><p>warm-up</p></body></html>", "http://warm.up/")
        detect_language("a warm-up sentence for the language model")
        stories = StoryRegistry(store)
        poller = FeedPoller(config, store, fetcher, extractor, rules, ChannelDirectory(config),
                            stories)
        pipeline = Pipeline(config, store, poller, "bench")
        results = []
        try:
            with MemorySampler(exclude={server.pid}) as memory:
                for cycle in range(2):
                    if cycle:
                        time.sleep(1.1)  # the feeds' 1 s interval elapses before cycle 2
                    pages_before = server.pages_served.value
                    stored_before = store.count("articles")
                    started = time.perf_counter()
                    report = pipeline.run_cycle()
                    seconds = time.perf_counter() - started
                    with store.read() as session:
                        extracted = session.query(ArticleRow).filter(
                            ArticleRow.text_source == "page").count()
                    results.append(CycleResult(
                        seconds, store.count("articles") - stored_before, report.new_entries,
                        report.failed, server.pages_served.value - pages_before, extracted))
        finally:
            extractor.close()
            fetcher.close()
            store.close()
        return results[0], results[1], memory, extractor.workers


def main(argv: list[str] | None = None) -> int:
    """Run the peer baseline and the two cycles; print the table; 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--feeds", type=int, default=1000)
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
    pages = load_pages(args.shared)
    peer_rate, peer_workers = peer_pages_per_second(pages, articles)
    del pages  # the pipeline reads its pages from the server, not from here
    first, second, memory, workers = run_pipeline(args.shared, args.feeds, args.workers,
                                                   args.per_host)
    rate = first.articles / first.seconds
    checks = [
        rate >= THROUGHPUT_TARGET * peer_rate and first.articles == articles
        and first.failed == 0,
        second.pages_fetched == 0 and second.articles == 0
        and second.extracted == first.extracted and second.seconds <= SECOND_CYCLE_TARGET_S,
        memory.peak_rss_mb <= MEMORY_TARGET_MB,
    ]
    print(f"{args.feeds} feeds x {ITEMS_PER_FEED} items on {HOSTS} hosts, {LATENCY * 1000:.0f} "
          f"ms per response; {os.cpu_count()} cores")
    print(f"{'row':<58} {'seconds':>8} {'pages/s':>8}  target")
    print(f"{f'(a) peer: trafilatura.extract, pool of {peer_workers}':<58} "
          f"{articles / peer_rate:>8.1f} {peer_rate:>8.1f}  -")
    print(f"{f'(b) cycle 1: {first.articles} articles stored, {workers} extract workers':<58} "
          f"{first.seconds:>8.1f} {rate:>8.1f}  {'PASS' if checks[0] else 'FAIL'} "
          f"(>= {THROUGHPUT_TARGET:.0%} of (a) = {THROUGHPUT_TARGET * peer_rate:.1f}; "
          f"{rate / peer_rate:.0%})")
    print(f"{f'(c) cycle 2: {second.new_entries} new, {second.pages_fetched} pages fetched':<58} "
          f"{second.seconds:>8.1f} {'':>8}  {'PASS' if checks[1] else 'FAIL'} "
          f"(<= {SECOND_CYCLE_TARGET_S:.0f} s, nothing extracted)")
    print(f"{'(d) peak RSS, process + extraction workers (MB)':<58} {memory.peak_rss_mb:>8.0f} "
          f"{'':>8}  {'PASS' if checks[2] else 'FAIL'} (<= {MEMORY_TARGET_MB:.0f} MB)")
    print(f"{'    the same as PSS (shared pages counted once) (MB)':<58} "
          f"{memory.peak_pss_mb:>8.0f} {'':>8}  -")
    if first.failed or first.articles != articles:
        print(f"cycle 1: {first.failed} feeds failed, {first.articles} of {articles} stored")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
