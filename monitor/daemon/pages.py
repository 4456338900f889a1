"""The cycle's page pool: article pages fetched in threads, extracted in the worker processes.

Within a feed, the pages of its new entries are fetched in a pool shared by every feed of the
cycle and handed to the extraction processes while other pages are still downloading, so
every core stays busy. Fetching runs ahead of extraction by a bounded number of pages, and
per-host politeness (``http.per_host_concurrency``, in the fetcher) still bounds how many of
one site's pages are in flight.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor

from monitor.errors import ExtractError
from monitor.models import ExtractedText, FeedEntry

log = logging.getLogger(__name__)

PageText = tuple[ExtractedText | None, str | None]  # the page's text, or why there is none
# A fetched page on its way through extraction, or why there is no page.
PageStarted = tuple[Future[ExtractedText | None] | None, str | None]


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
