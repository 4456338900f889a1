"""A digest that may have reached its receiver is sent again exactly as it was: the same
alerts, body and ``Idempotency-Key``, however many alerts joined the channel's digest since;
those go in the next one."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from monitor.config import ChannelConfig
from monitor.delivery.channels import ChannelDirectory
from monitor.delivery.dispatch import Dispatcher
from monitor.delivery.notify import IDEMPOTENCY_HEADER, ConsoleNotifier, DeliveryOutcome, send
from monitor.delivery.policy import DeliveryPolicies
from monitor.delivery.render import RenderedMessage
from monitor.store import ClaimedNotification
from monitor.store.schema import NotificationRow
from tests.daemon_support import wait_for
from tests.delivery.test_dispatch import Setup, make_setup
from tests.notify_support import Hit, Receiver


def _digest_channel(s: Setup, receiver: Receiver, owner: str = "w") -> Dispatcher:
    config = s.dispatcher.config.model_copy(update={"channels": {"hook": ChannelConfig(
        urls=[f"json://127.0.0.1:{receiver.port}/hook"], delivery="digest",
        digest_schedule="1h")}})
    s.channels = ChannelDirectory(config)
    return Dispatcher(config, s.outbox, s.channels, ConsoleNotifier(io.StringIO()), owner,
                      policies=DeliveryPolicies(config), jitter=lambda: 1.0)


def _titles(hit: Hit) -> list[str]:
    return sorted(a["title"] for a in hit.json()["alerts"])


def _received_once_per_key(hits: list[Hit]) -> list[str]:
    """The alerts a receiver acts on when it drops a request whose key it has seen."""
    seen: dict[str, Hit] = {}
    for h in hits:
        seen.setdefault(h.headers[IDEMPOTENCY_HEADER], h)
    return sorted(t for h in seen.values() for t in _titles(h))


def test_a_digest_without_an_answer_is_resent_whole_and_newer_alerts_go_in_the_next(
        tmp_path: Path, receiver: Receiver) -> None:
    s = make_setup(tmp_path, receiver, console=False, send_timeout=0.2, lease=5)
    dispatcher = _digest_channel(s, receiver)
    s.save(0)
    s.save(1)
    assert dispatcher.dispatch_due().held == 2
    s.clock.advance(3600)
    receiver.delay = 0.6  # takes the digest, answers after the send timeout
    report = dispatcher.dispatch_due()
    assert report.retried == 2 and report.sent == 0
    receiver.delay = 0.0
    s.save(2)  # these join the channel's next digest meanwhile
    s.save(3)
    assert dispatcher.dispatch_due().held == 2
    s.clock.advance(3600)  # the retry and the next digest are both due
    report = dispatcher.dispatch_due()
    assert report.digests == 2 and report.sent == 4
    hits = wait_for(lambda: len(receiver.hits) == 3 and list(receiver.hits), 10,
                    "the unanswered digest to be recorded too")
    by_key: dict[str, list[Hit]] = {}
    for h in hits:
        by_key.setdefault(h.headers[IDEMPOTENCY_HEADER], []).append(h)
    assert sorted(len(v) for v in by_key.values()) == [1, 2]
    first, again = next(v for v in by_key.values() if len(v) == 2)
    assert again.body == first.body  # the same message, byte for byte
    assert _titles(first) == ["Gencatan senjata di Gaza 0", "Gencatan senjata di Gaza 1"]
    (newer,) = next(v for v in by_key.values() if len(v) == 1)
    assert _titles(newer) == ["Gencatan senjata di Gaza 2", "Gencatan senjata di Gaza 3"]
    assert _received_once_per_key(hits) == [f"Gencatan senjata di Gaza {n}" for n in range(4)]
    assert s.outbox.counts()["sent"] == 4
    s.store.close()


class Crash(BaseException):
    """The dispatcher's process dies (kill -9) once the receiver has the digest."""


def test_a_digest_sent_just_before_a_crash_is_resent_the_same_by_another_daemon(
        tmp_path: Path, receiver: Receiver) -> None:
    s = make_setup(tmp_path, receiver, console=False)
    crashing = _digest_channel(s, receiver, "crashed")
    allow = ["127.0.0.1/32"]

    def send_then_crash(url: str, message: RenderedMessage, timeout: float,
                        key: str) -> DeliveryOutcome:
        assert send(url, message, timeout=timeout, allow_private=allow,
                    idempotency_key=key).ok
        raise Crash

    crashing.sender = send_then_crash
    s.save(0)
    s.save(1)
    crashing.dispatch_due()
    s.clock.advance(3600)
    with pytest.raises(Crash):
        crashing.dispatch_due()
    s.save(2)  # queued while the crashed daemon's lease runs out
    survivor = _digest_channel(s, receiver, "survivor")
    survivor.dispatch_due()
    s.clock.advance(3600)
    report = survivor.dispatch_due()
    assert report.digests == 2 and report.sent == 3
    first, again, newer = receiver.hits_for("/hook")
    assert again.headers[IDEMPOTENCY_HEADER] == first.headers[IDEMPOTENCY_HEADER]
    assert again.body == first.body
    assert newer.headers[IDEMPOTENCY_HEADER] != first.headers[IDEMPOTENCY_HEADER]
    assert _titles(newer) == ["Gencatan senjata di Gaza 2"]
    assert _received_once_per_key([first, again, newer]) == [
        f"Gencatan senjata di Gaza {n}" for n in range(3)]
    s.store.close()


def test_retrying_an_alert_of_a_digest_given_up_without_an_answer_resends_that_digest(
        tmp_path: Path, receiver: Receiver) -> None:
    """The digest's last attempt went unanswered and it was given up; the operator's
    `monitor notifications retry ID` of one of its alerts sends the digest again as it was
    (the receiver may have it, under its key), not that alert alone under a key of its own."""
    s = make_setup(tmp_path, receiver, console=False, max_attempts=1, send_timeout=0.2,
                   lease=5)
    dispatcher = _digest_channel(s, receiver)
    s.save(0)
    s.save(1)
    dispatcher.dispatch_due()
    s.clock.advance(3600)
    receiver.delay = 0.6
    assert dispatcher.dispatch_due().dead == 2
    receiver.delay = 0.0
    s.save(2)
    dispatcher.dispatch_due()
    dead = sorted(n.id for n in s.outbox.list("dead"))
    assert s.outbox.retry(dead[:1]) == 1
    assert s.outbox.counts()["digest"] == 2  # the digest, whole
    report = dispatcher.dispatch_due()
    assert report.digests == 1 and report.sent == 2
    first, again = wait_for(lambda: len(receiver.hits) == 2 and list(receiver.hits), 10,
                            "the unanswered digest to be recorded too")
    assert again.headers[IDEMPOTENCY_HEADER] == first.headers[IDEMPOTENCY_HEADER]
    assert again.body == first.body
    assert json.loads(again.body)["event"] == "digest"
    assert s.outbox.counts()["held"] == 1  # the newer alert waits for its own digest
    s.store.close()


def test_a_sealed_digest_part_of_which_was_lost_is_not_sent_in_part(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sent in part under its key, a digest's rest would be dropped as a repeat by a receiver
    that never had the first send: the part still held goes back unsent."""
    s = make_setup(tmp_path, receiver, console=False)
    dispatcher = _digest_channel(s, receiver)
    s.save(0)
    s.save(1)
    dispatcher.dispatch_due()
    s.clock.advance(3600)
    receiver.statuses = [503]
    assert dispatcher.dispatch_due().retried == 2
    s.clock.advance(60)
    claim = s.outbox.claim

    def claim_then_lose_one(owner: str, lease: timedelta,
                            limit: int = 50) -> list[ClaimedNotification]:
        batch = claim(owner, lease, limit)
        if batch:
            with s.store.write() as session:
                session.execute(update(NotificationRow)
                                .where(NotificationRow.id == batch[-1].id)
                                .values(lease_owner="other"))
        return batch

    monkeypatch.setattr(s.outbox, "claim", claim_then_lose_one)
    assert dispatcher.dispatch_due().attempted == 0
    assert len(receiver.hits_for("/hook")) == 1
    assert s.outbox.leased() == 1  # the other's; the first row was given back
