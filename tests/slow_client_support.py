"""A client slower than every timeout: it sends a request a byte at a time, and a server
that times each read alone (not the whole request) never closes on it."""

from __future__ import annotations

import contextlib
import select
import socket
import time


def served_until_closed(conn: socket.socket, drip: bytes, within: float) -> bytes:
    """Sends ``drip`` a byte at a time, a tenth of a second apart, until the server closes
    the connection; returns what it answered. Fails if it is still open after ``within``."""
    answer = b""
    deadline = time.monotonic() + within
    for byte in drip:
        readable, _, _ = select.select([conn], [], [], 0.1)
        if readable:
            with contextlib.suppress(ConnectionResetError):
                while chunk := conn.recv(65536):
                    answer += chunk
            return answer
        assert time.monotonic() < deadline, "the server kept the connection open"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(bytes([byte]))
    raise AssertionError("the drip ran out before the server closed the connection")
