"""Liveness rules and the sd_notify datagram protocol, on their own."""

from __future__ import annotations

import socket
from pathlib import Path

from monitor.daemon.health import Liveness, SystemdNotifier
from tests.fetch_support import FakeClock


def test_alive_needs_recent_ticks_and_a_cycle_that_moves() -> None:
    clock = FakeClock()
    live = Liveness(tick=10, stall_after=100, clock=clock)
    assert not live.check().ok  # not ticked yet
    live.beat()
    assert live.check().ok
    clock.now += 29
    assert live.check().ok
    clock.now += 2  # three ticks missed: the scheduler is dead
    assert not live.check().ok and "last ticked" in live.check().detail
    live.beat()
    live.cycle_started()
    clock.now += 5
    live.beat()
    live.progress()
    clock.now += 99
    live.beat()
    assert live.check().ok
    clock.now += 2  # the scheduler ticks, but the cycle has been stuck for 101 s
    live.beat()
    assert not live.check().ok and "no progress" in live.check().detail
    live.cycle_finished("cycle: 3 feeds polled")
    assert live.check().ok and "3 feeds polled" in live.check().detail


def test_sd_notify_sends_datagrams_to_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": str(path),
                                                 "WATCHDOG_USEC": "4000000"})
        assert notifier.enabled and notifier.watchdog_seconds == 4
        assert notifier.notify(READY="1", STATUS="two\nlines")
        assert server.recv(4096) == b"READY=1\nSTATUS=two lines"
        assert notifier.notify(WATCHDOG="1")
        assert server.recv(4096) == b"WATCHDOG=1"


def test_sd_notify_abstract_socket_and_absence() -> None:
    name = f"newsmonitor-test-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        assert SystemdNotifier(f"@{name}").notify(READY="1")
        assert server.recv(4096) == b"READY=1"
    off = SystemdNotifier.from_environ({})
    assert not off.enabled and not off.notify(READY="1")
