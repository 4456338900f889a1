"""When to poll a feed next: its publishing rhythm, its own hints, back-off after failures.

Pure functions of the feed's stored state and the poll's result (no clock, no I/O), so every
rule below is tested with plain values (``tests/feeds/test_polling.py``).

Adaptive interval (after a successful poll), in the manner of Miniflux and Media Cloud:

* The feed's publishing rate is an exponential moving average of the new entries each poll
  found, per hour elapsed since the previous successful poll. Before the first sample the
  configured ``interval`` is taken as right (one new entry per interval), so it is the
  starting point, and a change of it in monitor.yaml starts the average afresh.
* The next interval is the time in which one new entry is expected, clamped between
  ``polling.min_interval`` and ``polling.max_interval``. A configured interval outside those
  bounds widens them: an operator's explicit ``interval: 1m`` is honoured.
* A poll in which every listed entry was new may have missed entries that scrolled off the
  feed: the interval is at least halved and the poll is reported as an overflow.
* The server's ``Cache-Control: max-age`` and the feed's own ``<ttl>``/``sy:updatePeriod``
  are lower bounds (never beyond ``max_interval``): the publisher asked not to be polled
  sooner.
* The first read of a feed is its backlog, not a rhythm: it leaves the interval as
  configured.

After a failure the configured interval doubles with each consecutive failure (capped at
``max_interval``), and a server's Retry-After is honoured when longer. Failures of the parse
class (the body is not a readable feed) also count towards disabling the feed after
``polling.max_failures_before_disable`` of them in a row; fetch failures (timeouts, 5xx,
refused addresses) only back off, since the same URL may well work again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the parse workers' fork server imports this package,
    # and the store (SQLAlchemy, Alembic) and pydantic cost it ~35 MB it never uses
    from monitor.config import PollingConfig
    from monitor.store import FeedState

MAX_BACKOFF_EXPONENT = 8
RATE_SMOOTHING = 0.3  # weight of the latest poll in the moving average of the rate
TARGET_NEW_PER_POLL = 1.0  # poll about once per expected new entry
# The body was fetched but is no readable feed: wrong content, or too costly to read.
PARSE_FAILURE_CODES = frozenset({"not_a_feed", "parse_error", "parse_timeout", "too_complex"})


@dataclass(frozen=True)
class NextPoll:
    """When to poll again after a successful poll, and the rhythm state to remember."""

    next_check_at: datetime
    interval_seconds: int
    entry_rate: float | None  # new entries per hour; None until a rhythm is known
    overflow: bool = False  # every listed entry was new: some may have scrolled away


@dataclass(frozen=True)
class Backoff:
    """When to retry after a failed poll, and whether the failure disables the feed."""

    next_check_at: datetime
    parse_failure: bool
    disable: bool


def bounds(polling: PollingConfig, feed: FeedState) -> tuple[float, float]:
    """The range the adaptive interval moves in, widened to include the configured one."""
    base = float(feed.interval_seconds)
    return min(polling.min_interval, base), max(polling.max_interval, base)


def after_success(
    polling: PollingConfig,
    feed: FeedState,
    now: datetime,
    *,
    new_entries: int,
    listed_entries: int,
    ttl_seconds: int | None = None,
    max_age: int | None = None,
) -> NextPoll:
    """The next poll after a successful one (``new_entries`` of ``listed_entries`` were new;
    a 304 Not Modified is a poll with none listed)."""
    low, high = bounds(polling, feed)
    base = float(feed.interval_seconds)
    previous = float(feed.poll_interval_seconds or base)
    rate = feed.entry_rate
    overflow = False
    if not polling.adaptive or feed.last_success_at is None:
        interval = base if not polling.adaptive else previous
    else:
        elapsed = max(1.0, (now - feed.last_success_at).total_seconds())
        sample = new_entries * 3600.0 / elapsed
        prior = rate if rate is not None else TARGET_NEW_PER_POLL * 3600.0 / base
        rate = RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * prior
        interval = TARGET_NEW_PER_POLL * 3600.0 / rate if rate > 0 else high
        overflow = 0 < listed_entries <= new_entries
        if overflow:
            interval = min(interval, previous / 2)
        interval = min(max(interval, low), high)
    hint = max(ttl_seconds or 0, max_age or 0)
    if hint:
        interval = max(interval, min(float(hint), high))
    return NextPoll(now + timedelta(seconds=interval), round(interval), rate, overflow)


def after_failure(
    polling: PollingConfig,
    feed: FeedState,
    now: datetime,
    *,
    error_code: str,
    retry_after: float | None = None,
) -> Backoff:
    """The retry time after a failed poll, and whether this failure disables the feed."""
    _, high = bounds(polling, feed)
    exponent = min(feed.consecutive_failures, MAX_BACKOFF_EXPONENT)
    interval = min(feed.interval_seconds * 2.0**exponent, high)
    if retry_after is not None:
        interval = max(interval, retry_after)
    parse_failure = error_code in PARSE_FAILURE_CODES
    limit = polling.max_failures_before_disable
    disable = parse_failure and limit > 0 and feed.parse_failures + 1 >= limit
    return Backoff(now + timedelta(seconds=interval), parse_failure, disable)
