"""``monitor run --once`` (and ``monitor feeds refresh``): one cycle and one dispatch round in
this process, stopped by SIGTERM or Ctrl-C as the daemon is (:mod:`monitor.daemon.schedule`)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from monitor.daemon.schedule import STOP_GRACE_SECONDS

if TYPE_CHECKING:
    from monitor.daemon.service import Service

log = logging.getLogger(__name__)

ONCE_STOPPED = 1  # run --once's exit code when a signal stopped it before the end


def run_once(service: Service, *, announce: bool = True) -> int:
    """One full cycle and one dispatch round, then exit (``monitor run --once``); 0, or
    :data:`ONCE_STOPPED` when ``service.stop`` was set (SIGTERM, Ctrl-C) before the end.
    ``announce``: queue the admin notices a daemon queues (rule problems, feed health);
    not for ``monitor feeds refresh``, which only polls.

    A stop ends the run within the daemon's grace (:data:`STOP_GRACE_SECONDS`): no more feeds
    are claimed and polls still running after the grace are left (their feeds released), as
    the daemon does; after :data:`ONCE_STOPPED` the caller exits at once (``os._exit``: a
    poll's thread may still be blocked in I/O).
    Raises StoreError when the database fails on the way (locked, gone, its disk full). The
    service is closed either way, so the feeds it claimed are released if the database still
    takes the write (else their leases run out)."""
    run = OnceRun(service, announce)
    worker = threading.Thread(target=run.work, name="once", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            if service.stop.wait(timeout=0.5):
                worker.join(STOP_GRACE_SECONDS)
                break
    finally:
        service.close()  # (polls still running meet closed pools: the caller exits at once)
    if worker.is_alive():
        log.warning("stopped: polls still running after %.0f s are left; their feeds are "
                    "released", STOP_GRACE_SECONDS)
        return ONCE_STOPPED
    if run.failure is not None:
        raise run.failure
    if not run.finished:  # stopped before its end (no more feeds claimed, no more sent)
        log.warning("stopped before the run ended")
        return ONCE_STOPPED
    return 0


class OnceRun:
    """The work of ``run --once``, run in a thread of its own so that a stop need not wait for
    the slowest poll (an uncaught exception is kept for the caller)."""

    def __init__(self, service: Service, announce: bool) -> None:
        self.service = service
        self.announce = announce
        self.failure: BaseException | None = None
        self.finished = False  # ran to its end without a stop

    def work(self) -> None:
        service = self.service
        try:
            if self.announce:
                service.rules_reloaded(service.rule_problems)
            started = time.monotonic()
            report = service.pipeline.run_cycle()
            cycle = time.monotonic() - started
            if self.announce:
                service.check_feed_health()
            sent = service.dispatcher.dispatch_due()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.failure = exc
            return
        self.finished = not service.stop.is_set()
        log.info("%s: %d feeds polled (%d failed), %d articles, %d hits in a %.1f s cycle; "
                 "%d alerts sent, %d to retry, %d dead", "once" if self.announce else "refresh",
                 report.feeds, report.failed, report.articles, report.hits, cycle, sent.sent,
                 sent.retried, sent.dead)
