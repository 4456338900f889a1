"""Serving the app with uvicorn: in the foreground (``monitor web``) or in a thread beside the
daemon (``monitor run``).

uvicorn times out idle keep-alive connections but not one that never sends a request: 1,100
such connections held 1,100 file descriptors for as long as their clients liked, and a
daemon under the usual limit of 1,024 then failed to start its extraction workers (measured).
Nor one that answers a response with a byte of its next request now and then: any data stops
the keep-alive timer. :class:`GuardedH11` closes a connection whose next request head has not
arrived within :data:`REQUEST_HEAD_SECONDS` of its opening or of the last response, and any
beyond :data:`MAX_CONNECTIONS` at once. (A body's own deadline is the app's: see
``monitor.web.app``.)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from monitor.config import WebConfig, split_listen
from monitor.errors import MonitorError

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 512  # a few hundred browsers' worth; the rest of the process keeps its files
REQUEST_HEAD_SECONDS = 10.0


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the two limits above."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > MAX_CONNECTIONS:
            transport.close()
            return
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def _await_head(self) -> None:
        # A new request head makes a new cycle: the one of now still there at the deadline,
        # and answered (or None: no request yet), means none came. A pipelined request may
        # already have one under way; its own response arms the next deadline. Read from the
        # instance: uvicorn's annotation says it is always set.
        self.loop.call_later(REQUEST_HEAD_SECONDS, self._head_overdue, vars(self).get("cycle"))

    def _head_overdue(self, then: RequestResponseCycle | None) -> None:
        if (vars(self).get("cycle") is then and (then is None or then.response_complete)
                and not self.transport.is_closing()):
            self.transport.close()


class WebServer:
    """One uvicorn server; ``start`` runs it in a thread, ``stop`` ends it."""

    def __init__(self, app: Starlette, web: WebConfig) -> None:
        host, port = split_listen(web.listen)
        self._host = host
        self._path = web.base_path + "/"  # the app answers there (and without it)
        self.url = _url(host, port, self._path)
        self._server = uvicorn.Server(uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False,
            # X-Forwarded-Proto and -For from web.trusted_proxies (this host by default): behind
            # TLS the request is https, so cookies get Secure (deploy/README.md's setups), and
            # the client's address is the one sign-in failures are counted against
            proxy_headers=True, forwarded_allow_ips=web.trusted_proxies,
            lifespan="off", http=GuardedH11))
        self._thread: threading.Thread | None = None

    def serve(self) -> None:
        """Serve in the foreground until SIGINT or SIGTERM."""
        self._server.run()

    def start(self, timeout: float = 10.0) -> None:
        """Serve in a daemon thread; returns once it listens (MonitorError if it cannot)."""
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise MonitorError(f"the web view could not listen on {self.url}")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:  # the port chosen when web.listen asked for port 0
            self.url = _url(self._host, sockets[0].getsockname()[1], self._path)
        log.info("web view at %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)


def _url(host: str, port: int, path: str) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 (shown, not bound)
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}{path}"
