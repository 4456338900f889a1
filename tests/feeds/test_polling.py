"""Adaptive polling, hints and back-off (monitor.feeds.polling): pure functions on a fake clock."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import PollingConfig
from monitor.feeds.polling import after_failure, after_success
from monitor.store import FeedState

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLLING = PollingConfig(min_interval=300, max_interval=86400, default_interval=900)


def state(interval: int = 900, **changes: object) -> FeedState:
    base = FeedState(id=1, url="https://news.example/feed.xml", name="News", language=None,
                     interval_seconds=interval, etag=None, last_modified=None,
                     last_full_fetch_at=None, consecutive_failures=0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class Feed:
    """A feed polled on its own schedule: the clock jumps to each next check."""

    def __init__(self, polling: PollingConfig = POLLING, interval: int = 900) -> None:
        self.polling = polling
        self.state = state(interval)
        self.now = START

    def poll(self, new: int, listed: int = 20, **hints: int | None) -> float:
        plan = after_success(self.polling, self.state, self.now, new_entries=new,
                             listed_entries=listed, **hints)
        seconds = (plan.next_check_at - self.now).total_seconds()
        assert seconds == pytest.approx(plan.interval_seconds, abs=0.5)
        self.state = dataclasses.replace(
            self.state, last_success_at=self.now, entry_rate=plan.entry_rate,
            poll_interval_seconds=plan.interval_seconds)
        self.now = plan.next_check_at
        return seconds


def test_the_first_read_is_a_backlog_and_keeps_the_configured_interval() -> None:
    feed = Feed()
    assert feed.poll(new=20, listed=20) == 900  # 20 "new" entries, but it is the first read
    assert feed.state.entry_rate is None


def test_a_quiet_feed_slows_down_to_max_interval_and_no_further() -> None:
    feed = Feed()
    intervals = [feed.poll(new=0) for _ in range(30)]
    assert intervals[0] == 900
    assert all(b >= a for a, b in itertools.pairwise(intervals))
    assert intervals[2] > 900  # it started slowing down at once
    assert max(intervals) == 86400 and intervals[-1] == 86400
    assert intervals.index(86400) < 15  # about 13 empty polls from 15 minutes to a day
    assert {feed.poll(new=0) for _ in range(10)} == {86400}  # still polled, once a day


def test_a_busy_feed_speeds_up_to_min_interval_and_no_further() -> None:
    feed = Feed()
    feed.poll(new=20)  # backlog
    intervals = [feed.poll(new=10) for _ in range(10)]
    assert intervals[-1] == 300
    assert min(intervals) == 300


def test_the_interval_follows_the_publishing_rate() -> None:
    """A feed publishing 4 entries an hour settles at about 15 minutes from any start."""
    for configured in (300, 3600, 6 * 3600):
        feed = Feed(interval=configured)
        seconds = feed.poll(new=10)  # backlog
        published = 0.0
        for _ in range(60):
            published += 4 * seconds / 3600
            new = int(published)
            published -= new
            seconds = feed.poll(new=new)
        assert feed.state.entry_rate == pytest.approx(4.0, rel=0.35)
        assert feed.state.poll_interval_seconds == pytest.approx(900, rel=0.35)


def test_busy_feeds_do_not_let_items_scroll_away() -> None:
    """Every listed entry new means entries may have been missed: poll at least twice as
    often, and say so."""
    feed = Feed(interval=3600, polling=PollingConfig(min_interval=60, max_interval=86400))
    feed.poll(new=10, listed=10)
    before = feed.state.poll_interval_seconds or 0
    plan = after_success(feed.polling, feed.state, feed.now, new_entries=10, listed_entries=10)
    assert plan.overflow
    assert plan.interval_seconds <= before / 2
    calm = after_success(feed.polling, feed.state, feed.now, new_entries=5, listed_entries=10)
    assert not calm.overflow


def test_a_configured_interval_outside_the_bounds_is_honoured() -> None:
    fast = Feed(interval=60)  # below min_interval (300): the operator asked for it
    fast.poll(new=5)
    assert min(fast.poll(new=5) for _ in range(10)) == 60
    slow = Feed(interval=2 * 86400, polling=POLLING)
    assert slow.poll(new=0) == 2 * 86400
    assert max(slow.poll(new=0) for _ in range(10)) == 2 * 86400


def test_cache_max_age_and_feed_ttl_are_lower_bounds_clamped_to_max_interval() -> None:
    feed = Feed()
    feed.poll(new=3)

    def busy_poll(**hints: int | None) -> float:
        plan = after_success(POLLING, feed.state, feed.now, new_entries=30, listed_entries=50,
                             **hints)
        return (plan.next_check_at - feed.now).total_seconds()

    assert busy_poll() == 300  # busy: as often as min_interval allows
    assert busy_poll(ttl_seconds=3600) == 3600  # but the feed asks for an hour
    assert busy_poll(max_age=1800) == 1800  # or the server for half an hour
    assert busy_poll(ttl_seconds=3600, max_age=1800) == 3600  # the longer hint wins
    assert busy_poll(max_age=10 * 86400) == 86400  # never beyond max_interval
    assert busy_poll(ttl_seconds=60, max_age=120) == 300  # short hints change nothing


def test_fixed_intervals_when_adaptive_polling_is_off() -> None:
    feed = Feed(polling=PollingConfig(adaptive=False))
    assert {feed.poll(new=n) for n in (0, 0, 20, 0, 5)} == {900}
    assert feed.poll(new=0, ttl_seconds=7200) == 7200  # hints still apply


def test_failures_back_off_exponentially_from_the_configured_interval() -> None:
    delays = []
    for failures in range(12):
        backoff = after_failure(POLLING, state(consecutive_failures=failures), START,
                                error_code="timeout_total")
        delays.append((backoff.next_check_at - START).total_seconds())
        assert not backoff.parse_failure and not backoff.disable
    assert delays[:4] == [900, 1800, 3600, 7200]
    assert max(delays) == 86400


def test_retry_after_is_honoured_when_longer_than_the_back_off() -> None:
    longer = after_failure(POLLING, state(), START, error_code="rate_limited", retry_after=5000)
    assert longer.next_check_at - START == timedelta(seconds=5000)
    shorter = after_failure(POLLING, state(), START, error_code="rate_limited", retry_after=10)
    assert shorter.next_check_at - START == timedelta(seconds=900)


@pytest.mark.parametrize("code", ["not_a_feed", "parse_error"])
def test_D1_parse_class_failures_disable_exactly_at_the_third(code: str) -> None:
    decisions = []
    feed = state()
    for _ in range(4):
        backoff = after_failure(POLLING, feed, START, error_code=code)
        assert backoff.parse_failure
        decisions.append(backoff.disable)
        feed = dataclasses.replace(feed, parse_failures=feed.parse_failures + 1,
                                   consecutive_failures=feed.consecutive_failures + 1)
    assert decisions[:3] == [False, False, True]
    assert PollingConfig().max_failures_before_disable == 3


def test_fetch_failures_never_disable_and_zero_means_never() -> None:
    for code in ("timeout_total", "http_status", "blocked_address", "tls_error"):
        assert not after_failure(POLLING, state(parse_failures=10), START,
                                 error_code=code).disable
    never = PollingConfig(max_failures_before_disable=0)
    assert not after_failure(never, state(parse_failures=10), START,
                             error_code="not_a_feed").disable
