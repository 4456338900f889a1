"""The httpx2 transport under the fetcher: one httpcore2 pool per origin, dialling through
:class:`~monitor.net.sockets.GuardedBackend` (resolve once, check, connect to the checked
address, every operation bounded by the fetch's total deadline).

httpcore2 exceptions are translated here into :mod:`monitor.errors`; nothing from httpcore2 or
the socket layer leaves the transport.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2

from monitor.errors import FetchError, FetchTimeoutError, UnsupportedSchemeError
from monitor.net.deadline import current_deadline
from monitor.net.masking import mask_text_urls
from monitor.net.netpolicy import AddressPolicy, Resolver
from monitor.net.sockets import DeadlineHit, GuardedBackend

log = logging.getLogger(__name__)

_IDEMPOTENT = (b"GET", b"HEAD")  # safe to send twice
KEEPALIVE_EXPIRY = 30.0  # seconds an idle connection (and an idle origin's pool) is kept


@contextmanager
def _translated() -> Iterator[None]:
    """httpcore2 exceptions -> monitor.errors, telling the total deadline from other timeouts."""
    try:
        yield
    except httpcore2.TimeoutException as exc:
        deadline = current_deadline()
        if deadline is not None and (isinstance(exc, DeadlineHit) or deadline.expired()):
            raise FetchTimeoutError(f"total deadline of {deadline.total:g} s exceeded") from exc
        kind = {httpcore2.ConnectTimeout: "connect", httpcore2.ReadTimeout: "read",
                httpcore2.WriteTimeout: "write", httpcore2.PoolTimeout: "connection pool"}
        raise FetchTimeoutError(f"{kind.get(type(exc), 'request')} timed out") from exc
    # httpcore2's messages may quote the URL: masked (monitor.net.masking).
    except httpcore2.UnsupportedProtocol as exc:
        raise UnsupportedSchemeError(mask_text_urls(str(exc))) from exc
    except httpcore2.ProtocolError as exc:
        raise FetchError(f"HTTP protocol error: {mask_text_urls(str(exc))}") from exc
    except httpcore2.ConnectError as exc:
        raise FetchError(mask_text_urls(str(exc)) or "cannot connect") from exc
    except (httpcore2.NetworkError, httpcore2.ProxyError) as exc:
        raise FetchError(f"connection failed: {mask_text_urls(str(exc))}") from exc


class _ResponseStream(httpx2.SyncByteStream):
    def __init__(self, inner: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        with _translated():
            yield from self._inner

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                with _translated():
                    close()
        finally:
            done, self._on_close = self._on_close, None
            if done is not None:
                done()


_Origin = tuple[bytes, bytes, int | None]  # scheme, host, port


@dataclass
class _OriginPool:
    pool: httpcore2.ConnectionPool
    in_flight: int = 0  # requests sent and responses not yet closed
    last_used: float = 0.0


class GuardedTransport(httpx2.BaseTransport):
    """An httpx2 transport over httpcore2 pools that dial through :class:`GuardedBackend`.

    One connection pool per origin: a pool walks all of its connections whenever a request
    is added or removed, which with httpcore 1.0 at 20 hosts x 8 connections cost more CPU
    than the requests did (and its surplus keep-alive closing raced, encode/httpcore#1110;
    httpcore2 rewrote that walk but still makes it). Per origin, the pool holds at most the
    per-host concurrency. Pools idle past the keep-alive expiry
    are closed by a sweep, so thousands of feed hosts do not keep thousands of sockets.

    Proxies are never used (the fetcher's client has ``trust_env=False``), so the address
    checked is always the address connected to.
    """

    def __init__(self, policy: AddressPolicy, resolver: Resolver, ssl_context: ssl.SSLContext,
                 *, max_keepalive: int, dns_threads: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dns = ThreadPoolExecutor(max_workers=dns_threads, thread_name_prefix="monitor-dns")
        self._backend = GuardedBackend(policy, resolver, self._dns)
        self._ssl_context = ssl_context
        self._max_keepalive = max_keepalive
        self._clock = clock
        self._pools: dict[_Origin, _OriginPool] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    @property
    def open_pools(self) -> int:
        """How many origins have a pool (for tests and diagnostics)."""
        with self._lock:
            return len(self._pools)

    def _checkout(self, origin: _Origin) -> _OriginPool:
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep(now)
            entry = self._pools.get(origin)
            if entry is None:
                entry = self._pools[origin] = _OriginPool(httpcore2.ConnectionPool(
                    ssl_context=self._ssl_context,
                    max_connections=None,  # bounded by the fetcher's per-host slots
                    max_keepalive_connections=self._max_keepalive,
                    keepalive_expiry=KEEPALIVE_EXPIRY,
                    http1=True,
                    http2=False,
                    network_backend=self._backend,
                ))
            entry.in_flight += 1
            entry.last_used = now
            return entry

    def _checkin(self, entry: _OriginPool) -> None:
        with self._lock:
            entry.in_flight -= 1
            entry.last_used = self._clock()

    def _sweep(self, now: float) -> None:
        """Close the pools of origins with nothing in flight for the keep-alive expiry."""
        self._next_sweep = now + KEEPALIVE_EXPIRY
        for origin, entry in list(self._pools.items()):
            if entry.in_flight == 0 and now - entry.last_used >= KEEPALIVE_EXPIRY:
                del self._pools[origin]
                with _translated():
                    entry.pool.close()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send one request (no redirects) and return the streaming response."""
        if not isinstance(request.stream, httpx2.SyncByteStream):
            raise TypeError("GuardedTransport is synchronous")
        timeouts = dict(request.extensions.get("timeout", {}))
        deadline = current_deadline()
        if deadline is not None:  # the pool wait too must end by the deadline
            left = max(deadline.remaining(), 0.001)
            timeouts = {k: left if v is None else min(v, left) for k, v in timeouts.items()}
        url = request.url
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                             target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions={**request.extensions, "timeout": timeouts},
        )
        entry = self._checkout((url.raw_scheme, url.raw_host, url.port))
        try:
            with _translated():
                response = self._send(entry.pool, core_request)
            if not isinstance(response.stream, Iterable):
                raise TypeError("httpcore2 returned an async stream")
        except BaseException:
            self._checkin(entry)
            raise
        return httpx2.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream,
                                                     functools.partial(self._checkin, entry)),
                              extensions=response.extensions)

    @staticmethod
    def _send(pool: httpcore2.ConnectionPool, request: httpcore2.Request) -> httpcore2.Response:
        """One request; a GET that fails on a reused keep-alive connection before any response
        is sent once more (normally on a new connection).

        A pooled connection can die unseen between its last use and this one: the server
        closed it at that moment, or (httpcore 1.0) the pool closed it for surplus while
        assigning it (encode/httpcore#1110, "Bad file descriptor"). Browsers and urllib3
        retry such requests; a failure on a new connection is the server's answer and is not.
        """
        dialled = False
        outer_trace = request.extensions.get("trace")

        def trace(event: str, info: dict[str, Any]) -> None:
            nonlocal dialled
            dialled = dialled or event.startswith("connection.connect_tcp")
            if outer_trace is not None:
                outer_trace(event, info)

        request.extensions = {**request.extensions, "trace": trace}
        try:
            return pool.handle_request(request)
        except (httpcore2.ReadError, httpcore2.WriteError, httpcore2.RemoteProtocolError):
            if dialled or request.method not in _IDEMPOTENT:
                raise
        request.extensions = {k: v for k, v in request.extensions.items() if k != "trace"}
        if outer_trace is not None:
            request.extensions["trace"] = outer_trace
        log.debug("connection to %s was stale; retrying on a new one", request.url.host)
        return pool.handle_request(request)

    def close(self) -> None:
        """Close pooled connections and stop the DNS helper threads."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for entry in pools:
            with _translated():
                entry.pool.close()
        self._dns.shutdown(wait=False, cancel_futures=True)
