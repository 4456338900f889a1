"""The cycle's page pool: article pages fetched in threads, extracted in the worker processes;
and :class:`PageStarter`, which fetches one entry's page and hands it to extraction.

Within a feed, the pages of its new entries are fetched in a pool shared by every feed of the
cycle and handed to the extraction processes while other pages are still downloading, so
every core stays busy. Fetching runs ahead of extraction by a bounded number of pages, and
per-host politeness (``http.per_host_concurrency``, in the fetcher) still bounds how many of
one site's pages are in flight.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from monitor.daemon.metrics import Metrics
from monitor.errors import TRANSIENT_FETCH_CODES, ExtractError, FetchError, MonitorError
from monitor.extract import Extractor
from monitor.models import MAX_URL_CHARS, ExtractedText, FeedEntry
from monitor.net import (
    Fetcher,
    canonical_url,
    google_news_article_id,
    on_google,
    resolve_aggregator_link,
)

log = logging.getLogger(__name__)

PageText = tuple[ExtractedText | None, str | None]  # the page's text, or why there is none
# A fetched page on its way through extraction, or why there is no page.
PageStarted = tuple[Future[ExtractedText | None] | None, str | None]

# Pages each extraction worker may have waiting or in progress beyond the pages being fetched
# (PagePool's limit is http.workers + this many per worker). Fetched pages arrive in bursts,
# a feed's new entries together, and a page thread takes its slot before it starts a fetch:
# with 2 per worker, the page threads stood idle behind a burst and the benchmark cycle
# (tests/benchmarks/bench_cycle.py) read 92-93 % of the peer; with 6, 95-97 % in alternating
# runs, the same peak memory (a page is ~170 kB; 5 MiB at the most, http.page_max_bytes).
EXTRACTION_QUEUE = 6


class PagePool:
    """Fetches article pages in threads and hands them to the extraction processes.

    At most ``limit`` pages are between the start of their fetch and the end of their
    extraction: fetching runs ahead of extraction only that far, so memory stays bounded
    however many new entries the feeds list (a first poll of a big feed lists hundreds).
    """

    def __init__(self, workers: int, limit: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page")
        self._slots = threading.Semaphore(limit)

    def submit(self, start: Callable[[], PageStarted]) -> Future[PageStarted]:
        """Run ``start`` (fetch, then submit the extraction) in a page thread."""
        def run() -> PageStarted:
            self._slots.acquire()
            try:
                started = start()
            except BaseException:
                self._slots.release()
                raise
            extraction = started[0]
            if extraction is None:
                self._slots.release()
            else:  # held until the extraction settles (done, failed, killed or cancelled)
                extraction.add_done_callback(lambda _done: self._slots.release())
            return started

        return self._executor.submit(run)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def finish_page(entry: FeedEntry, started: PageStarted) -> PageText:
    """Wait for a page's extraction; an extraction failure is the article's error."""
    extraction, error = started
    if extraction is None:
        return None, error
    try:
        return extraction.result(), None
    except ExtractError as exc:
        log.info("article %s: %s: %s", entry.url, exc.code, exc)
        return None, exc.code
    except CancelledError:  # the extraction pool was stopped (shutdown)
        return None, "pool_closed"


class PageStarter:
    """Starts an entry's page: fetched (or read beside a local feed), then submitted to the
    extraction processes; counted in the metrics, and told to ``progress`` (liveness).

    ``resolve``: when set (``http.resolve_google_news``), asks for the publisher URL behind a
    Google News link that only Google can resolve (``GoogleNewsResolver.resolve``); the page
    fetched is then the publisher's, and the article is stored under the publisher's URL
    (:func:`publisher_identity`).
    """

    def __init__(self, fetcher: Fetcher, extractor: Extractor, metrics: Metrics,
                 progress: Callable[[], None],
                 resolve: Callable[[str], str | None] | None = None) -> None:
        self.fetcher = fetcher
        self.extractor = extractor
        self.metrics = metrics
        self.progress = progress
        self.resolve = resolve

    @staticmethod
    def link(feed_url: str, entry_url: str) -> tuple[str, str]:
        """The link to fetch for an entry's URL (an aggregator's redirect resolved, relative
        to the feed) and the article's canonical URL."""
        base = feed_url if not is_local(feed_url) else Path(local_path(feed_url)).as_uri()
        link = resolve_aggregator_link(urljoin(base, entry_url))
        return link, link if link.startswith("file:") else canonical_url(link)

    def submit(self, feed_url: str, link: str, entry: FeedEntry, pages: PagePool | None,
               language: str | None = None) -> Future[PageStarted]:
        """Start a page in ``pages`` (or here, at once, without a pool)."""
        if pages is None:
            page: Future[PageStarted] = Future()
            page.set_result(self.start(feed_url, link, entry, language))
            return page
        return pages.submit(functools.partial(self.start, feed_url, link, entry, language))

    def start(self, feed_url: str, link: str, entry: FeedEntry,
              language: str | None = None) -> PageStarted:
        """Fetch a page and hand it to the extraction processes (runs in the page pool, which
        is then free to fetch the next page while this one is extracted).

        The page's own metadata is extracted only when the entry lacks a title or a date
        (it costs as much again as the text, and the feed's values win anyway).
        ``language``: the article's declared language, if the feed gives one (the workers
        stem its text for the matcher in it)."""
        try:
            if link.startswith("file:"):
                path = Path(urlsplit(link).path)
                if not (is_local(feed_url)
                        and path.resolve().is_relative_to(Path(local_path(feed_url)).parent)):
                    return None, "unsupported_scheme"  # only beside a configured local feed
                body = self.fetcher.read_local(str(path))
            else:
                target = self._publisher(link)
                with self.metrics.timed_fetch("page"):
                    body = self.fetcher.fetch_page(target)
        except FetchError as exc:
            log.info("article %s: %s: %s", link, exc.code, exc)
            self.metrics.pages.labels(stage="fetch", outcome=exc.code).inc()
            self.progress()
            return None, exc.code
        self.metrics.pages.labels(stage="fetch", outcome="ok").inc()
        # Progress too: articles are saved in batches once their pages are in, which slow
        # pages can put minutes apart; the liveness check would call such a cycle hung.
        self.progress()
        metadata = not (entry.title and entry.published)
        extraction = self.extractor.submit(body.content, body.url, metadata=metadata,
                                           title=entry.title or None,
                                           content_type=body.content_type, language=language)
        extraction.add_done_callback(functools.partial(self._extracted, time.monotonic()))
        return extraction, None

    def _publisher(self, link: str) -> str:
        """The page to fetch for ``link``: the publisher's when ``link`` is a Google News link
        that :attr:`resolve` resolves; else ``link`` itself (a failed resolution is logged and
        counted, and the link fetched as before). A transient failure (Google's rate limit,
        a timeout) is raised: Google's own page has no article text to fall back on, so the
        article is stored from the feed with that error and a later poll tries again."""
        if self.resolve is None or google_news_article_id(link) is None:
            return link
        try:
            target = self.resolve(link)
        except FetchError as exc:
            log.info("article %s: Google News link not resolved: %s: %s", link, exc.code, exc)
            self.metrics.pages.labels(stage="resolve", outcome=exc.code).inc()
            if exc.transient:
                raise
            return link
        except Exception:  # an optional step must never cost the article
            log.warning("article %s: Google News link not resolved: unexpected error", link,
                        exc_info=True)
            self.metrics.pages.labels(stage="resolve", outcome="internal_error").inc()
            return link
        self.metrics.pages.labels(stage="resolve",
                                  outcome="ok" if target else "unresolved").inc()
        return target or link

    def _extracted(self, started: float, done: Future[ExtractedText | None]) -> None:
        self.progress()
        if done.cancelled():
            outcome = "cancelled"
        else:
            error = done.exception()
            outcome = ("ok" if error is None else
                       error.code if isinstance(error, MonitorError) else "internal_error")
            self.metrics.extract_seconds.observe(time.monotonic() - started)
        self.metrics.pages.labels(stage="extract", outcome=outcome).inc()


def is_local(url: str) -> bool:
    """Whether a feed URL names a local file (a path, or ``file://``)."""
    return "://" not in url or url.startswith("file://")


def local_path(url: str) -> str:
    """The path of a local feed URL."""
    return urlsplit(url).path if url.startswith("file://") else url


def publisher_identity(url: str, extracted: ExtractedText | None) -> str:
    """The canonical URL to store an entry's article under: the publisher's page when
    ``url`` is a Google News link that was resolved to it (``http.resolve_google_news``), so
    the publisher's own feed finds the article stored and neither fetches nor alerts it
    again; else ``url`` (also when the page fetched was Google's own: not resolved)."""
    if (extracted is None or extracted.url is None or extracted.source != "page"
            or google_news_article_id(url) is None):
        return url
    page = canonical_url(extracted.url)
    return url if on_google(page) or len(page) > MAX_URL_CHARS else page


def unread_pages_warning(errors: Mapping[str, int], pages: int, *, waiting: int = 0,
                         gave_up: int = 0) -> str | None:
    """The feed-health warning of a poll some of whose ``pages`` new pages gave no text of
    their own (``errors``: how many for each error code), or whose earlier articles' pages
    still wait for another try (``waiting``) or were tried for the last time (``gave_up``),
    or None. Those articles were matched on the feed's text: a site that blocks the fetcher
    would otherwise go unnoticed."""
    failed = sum(errors.values())
    parts: list[str] = []
    if failed:
        codes = ", ".join(f"{code}: {count}" for code, count
                          in sorted(errors.items(), key=lambda item: (-item[1], item[0])))
        later = sum(count for code, count in errors.items() if code in TRANSIENT_FETCH_CODES)
        parts.append(f"{failed} of {pages} new page{'' if pages == 1 else 's'} not read "
                     f"({codes}): matched on the feed's text"
                     + (f"; {later} tried again by later polls" if later else ""))
    if waiting > 0:
        parts.append(f"{waiting} earlier page{' waits' if waiting == 1 else 's wait'} for "
                     "another try (matched on the feed's text meanwhile)")
    if gave_up > 0:
        parts.append(f"{gave_up} earlier page{'' if gave_up == 1 else 's'} not read after "
                     "every try allowed: matched on the feed's text")
    return "; ".join(parts) or None
