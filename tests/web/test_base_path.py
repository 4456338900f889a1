"""The web view under a path prefix (``web.public_url: https://news.example.org/monitor/``),
as a reverse proxy serves it, whether the proxy passes the prefix on or strips it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from starlette.testclient import TestClient

from monitor.store import Access, Store
from monitor.web import add_routes, hash_password, probe_routes
from tests.web_support import client, config, seeded_store

PUBLIC = "https://news.example.org/monitor/"
PAGES = ["/", "/stories/1", "/rules", "/search?q=Gaza", "/feeds", "/outbox"]
LINK = re.compile(r'(?:href|action)="(/[^"]*)"')


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    seeded = seeded_store(sqlite_url)
    yield seeded
    seeded.close()


@pytest.fixture
def open_site(store: Store, sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """No authentication, so addressed at a loopback name (the proxy's Host: 127.0.0.1)."""
    with client(store, config(tmp_path, sqlite_url, public_url=PUBLIC)) as c:
        yield c


@pytest.mark.parametrize("prefix", ["/monitor", ""])
def test_every_link_and_form_stays_under_the_prefix(open_site: TestClient,
                                                    prefix: str) -> None:
    # "" is a proxy that strips the prefix: the page is the same
    for page in PAGES:
        answer = open_site.get(prefix + page)
        assert answer.status_code == 200, page
        links = LINK.findall(answer.text)
        assert links, page
        outside = [link for link in links if not link.startswith("/monitor/")]
        assert outside == [], f"{page} links outside /monitor/: {outside}"
        for link in {link.split("#")[0] for link in links
                     if "feedback" not in link and "logout" not in link
                     and "retry" not in link}:
            assert open_site.get(link.replace("&amp;", "&")).status_code in (200, 303), link


def test_the_prefix_alone_redirects_and_unknown_paths_are_404(open_site: TestClient) -> None:
    bare = open_site.get("/monitor?rule=gaza-ceasefire")
    assert bare.status_code == 308
    assert bare.headers["location"] == "/monitor/?rule=gaza-ceasefire"
    assert open_site.get("/monitor/nothing-here").status_code == 404
    assert open_site.get("/monitorx/").status_code == 404
    assert open_site.get("/monitor/static/style.css").status_code == 200


def test_writes_redirect_and_cookies_stay_under_the_prefix(open_site: TestClient) -> None:
    first = open_site.get("/monitor/stories/1")
    cookie = first.headers["set-cookie"]
    assert "nm_csrf=" in cookie and "Path=/monitor/" in cookie
    token = str(open_site.cookies["nm_csrf"])
    hit = re.search(r'action="/monitor/hits/(\d+)/feedback"', first.text)
    assert hit is not None
    marked = open_site.post(f"/monitor/hits/{hit[1]}/feedback",
                            data={"verdict": "relevant", "csrf": token})
    assert marked.status_code == 303 and marked.headers["location"] == f"/monitor/hits/{hit[1]}"
    found = open_site.get(marked.headers["location"])
    assert found.headers["location"].startswith("/monitor/stories/")
    retried = open_site.post("/monitor/outbox/retry", data={"csrf": token})
    assert retried.headers["location"] == "/monitor/outbox?status=pending"
    # a "next" that leaves this site is refused for the app's own page
    evil = open_site.post(f"/monitor/hits/{hit[1]}/feedback",
                          data={"verdict": "clear", "csrf": token, "next": "//evil.example/"})
    assert evil.headers["location"] == f"/monitor/hits/{hit[1]}"


def test_sign_in_and_out_under_the_prefix(store: Store, sqlite_url: str,
                                          tmp_path: Path) -> None:
    cfg = config(tmp_path, sqlite_url, public_url=PUBLIC, users={"ana": hash_password("pw")})
    with client(store, cfg) as c:
        first = c.get("/monitor/rules")
        assert first.status_code == 303
        assert first.headers["location"] == "/monitor/login?next=/monitor/rules"
        login = c.get(first.headers["location"])
        assert 'action="/monitor/login"' in login.text
        assert 'name="next" value="/monitor/rules"' in login.text
        token = str(c.cookies["nm_csrf"])
        signed = c.post("/monitor/login", data={"user": "ana", "password": "pw", "csrf": token,
                                                "next": "/monitor/rules"})
        assert signed.status_code == 303 and signed.headers["location"] == "/monitor/rules"
        assert "Path=/monitor/" in signed.headers["set-cookie"]
        assert c.get("/monitor/rules").status_code == 200
        # the cookies are the prefix's: the same host's other paths never see them
        assert c.get("/rules").status_code == 303
        out = c.post("/monitor/logout", data={"csrf": token})
        assert out.headers["location"] == "/monitor/login"
        assert c.get("/monitor/rules").status_code == 303


def test_forms_from_the_public_origin_pass_behind_a_proxy_that_sends_its_own_host(
        store: Store, sqlite_url: str, tmp_path: Path) -> None:
    """nginx's default Host is the upstream's address (127.0.0.1:8080), so a browser's
    Origin (https://news.example.org) never matched it: every form was refused with 403."""
    users = {"ana": hash_password("pw")}
    for public_url, origin, status in [
            (PUBLIC, "https://news.example.org", 303),
            (PUBLIC, "https://evil.example", 403),
            (PUBLIC, "http://news.example.org", 403),
            (None, "https://news.example.org", 403)]:
        with client(store, config(tmp_path, sqlite_url, public_url=public_url,
                                  users=users)) as c:
            c.get("/monitor/login" if public_url else "/login")
            answer = c.post("/monitor/login" if public_url else "/login",
                            data={"user": "ana", "password": "pw",
                                  "csrf": str(c.cookies["nm_csrf"])},
                            headers={"Origin": origin, "Host": "127.0.0.1:8080"})
            assert answer.status_code == status, (public_url, origin)


@pytest.mark.parametrize(("public_url", "host", "secure"), [
    (PUBLIC, "news.example.org", True),  # the public host: its browsers are on https
    (PUBLIC, "127.0.0.1:8080", False),  # the proxy's own Host, or a local visit: unknown
    ("http://news.example.org/monitor/", "news.example.org", False),
    (None, "news.example.org", False),
])
def test_cookies_are_secure_for_an_https_public_url_behind_a_proxy_that_does_not_say_so(
        store: Store, sqlite_url: str, tmp_path: Path, public_url: str | None, host: str,
        secure: bool) -> None:
    """A proxy that terminates TLS without X-Forwarded-Proto made every cookie non-Secure, so
    a browser sent the session over plain http too (an http:// link, the port-80 redirect)."""
    cfg = config(tmp_path, sqlite_url, public_url=public_url,
                 users={"ana": hash_password("pw")})
    login = "/monitor/login" if public_url else "/login"
    with client(store, cfg) as c:
        c.get(login)
        answer = c.post(login, data={"user": "ana", "password": "pw",
                                     "csrf": str(c.cookies["nm_csrf"])},
                        headers={"Host": host, "Origin": "https://news.example.org"
                                 if public_url == PUBLIC else f"http://{host}"})
        assert answer.status_code == 303
        session = answer.headers["set-cookie"]
        assert session.startswith("nm_session=")
        assert ("; secure" in session.lower()) == secure
    with client(store, cfg) as first_visit:
        csrf = first_visit.get(login, headers={"Host": host}).headers["set-cookie"]
        assert csrf.startswith("nm_csrf=")
        assert ("; secure" in csrf.lower()) == secure


def test_feeds_name_the_public_address_and_keep_their_tokens(store: Store, sqlite_url: str,
                                                            tmp_path: Path) -> None:
    cfg = config(tmp_path, sqlite_url, public_url=PUBLIC, users={"ana": hash_password("pw")})
    with client(store, cfg) as c:
        web = c.app.state.web  # type: ignore[attr-defined]
        token = web.feed_token("/feed.atom")
        for path in (f"/monitor/feed.atom?token={token}", f"/feed.atom?token={token}"):
            answer = c.get(path)
            assert answer.status_code == 200, path
            feed = ET.fromstring(answer.content)
            ns = {"a": "http://www.w3.org/2005/Atom"}
            self_link = feed.find("a:link[@rel='self']", ns)
            assert self_link is not None
            assert self_link.get("href") == f"{PUBLIC}feed.atom?token={token}"
            ids = [e.text or "" for e in feed.findall("a:entry/a:id", ns)]
            assert ids and all(i.startswith(f"{PUBLIC}hits/") for i in ids)
        as_json = c.get(f"/monitor/feed.json?token={web.feed_token('/feed.json')}").json()
        assert as_json["home_page_url"] == PUBLIC
        api = Access(store).create_token("reader")
        hits = c.get("/monitor/api/v1/hits?limit=1",
                     headers={"Authorization": f"Bearer {api}"}).json()
        assert hits["next"].startswith("/monitor/api/v1/hits?")
        spec = c.get("/monitor/api/v1/openapi.json",
                     headers={"Authorization": f"Bearer {api}"}).json()
        assert spec["servers"] == [{"url": "/monitor/api/v1"}]


def test_probes_answer_under_the_prefix(open_site: TestClient) -> None:
    asked: list[str] = []

    def answer(path: str) -> tuple[int, str, bytes] | None:
        asked.append(path)
        return (200, "text/plain", b"ok") if path == "/healthz" else None

    add_routes(open_site.app, probe_routes(["/healthz"], answer),  # type: ignore[arg-type]
               public=True)
    assert open_site.get("/monitor/healthz").text == "ok"
    assert open_site.get("/healthz").text == "ok"
    assert asked == ["/healthz", "/healthz"]


@pytest.mark.parametrize(("public_url", "refused"), [
    ("https://x.example/feeds/", "feeds"), ("https://x.example/api/", "api"),
    ("https://x.example/static/nm/", "static"), ("https://x.example/healthz/", "healthz"),
    ("https://x.example/stories/", "stories"), ("https://x.example/feed.atom/", "feed.atom"),
    ("https://x.example/newsmonitor/", None), ("https://x.example/feedsx/", None),
    ("https://x.example/news/feeds/", None), ("https://x.example/", None),
])
def test_a_prefix_that_starts_like_a_page_of_the_view_is_refused_at_its_line(
        tmp_path: Path, public_url: str, refused: str | None) -> None:
    """With /feeds/ as the prefix, a stripping proxy turns /feeds/rules into /rules (fine)
    but the view's own /feeds page into /feeds, which reads as the prefix: the stories."""
    from monitor.cli.app import stage_checks
    from monitor.config import WebConfig, load_config
    from monitor.daemon.ops import OpsEndpoints
    from monitor.errors import ConfigError
    from monitor.web import base_path_problem
    from monitor.web.app import PROBE_PATHS

    assert set(OpsEndpoints.PATHS) <= set(PROBE_PATHS)
    problem = base_path_problem(WebConfig(public_url=public_url))
    assert (problem is None) == (refused is None)
    if refused is None:
        return
    assert f"/{refused}/ is also the start of the web view's own pages" in str(problem)
    path = tmp_path / "monitor.yaml"
    path.write_text(f"web:\n  listen: 127.0.0.1:8080\n  public_url: {public_url}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, {}, checks=stage_checks())
    assert str(info.value).startswith(f"{path}:3: web.public_url: the path /{refused}/")
    load_config(path, {})  # the alert links alone do not mind
