"""/metrics, /healthz and /readyz of a real daemon, with its scheduler loop and its database
stopped under it (issue 14: health and metrics)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import Config, MetricsConfig, PollingConfig
from monitor.daemon import ops
from monitor.daemon.ops import OpsAnswer, OpsServer
from tests.daemon_support import REPO, daemon_in_thread, wait_for
from tests.proxy_support import TcpProxy, postgres_behind_a_proxy
from tests.slow_client_support import served_until_closed


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def proxied_postgres() -> Iterator[tuple[str, TcpProxy]]:
    with postgres_behind_a_proxy() as proxied:
        yield proxied


def cycles_ended(metrics: bytes) -> float:
    """The cycles the daemon has finished, from its /metrics page (one that found the
    database unavailable is not counted)."""
    found = re.search(rb"^newsmonitor_cycles_total ([0-9.]+)$", metrics, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.postgres
def test_G7_healthz_and_readyz_follow_the_scheduler_loop_and_the_database(
        tmp_path: Path, proxied_postgres: tuple[str, TcpProxy],
        caplog: pytest.LogCaptureFixture) -> None:
    """The probes, and G7: with the database gone the daemon stays alive, not ready, and
    counts the errors; when it returns, it is ready, cycles again and says so in its log."""
    caplog.set_level("INFO", logger="monitor.daemon.schedule")
    url, proxy = proxied_postgres
    config = Config(
        base_dir=tmp_path, database_url=url, rules_dir=REPO / "rules",
        feeds=[{"url": str(REPO / "seeds" / "feed.xml"), "name": "Seed", "interval": 60}],
        polling=PollingConfig(tick=0.3, default_interval=60, min_interval=1),
        metrics=MetricsConfig(listen="127.0.0.1:0"),
    )
    with daemon_in_thread(config) as daemon:
        wait_for(lambda: daemon.ops_server is not None, 30, "the ops listener")
        assert daemon.ops_server is not None
        base = daemon.ops_server.url
        wait_for(lambda: get(f"{base}/healthz")[0] == 200, 30, "/healthz to answer alive")
        assert get(f"{base}/readyz")[0] == 200
        # /metrics after the first cycle: non-zero counters for the seed feed's two articles
        wait_for(lambda: b"newsmonitor_articles_stored_total 2.0" in get(f"{base}/metrics")[1],
                 60, "the first cycle's articles in /metrics")
        # The cycle's duration is recorded when the cycle ends, after its articles are stored.
        wait_for(lambda: b"newsmonitor_cycle_duration_seconds_count 1.0"
                 in get(f"{base}/metrics")[1], 60, "the first cycle's end in /metrics")
        metrics = get(f"{base}/metrics")[1].decode()
        for line in ('newsmonitor_polls_total{outcome="ok"} 1.0',
                     'newsmonitor_hits_total{rule="gaza-ceasefire"} 1.0',
                     'newsmonitor_pages_total{outcome="ok",stage="extract"} 2.0',
                     "newsmonitor_cycle_duration_seconds_count 1.0",
                     'newsmonitor_feeds{status="ok"} 1.0',
                     "newsmonitor_rules_loaded 2.0"):
            assert line in metrics, line
        assert "newsmonitor_notifications{" in metrics
        assert "newsmonitor_outbox_depth" in metrics

        # The database goes away: not ready (and said why), still alive.
        proxy.stop()
        wait_for(lambda: get(f"{base}/readyz")[0] == 503, 30, "/readyz to fail")
        body = json.loads(get(f"{base}/readyz")[1])
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["rules"]["ok"] is True
        assert get(f"{base}/healthz")[0] == 200
        wait_for(lambda: "newsmonitor_database_errors_total 0.0"
                 not in get(f"{base}/metrics")[1].decode(), 30, "a database error counted")
        # A tick met the outage too (the error counted may be a probe's; under load the
        # next tick came after the database was back, and nothing was there to log).
        wait_for(lambda: "database unavailable, retrying next tick" in caplog.text, 30,
                 "a tick to log the outage")
        # It comes back: ready again, and cycles run again (no scheduler thread died).
        cycles = cycles_ended(get(f"{base}/metrics")[1])
        proxy.start()
        wait_for(lambda: get(f"{base}/readyz")[0] == 200, 30, "/readyz to recover")
        wait_for(lambda: cycles_ended(get(f"{base}/metrics")[1]) > cycles, 30,
                 "a cycle to end after the database came back")
        # The errors were logged once a minute: the return is said, once.
        wait_for(lambda: "database available again (errors for" in caplog.text, 30,
                 "the database's return in the log")
        assert caplog.text.count("database available again") == 1

        # The scheduler loop stops: not alive within a few ticks.
        daemon.scheduler.pause()
        wait_for(lambda: get(f"{base}/healthz")[0] == 503, 30, "/healthz to fail")
        assert "last ticked" in json.loads(get(f"{base}/healthz")[1])["detail"]
        daemon.scheduler.resume()
        wait_for(lambda: get(f"{base}/healthz")[0] == 200, 30, "/healthz to recover")


@pytest.mark.postgres
def test_a_host_clock_off_the_database_servers_is_warned_about(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Daemons on several hosts judge each other's heartbeats and leases by their own clocks:
    one 5 minutes ahead takes the others' leases mid-send. The daemon compares its clock with
    PostgreSQL's and warns, once (the check is hourly)."""
    from datetime import timedelta

    from monitor.daemon import Daemon, build_service
    from monitor.store import clock_offset, utc_now

    with postgres_behind_a_proxy() as (url, _proxy):
        caplog.set_level("INFO", logger="monitor.daemon.schedule")
        config = Config(base_dir=tmp_path, database_url=url, rules_dir=REPO / "rules",
                        polling=PollingConfig(tick=0.3, default_interval=60, min_interval=1))
        service = build_service(config)
        assert clock_offset(service.store) == pytest.approx(0, abs=2)
        service.store.clock = lambda: utc_now() + timedelta(minutes=5)
        daemon = Daemon(service)
        runner = threading.Thread(target=daemon.run, daemon=True)
        runner.start()
        try:
            wait_for(lambda: "this host's clock is 300 s ahead of the database server's"
                     in caplog.text, 30, "the clock warning")
            beats = service.metrics.cycles._value.get()
            wait_for(lambda: service.metrics.cycles._value.get() > beats + 2, 30,
                     "more ticks")
        finally:
            service.stop.set()
            runner.join(30)
        assert not runner.is_alive()
    assert caplog.text.count("this host's clock") == 1


def test_sqlite_has_no_server_clock_to_compare(tmp_path: Path) -> None:
    from monitor.store import clock_offset
    from tests.store_support import open_store

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    assert clock_offset(store) is None
    store.close()


def test_the_start_line_counts_the_feeds_added_with_the_command_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """It counted monitor.yaml's feeds only: `0 feeds` for a daemon polling two."""
    from monitor.models import FeedSource
    from tests.store_support import open_store

    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = open_store(url)
    store.add_feed(FeedSource(url="http://127.0.0.1:9/rss", name="Added",
                              interval_seconds=3600))
    store.close()
    caplog.set_level("INFO", logger="monitor.daemon.schedule")
    config = Config(base_dir=tmp_path, database_url=url, rules_dir=REPO / "rules",
                    feeds=[{"url": str(REPO / "seeds" / "feed.xml"), "name": "Seed"}])
    with daemon_in_thread(config):
        wait_for(lambda: "newsmonitor running" in caplog.text, 30, "the start line")
    assert "newsmonitor running: 2 feeds" in caplog.text


class _Answers:
    def answer(self, path: str) -> OpsAnswer | None:
        return OpsAnswer(200, "text/plain", b"alive\n") if path == "/healthz" else None


def test_a_request_dripped_a_byte_at_a_time_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeout is of each read: a client sending a byte more often than that held its
    thread for good, and 16 such clients kept every probe out."""
    monkeypatch.setattr(ops, "REQUEST_TIMEOUT_SECONDS", 0.5)
    server = OpsServer(_Answers(), "127.0.0.1:0")  # type: ignore[arg-type]
    server.start()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            endless = b"GET /healthz HTTP/1.0\r\nX-Pad: " + b"a" * 10_000
            assert served_until_closed(conn, endless, 5) == b""
        assert get(f"{server.url}/healthz") == (200, b"alive\n")
    finally:
        server.stop()


def test_connections_that_never_send_a_request_hold_few_threads_and_not_for_long(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """3,000 connections that never finished their headers held 3,000 of the daemon's threads
    (and 260 MB) for as long as they stayed open, and each printed a traceback on standard
    error when it went away."""
    monkeypatch.setattr(ops, "REQUEST_TIMEOUT_SECONDS", 0.5)
    server = OpsServer(_Answers(), "127.0.0.1:0")  # type: ignore[arg-type]
    server.start()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    before = threading.active_count()
    idle = []
    try:
        for _ in range(ops.MAX_CONNECTIONS + 40):
            conn = socket.create_connection((host, int(port)), timeout=10)
            conn.sendall(b"GET /healthz HTTP/1.1\r\n")  # the headers never end
            idle.append(conn)
        assert threading.active_count() - before <= ops.MAX_CONNECTIONS
        for conn in idle:  # each is closed by the server: at once, or after the timeout
            with contextlib.suppress(ConnectionResetError):
                assert conn.recv(100) == b""
        assert wait_for(lambda: get(f"{server.url}/healthz") == (200, b"alive\n"), 10,
                        "/healthz to answer once the idle connections are gone")
        closing = [socket.create_connection((host, int(port)), timeout=10) for _ in range(5)]
        for conn in closing:  # the client goes away mid-request
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        assert get(f"{server.url}/healthz")[0] == 200
    finally:
        for conn in idle:
            conn.close()
        server.stop()
    assert "Traceback" not in capfd.readouterr().err
