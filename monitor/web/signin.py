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
count. Sessions already open are untouched.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import anyio

CHECKS_AT_ONCE = 2
QUEUED = 32
WINDOW_SECONDS = 15 * 60.0
FAILURES_PER_CLIENT_AND_NAME = 10
FAILURES_PER_NAME = 30
FAILURES_PER_CLIENT = 100  # many names tried from one place (one password "sprayed")
BUSY_RETRY_SECONDS = 5  # what a refused sign-in's Retry-After says when only busy
MAX_TRACKED = 10_000  # addresses and names remembered at most: a flood of them stays bounded
_NAME_CHARS = 128  # of a name, counted: longer ones are no user's, and must not fill memory


class Busy(Exception):
    """Too many sign-ins are being checked at once: try again in a few seconds."""


class _Failures:
    """Times of recent failures per key, in a sliding window."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._clock = clock
        self._times: dict[str, deque[float]] = {}

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return 0.0
        return times[-self.limit] + WINDOW_SECONDS - self._clock()

    def add(self, key: str) -> None:
        times = self._recent(key)
        if times is None:
            if len(self._times) >= MAX_TRACKED:
                self._forget_oldest()
            times = self._times[key] = deque(maxlen=self.limit)
        times.append(self._clock())

    def _recent(self, key: str) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= self._clock() - WINDOW_SECONDS:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times

    def _forget_oldest(self) -> None:
        cutoff = self._clock() - WINDOW_SECONDS
        for key in [k for k, t in self._times.items() if t[-1] <= cutoff]:
            del self._times[key]
        while len(self._times) >= MAX_TRACKED:  # all recent: the first added go first
            del self._times[next(iter(self._times))]


class SignInGuard:
    """Bounds the argon2 checks running at once and counts failed sign-ins (see the module)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._slots = anyio.Semaphore(CHECKS_AT_ONCE)
        self._counts = ((_Failures(FAILURES_PER_CLIENT_AND_NAME, clock), True, True),
                        (_Failures(FAILURES_PER_NAME, clock), False, True),
                        (_Failures(FAILURES_PER_CLIENT, clock), True, False))

    def refused_for(self, address: str, name: str) -> float:
        """Seconds before ``address`` may try to sign in as ``name`` again (0: now)."""
        return max(failures.wait(key) for failures, key in self._keyed(address, name))

    def failed(self, address: str, name: str) -> None:
        for failures, key in self._keyed(address, name):
            failures.add(key)

    def _keyed(self, address: str, name: str) -> Iterator[tuple[_Failures, str]]:
        """Each count with what it is kept under: the client, the name (its start), or both."""
        client, start = _client(address), name[:_NAME_CHARS]
        for failures, by_client, by_name in self._counts:
            yield failures, "\x00".join(part for part, used in ((client, by_client),
                                                                (start, by_name)) if used)

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
