"""Retry-After parsing, per-host back-off, host slots and robots.txt rules and cache."""

from __future__ import annotations

import threading
import time

import pytest

from monitor.errors import FetchTimeoutError, RateLimitedError
from monitor.net.politeness import (
    MAX_BACKOFF_SECONDS,
    URL_PAUSE_CAP_SECONDS,
    BackoffRegistry,
    HostLimiter,
    RobotsCache,
    RobotsRules,
    parse_retry_after,
)
from tests.fetch_support import FakeClock, wait_until


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 0 ") == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("99999999") == MAX_BACKOFF_SECONDS
    date = "Tue, 14 Nov 2023 22:15:20 GMT"  # now + 120 s
    assert parse_retry_after(date, now=now) == pytest.approx(120)
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0


def test_backoff_registry_fails_fast_until_time_passes() -> None:
    clock = FakeClock()
    registry = BackoffRegistry(clock)
    registry.check("a.example")
    registry.note("a.example", 3600, 429)
    with pytest.raises(RateLimitedError) as info:
        registry.check("a.example", url="http://a.example/x")
    assert info.value.retry_after == 3600 and info.value.url == "http://a.example/x"
    registry.check("b.example")  # other hosts unaffected
    registry.note("a.example", 10, 503)  # a shorter request does not cut the back-off
    clock.advance(3599)
    assert registry.remaining("a.example") == pytest.approx(1)
    clock.advance(1)
    registry.check("a.example")
    assert registry.remaining("a.example") == 0


def test_backoff_registry_url_pause_is_capped_unless_it_repeats() -> None:
    clock = FakeClock()
    registry = BackoffRegistry(clock)
    assert registry.note_url("http://a.example/section", 7200) == URL_PAUSE_CAP_SECONDS
    with pytest.raises(RateLimitedError):
        registry.check("a.example", url="http://a.example/section")
    registry.check("a.example", url="http://a.example/other")  # same host: not paused
    assert registry.remaining("a.example") == 0
    clock.advance(URL_PAUSE_CAP_SECONDS)
    registry.check("a.example", url="http://a.example/section")
    assert registry.note_url("http://a.example/section", 7200) == 7200  # a repeat
    registry.succeeded("http://a.example/section")
    clock.advance(7200)
    assert registry.note_url("http://a.example/section", 7200) == URL_PAUSE_CAP_SECONDS


def test_host_limiter_bounds_concurrency_per_host() -> None:
    limiter = HostLimiter(concurrency=2, min_interval=0)
    release = threading.Event()
    inside = {"a": 0, "max": 0}
    lock = threading.Lock()

    def work() -> None:
        with limiter.slot("a.example", time.monotonic() + 10):
            with lock:
                inside["a"] += 1
                inside["max"] = max(inside["max"], inside["a"])
            release.wait(10)
            with lock:
                inside["a"] -= 1

    threads = [threading.Thread(target=work) for _ in range(5)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: inside["a"] == 2)
    with limiter.slot("b.example", time.monotonic() + 1):
        pass  # another host gets a slot at once
    with pytest.raises(FetchTimeoutError), limiter.slot("a.example", time.monotonic() + 0.05):
        pass
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert inside["max"] == 2


def test_host_limiter_spacing_respects_the_deadline() -> None:
    limiter = HostLimiter(concurrency=4, min_interval=5.0)
    with limiter.slot("a.example", time.monotonic() + 1):
        pass
    with (pytest.raises(FetchTimeoutError, match="spacing"),
          limiter.slot("a.example", time.monotonic() + 1)):
        pass


def test_robots_rules() -> None:
    rules = RobotsRules.from_answer(200, b"User-agent: *\nDisallow: /private\n"
                                         b"User-agent: newsmonitor\nDisallow: /\n")
    assert not rules.can_fetch("newsmonitor/0.1 (+https://x)", "http://a.example/news")
    assert rules.can_fetch("otherbot/1.0", "http://a.example/news")
    assert not rules.can_fetch("otherbot/1.0", "http://a.example/private/x")
    assert RobotsRules.from_answer(404).can_fetch("x", "http://a.example/")
    assert not RobotsRules.from_answer(503).can_fetch("x", "http://a.example/")
    assert RobotsRules.from_answer(None, b"").can_fetch("x", "http://a.example/")


def test_robots_cache_loads_once_and_expires() -> None:
    clock = FakeClock()
    cache = RobotsCache(clock, ttl=100, error_ttl=10)
    loads = {"n": 0}

    def load() -> tuple[RobotsRules, bool]:
        loads["n"] += 1
        return RobotsRules.from_answer(404), False

    deadline = time.monotonic() + 5
    threads = [threading.Thread(target=cache.rules, args=("http://a:80", load, deadline))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert loads["n"] == 1
    clock.advance(101)
    cache.rules("http://a:80", load, deadline)
    assert loads["n"] == 2


def test_robots_cache_does_not_keep_failures() -> None:
    cache = RobotsCache(FakeClock())
    calls = {"n": 0}

    def failing() -> tuple[RobotsRules, bool]:
        calls["n"] += 1
        raise FetchTimeoutError("slow")

    for _ in range(2):
        with pytest.raises(FetchTimeoutError):
            cache.rules("http://a:80", failing, time.monotonic() + 1)
    assert calls["n"] == 2
