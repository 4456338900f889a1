"""The httpx transport under the fetcher: resolve once, check, dial the checked address.

httpx would resolve the host itself after any URL check, which leaves a DNS-rebinding window,
and it has no total deadline. This transport uses httpcore's public network-backend hook:

* :class:`GuardedBackend.connect_tcp` resolves the host once (or reads a literal address),
  passes every answer through :class:`~monitor.net.netpolicy.AddressPolicy` and connects to one of
  those very addresses. TLS still uses the host name for SNI and certificate verification,
  because httpcore passes ``server_hostname`` to ``start_tls``.
* Every socket operation (DNS wait, connect, TLS handshake, each read and write) is given
  ``min(its own timeout, time left before the deadline)``, where the deadline is the one set
  by :func:`deadline_scope` in the calling thread. A server that trickles one byte a second,
  stalls after the headers or never answers is cut off at the total deadline.

httpcore exceptions are translated here into :mod:`monitor.errors`; nothing from httpcore or
the socket layer leaves this module.
"""

from __future__ import annotations

import functools
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from monitor.errors import (
    FetchError,
    FetchTimeoutError,
    TLSError,
    UnsupportedSchemeError,
)
from monitor.net.netpolicy import AddressPolicy, IPAddress, Resolver

log = logging.getLogger(__name__)

_IDEMPOTENT = (b"GET", b"HEAD")  # safe to send twice
KEEPALIVE_EXPIRY = 30.0  # seconds an idle connection (and an idle origin's pool) is kept

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


@dataclass(frozen=True)
class Deadline:
    """A wall-clock limit for one fetch (``time.monotonic`` based)."""

    at: float
    total: float

    def remaining(self) -> float:
        """Seconds left (may be negative)."""
        return self.at - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed (a few ms of slack for clamped waits)."""
        return self.remaining() <= 0.005


_local = threading.local()


@contextmanager
def deadline_scope(total: float) -> Iterator[Deadline]:
    """Set the calling thread's deadline ``total`` seconds from now; an outer one wins."""
    outer: Deadline | None = getattr(_local, "deadline", None)
    if outer is not None:
        yield outer
        return
    _local.deadline = Deadline(time.monotonic() + total, total)
    try:
        yield _local.deadline
    finally:
        _local.deadline = None


def current_deadline() -> Deadline | None:
    """The calling thread's deadline, if a fetch is in progress."""
    return getattr(_local, "deadline", None)


class _DeadlineHit(Exception):
    """Marks a timeout that the total deadline caused (not the operation's own timeout)."""


class _DeadlineConnect(httpcore.ConnectTimeout, _DeadlineHit):
    pass


class _DeadlineRead(httpcore.ReadTimeout, _DeadlineHit):
    pass


class _DeadlineWrite(httpcore.WriteTimeout, _DeadlineHit):
    pass


def _bounded(timeout: float | None, hit: type[Exception]) -> tuple[float | None, bool]:
    """The timeout for one socket operation, never beyond the thread's deadline, and whether
    the deadline is what bounds it. Raises ``hit`` when the deadline has already passed."""
    deadline = current_deadline()
    if deadline is None:
        return timeout, False
    left = deadline.remaining()
    if left <= 0:
        raise hit(f"total deadline of {deadline.total:g} s exceeded")
    if timeout is None or left <= timeout:
        return left, True
    return timeout, False


_CERT_REASONS = {
    9: "the TLS certificate is not yet valid",
    10: "the TLS certificate has expired",
    18: "the TLS certificate is self-signed",
    19: "the TLS certificate chain is self-signed (untrusted root)",
    20: "the TLS certificate's issuer is not trusted",
    21: "the TLS certificate's issuer is not trusted",
    62: "the TLS certificate does not match the host name",
    64: "the TLS certificate does not match the IP address",
}


def describe_certificate_error(exc: ssl.SSLCertVerificationError) -> str:
    """A short, distinct message per certificate problem (self-signed, expired, mismatch...)."""
    reason = _CERT_REASONS.get(exc.verify_code)
    detail = exc.verify_message or exc.reason or str(exc)
    return f"{reason} ({detail})" if reason else f"TLS certificate verification failed: {detail}"


def _readable(sock: socket.socket) -> bool:
    """True when a pooled idle connection has data or EOF waiting (so it is unusable)."""
    if sock.fileno() == -1:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _SocketStream(httpcore.NetworkStream):
    """A blocking socket whose every operation is bounded by the thread's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        seconds, by_deadline = _bounded(timeout, _DeadlineRead)
        try:
            self._sock.settimeout(seconds)
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            timed_out = _DeadlineRead if by_deadline else httpcore.ReadTimeout
            raise timed_out("read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        try:
            while view:
                seconds, by_deadline = _bounded(timeout, _DeadlineWrite)
                self._sock.settimeout(seconds)
                sent = self._sock.send(view)
                view = view[sent:]
        except TimeoutError as exc:
            timed_out = _DeadlineWrite if by_deadline else httpcore.WriteTimeout
            raise timed_out("write timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        seconds, by_deadline = _bounded(timeout, _DeadlineConnect)
        try:
            self._sock.settimeout(seconds)
            wrapped = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise TLSError(describe_certificate_error(exc)) from exc
        except ssl.SSLError as exc:
            self.close()
            raise TLSError(f"TLS handshake failed: {exc.reason or exc}") from exc
        except TimeoutError as exc:
            self.close()
            timed_out = _DeadlineConnect if by_deadline else httpcore.ConnectTimeout
            raise timed_out("TLS handshake timed out") from exc
        except OSError as exc:
            self.close()
            raise httpcore.ConnectError(f"TLS handshake failed: {exc}") from exc
        return _SocketStream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock  # has selected_alpn_protocol(), which is all httpcore asks
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves once, refuses blocked addresses, then connects to a checked address."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver,
                 dns: ThreadPoolExecutor) -> None:
        self._policy = policy
        self._resolver = resolver
        self._dns = dns

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[_SocketOption] | None = None,
                    ) -> httpcore.NetworkStream:
        """Resolve ``host`` once, refuse it if any answer is blocked, dial a checked answer."""
        addresses = self._policy.check_host(host, port)
        if addresses is None:
            addresses = self._policy.check_answers(host, port, self._resolve(host, port, timeout))
        last: Exception | None = None
        for ip in addresses:
            try:
                sock = self._dial(ip, port, timeout, local_address)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _SocketStream(sock)
        raise last if last is not None else httpcore.ConnectError(f"cannot connect to {host}")

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        # getaddrinfo has no timeout of its own: wait for it in a helper thread, bounded.
        wait, by_deadline = _bounded(timeout, _DeadlineConnect)
        future = self._dns.submit(self._resolver, host, port)
        try:
            return future.result(timeout=wait)
        except FutureTimeout as exc:
            future.cancel()
            timed_out = _DeadlineConnect if by_deadline else httpcore.ConnectTimeout
            raise timed_out(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise FetchError(f"cannot resolve {host!r}: {exc}") from exc

    @staticmethod
    def _dial(ip: IPAddress, port: int, timeout: float | None,
              local_address: str | None) -> socket.socket:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        by_deadline = False
        try:
            seconds, by_deadline = _bounded(timeout, _DeadlineConnect)
            sock.settimeout(seconds)
            if local_address is not None:
                sock.bind((local_address, 0))
            sock.connect((str(ip), port))
        except TimeoutError as exc:
            sock.close()
            timed_out = _DeadlineConnect if by_deadline else httpcore.ConnectTimeout
            raise timed_out(f"connecting to {ip} port {port} timed out") from exc
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(f"cannot connect to {ip} port {port}: {exc}") from exc
        except BaseException:
            sock.close()
            raise
        return sock


@contextmanager
def _translated() -> Iterator[None]:
    """httpcore exceptions -> monitor.errors, telling the total deadline from other timeouts."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        deadline = current_deadline()
        if deadline is not None and (isinstance(exc, _DeadlineHit) or deadline.expired()):
            raise FetchTimeoutError(f"total deadline of {deadline.total:g} s exceeded") from exc
        kind = {httpcore.ConnectTimeout: "connect", httpcore.ReadTimeout: "read",
                httpcore.WriteTimeout: "write", httpcore.PoolTimeout: "connection pool"}
        raise FetchTimeoutError(f"{kind.get(type(exc), 'request')} timed out") from exc
    except httpcore.UnsupportedProtocol as exc:
        raise UnsupportedSchemeError(str(exc)) from exc
    except httpcore.ProtocolError as exc:
        raise FetchError(f"HTTP protocol error: {exc}") from exc
    except httpcore.ConnectError as exc:
        raise FetchError(str(exc) or "cannot connect") from exc
    except (httpcore.NetworkError, httpcore.ProxyError) as exc:
        raise FetchError(f"connection failed: {exc}") from exc


class _ResponseStream(httpx.SyncByteStream):
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
    pool: httpcore.ConnectionPool
    in_flight: int = 0  # requests sent and responses not yet closed
    last_used: float = 0.0


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore pools that dial through :class:`GuardedBackend`.

    One connection pool per origin: httpcore's pool walks all of its connections for every
    queued request, which at 20 hosts x 8 connections cost more CPU than the requests did
    (and its surplus keep-alive closing is what races in encode/httpcore#1110). Per origin,
    the pool holds at most the per-host concurrency. Pools idle past the keep-alive expiry
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
                entry = self._pools[origin] = _OriginPool(httpcore.ConnectionPool(
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

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request (no redirects) and return the streaming response."""
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("GuardedTransport is synchronous")
        timeouts = dict(request.extensions.get("timeout", {}))
        deadline = current_deadline()
        if deadline is not None:  # the pool wait too must end by the deadline
            left = max(deadline.remaining(), 0.001)
            timeouts = {k: left if v is None else min(v, left) for k, v in timeouts.items()}
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
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
                raise TypeError("httpcore returned an async stream")
        except BaseException:
            self._checkin(entry)
            raise
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream,
                                                     functools.partial(self._checkin, entry)),
                              extensions=response.extensions)

    @staticmethod
    def _send(pool: httpcore.ConnectionPool, request: httpcore.Request) -> httpcore.Response:
        """One request; a GET that fails on a reused keep-alive connection before any response
        is sent once more (normally on a new connection).

        A pooled connection can die unseen between its last use and this one: the server
        closed it at that moment, or httpcore's pool closed it for surplus while assigning it
        (encode/httpcore#1110, which shows up as "Bad file descriptor"). Browsers and urllib3
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
        except (httpcore.ReadError, httpcore.WriteError, httpcore.RemoteProtocolError):
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
