"""Signing in is guarded: few argon2 checks at once, and failures limited per address and
per user name (monitor/web/signin.py)."""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text

from monitor.store import Access, Store
from monitor.web import hash_password
from monitor.web.signin import (
    FAILURES_PER_CLIENT,
    FAILURES_PER_CLIENT_AND_NAME,
    FAILURES_PER_NAME,
    MAX_TRACKED,
    WINDOW_SECONDS,
    MemoryLog,
    SignInGuard,
    StoreLog,
)
from tests.daemon_support import DaemonProcess, invoke_cli, wait_for
from tests.e2e.test_daemon import seed_only_config
from tests.fetch_support import FakeClock
from tests.web_support import client, config, csrf_of, seeded_store


def test_one_client_guessing_one_name_is_refused_until_the_oldest_failure_leaves() -> None:
    clock = FakeClock()
    guard = SignInGuard(clock)
    for _ in range(FAILURES_PER_CLIENT_AND_NAME):
        assert guard.refused_for("198.51.100.7", "ana") == 0
        guard.failed("198.51.100.7", "ana")
        clock.now += 1
    assert guard.refused_for("198.51.100.7", "ana") == pytest.approx(
        WINDOW_SECONDS - FAILURES_PER_CLIENT_AND_NAME)
    # Behind a proxy on another host everyone is one client: the others still sign in.
    assert guard.refused_for("198.51.100.7", "bea") == 0
    assert guard.refused_for("198.51.100.8", "ana") == 0
    clock.now = 1000.0 + WINDOW_SECONDS  # the first failure has left the window
    assert guard.refused_for("198.51.100.7", "ana") == 0
    guard.failed("198.51.100.7", "ana")
    assert guard.refused_for("198.51.100.7", "ana") > 0


def test_one_name_guessed_from_many_clients_is_refused_from_any() -> None:
    guard = SignInGuard(FakeClock())
    for i in range(FAILURES_PER_NAME):
        assert guard.refused_for(f"203.0.113.{i}", "ana") == 0
        guard.failed(f"203.0.113.{i}", "ana")
    assert guard.refused_for("192.0.2.1", "ana") == pytest.approx(WINDOW_SECONDS)
    assert guard.refused_for("192.0.2.1", "bea") == 0


def test_many_names_tried_from_one_client_refuse_that_client() -> None:
    guard = SignInGuard(FakeClock())
    for i in range(FAILURES_PER_CLIENT):
        assert guard.refused_for("198.51.100.7", f"name{i}") == 0
        guard.failed("198.51.100.7", f"name{i}")
    assert guard.refused_for("198.51.100.7", "ana") > 0
    assert guard.refused_for("198.51.100.8", "ana") == 0


def test_a_flood_of_names_stays_bounded() -> None:
    guard = SignInGuard(FakeClock())
    for i in range(MAX_TRACKED // 3 + 50):
        guard.failed(f"addr{i % 7}", f"name{i}")
    assert isinstance(guard.log, MemoryLog)
    assert len(guard.log._times) <= MAX_TRACKED
    assert guard.refused_for("addr0", f"name{MAX_TRACKED // 3 + 49}") > 0  # the newest kept


def test_the_right_password_is_refused_too_once_an_address_failed_too_often(
        sqlite_url: str, tmp_path: Path) -> None:
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, listen="0.0.0.0:8080",
                 users={"ana": hash_password("s3cret")})
    with client(store, cfg) as c:
        token = csrf_of(c)
        for _ in range(FAILURES_PER_CLIENT_AND_NAME):
            wrong = c.post("/login", data={"user": "ana", "password": "nope", "csrf": token})
            assert wrong.status_code == 401
        refused = c.post("/login", data={"user": "ana", "password": "s3cret", "csrf": token})
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW_SECONDS
        assert re.search(r'role="alert">too many failed sign-ins: try again in 15 min<',
                         refused.text)
        assert "nm_session" not in c.cookies
    store.close()


def _vm_hwm_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_flood_of_sign_ins_neither_exhausts_memory_nor_stalls_the_pages(
        tmp_path: Path) -> None:
    """60 sign-ins sent at once took the server from 96 MB to 2.4 GB (60 argon2 checks of
    64 MiB each in the thread pool) and each waited past 5 s, as did every page."""
    config_path = seed_only_config(tmp_path, web={"listen": "127.0.0.1:0", "users": {
        "ana": hash_password("s3cret")}})
    assert invoke_cli(config_path, "db", "upgrade").returncode == 0
    daemon = DaemonProcess(config_path)
    try:
        url = wait_for(lambda: re.search(r"web view: (http://\S+)", daemon.output), 60,
                       "the web view's URL").group(1)
        with httpx2.Client(base_url=url, timeout=30) as c:
            assert c.get("login").status_code == 200
        # The first cycle loads the language model and the stemmers: measured from after it,
        # the growth is the sign-ins' (it once came in the flood, 310 MB with the sign-ins').
        wait_for(lambda: "cycle:" in "".join(daemon.stderr), 60, "the first cycle")
        before = _vm_hwm_kb(daemon.proc.pid)

        def sign_in(i: int) -> int:
            with httpx2.Client(base_url=url, timeout=30) as c:
                csrf = c.get("login").cookies["nm_csrf"]
                return c.post("login", data={"user": "ana", "password": f"guess{i}",
                                             "csrf": csrf}).status_code

        with concurrent.futures.ThreadPoolExecutor(60) as pool:
            answers = list(pool.map(sign_in, range(60)))
            with httpx2.Client(base_url=url, timeout=30) as c:
                assert c.get("login").status_code == 200  # the pages still answer
        assert set(answers) <= {401, 429} and answers.count(401) <= FAILURES_PER_CLIENT_AND_NAME + 2
        grown_mb = (_vm_hwm_kb(daemon.proc.pid) - before) / 1024
        assert grown_mb < 300, f"the server grew by {grown_mb:.0f} MB"
    finally:
        daemon.terminate()


def test_an_ipv6_host_is_one_client_however_many_addresses_of_its_64_it_uses() -> None:
    guard = SignInGuard(FakeClock())
    for i in range(FAILURES_PER_CLIENT_AND_NAME):
        guard.failed(f"2001:db8:1:2::{i + 1:x}", "ana")
    assert guard.refused_for("2001:db8:1:2:ffff::9", "ana") > 0
    assert guard.refused_for("2001:db8:1:3::1", "ana") == 0  # another /64
    for _ in range(FAILURES_PER_CLIENT_AND_NAME):
        guard.failed("::ffff:192.0.2.5", "bea")
    assert guard.refused_for("192.0.2.5", "bea") > 0  # one IPv4 client, however written


def test_a_long_name_is_counted_by_its_start() -> None:
    guard = SignInGuard(FakeClock())
    for i in range(FAILURES_PER_NAME):
        guard.failed(f"198.51.100.{i}", "a" * 100_000 + str(i))
    assert guard.refused_for("192.0.2.1", "a" * 200) > 0
    assert isinstance(guard.log, MemoryLog)
    assert max(map(len, guard.log._times)) <= len("both") + 128 + len("198.51.100.29") + 2


def test_failures_outlive_a_restart_and_count_in_every_process(
        database_url: str, tmp_path: Path) -> None:
    """The counts are in the database: a second web process (or the same one restarted)
    refuses the guess the first one's failures used up, and no name typed is stored."""
    stores = [seeded_store(database_url)]
    stores.append(Store(stores[0].engine))  # another process's store on the same database
    cfg = config(tmp_path, database_url, listen="0.0.0.0:8080",
                 users={"ana": hash_password("s3cret")})
    answers = []
    for turn in range(FAILURES_PER_CLIENT_AND_NAME):
        with client(stores[turn % 2], cfg) as c:  # a fresh app each time: a restart
            token = csrf_of(c)
            answers.append(c.post("/login", data={"user": "ana", "password": f"guess{turn}",
                                                  "csrf": token}).status_code)
    assert answers == [401] * FAILURES_PER_CLIENT_AND_NAME
    for s in stores:
        with client(s, cfg) as c:
            refused = c.post("/login", data={"user": "ana", "password": "s3cret",
                                             "csrf": csrf_of(c)})
            assert refused.status_code == 429
    with stores[0].read() as session:
        kept = [str(k) for k in session.execute(text("SELECT key_hash FROM signin_failures"))
                .scalars()]
    assert len(kept) == 3 * FAILURES_PER_CLIENT_AND_NAME  # client and name, name, client
    assert all(re.fullmatch("[0-9a-f]{64}", k) for k in kept)
    stores[0].close()


def test_the_failures_table_holds_one_window(database_url: str) -> None:
    store = seeded_store(database_url)
    clock = FakeClock()
    guard = SignInGuard(clock, StoreLog(Access(store)))
    for _ in range(FAILURES_PER_CLIENT_AND_NAME):
        guard.failed("198.51.100.7", "ana")
        clock.now += 1
    assert guard.refused_for("198.51.100.7", "ana") == pytest.approx(
        WINDOW_SECONDS - FAILURES_PER_CLIENT_AND_NAME)
    assert guard.refused_for("198.51.100.8", "bea") == 0
    clock.now += WINDOW_SECONDS
    assert guard.refused_for("198.51.100.7", "ana") == 0
    guard.failed("198.51.100.9", "bea")  # the old ones go as a new one comes
    with store.read() as session:
        assert session.execute(text("SELECT count(*) FROM signin_failures")).scalar() == 3
    store.close()
