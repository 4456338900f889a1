"""Feed parsing with a time and memory bound: the feeds stage's parser in killable workers.

feedparser has no limit of its own: a 3.4 MB feed with 300,000 attributes on one element kept
a cycle busy for minutes, a 6 MB feed of 2 million unclosed tags took 74 s and 1.4 GB, both
under the 10 MiB body cap. Here every feed is parsed in a worker process of the extract
stage's :class:`~monitor.extract.KillablePool` (the daemon wires the two stages, which never
import each other): killed after ``polling.parse_timeout`` seconds (``parse_timeout``) and
capped at ``extract.memory_limit`` of address space (``too_complex``). Both count toward
disabling the feed like any parse failure. The parse workers are a pool of their own, so a
hostile feed never waits behind article extractions nor holds up their workers, and the
daemon process never holds a parse tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import CancelledError

from monitor.config import Config
from monitor.errors import ParseError, ParseTimeoutError
from monitor.extract import KillablePool, PoolErrors
from monitor.feeds import parse_feed
from monitor.models import ParsedFeed

PARSE_ERRORS = PoolErrors("feed parsing", ParseError, ParseTimeoutError, "too_complex",
                          "too_complex", "parse_error")
PARSE_WORKERS = 2  # two hostile feeds at once still leave ordinary ones a worker each cycle
_WARM_UP = b'<rss version="2.0"><channel><title>warm-up</title></channel></rss>'
RECYCLE_AFTER = 200  # parses per worker before a fresh one (feedparser's heap only grows)


class FeedParser:
    """Parses feed bodies in killable worker processes; :meth:`parse` blocks its caller."""

    def __init__(self, config: Config, workers: int = PARSE_WORKERS) -> None:
        self.timeout = config.polling.parse_timeout
        self._pool = KillablePool(
            workers=workers, timeout=self.timeout, memory_limit=config.extract.memory_limit,
            max_tasks=RECYCLE_AFTER, errors=PARSE_ERRORS,
            # Imported once in the fork server, not per worker within the parse timeout.
            preload=("monitor.feeds.parse", "monitor.extract.pool"),
            release_memory=True)

    def parse(self, content: bytes, *, url: str, content_type: str | None = None,
              headers: Mapping[str, str] | None = None) -> ParsedFeed:
        """:func:`monitor.feeds.parse_feed` in a worker; raises its errors, and
        :class:`ParseTimeoutError` or :class:`ParseError` ``too_complex`` past the limits."""
        future = self._pool.submit(parse_feed, content, url=url, content_type=content_type,
                                   headers=dict(headers or {}))
        try:
            return future.result()
        except CancelledError:  # close() raced with us
            raise ParseError.coded("feed parsing pool stopped", "pool_closed") from None

    def warm_up(self) -> None:
        """Start the workers now (the fork server imports the parser once, which takes
        seconds on a busy machine), without waiting: the first cycle finds them ready."""
        self._pool.submit(parse_feed, _WARM_UP, url="http://localhost/")

    def close(self) -> None:
        """Stop the workers, killing any parse still running."""
        self._pool.close()
