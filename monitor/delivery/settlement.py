"""What each send came to, recorded: sent, retried with back-off and jitter, dead, or left
``unknown`` for the operator (see :mod:`monitor.delivery.dispatch` for when each applies);
a dead or unknown alert is told to the admin channel, one notice per send."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from monitor.config import Config
from monitor.delivery.channels import ChannelDirectory
from monitor.delivery.notify import DeliveryOutcome
from monitor.store import ClaimedNotification, Outbox

log = logging.getLogger("monitor.delivery.dispatch")  # one logger for the whole dispatch

_NOTICE_ITEMS = 20  # alerts named one by one in an admin notice


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0
    digests: int = 0
    unknown: int = 0  # sent without an answer, not retried (the receiver cannot deduplicate)

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.dead + self.unknown


class Settlement:
    """Records the outcomes of one dispatcher's sends (``owner``: rows another dispatcher took
    over meanwhile are left to it, neither counted nor announced here)."""

    def __init__(self, config: Config, outbox: Outbox, channels: ChannelDirectory, owner: str,
                 jitter: Callable[[], float]) -> None:
        self.config = config
        self.outbox = outbox
        self.channels = channels
        self.owner = owner
        self.jitter = jitter

    def record(self, notes: Sequence[ClaimedNotification], outcome: DeliveryOutcome,
               report: DispatchReport, *, quiet: bool = False) -> bool:
        """Record ``outcome`` for ``notes`` (sent together); True if they were sent and still
        ours. ``quiet``: no log line for a send (the console's alerts show themselves)."""
        ids = [n.id for n in notes]
        first = notes[0]
        if outcome.ok:
            # Rows another dispatcher took over meanwhile are its to count (and sent by it).
            settled = self.outbox.record_sent_many(ids, self.owner)
            report.sent += settled
            if not quiet:  # (the console's alerts are on standard output already)
                log.info("sent %s to %s", _what(notes), first.destination)
            return settled > 0
        error = outcome.error or "delivery failed"
        if outcome.permanent:
            self.give_up(notes, error, report)
            return False
        if outcome.unknown and not outcome.keyed:
            self._left_unknown(notes, error, report)
            return False
        now = self.outbox.store.clock()
        attempts = max(n.attempts for n in notes) + 1
        delay = self.config.delivery.backoff_base * 2 ** (attempts - 1) * self.jitter()
        retry_at = now + timedelta(seconds=delay)
        deadline = min(n.created_at for n in notes) + timedelta(
            seconds=self.config.delivery.retry_deadline)
        if attempts >= self.config.delivery.max_attempts or retry_at > deadline:
            self.give_up(notes, f"{error} (gave up after {attempts} attempts)", report)
            return False
        if outcome.unknown:
            # The receiver may have it; the retry carries the same Idempotency-Key.
            error = f"{error}; retried with the same idempotency key"
        report.retried += self.outbox.record_failure_many(ids, self.owner, error, retry_at,
                                                          unknown=outcome.unknown)
        log.warning("%s to %s failed (%s); retry at %s", _what(notes), first.destination,
                    error, retry_at.isoformat())
        return False

    def _left_unknown(self, notes: Sequence[ClaimedNotification], error: str,
                      report: DispatchReport) -> None:
        """The request went out and no answer came, to a destination that cannot drop a
        repeat: not retried on its own (a retry could be a duplicate); the admin is told."""
        if not self.outbox.record_failure_many([n.id for n in notes], self.owner, error, None,
                                               unknown=True):
            return  # settled meanwhile (the send ended as the daemon stopped)
        report.unknown += len(notes)
        for note in notes:
            log.error("notification %d to %s: %s", note.id, note.destination, error)
        self._tell_admin(
            "unknown", notes, "may not have reached",
            f": {error}. It is not retried on its own, since this destination cannot drop a "
            "repeat. If it did not arrive, send it again with")

    def give_up(self, notes: Sequence[ClaimedNotification], error: str,
                report: DispatchReport) -> None:
        held = self.outbox.record_failure_many([n.id for n in notes], self.owner, error, None)
        if not held:
            return  # another dispatcher took the rows over: its outcome, its notice
        report.dead += held
        for note in notes:
            log.error("notification %d to %s is dead: %s", note.id, note.destination, error)
        self._tell_admin("dead", notes, "could not be delivered to",
                         f" was given up: {error}. Retry with")

    def _tell_admin(self, kind: str, notes: Sequence[ClaimedNotification], happened: str,
                    what: str) -> None:
        """One notice to the admin channel for the alerts of one send (a digest of 200 dead
        alerts is one message, not 200); a dead or unknown notice is not announced again
        (no loops)."""
        alerts = [n for n in notes if n.kind == "alert"]
        if not alerts:
            return
        first, ids = alerts[0], " ".join(str(n.id) for n in alerts)
        listed = "; ".join(f"#{n.id} ({n.rule_id}: {n.alert.title if n.alert else ''})"
                           for n in alerts[:_NOTICE_ITEMS])
        more = len(alerts) - _NOTICE_ITEMS
        if more > 0:
            listed += f"; and {more} more"
        noun = "Alert" if len(alerts) == 1 else f"{len(alerts)} alerts"
        public = self.config.web.public_url
        page = f", or in the web view's outbox: {public}outbox?status={kind}" if public else ""
        key = f"{kind}:{first.id}" if len(alerts) == 1 else f"{kind}:{first.id}+{len(alerts)}"
        self.outbox.enqueue_notice(
            key, f"{noun} {happened} {first.channel}",
            f"Notification{'s' if len(alerts) > 1 else ''} {listed} to {first.destination}"
            f"{what} `monitor notifications retry {ids}`{page}.",
            self.channels.admin_routes())


def _what(notes: Sequence[ClaimedNotification]) -> str:
    if len(notes) == 1:
        return f"notification {notes[0].id}"
    return f"digest of {len(notes)} alerts"
