"""The real server (uvicorn on a loopback port): behind a TLS proxy on the same host."""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from monitor.web import WebServer, create_app, hash_password
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
