"""Real local delivery endpoints: an HTTP receiver that records requests, an SMTP sink.

Registered as a pytest plugin in ``tests/conftest.py`` so every test module can use the
``receiver`` and ``smtp`` fixtures.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP endpoint recording every request; ``/status/NNN/...`` answers NNN."""

    host: str = "127.0.0.1"
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    reply: bytes = b'{"ok": true, "result": {}}'
    redirect_to: str | None = None
    statuses: list[int] = field(default_factory=list)  # answered in turn before path rules
    delay: float = 0.0  # server-side latency per request, to widen a crash window
    server: ThreadingHTTPServer | None = None

    def hits_for(self, prefix: str) -> list[Hit]:
        return [h for h in self.hits if h.path.startswith(prefix)]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if receiver.delay:
                time.sleep(receiver.delay)  # emulated server latency, not a test wait
            size = int(self.headers.get("Content-Length") or 0)
            receiver.hits.append(Hit("POST", self.path, dict(self.headers.items()),
                                     self.rfile.read(size)))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            match = re.match(r"/status/(\d{3})", self.path)
            if match:
                status = int(match.group(1))
            if self.path.startswith("/redirect") and receiver.redirect_to:
                self.send_response(302)
                self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender was killed mid-request (the SIGKILL tests do that on purpose)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


def start_receiver(rec: Receiver) -> None:
    """Start (or restart, on the same port) the receiver's HTTP server."""
    server = ThreadingHTTPServer((rec.host, rec.port), _handler(rec))
    rec.port = server.server_address[1]
    rec.server = server
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()


def stop_receiver(rec: Receiver) -> None:
    """Take the receiver down: connections are refused until it is started again."""
    if rec.server is not None:
        rec.server.shutdown()
        rec.server.server_close()
        rec.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    start_receiver(rec)
    yield rec
    stop_receiver(rec)


class Sink:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)
                for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


