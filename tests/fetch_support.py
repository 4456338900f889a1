"""Loopback servers, a network guard, a fake clock and test certificates for the fetch tests.

Every server here listens on 127.0.0.x only. :class:`NetworkGuard` (a ``sys.addaudithook``
hook) records every ``socket.connect`` and file ``open`` while it is active and refuses any
connection to a non-loopback address, so a bug can never send a test's traffic elsewhere.
Beneath it, :func:`loopback_only` holds for the whole suite (``tests/conftest.py``), with
the rule of ``tests/sandbox/sitecustomize.py`` (which every subprocess of the suite loads): a
connect to anything but loopback is refused as a closed port would be, and a name other than
``localhost`` does not resolve (no DNS query leaves the machine); here the test that tried
also fails at its end, naming what it tried.
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import HttpConfig
from monitor.net.fetch import Fetcher
from tests.sandbox.sitecustomize import outside_loopback, refusal

# -- network guard -----------------------------------------------------------------------------


class ForbiddenConnectError(AssertionError):
    """A test tried to connect somewhere other than loopback."""


@dataclass
class _GuardState:
    active: bool = False
    standing: bool = False  # loopback_only(): outside traffic refused in every test
    connects: list[tuple[str, int]] = field(default_factory=list)
    opens: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # what the standing guard stopped


_STATE = _GuardState()
_INSTALLED = False
_LOCK = threading.Lock()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not (_STATE.active or _STATE.standing):
        return
    if event == "open":
        if _STATE.active and isinstance(args[0], str | bytes | Path):
            _STATE.opens.append(str(args[0]))
        return
    if event == "socket.connect" and _STATE.active:
        address = args[1]
        if isinstance(address, tuple) and address:
            _STATE.connects.append((str(address[0]), int(address[1])))
    what = outside_loopback(event, args)
    if what is None:
        return
    if _STATE.active and event == "socket.connect":
        raise ForbiddenConnectError(f"test tried to {what}")
    _STATE.refused.append(what)
    raise refusal(what)


def _install() -> None:
    global _INSTALLED
    with _LOCK:
        if not _INSTALLED:
            sys.addaudithook(_hook)
            _INSTALLED = True


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse traffic outside loopback for the block: yields the list of what was refused
    (connects and name lookups), for the caller to fail on."""
    _install()
    _STATE.refused.clear()
    _STATE.standing = True
    try:
        yield _STATE.refused
    finally:
        _STATE.standing = False


class NetworkGuard:
    """Records connects and opens; refuses non-loopback connects. One per test."""

    def __enter__(self) -> NetworkGuard:
        _install()
        _STATE.connects.clear()
        _STATE.opens.clear()
        _STATE.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        _STATE.active = False

    @property
    def connects(self) -> list[tuple[str, int]]:
        return list(_STATE.connects)

    @property
    def opens(self) -> list[str]:
        return list(_STATE.opens)

    def reset(self) -> None:
        _STATE.connects.clear()
        _STATE.opens.clear()


# -- fake clock and resolvers ----------------------------------------------------------------


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MapResolver:
    """Answers from a fixed table; counts lookups. Unknown names fail like DNS does."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: Counter[str] = Counter()

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls[host] += 1
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


class FlipResolver:
    """DNS rebinding: the first answer for a name is ``first``, every later one ``then``."""

    def __init__(self, first: list[str], then: list[str]) -> None:
        self.first, self.then = first, then
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return list(self.first if self.calls == 1 else self.then)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or the deadline passes (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    event = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        event.wait(0.01)
    return predicate()


# -- an HTTP server on loopback ----------------------------------------------------------------

Route = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    """Dispatches to the server's routes; records every request."""

    protocol_version = "HTTP/1.1"
    server: _Server
    posted_body = b""  # a POST's body, read before its route runs

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        with owner.lock:
            owner.hits[path] += 1
            owner.requests.append((self.path, dict(self.headers.items())))
        route = owner.routes.get(self.path) or owner.routes.get(path)
        try:
            if route is None:
                self.reply(404, b"not found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def do_POST(self) -> None:
        """As GET, the request body kept in the server's ``posted`` (path, body) list first."""
        length = int(self.headers.get("Content-Length") or 0)
        posted = self.posted_body = self.rfile.read(length) if length else b""
        with self.server.owner.lock:
            self.server.owner.posted.append((self.path, posted))
        self.do_GET()

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              ) -> None:
        """Send a complete response; Content-Length is added unless given."""
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    @property
    def stopping(self) -> threading.Event:
        return self.server.owner.stop_event


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-response is what several tests do on purpose


class LocalServer:
    """A threaded HTTP(S) server on a loopback address with a route table and hit counts."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.posted: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self._httpd = _Server((host, port), Handler)
        self._httpd.owner = self
        if tls is not None:  # handshake lazily in the handler thread, not in accept()
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.host, self.port = host, self._httpd.server_address[1]
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def route(self, path: str, status: int = 200, body: bytes = b"",
              headers: dict[str, str] | None = None) -> None:
        """Serve a fixed response at ``path``."""
        self.routes[path] = lambda h: h.reply(status, body, headers)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.route(path, status, b"", {"Location": location})


# -- a raw TCP server for misbehaving peers -------------------------------------------------------

Behaviour = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """Accepts on loopback and runs ``behaviour(conn, stop)`` per connection in a thread."""

    def __init__(self, behaviour: Behaviour, host: str = "127.0.0.1") -> None:
        self._behaviour = behaviour
        self.stop = threading.Event()
        self.accepted = 0
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.02)
        self.host, self.port = host, self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._sock.close()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):  # the client hanging up is the usual end
            self._behaviour(conn, self.stop)


def read_request_head(conn: socket.socket, stop: threading.Event) -> bytes:
    """Read until the end of the request head (or stop)."""
    conn.settimeout(0.05)
    data = b""
    while b"\r\n\r\n" not in data and not stop.is_set():
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


# -- fetchers ------------------------------------------------------------------------------------


@contextmanager
def fetcher_for(*servers: LocalServer | RawServer, resolver: Callable[[str, int], list[str]]
                | None = None, clock: Callable[[], float] | None = None,
                ssl_context: ssl.SSLContext | None = None, **http: Any) -> Iterator[Fetcher]:
    """A Fetcher allowed to reach exactly these servers' (address, port), nothing else."""
    config = HttpConfig(**{"respect_robots_txt": False, **http})
    fetcher = Fetcher(config, resolver=resolver, clock=clock, ssl_context=ssl_context,
                      allow_endpoints=[(s.host, s.port) for s in servers])
    try:
        yield fetcher
    finally:
        fetcher.close()


# -- certificates (needs the cryptography package) -------------------------------------------


@dataclass
class Pki:
    """A throw-away CA and a helper to issue leaf certificates from it."""

    directory: Path
    ca_cert_pem: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert_pem))


def make_pki(directory: Path) -> tuple[Pki, Callable[..., ssl.SSLContext]]:
    """A CA under ``directory`` and ``issue(names, days_valid=..., expired=..., self_signed=...)``
    returning a server SSLContext for a new leaf certificate."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = key()
    ca_cert = (
        x509.CertificateBuilder().subject_name(name("newsmonitor test CA"))
        .issuer_name(name("newsmonitor test CA")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        # Key identifiers: Python 3.13's default context (VERIFY_X509_STRICT) refuses a chain
        # without them, as real CAs issue them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    counter = iter(range(1_000_000))

    def issue(names: list[str], *, expired: bool = False,
              self_signed: bool = False) -> ssl.SSLContext:
        leaf_key = key()
        start, end = ((now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired
                      else (now - dt.timedelta(days=1), now + dt.timedelta(days=30)))
        issuer, signer = (name(names[0]), leaf_key) if self_signed else (
            ca_cert.subject, ca_key)
        cert = (
            x509.CertificateBuilder().subject_name(name(names[0])).issuer_name(issuer)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                signer.public_key()), critical=False)
            .sign(signer, hashes.SHA256())
        )
        index = next(counter)
        cert_path, key_path = directory / f"leaf{index}.pem", directory / f"leaf{index}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        return context

    return Pki(directory, ca_pem), issue


# -- Google News's resolution endpoints ---------------------------------------------------------


def google_news_id(serial: int) -> str:
    """An article id in Google News's current format: base64url of a small protobuf message
    whose string is an opaque ``AU_yqL...`` key, not the publisher's URL."""
    message = b"\x08\x13\x22\x40" + f"AU_yqL{serial:058d}".encode()
    return base64.urlsafe_b64encode(message).decode().rstrip("=")


class FakeGoogleNews:
    """The two endpoints through which Google's own page resolves a current-format link,
    served on a :class:`LocalServer`: the article page, carrying a signature and a timestamp
    for the id (``data-n-a-sg``, ``data-n-a-ts``), and ``batchexecute``, which answers the
    ``Fbv4je`` call with the publisher URL when the id, timestamp and signature agree (else
    with Google's error row, which names no URL)."""

    RPC_PATH = "/_/DotsSplashUi/data/batchexecute"

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.known: dict[str, tuple[str, str, int]] = {}  # id -> (target, signature, time)
        self.calls: list[list[Any]] = []  # each call's garturlreq arguments
        server.routes[self.RPC_PATH] = self._rpc

    def add(self, article_id: str, target: str, signature: str = "AU_yqLsig-1",
            timestamp: int = 1764900000) -> None:
        self.known[article_id] = (target, signature, timestamp)
        page = (f'<!doctype html><html><body><c-wiz jsrenderer="x"><div jscontroller="aLI87" '
                f'data-n-a-id="{article_id}" data-n-a-sg="{signature}" '
                f'data-n-a-ts="{timestamp}"></div></c-wiz></body></html>')
        self.server.route(f"/rss/articles/{article_id}", body=page.encode(),
                          headers={"Content-Type": "text/html; charset=utf-8"})

    def _rpc(self, handler: Handler) -> None:
        form = urllib.parse.parse_qs(handler.posted_body.decode())
        envelope = json.loads(form["f.req"][0])
        rpc, inner = envelope[0][0][0], json.loads(envelope[0][0][1])
        with self.server.lock:
            self.calls.append(inner)
        _kind, _context, article_id, timestamp, signature = inner
        target, expected_signature, expected_time = self.known.get(article_id, ("", "", 0))
        payload = (json.dumps(["garturlres", target, 1])
                   if rpc == "Fbv4je" and target and signature == expected_signature
                   and timestamp == expected_time else None)
        rows = [["wrb.fr", "Fbv4je", payload, None, None, None if payload else [3], "generic"],
                ["di", 27], ["af.httprm", 26, "-5346810339498935540", 8]]
        handler.reply(200, (")]}'\n\n" + json.dumps(rows)).encode(),
                      {"Content-Type": "application/json; charset=utf-8"})
