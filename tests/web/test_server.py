"""The real server (uvicorn on a loopback port): behind a TLS proxy on the same host, and
against connections that send no request."""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import SplitResult, urlencode, urlsplit

import pytest

from monitor.web import WebServer, create_app, hash_password
from monitor.web import app as app_module
from monitor.web import server as server_module
from tests.slow_client_support import served_until_closed
from tests.web_support import config, seeded_store


def _request(url: str, method: str, path: str, headers: dict[str, str],
             body: str | None = None) -> tuple[int, list[str], str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
        return response.status, cookies, response.read().decode()
    finally:
        conn.close()


@contextlib.contextmanager
def _serving(sqlite_url: str, tmp_path: Path) -> Iterator[SplitResult]:
    """The web view over a seeded store, served on a loopback port: its URL's parts."""
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, listen="127.0.0.1:0")
    server = WebServer(create_app(cfg, store), cfg.web)
    server.start()
    try:
        yield urlsplit(server.url)
    finally:
        server.stop()
        store.close()


def test_cookies_are_secure_behind_a_tls_proxy_on_this_host(sqlite_url: str,
                                                            tmp_path: Path) -> None:
    """nginx as deploy/README.md sets it up: Host kept, X-Forwarded-Proto: https."""
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, listen="127.0.0.1:0",
                 users={"ana": hash_password("s3cret")})
    server = WebServer(create_app(cfg, store), cfg.web)
    server.start()
    proxied = {"Host": "news.example.org", "X-Forwarded-Proto": "https",
               "X-Forwarded-For": "198.51.100.7"}
    try:
        status, cookies, page = _request(server.url, "GET", "/login", proxied)
        assert status == 200 and any(c.startswith("nm_csrf=") for c in cookies)
        assert all("secure" in c.lower() for c in cookies), cookies
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        form = urlencode({"user": "ana", "password": "s3cret", "csrf": token.group(1),
                          "next": "/"})
        status, cookies, _ = _request(server.url, "POST", "/login", {
            **proxied, "Origin": "https://news.example.org",
            "Cookie": f"nm_csrf={token.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded"}, form)
        assert status == 303
        session = [c for c in cookies if c.startswith("nm_session=")]
        assert session and "secure" in session[0].lower(), cookies
    finally:
        server.stop()
        store.close()


def test_connections_without_a_request_are_closed_and_capped(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn times out idle keep-alive connections only: 1,100 connections that sent
    nothing held 1,100 file descriptors for good, and a daemon under the usual limit of
    1,024 then failed to start its extraction workers."""
    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 20)
    monkeypatch.setattr(server_module, "REQUEST_HEAD_SECONDS", 0.5)
    idle: list[socket.socket] = []
    with _serving(sqlite_url, tmp_path) as parts, contextlib.ExitStack() as closing:
        for i in range(30):
            conn = socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10)
            closing.enter_context(conn)
            conn.sendall(b"GET / HTTP/1.1\r\n" if i % 2 else b"")  # a head begun, or nothing
            idle.append(conn)
        started = time.monotonic()
        for conn in idle:  # each is closed by the server: at once past the cap, else soon
            with contextlib.suppress(ConnectionResetError):
                assert conn.recv(100) == b""
        assert time.monotonic() - started < 5
        # A request sent at once is answered, and its kept-alive connection serves another.
        kept = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        for _ in range(2):
            kept.request("GET", "/rules", headers={"Host": "127.0.0.1"})
            response = kept.getresponse()
            assert response.status == 200 and "gaza-ceasefire" in response.read().decode()
        kept.close()


def test_forwarded_headers_are_believed_only_from_the_trusted_proxies(sqlite_url: str,
                                                                      tmp_path: Path) -> None:
    """A proxy in another container or host connects from its own address: listed in
    web.trusted_proxies, its X-Forwarded-Proto makes cookies Secure and its X-Forwarded-For
    names the client; from an address not listed, both headers are anyone's and ignored."""
    store = seeded_store(sqlite_url)
    proxied = {"Host": "news.example.org", "X-Forwarded-Proto": "https",
               "X-Forwarded-For": "198.51.100.7"}
    try:
        for trusted, secure in ((["192.0.2.0/24"], False), (["127.0.0.0/8"], True)):
            cfg = config(tmp_path, sqlite_url, listen="127.0.0.1:0", trusted_proxies=trusted,
                         users={"ana": hash_password("s3cret")})
            server = WebServer(create_app(cfg, store), cfg.web)
            server.start()
            try:
                status, cookies, _ = _request(server.url, "GET", "/login", proxied)
                assert status == 200 and cookies
                assert all(("secure" in c.lower()) == secure for c in cookies), (trusted,
                                                                                 cookies)
            finally:
                server.stop()
    finally:
        store.close()


def test_a_request_dripped_a_byte_at_a_time_is_cut_off(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any data stops uvicorn's keep-alive timer, and nothing times a body: a client that
    sent its next request head, or a form's body, a byte now and then held the connection
    (and the request) for as long as it liked."""
    monkeypatch.setattr(server_module, "REQUEST_HEAD_SECONDS", 0.5)
    monkeypatch.setattr(app_module, "BODY_SECONDS", 0.5)
    endless = b"X-Pad: " + b"a" * 10_000
    with _serving(sqlite_url, tmp_path) as parts:
        with socket.create_connection((parts.hostname or "", parts.port or 0), 10) as conn:
            conn.sendall(b"GET /rules HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = b""
            while b"</html>" not in first:
                first += conn.recv(65536)
            assert first.startswith(b"HTTP/1.1 200")
            # The next head, begun at once and never finished: no second answer, closed.
            assert served_until_closed(conn, b"GET /rules HTTP/1.1\r\n" + endless, 5) == b""
        with socket.create_connection((parts.hostname or "", parts.port or 0), 10) as conn:
            conn.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                         b"application/x-www-form-urlencoded\r\nContent-Length: 20000\r\n\r\n")
            answer = served_until_closed(conn, b"user=" + b"a" * 19_995, 5)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"took over 0.5 s to arrive" in answer
        # The server still answers others at once.
        status, _, page = _request(parts.geturl(), "GET", "/rules", {"Host": "127.0.0.1"})
        assert status == 200 and "gaza-ceasefire" in page
