"""The dispatcher: claims due outbox rows, renders and sends each, records every attempt.

Recorded before sent: a row exists (committed with its hit) before any send is tried, and it
is settled only after the destination answered. Transient failures retry with exponential
back-off and jitter until ``max_attempts`` or the retry deadline; permanent ones (a 401, a
refused address, a destination removed from the config) go dead at once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from monitor.channels import CONSOLE, ChannelDirectory
from monitor.config import Config
from monitor.notify import ConsoleNotifier, DeliveryOutcome, send, target_kind
from monitor.render import RenderedMessage, render_alert
from monitor.store import ClaimedNotification, Outbox

log = logging.getLogger(__name__)

Sender = Callable[[str, RenderedMessage, float], DeliveryOutcome]


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.dead




class Dispatcher:
    def __init__(self, config: Config, outbox: Outbox, channels: ChannelDirectory,
                 console: ConsoleNotifier, owner: str, *,
                 should_stop: Callable[[], bool] = lambda: False,
                 sender: Sender | None = None,
                 jitter: Callable[[], float] = lambda: random.uniform(0.8, 1.2)) -> None:  # noqa: S311
        self.config = config
        self.outbox = outbox
        self.channels = channels
        self.console = console
        self.owner = owner
        self.should_stop = should_stop
        allow_private = tuple(config.http.allow_private_networks)
        self.sender: Sender = sender or (
            lambda url, message, timeout: send(url, message, timeout=timeout,
                                               allow_private=allow_private))
        self.jitter = jitter

    def dispatch_due(self, limit: int = 50) -> DispatchReport:
        """Send every due row (in batches of ``limit``) until none is due or we must stop."""
        report = DispatchReport()
        lease = timedelta(seconds=self.config.delivery.lease)
        while not self.should_stop():
            batch = self.outbox.claim(self.owner, lease, limit)
            if not batch:
                break
            for note in batch:
                if self.should_stop():
                    self.outbox.release(self.owner)  # unsent rows go back to pending now
                    return report
                self._deliver(note, report)
        return report

    def _deliver(self, note: ClaimedNotification, report: DispatchReport) -> None:
        if note.channel == CONSOLE:
            self.console.show(note.alert)
            self.outbox.record_sent(note.id, self.owner)
            report.sent += 1
            return
        url = self.channels.url_for(note.channel, note.destination_key)
        if url is None:
            self._give_up(note, "destination no longer configured", report)
            return
        message = render_alert(
            note.alert, format=self.channels.formats.get(note.channel, "text"),
            template=self.channels.templates.get(note.channel),
            max_chars=self.config.delivery.max_message_chars, target=target_kind(url))
        outcome = self.sender(url, message, self.config.http.total_timeout)
        if outcome.ok:
            self.outbox.record_sent(note.id, self.owner)
            report.sent += 1
            log.info("sent notification %d to %s", note.id, note.destination)
            return
        error = outcome.error or "delivery failed"
        if outcome.permanent:
            self._give_up(note, error, report)
            return
        now = self.outbox.store.clock()
        attempts = note.attempts + 1
        delay = self.config.delivery.backoff_base * 2 ** (attempts - 1) * self.jitter()
        retry_at = now + timedelta(seconds=delay)
        deadline = note.created_at + timedelta(seconds=self.config.delivery.retry_deadline)
        if attempts >= self.config.delivery.max_attempts or retry_at > deadline:
            self._give_up(note, f"{error} (gave up after {attempts} attempts)", report)
            return
        self.outbox.record_failure(note.id, self.owner, error, retry_at)
        report.retried += 1
        log.warning("notification %d to %s failed (%s); retry at %s", note.id, note.destination,
                    error, retry_at.isoformat())

    def _give_up(self, note: ClaimedNotification, error: str, report: DispatchReport) -> None:
        self.outbox.record_failure(note.id, self.owner, error, None)
        report.dead += 1
        log.error("notification %d to %s is dead: %s", note.id, note.destination, error)
