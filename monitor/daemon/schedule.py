"""The schedule stage: the daemon's clock, built on APScheduler 3.x.

APScheduler keeps its jobs in memory (its job stores cannot be shared between processes):
one ``cycle`` job polls whatever feeds the database says are due; it coalesces missed runs
and never overlaps itself, so a slow cycle delays the next tick instead of piling ticks up.
One dispatcher thread per process sends the due outbox rows every 5 s, and at once when a
cycle queued alerts (the cycle wakes it; it never sends itself). Work is handed out by
database leases, so several daemons can share one PostgreSQL. Watchers reload the rules and
monitor.yaml's feed list when their files change.

Operations: a ``heartbeat`` job marks the scheduler alive (monitor.daemon.health) and, while
the daemon is alive, sends systemd's ``WATCHDOG=1``; so a dead scheduler or a hung cycle stops
the pings and systemd restarts the service. ``READY=1`` goes out once the jobs are scheduled,
``STATUS=`` after each cycle. An ``instance`` job writes this daemon's heartbeat row into the
database (``monitor status``), and a ``prune`` job applies retention once a day. A clock
watcher moves the jobs back when the system clock steps back (:mod:`monitor.daemon.clockwatch`).
Reloads (rule files, monitor.yaml, SIGHUP) are :mod:`monitor.daemon.reload`'s.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor as SchedulerPool
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import __version__
from monitor.daemon.clockwatch import ClockWatch
from monitor.daemon.health import SystemdNotifier
from monitor.daemon.ops import OpsServer
from monitor.daemon.pipeline import CycleReport, feed_lease
from monitor.daemon.reload import Reloader
from monitor.errors import StoreError
from monitor.extract import release_free_memory
from monitor.store import (
    clock_offset,
    heartbeat,
    outbox_stats,
    prune,
    release_dead_leases,
    utc_now,
)

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.daemon.service import Service

log = logging.getLogger(__name__)

DISPATCH_INTERVAL_SECONDS = 5.0
STOP_GRACE_SECONDS = 8.0  # SIGTERM to exit stays under 10 s
ERROR_LOG_INTERVAL_SECONDS = 60.0
LIVE_TICKS = 3  # a daemon without a heartbeat for this many ticks is dead (its leases go)
PRUNE_INTERVAL_SECONDS = 86400.0
PRUNE_FIRST_DELAY_SECONDS = 600.0  # the first daily prune, after start-up settles
CLOCK_CHECK_SECONDS = 1.0
# This host's clock against the database server's: checked hourly, warned about past this.
CLOCK_OFFSET_CHECK_SECONDS = 3600.0
CLOCK_OFFSET_WARN_SECONDS = 10.0


def install_stop_handlers(stop: threading.Event,
                          reload: threading.Event | None = None) -> dict[int, Any]:
    """Make SIGTERM and SIGINT set ``stop``, and SIGHUP set ``reload`` (the daemon) or, without
    it, ``stop`` too (``run --once``, ``feeds refresh``: their terminal went away, and being
    killed outright would leave their feeds leased); returns the handlers they replace. The
    handlers only set flags: threads do the work. A SIGHUP ignored from the start (``nohup``)
    stays ignored."""
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    def on_hangup(signum: int, frame: FrameType | None) -> None:
        if reload is not None:
            reload.set()
        else:
            on_signal(signum, frame)
    previous: dict[int, Any] = {sig: signal.signal(sig, on_signal)
                                for sig in (signal.SIGTERM, signal.SIGINT)}
    if reload is not None or signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
    return previous


class Daemon:
    """Runs the service until SIGTERM/SIGINT; see the module docstring for the jobs."""

    def __init__(self, service: Service, notifier: SystemdNotifier | None = None,
                 wall_clock: Callable[[], datetime] = utc_now, *,
                 load_config: Callable[[], Config] | None = None,
                 config_path: Path | None = None,
                 reload_requested: threading.Event | None = None) -> None:
        """``load_config`` reads ``config_path`` again (None: no file to reload, the embedded
        defaults); ``reload_requested`` is set by SIGHUP (a caller that installed the signal
        handlers before the service was built hands its flag in)."""
        self.service = service
        self.notifier = notifier or SystemdNotifier(None)
        self.reloader = Reloader(service, load_config, config_path)
        self.reload_requested = reload_requested or threading.Event()
        self._wall = wall_clock  # UTC now, as APScheduler reads it
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            # cycle, heartbeat, instance, prune: a hung job never starves the others (the
            # dispatcher has its own thread)
            executors={"default": SchedulerPool(max_workers=6)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._busy = 0
        self._busy_lock = threading.Condition()
        self.finished_cleanly = True  # False: work was still running when the grace ran out
        self._last_error_log = 0.0
        self._database_lost_at: float | None = None  # monotonic time of the first failure
        self._offset_checked: float | None = None  # when the clock offset was last checked
        self._last_unhealthy_log = 0.0
        self._pending_summary: str | None = None
        self.ops_server: OpsServer | None = None
        self._wake = threading.Event()  # set by the cycle when it queued alerts

    def run(self) -> int:
        """Block until stopped; returns the process exit code."""
        stop = self.service.stop
        # Signals reach the main thread only; a daemon run in another thread (tests, an
        # embedding program) is stopped through ``service.stop``.
        in_main = threading.current_thread() is threading.main_thread()
        previous = install_stop_handlers(stop, self.reload_requested) if in_main else {}
        tick = self.service.config.polling.tick
        self.service.rules_reloaded(self.service.rule_problems)
        release_free_memory()  # what start-up freed (rules compiled, models read)
        now = self._wall()
        self.scheduler.add_job(self._guarded(self._cycle), "interval", seconds=tick,
                               id="cycle", next_run_time=now)
        beat = tick
        if self.notifier.watchdog_seconds:  # ping at least twice per WatchdogSec
            beat = min(beat, self.notifier.watchdog_seconds / 2)
        self.scheduler.add_job(self._heartbeat, "interval", seconds=beat, id="heartbeat",
                               next_run_time=now)
        self.scheduler.add_job(self._guarded(self._instance), "interval", seconds=tick,
                               id="instance", next_run_time=now)
        self.scheduler.add_job(self._guarded(self._prune), "interval",
                               seconds=PRUNE_INTERVAL_SECONDS, id="prune",
                               next_run_time=now + timedelta(seconds=PRUNE_FIRST_DELAY_SECONDS))
        reloader = self.reloader
        watchers = [threading.Thread(target=reloader.watch_rules, name="rules-watch",
                                     daemon=True),
                    threading.Thread(target=reloader.watch_config, name="config-watch",
                                     daemon=True),
                    threading.Thread(target=reloader.serve_requests, name="reload",
                                     args=(self.reload_requested,), daemon=True)]
        dispatcher = threading.Thread(target=self._dispatch_loop, name="dispatch", daemon=True)
        clock = threading.Thread(target=self._watch_clock, args=(ClockWatch(self._wall),),
                                 name="clock-watch", daemon=True)
        listen = self.service.config.metrics.listen
        if listen:
            try:
                self.ops_server = OpsServer(self.service.ops, listen)
                self.ops_server.start()
            except OSError as exc:  # the daemon's work matters more than its metrics
                log.error("metrics.listen %s: cannot listen (%s); running without /metrics, "
                          "/healthz and /readyz", listen, exc)
        self.scheduler.start()
        for watcher in watchers:
            watcher.start()
        dispatcher.start()
        clock.start()
        try:  # monitor.yaml's and those added with `monitor feeds add`
            feeds = sum(1 for _ in self.service.store.active_feeds())
        except StoreError:  # down already: the first cycle will say so
            feeds = len(self.service.config.feeds)
        log.info("newsmonitor running: %d feeds, tick %.0fs; stop with SIGTERM or Ctrl-C",
                 feeds, tick)
        self.notifier.notify(READY="1", STATUS="running; first cycle starting",
                             MAINPID=str(os.getpid()))
        try:
            stop.wait()
        finally:
            log.info("stopping: no new work is claimed; in-flight work finishes or is released")
            self.notifier.notify(STOPPING="1", STATUS="stopping")
            self._wake.set()  # the dispatcher thread sees the stop flag and ends
            self.reload_requested.set()  # and so does the one waiting for SIGHUP
            self.scheduler.shutdown(wait=False)
            if self.ops_server is not None:
                self.ops_server.stop()
            finished = self.finished_cleanly = self._wait_idle(STOP_GRACE_SECONDS)
            if not finished:
                log.warning("in-flight work did not finish in %.0fs; its leases are released "
                            "and will be retried", STOP_GRACE_SECONDS)
                # A send still running may have reached its destination: not "never sent".
                sending = self.service.dispatcher.abandon_in_flight()
                if sending:
                    log.warning("%d notifications were being sent: outcome unknown", sending)
            self.service.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _guarded(self, job: Callable[[], None]) -> Callable[[], None]:
        """Count running jobs and keep any failure inside the job (the scheduler lives on)."""
        def run() -> None:
            if self.service.stop.is_set():
                return
            with self._busy_lock:
                self._busy += 1
            try:
                job()
            except StoreError as exc:
                self.service.metrics.db_errors.inc()
                with self._busy_lock:
                    if self._database_lost_at is None:
                        self._database_lost_at = time.monotonic()
                self._log_rate_limited("database unavailable, retrying next tick: %s", exc)
            except Exception:
                log.exception("job %s failed; it runs again next tick", job.__name__)
            else:
                self._database_back()
            finally:
                with self._busy_lock:
                    self._busy -= 1
                    self._busy_lock.notify_all()
        run.__name__ = job.__name__
        return run

    def _database_back(self) -> None:
        """After database errors, the first job that runs through: said once, since the
        errors are logged once a minute and the last line would read as still failing."""
        with self._busy_lock:
            lost, self._database_lost_at = self._database_lost_at, None
        if lost is not None:
            log.info("database available again (errors for %.0f s)", time.monotonic() - lost)

    def _log_rate_limited(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_INTERVAL_SECONDS:
            self._last_error_log = now
            log.error(message, *args)

    def _wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._busy_lock:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._busy_lock.wait(remaining)
        return True

    def _cycle(self) -> None:
        service = self.service
        service.liveness.cycle_started()
        started = time.monotonic()
        try:
            report = service.pipeline.run_cycle()
            service.check_feed_health()
        finally:
            service.liveness.cycle_finished()
        seconds = time.monotonic() - started
        metrics = service.metrics
        metrics.cycles.inc()
        metrics.last_cycle.set_to_current_time()
        if not report.feeds:
            log.debug("cycle: no feed due (%.1f s)", seconds)
            return
        metrics.cycle_seconds.observe(seconds)
        try:
            depth = str(outbox_stats(service.store).depth)
        except StoreError:
            depth = "unknown"
        summary = cycle_summary(report, seconds, depth)
        log.info("%s", summary)
        service.liveness.cycle_finished(summary)
        self._pending_summary = summary
        self.notifier.notify(STATUS=summary)
        if report.notifications:
            self._wake.set()

    def _dispatch_loop(self) -> None:
        """The process's one dispatcher: a round every few seconds, or when woken."""
        dispatch = self._guarded(self._dispatch)
        stop = self.service.stop
        while not stop.is_set():
            dispatch()
            self._wake.wait(DISPATCH_INTERVAL_SECONDS)
            self._wake.clear()

    def _watch_clock(self, watch: ClockWatch) -> None:
        """Move every scheduled job back by a backward step of the system clock, at once: the
        scheduler would otherwise wait out the step before its next run (see clockwatch)."""
        stop = self.service.stop
        while not stop.wait(CLOCK_CHECK_SECONDS):
            step = watch.step()
            if step > 0:
                log.warning("the system clock stepped forward %.0f s: due jobs run once, feeds "
                            "due meanwhile are polled once", step)
            elif step < 0:
                moved = self._move_jobs(timedelta(seconds=step))
                log.warning("the system clock stepped back %.0f s: %d scheduled jobs moved back "
                            "with it; feeds keep the check times stored before the step",
                            -step, moved)

    def _move_jobs(self, step: timedelta) -> int:
        moved = 0
        for job in self.scheduler.get_jobs():
            if job.next_run_time is None:  # paused
                continue
            try:  # modify_job wakes the scheduler up to plan again
                self.scheduler.modify_job(job.id, next_run_time=job.next_run_time + step)
            except JobLookupError:  # removed meanwhile
                continue
            moved += 1
        return moved

    def _dispatch(self) -> None:
        sent = self.service.dispatcher.dispatch_due()
        deliveries = self.service.metrics.deliveries
        for result, count in (("sent", sent.sent), ("retried", sent.retried),
                              ("dead", sent.dead), ("unknown", sent.unknown)):
            if count:
                deliveries.labels(result=result).inc(count)

    def _heartbeat(self) -> None:
        """The scheduler loop is alive: tell /healthz, and systemd's watchdog if all is well."""
        liveness = self.service.liveness
        liveness.beat()
        check = liveness.check()
        if check.ok:
            self.notifier.notify(WATCHDOG="1")
            return
        now = time.monotonic()
        if now - self._last_unhealthy_log >= ERROR_LOG_INTERVAL_SECONDS:
            self._last_unhealthy_log = now
            log.error("not alive: %s; watchdog pings withheld", check.detail)

    def _instance(self) -> None:
        """This daemon's heartbeat row (and its last cycle) in the shared database."""
        service = self.service
        summary, self._pending_summary = self._pending_summary, None
        heartbeat(service.store, service.owner, hostname=socket.gethostname(),
                  pid=os.getpid(), version=__version__, started_at=service.started_at,
                  last_cycle=summary, restart_pending=self.reloader.restart_pending)
        config = service.config
        feeds, notes = release_dead_leases(
            service.store, timedelta(seconds=LIVE_TICKS * config.polling.tick),
            feed_lease(config), timedelta(seconds=config.delivery.lease),
            timedelta(seconds=config.delivery.send_timeout))
        if feeds or notes:
            log.warning("took back %d feed and %d notification leases of daemons that stopped "
                        "heartbeating", feeds, notes)
        now = time.monotonic()
        if self._offset_checked is None or now - self._offset_checked >= CLOCK_OFFSET_CHECK_SECONDS:
            self._offset_checked = now
            offset = clock_offset(service.store)
            if offset is not None and abs(offset) > CLOCK_OFFSET_WARN_SECONDS:
                # Another host's daemon may think this one dead (its heartbeat old) and take
                # back its leases mid-send: duplicates. NTP, not a setting, fixes it.
                log.warning("this host's clock is %.0f s %s the database server's: daemons on "
                            "several hosts compare leases and heartbeats across them, so keep "
                            "every host on NTP", abs(offset),
                            "ahead of" if offset > 0 else "behind")

    def _prune(self) -> None:
        service = self.service
        done = prune(service.store, service.config.retention)
        for what, rows in done.items():
            if rows:
                service.metrics.pruned.labels(what=what).inc(rows)
        if any(done.values()):
            log.info("retention: %s", ", ".join(f"{rows} {what}" for what, rows in done.items()
                                                 if rows))


def cycle_summary(report: CycleReport, seconds: float, outbox_depth: str) -> str:
    """The line a cycle that polled feeds logs (and shows as systemd's STATUS)."""
    revised = f", {report.revised} revised" if report.revised else ""
    return (f"cycle: {report.feeds} feeds polled ({report.failed} failed) in {seconds:.1f} s, "
            f"{report.new_entries} new entries{revised}, {report.articles} articles, "
            f"{report.hits} hits, {report.notifications} alerts queued; outbox {outbox_depth} "
            "open")
