"""What happens on the wire during one send: the connect-time address check, and whether the
request was written.

apprise's HTTP plugins send with ``requests``, which resolves the host again when it connects.
Checking the address beforehand (:func:`~monitor.delivery.notify.check_destination`) is then
beaten by a DNS answer that changes between the two lookups (rebinding). So, during an attempt
(:func:`watching`), every connection urllib3 opens goes through :func:`_create_connection`:
the host is resolved once, every address is checked with the attempt's
:class:`~monitor.net.AddressPolicy`, and the socket is connected to a checked address. urllib3
keeps the original host for the ``Host`` header and the TLS server name (SNI and certificate
check), so nothing else changes. Outside an attempt (no :class:`Attempt` in the context) the
hook calls urllib3's own function: nothing else in the process is affected.

The same attempt also notes whether a request was written (the ``http.client.send`` audit
event, raised just before the bytes go out): a failure after that point, with no HTTP answer,
may have reached the receiver, and is "outcome unknown" rather than a plain failure. Mail
goes through ``smtplib`` (its ``smtplib.send`` event): a message whose final ``.`` was sent
and that got no reply (smtplib sends its next command, ``RSET`` or ``QUIT``, only after
one; a timeout closes the connection) may have been accepted, since a slow server often
delivers what it was too slow to confirm; a message the server answered, even with a
refusal, is a known outcome. Once the attempt is settled, neither kind of request may go out.

apprise runs a plugin in a worker thread when it has a deadline; it copies the context
(``contextvars``) into the worker, so the attempt follows the request there.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import urllib3.util.connection as urllib3_connection

from monitor.errors import BlockedAddressError, FetchError, InvalidURLError
from monitor.net import AddressPolicy, Resolver, default_resolver

__all__ = ["Attempt", "watching"]


@dataclass
class Attempt:
    """One send's view of the wire. ``policy`` None: no address check (a service whose host is
    fixed, like Slack's API); ``resolver`` replaces DNS (tests)."""

    policy: AddressPolicy | None = None
    resolver: Resolver | None = None
    connected: bool = False  # a TCP connection was established
    written: bool = False  # request bytes were handed to a socket
    blocked: str | None = None  # why a connection was refused by the address policy
    closed: bool = False  # the attempt's outcome is settled: nothing more may be sent
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # SMTP connections (by id) whose last message was sent whole and not answered yet.
    _unanswered: set[int] = field(default_factory=set, repr=False)

    def _check_open(self) -> None:
        if self.closed:
            # apprise gave up waiting (its deadline) but its worker thread goes on: the
            # outcome is already recorded, so this request must not go out any more.
            raise ConnectionAbortedError("the attempt's deadline has passed")

    def _writing(self) -> None:
        with self._lock:
            self._check_open()
            self.written = True

    def _smtp_sending(self, connection: object, data: object) -> None:
        with self._lock:
            self._check_open()
            # Any command after a message's final dot follows the server's reply to it.
            self._unanswered.discard(id(connection))
            if isinstance(data, bytes) and data.endswith(_END_OF_MESSAGE):
                self._unanswered.add(id(connection))

    def close(self) -> bool:
        """Settle the attempt: no request may be written from now on. Returns whether one was
        written and may have reached the receiver, whatever apprise reported (an HTTP
        request, or a whole mail message the server did not answer)."""
        with self._lock:
            self.closed = True
            return self.written or bool(self._unanswered)


class BlockedConnectionError(ConnectionRefusedError):
    """A connection refused by the address policy at connect time."""


_current: ContextVar[Attempt | None] = ContextVar("monitor_send_attempt", default=None)
_original = urllib3_connection.create_connection
_install_lock = threading.Lock()


_END_OF_MESSAGE = b"\r\n.\r\n"  # how smtplib ends the message it sends after DATA


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "http.client.send":
        attempt = _current.get()
        if attempt is not None:
            attempt._writing()
    elif event == "smtplib.send":  # args: the smtplib.SMTP object, the bytes it sends
        attempt = _current.get()
        if attempt is not None:
            attempt._smtp_sending(args[0], args[1])


def _create_connection(address: tuple[str, int],
                       timeout: Any = None,
                       source_address: tuple[str, int] | None = None,
                       socket_options: Any = None) -> socket.socket:
    attempt = _current.get()
    if attempt is None:
        return _original(address, timeout, source_address, socket_options)
    if attempt.closed:
        raise ConnectionAbortedError("the attempt's deadline has passed")
    host, port = address
    targets: list[tuple[str, int]] = [address]
    if attempt.policy is not None:
        name = host.strip("[]")
        try:
            checked = attempt.policy.check_host(name, port)
            if checked is None:
                checked = attempt.policy.check_answers(
                    name, port, (attempt.resolver or default_resolver)(name, port))
        except (BlockedAddressError, InvalidURLError) as exc:
            attempt.blocked = str(exc)
            raise BlockedConnectionError(f"connection refused by the address policy: {exc}") \
                from None
        except FetchError as exc:
            raise socket.gaierror(str(exc)) from None
        targets = [(str(ip), port) for ip in checked]
    error: OSError | None = None
    for target in targets:  # the checked addresses, in the resolver's order
        try:
            sock = _original(target, timeout, source_address, socket_options)
        except OSError as exc:
            error = exc
            continue
        attempt.connected = True
        return sock
    assert error is not None
    raise error


def _install() -> None:
    with _install_lock:
        if urllib3_connection.create_connection is _create_connection:
            return
        sys.addaudithook(_audit)  # audit hooks stay for the process's life: install once
        urllib3_connection.create_connection = _create_connection


@contextmanager
def watching(attempt: Attempt) -> Iterator[Attempt]:
    """Route the connections opened in this context (and the workers apprise starts from it)
    through ``attempt``'s address check, and record what reached the wire."""
    _install()
    token = _current.set(attempt)
    try:
        yield attempt
    finally:
        _current.reset(token)
