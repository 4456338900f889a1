"""One polling cycle: fetch -> parse -> (new entries only) fetch page -> extract -> match -> store.

Cheap before expensive: a feed entry whose key this feed listed before is skipped before any
page is fetched, and an article already stored under the same canonical URL (the same story
in another feed) is linked without fetching or extracting it again. Each due feed is polled
in a worker thread; one bad or slow feed only ever costs its own thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from monitor.active_rules import ActiveRules
from monitor.channels import ChannelDirectory
from monitor.config import Config
from monitor.errors import ExtractError, FetchError, MonitorError, StoreError
from monitor.extract import Extractor, fallback_text
from monitor.fetch import Fetcher
from monitor.language import detect_language
from monitor.models import Article, ExtractedText, FeedEntry, FetchedBody, NotModified, Validators
from monitor.parse import parse_feed
from monitor.polling import next_check
from monitor.store import FeedState, PollOutcome, Store
from monitor.story_registry import StoryRegistry
from monitor.urls import canonical_url, resolve_aggregator_link

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    feeds: int = 0
    failed: int = 0
    new_entries: int = 0
    articles: int = 0
    hits: int = 0
    notifications: int = 0

    def add(self, other: FeedReport) -> None:
        self.feeds += 1
        self.failed += int(not other.ok)
        self.new_entries += other.new_entries
        self.articles += other.articles
        self.hits += other.hits
        self.notifications += other.notifications


@dataclass
class FeedReport:
    ok: bool = True
    new_entries: int = 0
    articles: int = 0
    hits: int = 0
    notifications: int = 0


class FeedPoller:
    """Polls one claimed feed through every stage and records the outcome in its health row."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher, extractor: Extractor,
                 rules: ActiveRules, channels: ChannelDirectory, stories: StoryRegistry) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.extractor = extractor
        self.rules = rules
        self.channels = channels
        self.stories = stories

    def poll(self, feed: FeedState, owner: str) -> FeedReport:
        """Poll ``feed``; never raises for a feed-level problem, it is stored as health."""
        now = self.store.clock()
        full_fetch = (feed.last_full_fetch_at is None or
                      now - feed.last_full_fetch_at
                      >= timedelta(seconds=self.config.polling.full_fetch_every))
        validators = None if full_fetch else Validators(feed.etag, feed.last_modified)
        report = FeedReport()
        try:
            result = self._fetch_feed(feed, validators)
            if isinstance(result, NotModified):
                outcome = PollOutcome(
                    ok=True, next_check_at=next_check(self.config.polling, feed, now),
                    etag=feed.etag, last_modified=feed.last_modified)
            else:
                parsed = parse_feed(result.content, url=result.url,
                                    content_type=result.content_type, headers=result.headers)
                keys = [e.key for e in parsed.entries]
                unseen = self.store.unseen_entry_keys(feed.id, keys)
                report.new_entries = len(unseen)
                for entry in parsed.entries:
                    if entry.key in unseen:
                        unseen.discard(entry.key)  # a key listed twice is handled once
                        self._ingest(feed, entry, parsed.language, report)
                outcome = PollOutcome(
                    ok=True,
                    next_check_at=next_check(self.config.polling, feed, now,
                                             ttl_seconds=parsed.ttl_seconds,
                                             new_entries=report.new_entries),
                    etag=result.validators.etag, last_modified=result.validators.last_modified,
                    full_fetch=validators is None, new_entries=report.new_entries,
                    warning="; ".join(parsed.warnings) or None,
                    new_url=result.url if result.redirected_permanently else None)
        except StoreError:
            raise  # the database is down: the cycle stops and the scheduler retries it
        except MonitorError as exc:
            report.ok = False
            log.warning("feed %s: %s: %s", feed.name, exc.code, exc)
            outcome = PollOutcome(
                ok=False, error_code=exc.code, error_message=str(exc),
                next_check_at=next_check(self.config.polling, feed, now, failed=True,
                                         retry_after=getattr(exc, "retry_after", None)))
        self.store.record_poll(feed.id, owner, outcome)
        return report

    def _fetch_feed(self, feed: FeedState, validators: Validators | None
                    ) -> FetchedBody | NotModified:
        if _is_local(feed.url):
            return self.fetcher.read_local(_local_path(feed.url))
        return self.fetcher.fetch_feed(feed.url, validators)

    def _ingest(self, feed: FeedState, entry: FeedEntry, feed_language: str | None,
                report: FeedReport) -> None:
        if not entry.url:
            self.store.link_entry(feed.id, entry.key, None)
            return
        link = resolve_aggregator_link(urljoin(feed.url if not _is_local(feed.url)
                                               else Path(_local_path(feed.url)).as_uri(),
                                               entry.url))
        url = link if link.startswith("file:") else canonical_url(link)
        existing = self.store.article_id_for_url(url)
        if existing is not None:  # the same article from another feed: no second fetch
            self.store.link_entry(feed.id, entry.key, existing)
            return
        extracted, error = self._page_text(feed, link)
        if extracted is None or len(extracted.text) < self.config.extract.min_text_chars:
            fallback = fallback_text(entry.content, entry.summary)
            if fallback is not None and (extracted is None
                                         or len(fallback.text) > len(extracted.text)):
                extracted = fallback
        text = extracted.text if extracted else ""
        language = (entry.language or feed.language or feed_language
                    or (extracted.language if extracted else None)
                    or detect_language(f"{entry.title}\n{text}"))
        article = Article(
            url=url, title=entry.title or (extracted.title if extracted and extracted.title
                                           else url),
            text=text, source_name=(extracted.site_name if extracted and extracted.site_name
                                    and extracted.source == "page" else feed.name),
            feed_url=feed.url, entry_key=entry.key,
            text_source=extracted.source if extracted else "feed_summary",
            language=language, published=entry.published or (
                extracted.published if extracted else None),
            author=entry.author or (extracted.author if extracted else None),
            content_hash=hashlib.sha256(f"{entry.title}\n{text}".encode()).hexdigest(),
            error=error,
        )
        hits = self.rules.matcher().match(article.document())
        saved = self.stories.save(feed.id, article, hits, self.channels.routes_for)
        report.articles += int(saved.created)
        report.hits += saved.new_hits
        report.notifications += saved.new_notifications
        for hit in hits if saved.created else ():
            log.info("hit: rule %s matched %r (%s)", hit.rule_id, article.title, article.url)

    def _page_text(self, feed: FeedState, link: str) -> tuple[ExtractedText | None, str | None]:
        try:
            if link.startswith("file:"):
                path = Path(urlsplit(link).path)
                if not (_is_local(feed.url)
                        and path.resolve().is_relative_to(Path(_local_path(feed.url)).parent)):
                    return None, "unsupported_scheme"  # only beside a configured local feed
                body = self.fetcher.read_local(str(path))
            else:
                body = self.fetcher.fetch_page(link)
            return self.extractor.extract(body.content, body.url), None
        except (FetchError, ExtractError) as exc:
            log.info("article %s: %s: %s", link, exc.code, exc)
            return None, exc.code


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _local_path(url: str) -> str:
    return urlsplit(url).path if url.startswith("file://") else url


class Pipeline:
    """Runs polling cycles: claims due feeds and polls them concurrently."""

    def __init__(self, config: Config, store: Store, poller: FeedPoller, owner: str,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.config = config
        self.store = store
        self.poller = poller
        self.owner = owner
        self.should_stop = should_stop
        self._lock = threading.Lock()

    def run_cycle(self) -> CycleReport:
        """Poll every due feed once; returns counts. Raises StoreError if the DB is down."""
        report = CycleReport()
        lease = timedelta(seconds=self.config.http.total_timeout * 4 + 60)
        workers = self.config.http.workers
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
            while not self.should_stop():
                feeds = self.store.claim_due_feeds(self.owner, lease, limit=workers * 4)
                if not feeds:
                    break
                for feed_report in pool.map(lambda f: self.poller.poll(f, self.owner), feeds):
                    report.add(feed_report)
        if report.feeds:
            self.poller.stories.prune()
        return report


def utc_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
