"""The dispatcher against a real webhook receiver: retries, dead letters, outages, no doubles."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Config, DeliveryConfig, HttpConfig
from monitor.delivery.channels import ChannelDirectory
from monitor.delivery.dispatch import Dispatcher
from monitor.delivery.notify import ConsoleNotifier
from monitor.store import Outbox, Store
from monitor.store.schema import DeliveryAttemptRow
from tests.notify_support import Receiver, start_receiver, stop_receiver
from tests.store_support import FakeClock, article, feed, hit, open_store


@dataclass
class Setup:
    store: Store
    clock: FakeClock
    outbox: Outbox
    dispatcher: Dispatcher
    console: io.StringIO
    channels: ChannelDirectory

    def save(self, n: int, title: str = "Gencatan senjata di Gaza") -> None:
        fid = self.store.feed_health()[0].id
        self.store.save_article(fid, article(url=f"https://n.example/{n}", key=f"g{n}",
                                             title=f"{title} {n}"),
                                [hit()], self.channels.routes_for)

    def attempts(self) -> list[DeliveryAttemptRow]:
        with self.store.read() as session:
            return list(session.scalars(select(DeliveryAttemptRow)
                                        .order_by(DeliveryAttemptRow.id)))


def make_setup(tmp_path: Path, receiver: Receiver, path: str = "/hook",
               **delivery: object) -> Setup:
    config = Config(
        base_dir=tmp_path,
        channels={"hook": {"urls": [f"json://127.0.0.1:{receiver.port}{path}"]}},
        http=HttpConfig(allow_private_networks=["127.0.0.1/32"], total_timeout=5),
        delivery=DeliveryConfig(default_channels=["hook"], backoff_base=30, **delivery),
    )
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    store.sync_feeds([feed()])
    channels = ChannelDirectory(config)
    outbox = Outbox(store)
    console = io.StringIO()
    dispatcher = Dispatcher(config, outbox, channels, ConsoleNotifier(console), "w",
                            jitter=lambda: 1.0)
    return Setup(store, clock, outbox, dispatcher, console, channels)


@pytest.fixture
def setup(tmp_path: Path, receiver: Receiver) -> Iterator[Setup]:
    s = make_setup(tmp_path, receiver)
    yield s
    s.store.close()


def test_an_alert_reaches_the_console_and_the_webhook_once(setup: Setup,
                                                           receiver: Receiver) -> None:
    setup.save(1)
    report = setup.dispatcher.dispatch_due()
    assert report.sent == 2 and report.dead == report.retried == 0
    (posted,) = receiver.hits_for("/hook")
    assert posted.json()["alert"]["title"].startswith("Gencatan senjata di Gaza 1")
    assert "Gencatan senjata di Gaza 1" in setup.console.getvalue()
    assert setup.dispatcher.dispatch_due().attempted == 0


def test_G8_three_failures_then_success_is_one_delivery_after_four_attempts(
        setup: Setup, receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 500]
    setup.save(1)
    setup.dispatcher.dispatch_due()
    for expected_delay in (30, 60, 120):
        setup.clock.advance(expected_delay - 1)
        assert setup.dispatcher.dispatch_due().attempted == 0  # back-off not yet over
        setup.clock.advance(1)
        setup.dispatcher.dispatch_due()
    assert len(receiver.hits_for("/hook")) == 4
    assert setup.outbox.counts()["sent"] == 2
    outcomes = [a.outcome for a in setup.attempts()]
    assert outcomes.count("retry") == 3 and outcomes.count("sent") == 2  # webhook 4, console 1
    (info,) = [n for n in setup.outbox.list() if n.channel == "hook"]
    assert info.attempts == 4 and info.status == "sent"


def test_G9_a_permanent_failure_is_dead_after_one_attempt(tmp_path: Path,
                                                          receiver: Receiver) -> None:
    s = make_setup(tmp_path, receiver, path="/status/401")
    s.save(1)
    report = s.dispatcher.dispatch_due()
    # the console route is unaffected, and the dead letter is announced (console is admin)
    assert report.dead == 1 and report.sent == 2
    assert "Alert could not be delivered to hook" in s.console.getvalue()
    assert len(receiver.hits_for("/status/401")) == 1
    (dead,) = s.outbox.list("dead")
    assert dead.attempts == 1 and "401" in (dead.last_error or "")
    s.clock.advance(3600)
    assert s.dispatcher.dispatch_due().attempted == 0
    s.store.close()


def test_outage_loses_nothing_and_delivers_each_alert_exactly_once(
        setup: Setup, receiver: Receiver) -> None:
    stop_receiver(receiver)
    for cycle in range(3):
        setup.save(cycle)
        setup.dispatcher.dispatch_due()
        setup.clock.advance(45)
    failed = setup.outbox.list("failed")
    assert len(failed) == 3 and all(n.attempts >= 1 for n in failed)
    start_receiver(receiver)
    for _ in range(6):
        setup.clock.advance(300)
        setup.dispatcher.dispatch_due()
    bodies = [h.json()["alert"]["title"] for h in receiver.hits_for("/hook")]
    for n in range(3):
        assert sum(f"Gencatan senjata di Gaza {n}" in b for b in bodies) == 1
    assert setup.outbox.counts() == {"pending": 0, "held": 0, "digest": 0, "sent": 6, "dead": 0}


def test_attempts_stop_at_max_attempts(tmp_path: Path, receiver: Receiver) -> None:
    s = make_setup(tmp_path, receiver, path="/status/503", max_attempts=2)
    s.save(1)
    s.dispatcher.dispatch_due()
    s.clock.advance(31)
    s.dispatcher.dispatch_due()
    (dead,) = s.outbox.list("dead")
    assert dead.attempts == 2 and "gave up after 2 attempts" in (dead.last_error or "")
    s.store.close()


def test_a_destination_removed_from_the_config_goes_dead(tmp_path: Path,
                                                         receiver: Receiver) -> None:
    s = make_setup(tmp_path, receiver)
    s.save(1)
    config = Config(base_dir=tmp_path, delivery=DeliveryConfig(console=False))
    dispatcher = Dispatcher(config, s.outbox, ChannelDirectory(config),
                            ConsoleNotifier(io.StringIO()), "w2")
    report = dispatcher.dispatch_due()
    assert report.dead == 1
    assert receiver.hits_for("/hook") == []
    s.store.close()


def test_stopping_releases_claimed_rows_unsent(setup: Setup, receiver: Receiver) -> None:
    for n in range(3):
        setup.save(n)
    stops = iter([False, True])
    setup.dispatcher.should_stop = lambda: next(stops, True)
    setup.dispatcher.dispatch_due()
    assert setup.outbox.leased() == 0
    assert setup.outbox.counts()["pending"] == 6
    assert receiver.hits_for("/hook") == []


def test_lease_of_a_crashed_dispatcher_expires_and_the_row_is_sent_once(
        setup: Setup, receiver: Receiver) -> None:
    setup.save(1)
    setup.outbox.claim("crashed", timedelta(seconds=120))
    assert setup.dispatcher.dispatch_due().attempted == 0
    setup.clock.advance(121)
    assert setup.dispatcher.dispatch_due().sent == 2
    assert len(receiver.hits_for("/hook")) == 1
