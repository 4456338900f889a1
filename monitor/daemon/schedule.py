"""The schedule stage: the daemon's clock, built on APScheduler 3.x.

APScheduler keeps its jobs in memory (its job stores cannot be shared between processes):
one ``cycle`` job polls whatever feeds the database says are due, one ``dispatch`` job sends
the due outbox rows. Both coalesce missed runs and never overlap themselves, so a slow cycle
delays the next tick instead of piling ticks up. Work is handed out by database leases, so
several daemons can share one PostgreSQL. A watcher reloads the rules when their files change.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor as SchedulerPool
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from watchfiles import watch

from monitor.errors import StoreError

if TYPE_CHECKING:
    from monitor.daemon.service import Service

log = logging.getLogger(__name__)

DISPATCH_INTERVAL_SECONDS = 5.0
STOP_GRACE_SECONDS = 8.0  # SIGTERM to exit stays under 10 s
ERROR_LOG_INTERVAL_SECONDS = 60.0


def install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    """Make SIGTERM and SIGINT set ``stop``; returns the handlers they replace."""
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()
    return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}


class Daemon:
    """Runs the service until SIGTERM/SIGINT; see the module docstring for the jobs."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": SchedulerPool(max_workers=3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._busy = 0
        self._busy_lock = threading.Condition()
        self.finished_cleanly = True  # False: work was still running when the grace ran out
        self._last_error_log = 0.0

    def run(self) -> int:
        """Block until stopped; returns the process exit code."""
        stop = self.service.stop
        previous = install_stop_handlers(stop)
        tick = self.service.config.polling.tick
        now = datetime.now(UTC)
        self.scheduler.add_job(self._guarded(self._cycle), "interval", seconds=tick,
                               id="cycle", next_run_time=now)
        self.scheduler.add_job(self._guarded(self._dispatch), "interval",
                               seconds=DISPATCH_INTERVAL_SECONDS, id="dispatch",
                               next_run_time=now)
        watcher = threading.Thread(target=self._watch_rules, name="rules-watch", daemon=True)
        self.scheduler.start()
        watcher.start()
        log.info("newsmonitor running: %d feeds, tick %.0fs; stop with SIGTERM or Ctrl-C",
                 len(self.service.config.feeds), tick)
        try:
            stop.wait()
        finally:
            log.info("stopping: no new work is claimed; in-flight work finishes or is released")
            self.scheduler.shutdown(wait=False)
            finished = self.finished_cleanly = self._wait_idle(STOP_GRACE_SECONDS)
            if not finished:
                log.warning("in-flight work did not finish in %.0fs; its leases are released "
                            "and will be retried", STOP_GRACE_SECONDS)
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
                self._log_rate_limited("database unavailable, retrying next tick: %s", exc)
            except Exception:
                log.exception("job %s failed; it runs again next tick", job.__name__)
            finally:
                with self._busy_lock:
                    self._busy -= 1
                    self._busy_lock.notify_all()
        run.__name__ = job.__name__
        return run

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
        report = self.service.pipeline.run_cycle()
        self.service.check_feed_health()
        if report.feeds:
            log.info("cycle: %d feeds polled (%d failed), %d new entries, %d articles, "
                     "%d hits, %d alerts queued", report.feeds, report.failed,
                     report.new_entries, report.articles, report.hits, report.notifications)
        if report.notifications:
            self._dispatch()

    def _dispatch(self) -> None:
        self.service.dispatcher.dispatch_due()

    def _watch_rules(self) -> None:
        path = self.service.rules.path
        if not path.exists():
            log.warning("rules directory %s does not exist; not watching it", path)
            return
        for changes in watch(path, stop_event=self.service.stop, debounce=500,
                             raise_interrupt=False):
            if any(p.endswith((".yaml", ".yml")) for _, p in changes):
                log.info("rule files changed; reloading")
                self.service.rules.reload()


def run_once(service: Service) -> int:
    """One full cycle and one dispatch round, then exit (``monitor run --once``)."""
    report = service.pipeline.run_cycle()
    service.check_feed_health()
    sent = service.dispatcher.dispatch_due()
    log.info("once: %d feeds polled (%d failed), %d articles, %d hits; %d alerts sent, "
             "%d to retry, %d dead", report.feeds, report.failed, report.articles, report.hits,
             sent.sent, sent.retried, sent.dead)
    service.close()
    return 0
