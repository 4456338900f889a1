"""The scale-out fault test (issue 14): three daemons on one real PostgreSQL poll a loopback
farm of feeds that syndicate copies of each other's articles, while one daemon at a time is
SIGKILLed and restarted at random.

Pass: every article is stored once; no feed is polled twice within its interval; every
syndicated copy joins its original's story and each (rule, story, channel) is alerted exactly
once, except in the documented crash window (a daemon killed after the destination accepted a
message and before the row was marked sent), whose doubles are counted and printed.

The suite runs a short version; ``make soak`` runs the long one (300 feeds, at least three
minutes, a kill about every 20 s): ``MONITOR_SOAK=1``.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from monitor.store import Store
from monitor.store.schema import ArticleRow, NotificationRow
from tests.daemon_support import DaemonProcess, monitor_cmd, wait_for
from tests.e2e.test_delivery import WORDS, titles
from tests.notify_support import Receiver

SOAK = bool(os.environ.get("MONITOR_SOAK"))


@dataclass(frozen=True)
class Plan:
    feeds: int
    group_every: float  # a new original story every this many seconds
    copies: int  # syndicated copies of each original, in other feeds
    interval: float  # every feed's polling interval
    faults_for: float  # seconds of kills
    kill_every: tuple[float, float]  # seconds between kills (uniform)
    drain: float  # seconds allowed afterwards for the last articles and alerts


SHORT = Plan(feeds=24, group_every=0.6, copies=2, interval=4, faults_for=20,
             kill_every=(3, 6), drain=45)
LONG = Plan(feeds=300, group_every=0.25, copies=2, interval=20, faults_for=190,
            kill_every=(15, 25), drain=120)


class Farm:
    """Feeds on loopback: group ``g`` appears at ``g * group_every`` in feed ``g % feeds``;
    its copy ``k`` appears 1 s later per copy in another feed, on another URL, with the
    outlet's own header and footer and one word changed. Each feed lists its newest 20 items.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.t0: float | None = None  # nothing is published before start()
        self.frozen_at: float | None = None
        self.requests: dict[int, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        farm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                farm.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def start(self) -> None:
        self.t0 = time.monotonic()

    def now(self) -> float:
        if self.t0 is None:
            return -1.0
        moment = time.monotonic() - self.t0
        return min(moment, self.frozen_at) if self.frozen_at is not None else moment

    def freeze(self) -> None:
        """Publish nothing new from now on (so that the daemons can catch up)."""
        self.frozen_at = self.now()

    def feed_of(self, group: int, copy: int) -> int:
        step = max(1, self.plan.feeds // (self.plan.copies + 1))
        return (group + copy * step) % self.plan.feeds

    def items(self, feed: int, now: float) -> list[tuple[float, int, int]]:
        """(appeared at, group, copy) listed by ``feed`` at ``now``, newest first."""
        found = []
        last = int(now / self.plan.group_every)
        for group in range(max(0, last - 400), last + 1):
            for copy in range(self.plan.copies + 1):
                at = group * self.plan.group_every + copy
                if at <= now and self.feed_of(group, copy) == feed:
                    found.append((at, group, copy))
        return sorted(found, reverse=True)[:20]

    def published(self) -> list[tuple[int, int]]:
        """Every (group, copy) that has appeared in a feed so far."""
        now = self.now()
        return [(g, c) for g in range(int(now / self.plan.group_every) + 1)
                for c in range(self.plan.copies + 1) if g * self.plan.group_every + c <= now]

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        feed = re.fullmatch(r"/feed/(\d+)\.xml", handler.path)
        page = re.fullmatch(r"/p/(\d+)/(\d+)\.html", handler.path)
        if feed:
            number = int(feed.group(1))
            with self.lock:
                self.requests[number].append(time.monotonic())
            items = "".join(
                f"<item><title>Harbour story {g}</title><link>{self.base}/p/{g}/{c}.html</link>"
                f"<guid>g{g}-c{c}</guid><description>Harbour story {g}</description></item>"
                for _, g, c in self.items(number, self.now()))
            body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {number}'
                    f"</title><link>http://x/</link><description>d</description>{items}"
                    "</channel></rss>").encode()
            kind = "application/rss+xml"
        elif page:
            body = self.page(int(page.group(1)), int(page.group(2))).encode()
            kind = "text/html"
        else:
            handler.send_error(404)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def page(group: int, copy: int) -> str:
        rng = random.Random(f"group-{group}")
        words = [rng.choice(WORDS) for _ in range(240)]
        edit = random.Random(f"copy-{group}-{copy}")
        words[edit.randrange(len(words))] = edit.choice(WORDS)
        body = "".join(f"<p>{' '.join(words[i:i + 60])}.</p>" for i in range(0, 240, 60))
        title = f"Harbour story {group}"
        return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                f"<p>Outlet {copy} reports from the port.</p>{body}"
                f"<p>Read more from outlet {copy}.</p></article></body></html>")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def farm() -> Iterator[Farm]:
    f = Farm(LONG if SOAK else SHORT)
    yield f
    f.close()


def config_for(tmp_path: Path, farm: Farm, database_url: str, hook: str) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "r.yaml").write_text(
        "rules:\n  - id: harbour\n    name: Harbour\n    query: harbour\n")
    interval = f"{farm.plan.interval:g}s"
    data = {
        "database_url": database_url,
        "rules_dir": str(rules),
        "feeds": [{"url": f"{farm.base}/feed/{i}.xml", "name": f"Outlet {i}",
                   "interval": interval} for i in range(farm.plan.feeds)],
        "channels": {"hook": {"urls": [hook]}},
        "http": {"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False,
                 "workers": 4, "total_timeout": "5s"},
        "polling": {"tick": "1s", "default_interval": interval, "min_interval": "1s",
                    "adaptive": False},
        "delivery": {"console": False, "default_channels": ["hook"], "lease": "10s",
                     "send_timeout": "5s",
                     "backoff_base": "1s"},
        "extract": {"workers": 1},
        "web": {"enabled": False},
        "metrics": {"listen": "127.0.0.1:0"},
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def _counts(database_url: str, tmp_path: Path) -> tuple[int, int]:
    store = Store.open(database_url, tmp_path)
    try:
        with store.read() as session:
            articles = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
            open_rows = session.scalar(select(func.count()).select_from(NotificationRow).where(
                NotificationRow.status.in_(("pending", "held", "digest")))) or 0
        return articles, open_rows
    finally:
        store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_G1_G2_three_daemons_survive_random_sigkills(
        tmp_path: Path, farm: Farm, receiver: Receiver, database_url: str) -> None:
    plan = farm.plan
    config = config_for(tmp_path, farm, database_url,
                        f"json://127.0.0.1:{receiver.port}/hook")
    # As three containers start on an empty database: each entrypoint migrates (they take
    # turns on an advisory lock), then the three daemons start at the same moment.
    upgrades = [subprocess.Popen(monitor_cmd("db", "upgrade"), cwd=tmp_path, text=True,
                                 env={**os.environ, "MONITOR_CONFIG": str(config)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(3)]
    for upgrade in upgrades:
        _out, err = upgrade.communicate(timeout=120)
        assert upgrade.returncode == 0, err
    daemons = [DaemonProcess(config) for _ in range(3)]
    rng = random.Random(20261201)
    kills = 0
    try:
        for daemon in daemons:
            daemon.wait_running(timeout=120)
            assert daemon.proc.poll() is None, "".join(daemon.stderr[-30:])
        farm.start()  # publishing starts once all three run
        end = time.monotonic() + plan.faults_for
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, rng.uniform(*plan.kill_every)))  # the fault schedule
            if time.monotonic() >= end:
                break
            victim = rng.randrange(len(daemons))
            daemons[victim].kill()  # SIGKILL: no cleanup, leases left behind
            kills += 1
            daemons[victim] = DaemonProcess(config)
        farm.freeze()
        expected = set(farm.published())
        state: dict[str, object] = {}

        def drained() -> bool:
            state["articles, open alerts"] = _counts(database_url, tmp_path)
            state["groups alerted"] = len(set(_alert_groups(receiver)))
            return (state["articles, open alerts"] == (len(expected), 0)
                    and state["groups alerted"] == len({g for g, _ in expected}))
        try:
            wait_for(drained, plan.drain, f"{len(expected)} articles stored and every alert "
                     f"of {len({g for g, _ in expected})} stories sent")
        except AssertionError as exc:
            tails = "\n".join("".join(d.stderr[-8:]) for d in daemons)
            raise AssertionError(f"{exc}; {state}; {kills} kills\n{tails}") from None
        for daemon in daemons:
            code, _ = daemon.terminate(timeout=30)
            assert code == 0, "".join(daemon.stderr[-30:])
    finally:
        for daemon in daemons:
            daemon.kill()

    store = Store.open(database_url, tmp_path)
    try:
        with store.read() as session:
            rows = list(session.execute(select(ArticleRow.canonical_url, ArticleRow.story_id)))
            notes = list(session.execute(select(NotificationRow.rule_id,
                                                NotificationRow.story_id,
                                                NotificationRow.channel,
                                                NotificationRow.status)))
    finally:
        store.close()

    # Every article stored once.
    urls = [url for url, _ in rows]
    assert len(urls) == len(set(urls)) == len(expected)
    assert {f"{farm.base}/p/{g}/{c}.html" for g, c in expected} == set(urls)
    # No feed polled twice within its interval.
    too_soon = [(feed, round(b - a, 2)) for feed, times in farm.requests.items()
                for a, b in itertools.pairwise(times) if b - a < plan.interval - 0.2]
    assert not too_soon, too_soon
    # Every copy in its original's story; one alert row per (rule, story, channel).
    stories: dict[int, set[int]] = defaultdict(set)
    for url, story in rows:
        match = re.search(r"/p/(\d+)/\d+\.html$", url)
        assert match
        stories[int(match.group(1))].add(story)
    split = {g: s for g, s in stories.items() if len(s) != 1}
    assert not split, f"copies outside their original's story: {split}"
    per_key = Counter((rule, story, channel) for rule, story, channel, _ in notes)
    assert set(per_key.values()) == {1} and len(per_key) == len(stories)
    assert {status for *_, status in notes} == {"sent"}
    # Delivered exactly once, except the crash window.
    delivered = Counter(_alert_groups(receiver))
    assert set(delivered) == set(stories)
    doubles = sum(n - 1 for n in delivered.values())
    print(f"\nscale-out: {plan.feeds} feeds, {len(expected)} articles in {len(stories)} "
          f"stories, {kills} SIGKILLs; {doubles} alert(s) delivered twice in the crash window")
    assert doubles <= kills


def _alert_groups(receiver: Receiver) -> list[int]:
    groups = []
    for title in titles(receiver):  # the webhook events' titles
        match = re.search(r"Harbour story (\d+)", title)
        if match:
            groups.append(int(match.group(1)))
    return groups
