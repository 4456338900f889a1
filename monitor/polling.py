"""When to poll a feed next: its interval, its own hints, and back-off after failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.config import PollingConfig
from monitor.store import FeedState

MAX_BACKOFF_EXPONENT = 8


def next_check(
    polling: PollingConfig,
    feed: FeedState,
    now: datetime,
    *,
    failed: bool = False,
    retry_after: float | None = None,
    ttl_seconds: int | None = None,
    new_entries: int = 0,
) -> datetime:
    """The next poll time, in UTC.

    After a failure the interval doubles with each consecutive failure (capped at
    ``max_interval``), and a server's Retry-After is honoured when longer. A feed's own TTL
    hint can lengthen the interval, never beyond ``max_interval``.
    """
    interval = float(feed.interval_seconds)
    if failed:
        exponent = min(feed.consecutive_failures, MAX_BACKOFF_EXPONENT)
        interval = min(interval * 2**exponent, polling.max_interval)
        if retry_after is not None:
            interval = max(interval, retry_after)
        return now + timedelta(seconds=interval)
    if ttl_seconds and not new_entries:
        interval = max(interval, min(float(ttl_seconds), polling.max_interval))
    return now + timedelta(seconds=interval)
