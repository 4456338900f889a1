"""Feeds slower than the tick (reliability case G6), against the real daemon in a thread.

Three feeds on three loopback hosts answer only after SLOW seconds, longer than the tick: the
cycles must not pile up (one in flight, the ticks that fell inside it skipped, not queued),
no feed is polled by two requests at once, and every feed still gets its turn.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config, HttpConfig, PollingConfig
from monitor.daemon.pipeline import CycleReport, Pipeline
from tests.daemon_support import daemon_in_thread, wait_for

SLOW = 2.0  # seconds each feed takes to answer
TICK = 1.0
INTERVAL = 6.0
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")  # one each: no per-host limit in the way

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
        b"<link>http://x/</link><description>d</description></channel></rss>")


class Requests:
    """Every feed request: when it started and ended, per host, and the most at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, list[float]] = defaultdict(list)
        self.open: dict[str, int] = defaultdict(int)
        self.most_at_once = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        requests = self

        class SlowFeed(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = self.server.server_address[0]  # type: ignore[index]
                with requests.lock:
                    requests.started[host].append(time.monotonic())
                    requests.open[host] += 1
                    requests.most_at_once = max(requests.most_at_once, requests.open[host])
                try:
                    time.sleep(SLOW)  # emulated server latency, not a test wait
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(FEED)))
                    self.end_headers()
                    self.wfile.write(FEED)
                finally:
                    with requests.lock:
                        requests.open[host] -= 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return SlowFeed


@contextmanager
def slow_hosts(requests: Requests) -> Iterator[list[str]]:
    """One slow feed server per loopback host; yields the feed URLs."""
    with ExitStack() as stack:
        urls = []
        for host in HOSTS:
            server = ThreadingHTTPServer((host, 0), requests.handler())
            threading.Thread(target=server.serve_forever, daemon=True).start()
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            urls.append(f"http://{host}:{server.server_address[1]}/feed.xml")
        yield urls


class Cycles:
    """Pipeline.run_cycle wrapped: how many ran at once, at most."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lock = threading.Lock()
        self.running = self.most_at_once = self.count = 0
        run_cycle = Pipeline.run_cycle

        def counted(pipeline: Pipeline) -> CycleReport:
            with self.lock:
                self.running += 1
                self.count += 1
                self.most_at_once = max(self.most_at_once, self.running)
            try:
                return run_cycle(pipeline)
            finally:
                with self.lock:
                    self.running -= 1

        monkeypatch.setattr(Pipeline, "run_cycle", counted)


def test_G6_feeds_slower_than_the_tick_neither_pile_up_nor_starve(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cycles, requests = Cycles(monkeypatch), Requests()
    with slow_hosts(requests) as urls:
        config = Config(
            base_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'monitor.db'}",
            rules_dir=tmp_path,
            feeds=[{"url": url, "name": f"Slow {n}", "interval": INTERVAL}
                   for n, url in enumerate(urls)],
            polling=PollingConfig(tick=TICK, default_interval=INTERVAL, min_interval=1,
                                  adaptive=False),
            http=HttpConfig(allow_private_networks=["127.0.0.0/8"], respect_robots_txt=False),
        )
        start = time.monotonic()
        with daemon_in_thread(config):
            wait_for(lambda: all(len(requests.started[h]) >= 3 for h in HOSTS), 60,
                     "three polls of every slow feed")
        elapsed = time.monotonic() - start
    assert cycles.most_at_once == 1  # no pile-up: one cycle in flight
    assert requests.most_at_once == 1  # and no feed polled twice at once
    # The ticks that fell inside a slow cycle were skipped, not run later in a burst.
    assert cycles.count <= elapsed / TICK + 1
    for host in HOSTS:  # every feed's turn comes: never more than twice its interval apart
        gaps = [b - a for a, b in zip(requests.started[host], requests.started[host][1:],
                                      strict=False)]
        assert max(gaps) <= 2 * INTERVAL, (host, gaps)
