"""The web view behind a real nginx under a path (``web.public_url: .../monitor/``): one proxy
passes the path on as is, one strips the prefix (``proxy_pass http://up/;``), as
``deploy/README.md`` shows, and one sends nginx's default Host (the upstream's address).
Signing in, pages, redirects, cookies and feeds must work through each, and a browser must
never leave ``/monitor/``.

CI installs nginx in ``.ci/run``; elsewhere these tests skip when nginx is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from monitor.web import WebServer, create_app, hash_password
from tests.web_support import config, seeded_store

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PUBLIC = "https://news.example.org/monitor/"
PASSWORD = "a long passphrase"

if not Path(NGINX).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install nginx (.ci/run)")
    pytest.skip("no nginx (apt-get install nginx-light)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """{"as is": url, "stripped": url}: two nginx servers in front of one web view."""
    folder = tmp_path_factory.mktemp("proxied")
    url = f"sqlite:///{folder / 'monitor.db'}"
    store = seeded_store(url)
    settings = config(folder, url, listen="127.0.0.1:0", public_url=PUBLIC,
                      users={"ana": hash_password(PASSWORD)})
    server = WebServer(create_app(settings, store), settings.web)
    server.start()
    upstream = int(server.url.split(":")[2].split("/")[0])
    as_is, stripped, own_host = _free_port(), _free_port(), _free_port()
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (folder / "nginx.conf").write_text(f"""
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    # Run as root, nginx's workers are "nobody", who cannot enter pytest's 0700 folders: no
    # temporary files (responses streamed, bodies in memory) and no files served.
    proxy_buffering off;
    client_body_buffer_size 1m;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    server {{
        listen 127.0.0.1:{as_is};
        location / {{ return 404; }}
        location /monitor/ {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $http_host;
        }}
    }}
    server {{
        listen 127.0.0.1:{stripped};
        location / {{ return 404; }}
        location /monitor/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_set_header Host $http_host;
        }}
    }}
    server {{
        listen 127.0.0.1:{own_host};
        location / {{ return 404; }}
        location /monitor/ {{
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
""", encoding="utf-8")
    nginx = subprocess.Popen([NGINX, "-p", str(folder), "-e", str(folder / "error.log"),
                              "-c", str(folder / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not all(_listening(port) for port in (as_is, stripped, own_host)):
            if nginx.poll() is not None or time.monotonic() > deadline:
                log = (folder / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx did not start: {log[-2000:]}")
            time.sleep(0.02)
        yield {"as is": f"http://127.0.0.1:{as_is}", "stripped": f"http://127.0.0.1:{stripped}",
               "own host": f"http://127.0.0.1:{own_host}"}
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.stop()
        store.close()
        for made in temp.values():  # nginx gave them to "nobody", mode 0700: later runs
            shutil.rmtree(made, ignore_errors=True)  # without root's powers could not clean up
    # nginx said nothing went wrong (an upstream that failed, a temporary file it could not
    # write: the page would have reached the test cut short or not at all)
    logged = (folder / "error.log").read_text(errors="replace")
    assert not [line for line in logged.splitlines() if "[error]" in line or "[crit]" in line]


LINK = re.compile(r'(?:href|action)="(/[^"]*)"')


@pytest.mark.parametrize("proxy", ["as is", "stripped", "own host"])
def test_sign_in_pages_and_feeds_through_the_proxy(proxies: dict[str, str], proxy: str) -> None:
    # a browser at the public address sends its origin with every form
    with httpx2.Client(base_url=proxies[proxy], follow_redirects=False, timeout=10,
                       headers={"Origin": PUBLIC.rsplit("/", 2)[0]}) as web:
        first = web.get("/monitor/rules")
        assert first.status_code == 303
        assert first.headers["location"] == "/monitor/login?next=/monitor/rules"
        login = web.get(first.headers["location"])
        assert login.status_code == 200
        assert "Path=/monitor/" in login.headers["set-cookie"]
        signed = web.post("/monitor/login", data={
            "user": "ana", "password": PASSWORD, "csrf": web.cookies["nm_csrf"],
            "next": "/monitor/rules"})
        assert signed.status_code == 303 and signed.headers["location"] == "/monitor/rules"
        rules = web.get("/monitor/rules")
        assert rules.status_code == 200
        links = LINK.findall(rules.text)
        assert links and all(link.startswith("/monitor/") for link in links)
        feed = next(link for link in links if "/feed.atom?token=" in link)
        atom = web.get(feed.replace("&amp;", "&"))
        assert atom.status_code == 200
        assert f'<link rel="self" href="{PUBLIC}{feed[len("/monitor/"):]}"' in atom.text
        assert web.get("/monitor/static/style.css").status_code == 200


def test_a_browser_stays_under_the_prefix_through_a_stripping_proxy(
        proxies: dict[str, str], tmp_path: Path) -> None:
    from tests.e2e.test_browser import CHROMIUM, FLAGS
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        page: Any = browser.new_page()
        page.set_default_timeout(15_000)
        paths: list[str] = []
        page.on("request", lambda r: paths.append(r.url.split("/", 3)[3]))
        page.goto(proxies["stripped"] + "/monitor/")
        page.wait_for_url(lambda u: "/monitor/login?next=" in u)
        page.get_by_label("User").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda u: u.endswith("/monitor/"))
        page.get_by_role("link", name="AS dan Rusia Gelar Negosiasi Rahasia").first.click()
        page.wait_for_url("**/monitor/stories/*")
        with page.expect_navigation():
            page.get_by_role("button", name="Not relevant", exact=True).first.click()
        assert page.locator(".verdict").first.inner_text().strip() == "Marked not relevant"
        page.get_by_role("link", name="Outbox", exact=True).click()
        page.wait_for_url("**/monitor/outbox")
        page.screenshot(path=str(tmp_path / "proxied-outbox.png"), full_page=True)
        browser.close()
    assert paths and [p for p in paths if not p.startswith("monitor/")] == []
