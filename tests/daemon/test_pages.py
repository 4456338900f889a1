"""The cycle's page pool: how far fetching runs ahead of extraction."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from monitor.daemon.pages import PagePool, PageStarted
from monitor.models import ExtractedText
from tests.daemon_support import wait_for


def test_pages_between_fetch_and_extracted_stay_within_the_limit() -> None:
    # Each start "fetches" at once and hands back an extraction that ends only when the test
    # says so: the pool must stop starting pages once `limit` are unfinished, and start the
    # next one as soon as an extraction ends (a slot freed by the extraction, not the fetch).
    limit, pages = 5, 12
    extractions: list[Future[ExtractedText | None]] = []
    lock = threading.Lock()

    def start() -> PageStarted:
        extraction: Future[ExtractedText | None] = Future()
        with lock:
            extractions.append(extraction)
        return extraction, None

    pool = PagePool(workers=8, limit=limit)
    try:
        for _ in range(pages):
            pool.submit(start)
        wait_for(lambda: len(extractions) == limit, 10, "the first pages started")
        # Eight threads are free to start more; the limit holds them while none has ended.
        assert not reached(lambda: len(extractions) > limit, within=0.3)
        extractions[0].set_result(None)
        wait_for(lambda: len(extractions) == limit + 1, 10, "the next page started")
        while len(extractions) < pages:  # each extraction that ends lets one more start
            started = functools.partial(more_than, extractions, len(extractions))
            settle(extractions)
            wait_for(started, 10, "a page started")
        assert len(extractions) == pages
    finally:  # pages still queued (a failure above) start as slots free: settle them too
        for _ in range(pages):
            settle(extractions)
            reached(lambda: any(not e.done() for e in extractions), within=0.05)
        pool.close()


def more_than(extractions: list[Future[ExtractedText | None]], count: int) -> bool:
    return len(extractions) > count


def settle(extractions: list[Future[ExtractedText | None]]) -> None:
    for extraction in list(extractions):
        if not extraction.done():
            extraction.set_result(None)


def test_a_page_without_extraction_frees_its_slot_at_once() -> None:
    pool = PagePool(workers=2, limit=1)
    try:
        results = [pool.submit(lambda: (None, "http_404")) for _ in range(5)]
        assert [r.result(timeout=10) for r in results] == [(None, "http_404")] * 5
    finally:
        pool.close()


def reached(condition: Callable[[], bool], within: float) -> bool:
    """Whether ``condition`` holds at some point within ``within`` seconds, polled: a
    bounded look for something that must *not* happen."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        threading.Event().wait(0.01)
    return condition()
