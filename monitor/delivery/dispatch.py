"""The dispatcher: claims due outbox rows, renders and sends each, records every attempt.

Recorded before sent: a row exists (committed with its hit) before any send is tried, and it
is settled only after the destination answered. A row is sent only under a live lease: the
lease is renewed just before each send, and a row another dispatcher took meanwhile is left
to it. One round runs at a time per dispatcher (the daemon wakes it; it never runs twice).
A send that went out without an answer is "outcome unknown": retried with the same
idempotency key where the receiver can drop repeats (webhooks), otherwise left ``unknown``
for the operator. A round the database breaks off (a send's outcome cannot be recorded) leaves
that outcome in memory for the next round to record, so the send is not repeated once its
lease runs out. Per row the delivery policy decides: send
now, or hold for the channel's next digest (digest delivery, quiet hours, rate cap). Held
rows are released into one digest message per destination when the channel's schedule fires
or its quiet hours end. A digest's rows and message are recorded before its first send
(:meth:`Outbox.seal_digest`), so every retry sends that message under the same key, and the
alerts released since go in the next one. Transient failures retry with exponential back-off
and jitter until ``max_attempts`` or the retry deadline; permanent ones (a 401, a refused
address, a destination removed from the config) go dead at once, and the admin channel is
told (:mod:`monitor.delivery.settlement` records each outcome).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

from monitor.config import Config
from monitor.delivery.channels import CONSOLE, ChannelDirectory
from monitor.delivery.notify import (
    KEYED_SCHEMES,
    ConsoleNotifier,
    DeliveryOutcome,
    send,
    target_kind,
)
from monitor.delivery.policy import DeliveryPolicies
from monitor.delivery.render import (
    RenderedMessage,
    default_format,
    render_alert,
    render_digest,
    render_notice,
)
from monitor.delivery.settlement import DispatchReport, Settlement
from monitor.errors import StoreError
from monitor.models import Alert
from monitor.store import ClaimedNotification, Outbox, idempotency_key

log = logging.getLogger(__name__)

# (url, message, timeout in seconds, idempotency key) -> outcome
Sender = Callable[[str, RenderedMessage, float, str], DeliveryOutcome]
RATE_WINDOW = timedelta(hours=1)


class Dispatcher:
    def __init__(self, config: Config, outbox: Outbox, channels: ChannelDirectory,
                 console: ConsoleNotifier, owner: str, *,
                 policies: DeliveryPolicies | None = None,
                 should_stop: Callable[[], bool] = lambda: False,
                 sender: Sender | None = None,
                 jitter: Callable[[], float] = lambda: random.uniform(0.8, 1.2)) -> None:  # noqa: S311
        self.config = config
        self.outbox = outbox
        self.channels = channels
        self.console = console
        self.owner = owner
        self.policies = policies or DeliveryPolicies(config)
        self.should_stop = should_stop
        allow_private = tuple(config.http.allow_private_networks)
        self.sender: Sender = sender or (
            lambda url, message, timeout, key: send(url, message, timeout=timeout,
                                                    allow_private=allow_private,
                                                    idempotency_key=key))
        self.settlement = Settlement(config, outbox, channels, owner, jitter)
        self.lease = timedelta(seconds=config.delivery.lease)
        self._running = threading.Lock()
        self._flight = threading.Lock()
        self._in_flight: tuple[list[ClaimedNotification], bool] | None = None  # (rows, keyed)
        # What a round that broke off on a database error left: outcomes of sends that went
        # out but could not be recorded, and whether rows may still be leased to us.
        self._unrecorded: list[tuple[list[ClaimedNotification], DeliveryOutcome]] = []
        self._leases_left = False

    def dispatch_due(self, limit: int = 50) -> DispatchReport:
        """Release due digests, then send every due row until none is due or we must stop.

        One round at a time per dispatcher: a call made while another is running returns at
        once with an empty report (the running round picks up what is due).
        """
        report = DispatchReport()
        if not self._running.acquire(blocking=False):
            return report
        try:
            self._recover(report)
            self._dispatch(limit, report)
        except StoreError:
            self._leases_left = True
            raise
        finally:
            self._running.release()
        return report

    def _recover(self, report: DispatchReport) -> None:
        """Before a round, what the last one left when the database failed under it: the
        outcomes of sends it could not record are recorded now (a sent alert is not sent
        again once its lease runs out), and the rows it had claimed and not sent go back to
        the queue now, not when their leases run out. Raises StoreError while still down."""
        while self._unrecorded:
            notes, outcome = self._unrecorded[0]
            self.settlement.record(notes, outcome, report)
            self._unrecorded.pop(0)
        if self._leases_left:
            self.outbox.release(self.owner)  # one round at a time: none of them is in flight
            self._leases_left = False

    def _dispatch(self, limit: int, report: DispatchReport) -> None:
        self._release_digests()
        while not self.should_stop():
            batch = self.outbox.claim(self.owner, self.lease, limit)
            if not batch:
                break
            # Per destination: each sealed digest (sent before) apart, and the rows new to one.
            digests: dict[tuple[str, str, str | None],
                          list[ClaimedNotification]] = defaultdict(list)
            for note in batch:
                if self.should_stop():
                    break
                if note.batched and note.alert is not None:
                    digests[(note.channel, note.destination_key, note.digest_key)].append(note)
                elif self._still_mine([note]):
                    self._deliver(note, report)
            for (_channel, _key, sealed), notes in digests.items():
                if self.should_stop():
                    break
                held = self._still_mine(notes)
                if sealed is not None and len(held) < len(notes):
                    # A sealed digest goes whole or not at all (claimed whole, so lost whole).
                    self.outbox.give_back([n.id for n in held], self.owner)
                elif held:
                    self._deliver_digest(held, report)
            if self.should_stop():
                self.outbox.release(self.owner)  # unsent rows go back to the queue now

    def _still_mine(self, notes: Sequence[ClaimedNotification]) -> list[ClaimedNotification]:
        """Renew the lease of ``notes`` just before sending them; the ones still held.

        A batch may take longer than the lease (a slow destination): a row whose lease ran out
        and that another dispatcher claimed meanwhile is left to it. A renewed row stays ours
        for ``delivery.lease``, at least twice ``delivery.send_timeout`` (config checks it),
        so the send ends and is recorded before anyone else may claim it.
        """
        held = set(self.outbox.renew([n.id for n in notes], self.owner, self.lease))
        lost = [n for n in notes if n.id not in held]
        for note in lost:
            log.info("notification %d: lease lost to another dispatcher; not sending it",
                     note.id)
        return [n for n in notes if n.id in held]

    def _release_digests(self) -> None:
        now = self.outbox.store.clock()
        for name, policy in self.policies.channels.items():
            oldest = self.outbox.oldest_held(name)
            if oldest is None:
                continue
            last = self.outbox.last_release(name)
            # The digest after the first alert waiting (never one already past, after idling).
            anchor = max(oldest, last) if last is not None else oldest
            if policy.release_due(anchor, now):
                count = self.outbox.release_held(name)
                log.info("channel %s: %d held alerts released into a digest", name, count)
        for name in self.outbox.held_channels():
            if name not in self.policies.channels:
                # The channel was removed from the config: no schedule will ever release its
                # held alerts. Released now, they go dead like its other rows (the admin is
                # told; `monitor notifications retry` sends them once it is back).
                count = self.outbox.release_held(name)
                log.warning("channel %s is no longer configured: %d held alerts released",
                            name, count)

    def _deliver(self, note: ClaimedNotification, report: DispatchReport) -> None:
        # The console's route is the one whose key is "console" too: a configured channel
        # may also be named "console", and its URLs must still receive their alerts.
        if note.channel == CONSOLE and note.destination_key == CONSOLE:
            # (A console that fails, standard output closed, is retried and goes dead as any
            # destination does: not counted as sent.)
            if note.alert is not None:
                outcome = self.console.show(note.alert, self.config.web.public_url)
            else:
                assert note.notice is not None
                outcome = self.console.send(render_notice(
                    note.notice.subject, note.notice.body, format="text", max_chars=10_000,
                    target="console"))
            self._record([note], outcome, report, quiet=True)
            return
        url = self.channels.url_for(note.channel, note.destination_key, note.destination)
        if url is None:
            self.settlement.give_up([note], "destination no longer configured", report)
            return
        if note.alert is not None and self.policies.should_hold(
                note.channel, note.rule_id, self.outbox.store.clock(),
                lambda: self.outbox.sent_recently(note.rule_id, note.channel,
                                                  note.destination_key, RATE_WINDOW)):
            self.outbox.hold(note.id, self.owner)
            report.held += 1
            return
        target = target_kind(url)
        fmt = self.channels.formats.get(note.channel) or default_format(target)
        if note.alert is not None:
            message = render_alert(
                note.alert, format=fmt, template=self.channels.templates.get(note.channel),
                max_chars=self.config.delivery.max_message_chars, target=target,
                timezone=self.channels.timezones.get(note.channel, "UTC"),
                webhook=self.channels.webhooks.get(note.channel, "event"),
                web_url=self.config.web.public_url)
        else:
            assert note.notice is not None
            message = render_notice(note.notice.subject, note.notice.body, format=fmt,
                                    max_chars=self.config.delivery.max_message_chars,
                                    target=target)
        self._send([note], url, message, report)

    def _deliver_digest(self, notes: Sequence[ClaimedNotification],
                        report: DispatchReport) -> None:
        first = notes[0]
        url = self.channels.url_for(first.channel, first.destination_key, first.destination)
        if url is None:
            self.settlement.give_up(notes, "destination no longer configured", report)
            return
        sealed = _sealed_message(notes)
        if sealed is not None:
            # Sent before (the outcome unknown, or lost in a crash): the same message again,
            # under the same key, so that a receiver holding it drops the repeat.
            message, key = sealed
        else:
            composed = self._compose_digest(notes, url)
            if composed is None:
                return
            notes, message, key = composed
        if self._send(notes, url, message, report, key):
            report.digests += 1

    def _compose_digest(
        self, notes: Sequence[ClaimedNotification], url: str,
    ) -> tuple[Sequence[ClaimedNotification], RenderedMessage, str] | None:
        """A new digest message of as many of ``notes`` as fit, sealed with them before it is
        sent (None: the lease of some was lost; the rows are left to the next claim)."""
        first = notes[0]
        target = target_kind(url)

        def render(alerts: list[Alert]) -> RenderedMessage:
            return render_digest(
                alerts, format=self.channels.formats.get(first.channel) or default_format(target),
                template=self.channels.templates.get(first.channel),
                max_chars=self.config.delivery.max_message_chars, target=target,
                timezone=self.channels.timezones.get(first.channel, "UTC"),
                webhook=self.channels.webhooks.get(first.channel, "event"),
                web_url=self.config.web.public_url)

        alerts: list[Alert] = [n.alert for n in notes if n.alert is not None]
        message = render(alerts)
        if message.items < len(notes):
            # Alerts that do not fit go in the next message (given back, due now), not into
            # an "and N more" line of this one, which would count them as sent unseen.
            self.outbox.give_back([n.id for n in notes[message.items:]], self.owner)
            notes, alerts = notes[:message.items], alerts[:message.items]
            message = render(alerts)
        key = idempotency_key(notes)
        ids = [n.id for n in notes]
        if not self.outbox.seal_digest(ids, self.owner, key, _stored(message)):
            self.outbox.give_back(ids, self.owner)
            return None
        return notes, message, key

    def _send(self, notes: Sequence[ClaimedNotification], url: str, message: RenderedMessage,
              report: DispatchReport, key: str | None = None) -> bool:
        keyed = url.partition("://")[0].lower() in KEYED_SCHEMES
        with self._flight:
            self._in_flight = (list(notes), keyed)
        try:
            outcome = self.sender(url, message, self.config.delivery.send_timeout,
                                  key or idempotency_key(notes))
            return self._record(notes, outcome, report)
        finally:
            with self._flight:
                self._in_flight = None

    def _record(self, notes: Sequence[ClaimedNotification], outcome: DeliveryOutcome,
                report: DispatchReport, *, quiet: bool = False) -> bool:
        """Settle a send's outcome; kept for the next round if the database fails now."""
        try:
            return self.settlement.record(notes, outcome, report, quiet=quiet)
        except StoreError:
            self._unrecorded.append((list(notes), outcome))
            raise

    def abandon_in_flight(self) -> int:
        """At shutdown, when the grace ran out during a send: its outcome is unknown. Recorded
        so (retried with the same key for a webhook, ``unknown`` elsewhere) instead of the
        row going back to the queue to be sent again as if it never went out."""
        with self._flight:
            flight = self._in_flight
        if flight is None:
            return 0
        notes, keyed = flight
        self.settlement.record(notes, DeliveryOutcome(
            ok=False, unknown=True, keyed=keyed, code="unknown",
            error="outcome unknown: the daemon stopped while the message was being sent"),
            DispatchReport())
        return len(notes)


def _stored(message: RenderedMessage) -> str:
    return json.dumps(dataclasses.asdict(message), ensure_ascii=False)


def _sealed_message(notes: Sequence[ClaimedNotification]) -> tuple[RenderedMessage, str] | None:
    """The message and key a sealed digest was first sent with, or None for rows new to a
    digest, or whose message is gone (its row pruned: they are sealed again, anew)."""
    key = notes[0].digest_key
    stored = next((n.digest_message for n in notes if n.digest_message), None)
    if key is None or stored is None:
        return None
    try:
        return RenderedMessage(**json.loads(stored)), key
    except (ValueError, TypeError):
        log.warning("digest %s: its stored message cannot be read; sending it anew", key)
        return None
