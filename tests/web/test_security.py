"""Who may use the web view: loopback only without authentication, sign-in, tokens."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from monitor.config import WebConfig
from monitor.store import Access
from monitor.web import hash_password, listen_problem
from monitor.web.security import check_login, host_problem
from tests.cli_support import cli
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


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(sqlite_url: str,
                                                                   tmp_path: Path) -> None:
    """Changing a password (a new hash under web.users, then a restart) is how a stolen
    session is shut out: it stayed valid for its whole lifetime. A user removed is out too,
    and a session of the other user, whose password is unchanged, stays."""
    store = seeded_store(sqlite_url)
    old = {"ana": hash_password("s3cret"), "ben": hash_password("b3n")}
    signed_in = {}
    with client(store, config(tmp_path, sqlite_url, users=old)) as c:
        for name, password in (("ana", "s3cret"), ("ben", "b3n")):
            c.cookies.delete("nm_session")
            answer = c.post("/login", data={"user": name, "password": password,
                                            "csrf": csrf_of(c)})
            assert answer.status_code == 303
            signed_in[name] = str(c.cookies["nm_session"])
    # The same password hashed again is a new hash too: argon2 salts each one.
    for users, still_in in (({**old, "ana": hash_password("n3w")}, {"ben"}),
                            ({"ben": old["ben"]}, {"ben"}), (old, {"ana", "ben"})):
        with client(store, config(tmp_path, sqlite_url, users=users)) as c:
            for name, cookie in signed_in.items():
                c.cookies.set("nm_session", cookie)
                assert (c.get("/rules").status_code == 200) == (name in still_in), (users, name)
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


def test_renewed_feed_tokens_shut_out_the_urls_given_out(sqlite_url: str,
                                                         tmp_path: Path) -> None:
    """A feed URL that leaked (a reader's cloud sync) read the hits for good: nothing but an
    SQL statement could change its token."""
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, users={"ana": hash_password("x")})
    settings = tmp_path / "monitor.yaml"
    settings.write_text(f"database_url: {sqlite_url}\n", encoding="utf-8")
    settings.chmod(0o600)
    path = "/rules/gaza-ceasefire/feed.atom"
    with client(store, cfg) as c:
        web = c.app.state.web  # type: ignore[attr-defined]
        leaked = web.feed_token(path)
        assert c.get(f"{path}?token={leaked}").status_code == 200
        code, out, err = cli("web", "renew-feed-tokens", config=settings)
        assert code == 0 and "feed tokens renewed" in out, err
        assert c.get(f"{path}?token={leaked}").status_code == 401
        renewed = web.feed_token(path)
        assert renewed != leaked and c.get(f"{path}?token={renewed}").status_code == 200
        c.post("/login", data={"user": "ana", "password": "x", "csrf": csrf_of(c)})
        page = c.get("/rules").text
        assert f"token={renewed}" in page and leaked not in page
    store.close()


def test_api_calls_do_not_wait_for_the_daemons_writes(sqlite_url: str,
                                                      tmp_path: Path) -> None:
    """Each API call, with a made-up token too, was a write (the token's "last used"): on
    SQLite it waited for whatever the daemon was writing, and a flood of bad tokens held
    the write lock in turn. A valid token's use is noted once a minute."""
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, users={"ana": hash_password("x")})
    token = Access(store).create_token("dashboards")
    with client(store, cfg) as c:
        assert c.get("/api/v1/hits", headers={"Authorization": f"Bearer {token}"}
                     ).status_code == 200  # noted now
        (noted,) = [t.last_used_at for t in Access(store).tokens()]
        daemon = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        daemon.execute("BEGIN IMMEDIATE")  # the daemon, in the middle of a write
        try:
            for bearer, status in (("nm_made-up", 401), (token, 200)):
                started = time.monotonic()
                answer = c.get("/api/v1/hits", headers={"Authorization": f"Bearer {bearer}"})
                assert answer.status_code == status
                assert time.monotonic() - started < 2  # not the 5 s busy timeout
        finally:
            daemon.rollback()
            daemon.close()
        assert [t.last_used_at for t in Access(store).tokens()] == [noted]
    store.close()


def test_trusted_proxy_header_names_the_user(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, trusted_proxy_header="X-Remote-User")
    with client(store, cfg) as c:
        assert c.get("/").status_code == 303
        assert c.get("/", headers={"X-Remote-User": "ana"}).status_code == 200
    store.close()


@pytest.mark.parametrize(("host", "refused"), [
    ("127.0.0.1:8080", False), ("localhost.", False), ("[::1]", False),
    ("127.0.0.1:8080@evil.example", True), ("localhost:80:80", True), ("127.1", True)])
def test_a_host_header_is_read_as_one_name_and_port(host: str, refused: bool) -> None:
    assert (host_problem(WebConfig(), host) is not None) == refused


@pytest.mark.parametrize(("host", "answered"), [
    ("127.0.0.1:8080", True), ("localhost:8080", True), ("LOCALHOST", True),
    ("app.localhost:8080", True), ("[::1]:8080", True), ("127.0.0.2", True),
    ("rebound.evil.example:8080", False), ("192.0.2.1:8080", False), ("[2001:db8::1]", False)])
def test_without_authentication_only_loopback_names_are_answered(
        sqlite_url: str, tmp_path: Path, host: str, answered: bool) -> None:
    """DNS rebinding: a page of rebound.evil.example, its name pointed at 127.0.0.1, is the
    same origin as the server in the browser; it must read nothing and post nothing."""
    store = seeded_store(sqlite_url)
    with client(store, config(tmp_path, sqlite_url), base_url=f"http://{host}") as c:
        page = c.get("/")
        assert (page.status_code == 200) == answered, page.text[:200]
        api = c.get("/api/v1/hits")
        assert (api.status_code == 200) == answered
        if not answered:
            assert page.status_code == api.status_code == 403
            assert "loopback" in page.text and "loopback" in api.json()["error"]
            c.cookies.set("nm_csrf", "token")  # as the rebound page could, were it answered
            hit = store.hits()[0]
            posted = c.post(f"/hits/{hit.id}/feedback",
                            data={"verdict": "not_relevant", "csrf": "token"},
                            headers={"Origin": f"http://{host}"})
            assert posted.status_code == 403
            assert Access(store).feedback() == {}
    store.close()


def test_with_authentication_any_host_name_may_sign_in(sqlite_url: str,
                                                       tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, listen="0.0.0.0:8080",
                 users={"ana": hash_password("s3cret")})
    with client(store, cfg, base_url="https://news.example.org") as c:
        assert c.get("/login").status_code == 200
    store.close()


def test_a_feed_token_with_other_letters_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, users={"ana": hash_password("x")})
    with client(store, cfg) as c:
        for token in ["é", "%E2%82%AC" * 16]:
            assert c.get(f"/feed.atom?token={token}").status_code == 401
            assert c.get(f"/rules/gaza-ceasefire/feed.json?token={token}").status_code == 401
    store.close()


def test_an_unknown_user_name_takes_as_long_to_refuse_as_a_wrong_password() -> None:
    # Refusing an unknown name at once (no argon2 check) told an attacker which names exist.
    users = {"ana": hash_password("s3cret")}

    def best_of_five(name: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert not check_login(users, name, "guess")
            times.append(time.perf_counter() - start)
        return min(times)

    check_login(users, "warm-up", "x")
    assert best_of_five("nobody") > 0.5 * best_of_five("ana")
    assert check_login(users, "ana", "s3cret")
