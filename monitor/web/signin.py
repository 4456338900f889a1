"""Signing in with a password, guarded against floods and guessing.

Each argon2 check of a ``web.users`` hash takes 64 MiB and about 0.1 CPU-s (argon2-cffi's
defaults, RFC 9106's low-memory profile). Unguarded, 60 sign-ins sent at once took the server
to 2.4 GB and left every page waiting for the thread pool (measured): so at most
:data:`CHECKS_AT_ONCE` checks run at a time and at most :data:`QUEUED` more wait; the rest
are answered at once to try again shortly.

Failed sign-ins are counted over :data:`WINDOW_SECONDS` per client (the address, as a proxy
in ``web.trusted_proxies`` gives it in ``X-Forwarded-For``; an IPv6 address by its /64, which
one host commonly holds whole) and user name together, per
user name, and per client. Past :data:`FAILURES_PER_CLIENT_AND_NAME`,
:data:`FAILURES_PER_NAME` or :data:`FAILURES_PER_CLIENT`, sign-in from that client as that
user, as that user, or from that client, is refused without a check until the oldest failure
leaves the window. The client's own limit is the loosest: behind a proxy not listed there, or
a NAT, everyone is one client, and a few mistyped passwords must not lock everyone out. A
success clears nothing: a guesser who also has an account of their own cannot reset the
count. Sessions already open are untouched. The web view keeps the counts in the database
(:class:`StoreLog`), so a restart does not reset them and every process serving the web view
counts the same failures (two processes kept their own counts and allowed twice as many).
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol

import anyio

from monitor.store import Access

CHECKS_AT_ONCE = 2
QUEUED = 32
WINDOW_SECONDS = 15 * 60.0
FAILURES_PER_CLIENT_AND_NAME = 10
FAILURES_PER_NAME = 30
FAILURES_PER_CLIENT = 100  # many names tried from one place (one password "sprayed")
BUSY_RETRY_SECONDS = 5  # what a refused sign-in's Retry-After says when only busy
MAX_TRACKED = 30_000  # keys a MemoryLog remembers at most: a flood of names stays bounded
_MOST_COUNTED = max(FAILURES_PER_CLIENT_AND_NAME, FAILURES_PER_NAME, FAILURES_PER_CLIENT)
_NAME_CHARS = 128  # of a name, counted: longer ones are no user's, and must not fill memory


class Busy(Exception):
    """Too many sign-ins are being checked at once: try again in a few seconds."""


class FailureLog(Protocol):
    """Where failed sign-ins are kept, each counted under several keys (see the module)."""

    def recent(self, keys: Sequence[tuple[str, int]], since: float) -> dict[str, list[float]]:
        """For each ``(key, n)``: the times of its newest ``n`` failures after ``since``,
        newest first."""
        ...

    def add(self, keys: Sequence[str], at: float, since: float) -> None:
        """Count a failure at ``at`` under each key; those before ``since`` may go."""
        ...


class MemoryLog:
    """Failures in this process's memory (a restart forgets them): what a guard given no log
    keeps (the unit tests; the web view gives it a :class:`StoreLog`). At most
    :data:`MAX_TRACKED` keys are remembered."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}

    def recent(self, keys: Sequence[tuple[str, int]], since: float) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for key, n in keys:
            times = self._times.get(key)
            while times and times[0] <= since:
                times.popleft()
            if times is not None and not times:
                del self._times[key]
            found[key] = list(reversed(times))[:n] if times else []
        return found

    def add(self, keys: Sequence[str], at: float, since: float) -> None:
        for key in keys:
            times = self._times.get(key)
            if times is None:
                if len(self._times) >= MAX_TRACKED:
                    self._forget_oldest(since)
                times = self._times[key] = deque(maxlen=_MOST_COUNTED)
            times.append(at)

    def _forget_oldest(self, since: float) -> None:
        for key in [k for k, t in self._times.items() if not t or t[-1] <= since]:
            del self._times[key]
        while len(self._times) >= MAX_TRACKED:  # all recent: the first added go first
            del self._times[next(iter(self._times))]


class StoreLog:
    """Failures in the database (table ``signin_failures``, keys as their SHA-256): they
    outlive a restart, and every process serving the web view counts the same ones."""

    def __init__(self, access: Access) -> None:
        self._access = access

    def recent(self, keys: Sequence[tuple[str, int]], since: float) -> dict[str, list[float]]:
        found = self._access.recent_failures(keys, _moment(since))
        return {key: [moment.timestamp() for moment in times] for key, times in found.items()}

    def add(self, keys: Sequence[str], at: float, since: float) -> None:
        self._access.add_failure(keys, _moment(at), _moment(since))


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SignInGuard:
    """Bounds the argon2 checks running at once and counts failed sign-ins (see the module)
    in ``log`` (this process's memory unless told)."""

    def __init__(self, clock: Callable[[], float] = time.time,
                 log: FailureLog | None = None) -> None:
        self._slots = anyio.Semaphore(CHECKS_AT_ONCE)
        self._clock = clock
        self.log: FailureLog = log if log is not None else MemoryLog()

    def refused_for(self, address: str, name: str) -> float:
        """Seconds before ``address`` may try to sign in as ``name`` again (0: now)."""
        now = self._clock()
        keyed = list(self._keyed(address, name))
        recent = self.log.recent(keyed, now - WINDOW_SECONDS)
        return max([times[limit - 1] + WINDOW_SECONDS - now for key, limit in keyed
                    if len(times := recent.get(key, [])) >= limit], default=0.0)

    def failed(self, address: str, name: str) -> None:
        now = self._clock()
        self.log.add([key for key, _ in self._keyed(address, name)], now,
                     now - WINDOW_SECONDS)

    def _keyed(self, address: str, name: str) -> Iterator[tuple[str, int]]:
        """Each count's key (the client, the name's start, or both, marked by which) and its
        limit."""
        client, start = _client(address), name[:_NAME_CHARS]
        yield f"both\x00{client}\x00{start}", FAILURES_PER_CLIENT_AND_NAME
        yield f"name\x00{start}", FAILURES_PER_NAME
        yield f"client\x00{client}", FAILURES_PER_CLIENT

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A turn to run one password check; :class:`Busy` when too many wait already."""
        if self._slots.value == 0 and self._slots.statistics().tasks_waiting >= QUEUED:
            raise Busy
        async with self._slots:
            yield


def _client(address: str) -> str:
    """Whom a failure is counted against: the address, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
