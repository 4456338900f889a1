"""Corpus replay through the ingest path (case D5): every feedparser test feed, served over
loopback HTTP with its own response headers, polled by the real pipeline into SQLite.

``tests/feeds/test_parse_corpus.py`` replays the corpus through the parse stage alone; this module
runs the same files through claim -> fetch -> parse -> new entries -> page -> match -> store,
one cycle, 1,768 feeds at once. Entry links are left as the corpus has them: links to the
corpus server's own address are fetched (and mostly 404, so the feed's text is the
fallback); every other host resolves to a documentation address that the address policy
refuses before any connection, and a network guard fails the test on any connect that is not
loopback. Acceptance: no exception escapes a feed (none is recorded as ``internal_error``),
every entry feedparser can read is recorded once, well-formed feeds are healthy, and
ill-formed ones leave a warning or an error in their health row.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Config, ExtractConfig, HttpConfig
from monitor.daemon.active_rules import ActiveRules
from monitor.daemon.pipeline import CycleReport, Pipeline
from monitor.daemon.poller import FeedPoller
from monitor.delivery.channels import ChannelDirectory
from monitor.errors import ParseError
from monitor.extract.extractor import Extractor
from monitor.feeds.parse import parse_feed
from monitor.net.fetch import Fetcher
from monitor.store import FeedHealth, Store
from monitor.store.schema import FeedEntryRow, FeedRow
from monitor.stories.registry import StoryRegistry
from tests.feeds.test_parse_corpus import (  # the corpus server and its helpers, reused
    ILLFORMED_WITHOUT_WARNING,
    MIN_ENTRIES,
    corpus_files,
    corpus_server,  # noqa: F401  (a fixture: pytest finds it by name)
    response_headers,
)
from tests.fetch_support import NetworkGuard
from tests.store_support import open_store

MAX_SECONDS = 40
TRIVIAL_RULE = """
rules:
  - id: anything
    name: Anything
    query: the OR title OR entry
"""


@dataclass
class Ingest:
    report: CycleReport
    seconds: float
    health: dict[str, FeedHealth]  # by relative path
    keys: dict[str, set[str]]  # stored entry keys by relative path
    unlinked: dict[str, set[str]]  # stored keys without an article, by relative path
    expected: dict[str, set[str]]  # distinct keys parse_feed reads, by relative path
    linked: dict[str, set[str]]  # keys of entries that have a URL, by relative path
    connects: list[tuple[str, int]]


def _blocked_resolver(host: str, port: int) -> list[str]:
    """Every name is a documentation address: refused by policy, never dialled."""
    return ["192.0.2.1"]


def _expected(root: Path, rel: str, base: str) -> tuple[set[str], set[str]]:
    body = (root / rel).read_bytes()
    headers = response_headers(body)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    try:
        feed = parse_feed(body, url=f"{base}/{rel}", content_type=content_type, headers=headers)
    except ParseError:
        return set(), set()
    return ({e.key[:512] for e in feed.entries},
            {e.key[:512] for e in feed.entries if e.url})


@pytest.fixture(scope="module")
def ingest(shared_dir: Path, corpus_server: str,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingest]:
    root, files = corpus_files(shared_dir)
    tmp = tmp_path_factory.mktemp("corpus-ingest")
    rules_dir = tmp / "rules"
    rules_dir.mkdir()
    (rules_dir / "rules.yaml").write_text(TRIVIAL_RULE)
    rel_of = {f"{corpus_server}/{p.relative_to(root).as_posix()}": p.relative_to(root).as_posix()
              for p in files}
    config = Config(
        base_dir=tmp, rules_dir=rules_dir, feeds=[{"url": url} for url in rel_of],
        http=HttpConfig(allow_private_networks=["127.0.0.1/32"], respect_robots_txt=False,
                        workers=24, per_host_concurrency=24, total_timeout=10),
        extract=ExtractConfig(workers=1, min_text_chars=50),
    )
    store: Store = open_store(f"sqlite:///{tmp / 'monitor.db'}")
    store.sync_feeds(config.feed_sources())
    rules = ActiveRules(rules_dir)
    rules.reload()
    fetcher = Fetcher(config.http, resolver=_blocked_resolver)
    extractor = Extractor(config.extract)
    poller = FeedPoller(config, store, fetcher, extractor, rules, ChannelDirectory(config),
                        StoryRegistry(store))
    try:
        with NetworkGuard() as guard:
            started = time.perf_counter()
            report = Pipeline(config, store, poller, "corpus").run_cycle()
            seconds = time.perf_counter() - started
            connects = guard.connects
        health = {rel_of[h.url]: h for h in store.feed_health()}
        keys: dict[str, set[str]] = defaultdict(set)
        unlinked: dict[str, set[str]] = defaultdict(set)
        with store.read() as session:
            for url, key, article_id in session.execute(
                    select(FeedRow.url, FeedEntryRow.entry_key, FeedEntryRow.article_id)
                    .join(FeedRow, FeedRow.id == FeedEntryRow.feed_id)):
                keys[rel_of[url]].add(key)
                if article_id is None:
                    unlinked[rel_of[url]].add(key)
        expected: dict[str, set[str]] = {}
        linked: dict[str, set[str]] = {}
        for rel in rel_of.values():
            expected[rel], linked[rel] = _expected(root, rel, corpus_server)
        print(f"\ncorpus through the pipeline: {report.feeds} feeds, {report.new_entries} "
              f"entries, {report.articles} articles, {report.hits} hits in {seconds:.1f} s")
        yield Ingest(report, seconds, health, keys, unlinked, expected, linked, connects)
    finally:
        extractor.close()
        fetcher.close()
        store.close()


def test_D5_every_feed_is_polled_once_without_an_escaping_exception(ingest: Ingest) -> None:
    assert ingest.report.feeds == len(ingest.health) >= 1700
    internal = {rel: h.last_error_message for rel, h in ingest.health.items()
                if h.last_error_code == "internal_error"}
    assert internal == {}
    assert {host for host, _ in ingest.connects} <= {"127.0.0.1"}  # loopback only
    assert ingest.seconds < MAX_SECONDS


def test_D5_every_readable_entry_is_stored_once(ingest: Ingest) -> None:
    assert sum(len(k) for k in ingest.keys.values()) >= MIN_ENTRIES
    differences = {rel: (ingest.expected[rel], ingest.keys.get(rel, set()))
                   for rel in ingest.expected
                   if ingest.expected[rel] != ingest.keys.get(rel, set())}
    assert differences == {}
    # An entry with a link always ends as an article (its page, or the feed's own text).
    orphaned = {rel: ingest.linked[rel] & ingest.unlinked.get(rel, set())
                for rel in ingest.linked if ingest.linked[rel] & ingest.unlinked.get(rel, set())}
    assert orphaned == {}


def test_D5_wellformed_feeds_are_healthy(ingest: Ingest) -> None:
    failing = {rel: (h.last_error_code, h.last_error_message)
               for rel, h in ingest.health.items()
               if rel.startswith("wellformed/") and h.status not in {"ok", "degraded"}}
    assert failing == {}


def test_D5_illformed_feeds_leave_a_warning_or_an_error_in_health(ingest: Ingest) -> None:
    illformed = {rel: h for rel, h in ingest.health.items() if rel.startswith("illformed/")}
    assert illformed
    silent = {rel for rel, h in illformed.items() if not h.last_warning and not h.last_error_code}
    assert silent == ILLFORMED_WITHOUT_WARNING
