"""The network backend under the transport: resolve once, check, dial the checked address.

httpx2 would resolve the host itself after any URL check, which leaves a DNS-rebinding window,
and it has no total deadline. This backend uses httpcore2's public network-backend hook:

* :meth:`GuardedBackend.connect_tcp` resolves the host once (or reads a literal address),
  passes every answer through :class:`~monitor.net.netpolicy.AddressPolicy` and connects to one
  of those very addresses. TLS still uses the host name for SNI and certificate verification,
  because httpcore2 passes ``server_hostname`` to ``start_tls``.
* Every socket operation (DNS wait, connect, TLS handshake, each read and write) is given
  ``min(its own timeout, time left before the deadline)``, where the deadline is the one set
  by :func:`~monitor.net.deadline.deadline_scope` in the calling thread. A server that
  trickles one byte a second, stalls after the headers or never answers is cut off at the
  total deadline.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import httpcore2

from monitor.errors import FetchError, TLSError
from monitor.net.deadline import current_deadline
from monitor.net.netpolicy import AddressPolicy, IPAddress, Resolver

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class DeadlineHit(Exception):
    """Marks a timeout that the total deadline caused (not the operation's own timeout)."""


class _DeadlineConnect(httpcore2.ConnectTimeout, DeadlineHit):
    pass


class _DeadlineRead(httpcore2.ReadTimeout, DeadlineHit):
    pass


class _DeadlineWrite(httpcore2.WriteTimeout, DeadlineHit):
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


class _SocketStream(httpcore2.NetworkStream):
    """A blocking socket whose every operation is bounded by the thread's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        seconds, by_deadline = _bounded(timeout, _DeadlineRead)
        try:
            self._sock.settimeout(seconds)
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            timed_out = _DeadlineRead if by_deadline else httpcore2.ReadTimeout
            raise timed_out("read timed out") from exc
        except OSError as exc:
            raise httpcore2.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        try:
            while view:
                seconds, by_deadline = _bounded(timeout, _DeadlineWrite)
                self._sock.settimeout(seconds)
                sent = self._sock.send(view)
                view = view[sent:]
        except TimeoutError as exc:
            timed_out = _DeadlineWrite if by_deadline else httpcore2.WriteTimeout
            raise timed_out("write timed out") from exc
        except OSError as exc:
            raise httpcore2.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
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
            timed_out = _DeadlineConnect if by_deadline else httpcore2.ConnectTimeout
            raise timed_out("TLS handshake timed out") from exc
        except OSError as exc:
            self.close()
            raise httpcore2.ConnectError(f"TLS handshake failed: {exc}") from exc
        return _SocketStream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock  # has selected_alpn_protocol(), which is all httpcore2 asks
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


class GuardedBackend(httpcore2.NetworkBackend):
    """Resolves once, refuses blocked addresses, then connects to a checked address."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver,
                 dns: ThreadPoolExecutor) -> None:
        self._policy = policy
        self._resolver = resolver
        self._dns = dns

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[_SocketOption] | None = None,
                    ) -> httpcore2.NetworkStream:
        """Resolve ``host`` once, refuse it if any answer is blocked, dial a checked answer."""
        addresses = self._policy.check_host(host, port)
        if addresses is None:
            addresses = self._policy.check_answers(host, port, self._resolve(host, port, timeout))
        last: Exception | None = None
        for ip in addresses:
            try:
                sock = self._dial(ip, port, timeout, local_address)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _SocketStream(sock)
        raise last if last is not None else httpcore2.ConnectError(f"cannot connect to {host}")

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        # getaddrinfo has no timeout of its own: wait for it in a helper thread, bounded.
        wait, by_deadline = _bounded(timeout, _DeadlineConnect)
        future = self._dns.submit(self._resolver, host, port)
        try:
            return future.result(timeout=wait)
        except FutureTimeout as exc:
            future.cancel()
            timed_out = _DeadlineConnect if by_deadline else httpcore2.ConnectTimeout
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
            timed_out = _DeadlineConnect if by_deadline else httpcore2.ConnectTimeout
            raise timed_out(f"connecting to {ip} port {port} timed out") from exc
        except OSError as exc:
            sock.close()
            raise httpcore2.ConnectError(f"cannot connect to {ip} port {port}: {exc}") from exc
        except BaseException:
            sock.close()
            raise
        return sock
