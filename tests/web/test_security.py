"""Who may use the web view: loopback only without authentication, sign-in, tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import WebConfig
from monitor.store import Access
from monitor.web import hash_password, listen_problem
from tests.web_support import client, config, csrf_of, seeded_store


@pytest.mark.parametrize(("listen", "refused"), [
    ("127.0.0.1:8080", False), ("[::1]:8080", False), ("localhost:8080", False),
    ("0.0.0.0:8080", True), ("192.0.2.1:8080", True), ("[::]:8080", True)])
def test_no_authentication_means_loopback_only(listen: str, refused: bool) -> None:
    problem = listen_problem(WebConfig(listen=listen))
    assert (problem is not None) == refused
    if problem:
        assert "\n" not in problem and "web.users" in problem
    assert listen_problem(WebConfig(listen=listen, trusted_proxy_header="Remote-User")) is None


def test_users_sign_in_with_argon2_passwords(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, listen="0.0.0.0:8080",
                 users={"ana": hash_password("s3cret")})
    assert cfg.web.users["ana"].startswith("$argon2id$")
    with client(store, cfg) as c:
        first = c.get("/rules")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/rules"
        token = csrf_of(c)
        assert c.post("/login", data={"user": "ana", "password": "s3cret"}).status_code == 403
        wrong = c.post("/login", data={"user": "ana", "password": "nope", "csrf": token})
        assert wrong.status_code == 401
        right = c.post("/login", data={"user": "ana", "password": "s3cret", "csrf": token,
                                       "next": "/rules"})
        assert right.status_code == 303 and right.headers["location"] == "/rules"
        assert c.get("/rules").status_code == 200
        assert c.post("/logout", data={"csrf": token}).status_code == 303
        assert c.get("/rules").status_code == 303
    store.close()


def test_api_needs_a_token_and_feeds_their_secret(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, users={"ana": hash_password("x")})
    token = Access(store).create_token("reader")
    with client(store, cfg) as c:
        assert c.get("/api/v1/hits").status_code == 401
        assert c.get("/api/v1/hits", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = c.get("/api/v1/hits", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and len(ok.json()["items"]) == 3
        assert c.get("/feed.atom").status_code == 401
        assert c.get("/feed.atom?token=0123").status_code == 401
        web = c.app.state.web  # type: ignore[attr-defined]
        secret = web.feed_token("/rules/gaza-ceasefire/feed.json")
        assert c.get(f"/rules/gaza-ceasefire/feed.json?token={secret}").status_code == 200
        assert c.get(f"/feed.json?token={secret}").status_code == 401  # another feed's token
    with store.read() as session:
        from sqlalchemy import select

        from monitor.store.schema import ApiTokenRow
        stored = session.scalar(select(ApiTokenRow.token_hash))
    assert stored is not None and token not in stored
    store.close()


def test_trusted_proxy_header_names_the_user(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, trusted_proxy_header="X-Remote-User")
    with client(store, cfg) as c:
        assert c.get("/").status_code == 303
        assert c.get("/", headers={"X-Remote-User": "ana"}).status_code == 200
    store.close()
