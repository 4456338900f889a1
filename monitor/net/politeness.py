"""Being a good client: per-host concurrency and spacing, Retry-After back-off, robots.txt.

Everything here is shared by the fetcher's worker threads and guarded by locks. Hosts are keyed
by their normalised name (``netpolicy.normalize_host``), not by registered domain, so a
Retry-After from ``feeds.example.com`` does not stall ``www.example.com``.

Back-off has two scopes. A 429 is about the client (rate limits count our requests to the
whole host), so it pauses the host. A 503 with Retry-After is about the one resource that
answered it (a section feed under maintenance), so it pauses that URL only, and for at most
:data:`URL_PAUSE_CAP_SECONDS` unless the URL answers 503 again right after its pause.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

from protego import Protego

from monitor.errors import FetchTimeoutError, RateLimitedError

# A server cannot silence a host for longer than this, whatever its Retry-After says.
MAX_BACKOFF_SECONDS = 86400.0
# Back-off after a 429 that gave no Retry-After.
DEFAULT_429_BACKOFF_SECONDS = 60.0
# A first 503 + Retry-After pauses its URL for at most this long; a repeat gets what it asks.
URL_PAUSE_CAP_SECONDS = 3600.0
_MAX_URL_STRIKES = 4096  # URLs remembered for "it repeats" (oldest forgotten first)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), capped.

    ``now`` is the wall-clock time (``time.time()``) used for HTTP-dates. Returns None for a
    missing or unreadable value.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_BACKOFF_SECONDS)


class HostLimiter:
    """At most ``concurrency`` requests in flight per host, starting ``min_interval`` apart.

    Waiting is bounded by the caller's deadline (``time.monotonic`` based): a request that
    cannot get a slot in time raises :class:`FetchTimeoutError` rather than holding a worker.
    """

    def __init__(self, concurrency: int, min_interval: float) -> None:
        self._limit = concurrency
        self._interval = min_interval
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str, deadline: float) -> Iterator[None]:
        """Hold one of the host's slots for the duration of the ``with`` block."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._active.get(host, 0) < self._limit,
                                       timeout=max(0.0, deadline - time.monotonic())):
                raise FetchTimeoutError(
                    f"no free connection slot for {host} before the total deadline")
            self._active[host] = self._active.get(host, 0) + 1
            wait = self._reserve_start(host)
        try:
            if wait > 0:
                if time.monotonic() + wait > deadline:
                    raise FetchTimeoutError(
                        f"spacing requests to {host} would pass the total deadline")
                time.sleep(wait)  # pacing real I/O: this is the point of the limit
            yield
        finally:
            with self._cond:
                left = self._active[host] - 1
                if left:
                    self._active[host] = left
                else:
                    del self._active[host]
                self._cond.notify_all()

    def _reserve_start(self, host: str) -> float:
        """Book the next start time for the host; return how long this request must wait."""
        if self._interval <= 0:
            return 0.0
        now = time.monotonic()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + self._interval
        if len(self._next_start) > 4096:  # forget hosts whose spacing has long passed
            for key in [k for k, t in self._next_start.items() if t < now]:
                del self._next_start[key]
        return start - now


class BackoffRegistry:
    """Hosts and URLs that asked us to go away, until when, on ``clock``.

    A host pause (429) stops every request to the host; a URL pause (503 + Retry-After) stops
    requests to that exact URL only. See the module docstring for the caps.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until: dict[str, tuple[float, int]] = {}
        self._strikes: OrderedDict[str, int] = OrderedDict()  # URL -> 503 pauses in a row

    def check(self, host: str, *, url: str | None = None) -> None:
        """Raise :class:`RateLimitedError` without any request while the host (or ``url``)
        is paused."""
        keys = [host] if url is None else [host, _url_key(url)]
        for key in keys:
            with self._lock:
                entry = self._until.get(key)
                if entry is None:
                    continue
                until, status = entry
                remaining = until - self._clock()
                if remaining <= 0:
                    del self._until[key]
                    continue
            scope = f"host {host}" if key == host else "this URL"
            raise RateLimitedError(
                f"{scope} asked to wait (HTTP {status}); {remaining:.0f} s left, not requested",
                url=url, status=status, retry_after=remaining)

    def note(self, host: str, seconds: float, status: int) -> None:
        """Remember that ``host`` must not be asked again for ``seconds``."""
        self._pause(host, min(seconds, MAX_BACKOFF_SECONDS), status)

    def note_url(self, url: str, seconds: float, status: int = 503) -> float:
        """Pause one URL for ``seconds``, capped at :data:`URL_PAUSE_CAP_SECONDS` unless the
        URL answered the same way last time too; returns the pause applied."""
        with self._lock:
            strikes = self._strikes.pop(url, 0) + 1
            self._strikes[url] = strikes
            while len(self._strikes) > _MAX_URL_STRIKES:
                self._strikes.popitem(last=False)
        cap = URL_PAUSE_CAP_SECONDS if strikes == 1 else MAX_BACKOFF_SECONDS
        pause = min(seconds, cap)
        self._pause(_url_key(url), pause, status)
        return pause

    def succeeded(self, url: str) -> None:
        """A normal answer from ``url``: its next 503 counts as a first one again."""
        if self._strikes:
            with self._lock:
                self._strikes.pop(url, None)

    def _pause(self, key: str, seconds: float, status: int) -> None:
        if seconds <= 0:
            return
        with self._lock:
            until = self._clock() + seconds
            previous = self._until.get(key)
            if previous is None or previous[0] < until:
                self._until[key] = (until, status)
            if len(self._until) > 2 * _MAX_URL_STRIKES:  # forget pauses that have ended
                now = self._clock()
                for stale in [k for k, (t, _) in self._until.items() if t <= now]:
                    del self._until[stale]

    def remaining(self, host: str, url: str | None = None) -> float:
        """Seconds left in the host's back-off, or the URL's when ``url`` is given (0: none)."""
        with self._lock:
            entry = self._until.get(host if url is None else _url_key(url))
            return max(0.0, entry[0] - self._clock()) if entry else 0.0


def _url_key(url: str) -> str:
    return f"url {url}"


class RobotsRules:
    """What one site's robots.txt allows, following RFC 9309 (protego: the longest matching
    rule wins, allow on a tie, ``*`` and ``$`` are wildcards).

    Built by :meth:`from_answer`: ``status`` None or 2xx parses the body; 4xx means no
    restriction; 5xx means disallow everything (the site may be down, so the fetcher caches
    that answer for a short time only).
    """

    def __init__(self, parsed: Protego | None, *, allow_all: bool = False) -> None:
        self._parsed = parsed
        self._allow_all = allow_all

    @classmethod
    def from_answer(cls, status: int | None, body: bytes = b"") -> RobotsRules:
        """Rules from a robots.txt answer (see the class docstring)."""
        if status is not None and 400 <= status < 500:
            return cls(None, allow_all=True)
        if status is not None and status >= 500:
            return cls(None, allow_all=False)
        return cls(Protego.parse(body.decode("utf-8", errors="replace")))

    def can_fetch(self, user_agent: str, url: str) -> bool:
        """True when ``url`` may be fetched by ``user_agent`` (its product token is used)."""
        if self._parsed is None:
            return self._allow_all
        token = user_agent.split("/", 1)[0].split(None, 1)[0] if user_agent.strip() else "*"
        return bool(self._parsed.can_fetch(url, token))


class RobotsCache:
    """robots.txt rules per origin (scheme, host, port), fetched once at a time, with expiry.

    ``load`` is called outside the lock, by one thread per origin; others wait for it.
    """

    def __init__(self, clock: Callable[[], float], *, ttl: float = 86400.0,
                 error_ttl: float = 600.0, max_entries: int = 2048) -> None:
        self._clock = clock
        self._ttl = ttl
        self._error_ttl = error_ttl
        self._max = max_entries
        self._lock = threading.Lock()
        self._rules: OrderedDict[str, tuple[float, RobotsRules]] = OrderedDict()
        self._loading: dict[str, threading.Event] = {}

    def rules(self, origin: str, load: Callable[[], tuple[RobotsRules, bool]],
              deadline: float) -> RobotsRules:
        """The cached rules for ``origin``, loading them when missing or expired.

        ``load`` returns ``(rules, temporary)``; temporary rules (a 5xx answer) expire sooner.
        Errors from ``load`` propagate and nothing is cached.
        """
        while True:
            with self._lock:
                cached = self._rules.get(origin)
                if cached is not None and cached[0] > self._clock():
                    self._rules.move_to_end(origin)
                    return cached[1]
                pending = self._loading.get(origin)
                if pending is None:
                    pending = self._loading[origin] = threading.Event()
                    break
            if not pending.wait(timeout=max(0.0, deadline - time.monotonic())):
                raise FetchTimeoutError(f"robots.txt of {origin} did not arrive in time")
        try:
            rules, temporary = load()
            with self._lock:
                expiry = self._clock() + (self._error_ttl if temporary else self._ttl)
                self._rules[origin] = (expiry, rules)
                self._rules.move_to_end(origin)
                while len(self._rules) > self._max:
                    self._rules.popitem(last=False)
            return rules
        finally:
            with self._lock:
                del self._loading[origin]
            pending.set()
