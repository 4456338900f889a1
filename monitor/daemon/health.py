"""Liveness, readiness and the systemd notification protocol.

*Alive* (``/healthz``): the scheduler's heartbeat job ran within a few ticks, and a cycle in
progress is still making progress (a feed finished, an article page was fetched or extracted,
or an article was stored within ``stall_after``). A hung cycle or a dead scheduler thread
stops both the ``/healthz`` answer and the systemd watchdog pings, so systemd restarts the
daemon.

*Ready* (``/readyz``): the database answers, its schema is at this version's head, and the
rules are loaded.

:class:`SystemdNotifier` speaks sd_notify(3): one datagram per message to the Unix socket
named by ``NOTIFY_SOCKET`` (a leading ``@`` is the abstract namespace). Without that variable
it does nothing, so the daemon runs the same outside systemd.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import MonitorError
from monitor.store import Store, current_revision, head_revision, ping

log = logging.getLogger(__name__)

MISSED_TICKS = 3  # the scheduler is dead after this many ticks without a heartbeat


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


class Liveness:
    """What ``/healthz`` and the watchdog look at; every method is thread-safe and cheap."""

    def __init__(self, tick: float, stall_after: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.tick = tick
        self.stall_after = stall_after
        self._clock = clock
        self._lock = threading.Lock()
        self._last_beat: float | None = None
        self._cycle_started: float | None = None
        self._last_progress = clock()
        self.last_summary = "starting"

    def beat(self) -> None:
        """The scheduler loop ran its heartbeat job."""
        with self._lock:
            self._last_beat = self._clock()

    def cycle_started(self) -> None:
        with self._lock:
            self._cycle_started = self._last_progress = self._clock()

    def progress(self) -> None:
        """A cycle moved on (a feed was polled, an article stored)."""
        with self._lock:
            self._last_progress = self._clock()

    def cycle_finished(self, summary: str | None = None) -> None:
        with self._lock:
            self._cycle_started = None
            self._last_progress = self._clock()
            if summary is not None:
                self.last_summary = summary

    def check(self) -> Check:
        now = self._clock()
        with self._lock:
            beat, started, progress = self._last_beat, self._cycle_started, self._last_progress
        limit = MISSED_TICKS * self.tick
        if beat is None:
            return Check(False, "the scheduler has not ticked yet")
        if now - beat > limit:
            return Check(False, f"the scheduler last ticked {now - beat:.0f} s ago "
                                f"(limit {limit:.0f} s)")
        if started is not None and now - progress > self.stall_after:
            return Check(False, f"the cycle running for {now - started:.0f} s made no progress "
                                f"in {now - progress:.0f} s (limit {self.stall_after:.0f} s)")
        return Check(True, f"scheduler ticked {now - beat:.0f} s ago; {self.last_summary}")


def readiness(store: Store, rules_loaded: Callable[[], bool]) -> list[tuple[str, Check]]:
    """Each readiness condition with its result: database, migrations, rules."""
    checks: list[tuple[str, Check]] = []
    try:
        ping(store)
        checks.append(("database", Check(True, "reachable")))
        current, head = current_revision(store.engine), head_revision()
        checks.append(("migrations", Check(current == head, f"at {current or 'none'}, "
                                                           f"expected {head}")))
    except MonitorError as exc:
        checks.append(("database", Check(False, str(exc))))
        checks.append(("migrations", Check(False, "unknown: the database is unreachable")))
    except Exception as exc:  # noqa: BLE001  (a driver error is "not ready", never a crash)
        checks.append(("database", Check(False, f"{type(exc).__name__}: {exc}")))
        checks.append(("migrations", Check(False, "unknown: the database is unreachable")))
    loaded = rules_loaded()
    checks.append(("rules", Check(loaded, "loaded" if loaded else "not loaded")))
    return checks


def readiness_report(store: Store, rules_path: Path) -> list[tuple[str, bool, str]]:
    """Readiness from outside a daemon (``monitor health``): the rule files are loaded here."""
    from monitor.rules import load_rules

    checks = [(name, c.ok, c.detail) for name, c in readiness(store, lambda: True)
              if name != "rules"]
    try:
        book = load_rules(rules_path)
    except Exception as exc:  # noqa: BLE001  (reported as not ready)
        return [*checks, ("rules", False, f"{type(exc).__name__}: {exc}")]
    problems = len(book.problems)
    detail = f"{len(book.rules)} rules from {rules_path}"
    if problems:
        detail += f"; {problems} problem(s), first: {book.problems[0]}"
    return [*checks, ("rules", problems == 0, detail)]


class SystemdNotifier:
    """sd_notify over ``NOTIFY_SOCKET``; a no-op when the daemon is not run by systemd."""

    def __init__(self, socket_path: str | None, watchdog_usec: int | None = None) -> None:
        self.socket_path = socket_path or None
        self.watchdog_seconds = watchdog_usec / 1e6 if watchdog_usec else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SystemdNotifier:
        """From ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` (the CLI hands in the environment)."""
        usec = environ.get("WATCHDOG_USEC", "")
        return cls(environ.get("NOTIFY_SOCKET"), int(usec) if usec.isdigit() else None)

    @property
    def enabled(self) -> bool:
        return self.socket_path is not None

    def notify(self, **fields: str) -> bool:
        """Send ``READY=1``-style fields (``notify(READY="1", STATUS="...")``); returns
        whether the datagram went out."""
        if self.socket_path is None:
            return False
        message = "\n".join(f"{key}={value.replace(chr(10), ' ')}"
                            for key, value in fields.items()).encode()
        address = self.socket_path
        if address.startswith("@"):
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(address)
                sock.sendall(message)
        except OSError as exc:
            log.warning("sd_notify to %s failed: %s", self.socket_path, exc)
            return False
        return True
