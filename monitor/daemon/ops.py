"""``/metrics``, ``/healthz`` and ``/readyz``: answered by :class:`OpsEndpoints`, served by
:class:`OpsServer` on ``metrics.listen``.

The answers do not depend on a web framework: :meth:`OpsEndpoints.answer` maps a path to
(status, content type, body), so the web view can serve the same three paths on its own
listener with one route each (``OpsEndpoints.PATHS``).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class OpsServer:
    """A small threaded HTTP server for the endpoints (GET only, no other paths)."""

    def __init__(self, endpoints: OpsEndpoints, listen: str) -> None:
        host, port = split_listen(listen)

        class Handler(BaseHTTPRequestHandler):
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

        server_class = _Server6 if ":" in host else ThreadingHTTPServer
        self._server = server_class((host, port), Handler)
        self._server.daemon_threads = True
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
