"""One polling cycle: the feeds due at its start, polled concurrently.

Each due feed is polled by a :class:`~monitor.daemon.poller.FeedPoller` in a worker thread
(``http.workers`` at once), and new feeds are claimed as soon as a worker is free, so one
slow feed only ever costs its own thread. The feeds share one page pool
(:class:`~monitor.daemon.pages.PagePool`) for their articles' pages.

SQLite's text index takes the new articles a few hundred at a time (half the cost of one
save's few, see :meth:`monitor.store.TextIndex.index_pending`): this thread indexes them
whenever that many were saved, and the rest when the cycle ends.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from monitor.config import Config
from monitor.daemon.pages import EXTRACTION_QUEUE, PagePool
from monitor.daemon.poller import FeedPoller, FeedReport
from monitor.errors import StoreError
from monitor.extract import release_free_memory
from monitor.store import INDEX_BATCH, Store, TextIndex

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    feeds: int = 0
    failed: int = 0
    new_entries: int = 0
    articles: int = 0
    hits: int = 0
    notifications: int = 0
    revised: int = 0

    def add(self, other: FeedReport) -> None:
        self.feeds += 1
        self.failed += int(not other.ok)
        self.new_entries += other.new_entries
        self.articles += other.articles
        self.hits += other.hits
        self.notifications += other.notifications
        self.revised += other.revised


def feed_lease(config: Config) -> timedelta:
    """How long a claimed feed is reserved for its daemon (then another may poll it)."""
    return timedelta(seconds=config.http.total_timeout * 4 + 60)


class Pipeline:
    """Runs polling cycles: claims due feeds and polls them concurrently."""

    def __init__(self, config: Config, store: Store, poller: FeedPoller, owner: str,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.config = config
        self.store = store
        self.poller = poller
        self.owner = owner
        self.should_stop = should_stop
        self._leases_left = False  # the last cycle failed with feeds of ours still leased
        self.text_index = TextIndex(store)
        self.index_every = INDEX_BATCH  # new articles between two text-index batches

    def run_cycle(self) -> CycleReport:
        """Poll every feed due at the start once; returns counts. Raises StoreError if the
        database is down.

        Feeds are claimed a few at a time as workers free up (a claimed feed waits at most
        behind ``http.workers`` others), so a slow feed never holds back a batch. Once the
        stop flag is set nothing more is claimed and feeds not yet started are left to their
        leases (released by the service on shutdown).
        """
        if self._leases_left:
            # The last cycle ended on a database error with feeds claimed but never recorded;
            # cycles never overlap, so none of them is being polled: due now, not when their
            # leases (minutes) run out.
            self.store.release_feeds(self.owner)
            self._leases_left = False
        report = CycleReport()
        workers = self.config.http.workers
        pages = PagePool(max(4, workers),
                         limit=workers + EXTRACTION_QUEUE * self.poller.extractor.workers)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
                self._poll_due(pool, pages, report)
        except Exception:
            self._leases_left = True
            raise
        finally:
            pages.close()  # the feed threads are done with their pages (or the cycle failed)
        # Every tick, not only after new articles: another daemon's (or a crashed one's).
        self._index_text()
        if report.feeds:
            self.poller.stories.prune()
            # What the cycle freed, back to the system before the daemon idles (a full
            # collection: not on the ticks that find no feed due, most of an idle daemon's).
            release_free_memory()
        return report

    def _index_text(self, limit: int | None = None) -> None:
        """Index waiting articles; a database that refuses it (locked past the busy timeout)
        costs no poll: they stay waiting, candidates of every query, until the next turn."""
        try:
            self.text_index.index_pending(limit=limit)
        except StoreError as exc:
            log.warning("text index not brought up to date this time: %s", exc)

    def _poll_due(self, pool: ThreadPoolExecutor, pages: PagePool, report: CycleReport) -> None:
        # Only feeds due when the cycle starts: one whose short interval elapses during a long
        # cycle waits for the next tick instead of being polled twice in one cycle.
        started = renewed = self.store.clock()
        lease = feed_lease(self.config)
        workers = self.config.http.workers
        in_flight: dict[Future[FeedReport], int] = {}  # running or queued polls: feed ids
        # Each poll's future lands here when it ends (one cheap put from the feed thread,
        # instead of wait() arming and disarming every running poll's future at each turn).
        finished: queue.SimpleQueue[Future[FeedReport]] = queue.SimpleQueue()
        exhausted = False
        unindexed = 0  # articles this cycle saved since its last text-index batch
        try:
            while True:
                if self.should_stop():
                    exhausted = True
                    for future in in_flight:
                        future.cancel()  # not started yet: its lease is released later
                if not exhausted and len(in_flight) < workers:
                    feeds = self.store.claim_due_feeds(
                        self.owner, lease, limit=2 * workers - len(in_flight), due_by=started)
                    exhausted = not feeds  # feeds due later wait for the next tick
                    for feed in feeds:
                        future = pool.submit(self.poller.poll, feed, self.owner, pages)
                        future.add_done_callback(finished.put)
                        in_flight[future] = feed.id
                in_flight = {f: feed_id for f, feed_id in in_flight.items() if not f.cancelled()}
                if not in_flight:
                    return
                for future in _finished_within(finished, timeout=1.0):
                    if in_flight.pop(future, None) is not None:  # (not one cancelled above)
                        polled = future.result()
                        report.add(polled)
                        unindexed += polled.articles
                if unindexed >= self.index_every:
                    self._index_text(limit=unindexed)
                    unindexed = 0
                now = self.store.clock()
                if in_flight and now - renewed >= lease / 3:
                    # Polls still running (a slow host, a long budget) keep their feeds: an
                    # expired lease would let another daemon poll the same feed meanwhile.
                    self.store.renew_feed_leases(self.owner, list(in_flight.values()), lease)
                    renewed = now
        finally:
            for future in in_flight:
                future.cancel()


def _finished_within(finished: queue.SimpleQueue[Future[FeedReport]],
                     timeout: float) -> list[Future[FeedReport]]:
    """The polls that ended: waits up to ``timeout`` seconds for the first, then takes every
    other one already there."""
    try:
        done = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except queue.Empty:
            return done
