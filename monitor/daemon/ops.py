"""``/metrics``, ``/healthz`` and ``/readyz``: answered by :class:`OpsEndpoints`, served by
:class:`OpsServer` on ``metrics.listen``.

The answers do not depend on a web framework: :meth:`OpsEndpoints.answer` maps a path to
(status, content type, body), so the web view can serve the same three paths on its own
listener with one route each (``OpsEndpoints.PATHS``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.config import split_listen
from monitor.daemon.health import Liveness, readiness
from monitor.daemon.metrics import CONTENT_TYPE, Metrics
from monitor.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpsAnswer:
    status: int
    content_type: str
    body: bytes


class OpsEndpoints:
    """The three operator endpoints of one daemon."""

    PATHS = ("/metrics", "/healthz", "/readyz")

    def __init__(self, metrics: Metrics, liveness: Liveness, store: Store,
                 rules_loaded: Callable[[], bool]) -> None:
        self.metrics = metrics
        self.liveness = liveness
        self.store = store
        self.rules_loaded = rules_loaded

    def answer(self, path: str) -> OpsAnswer | None:
        """The answer for ``path`` (query string ignored), or None for any other path."""
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return OpsAnswer(200, CONTENT_TYPE, self.metrics.render())
        if path == "/healthz":
            check = self.liveness.check()
            return _json(200 if check.ok else 503, {"alive": check.ok, "detail": check.detail})
        if path == "/readyz":
            checks = readiness(self.store, self.rules_loaded)
            ready = all(check.ok for _, check in checks)
            return _json(200 if ready else 503, {
                "ready": ready,
                "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks}})
        return None


def _json(status: int, payload: object) -> OpsAnswer:
    return OpsAnswer(status, "application/json", json.dumps(payload).encode() + b"\n")


# Connections served at once, and how long one may take to send its request: without them
# 3,000 connections that never finished their headers held 3,000 of the daemon's threads (and
# 260 MB) for as long as they stayed open.
MAX_CONNECTIONS = 16
REQUEST_TIMEOUT_SECONDS = 10.0


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most :data:`MAX_CONNECTIONS` of them: one more is closed
    at once (a scraper retries at its next interval). Each gets
    :data:`REQUEST_TIMEOUT_SECONDS` in all: the handler's timeout is of each read, and a
    client sending a byte more often than that kept its thread for good. A client that goes
    away mid-answer is no error worth a traceback on standard error."""

    daemon_threads = True
    request_queue_size = 64  # socketserver's 5 dropped connections (clients retried 1-7 s later)

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        with self._lock:
            self._deadlines[request] = time.monotonic() + REQUEST_TIMEOUT_SECONDS
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: its slot is not coming back otherwise
            self._done(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(request)

    def _done(self, request: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(request, None)
        self._slots.release()

    def service_actions(self) -> None:
        # Called by serve_forever between polls: shutting an overdue socket ends its read.
        now = time.monotonic()
        with self._lock:
            overdue = [conn for conn, deadline in self._deadlines.items() if deadline < now]
        for conn in overdue:
            with contextlib.suppress(OSError):  # closed meanwhile: its answer was sent
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("ops endpoint: connection from %s ended early", client_address, exc_info=True)


class _Server6(_BoundedServer):
    address_family = socket.AF_INET6


class OpsServer:
    """A small threaded HTTP server for the endpoints (GET only, no other paths)."""

    def __init__(self, endpoints: OpsEndpoints, listen: str) -> None:
        host, port = split_listen(listen)

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT_SECONDS  # of each read and write on the connection

            def do_GET(self) -> None:
                try:
                    answer = endpoints.answer(self.path)
                except Exception:
                    log.exception("ops endpoint %s failed", self.path)
                    answer = OpsAnswer(500, "text/plain", b"internal error\n")
                if answer is None:
                    answer = OpsAnswer(404, "text/plain", b"not found\n")
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds would drown the log

        server_class = _Server6 if ":" in host else _BoundedServer
        self._server = server_class((host, port), Handler)
        bound_host, bound_port = self._server.server_address[:2]
        name = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        shown = f"[{name}]" if ":" in name else name
        self.url = f"http://{shown}:{bound_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("metrics and health at %s/metrics, /healthz, /readyz", self.url)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
