"""The dispatcher against a real webhook receiver: retries, dead letters, outages, no doubles."""

from __future__ import annotations

import base64
import io
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import Config, DeliveryConfig, HttpConfig, WebConfig, load_config
from monitor.delivery.channels import ChannelDirectory
from monitor.delivery.dispatch import Dispatcher, Sender
from monitor.delivery.notify import IDEMPOTENCY_HEADER, ConsoleNotifier, DeliveryOutcome, send
from monitor.delivery.render import RenderedMessage
from monitor.errors import StoreError
from monitor.store import Outbox, Store
from monitor.store.schema import DeliveryAttemptRow, HitRow
from tests.delivery.test_wire import ReplyingSink, smtp_server
from tests.notify_support import Hit, Receiver, start_receiver, stop_receiver
from tests.proxy_support import postgres_behind_a_proxy
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
               database_url: str | None = None, **delivery: object) -> Setup:
    config = Config(
        base_dir=tmp_path,
        channels={"hook": {"urls": [f"json://127.0.0.1:{receiver.port}{path}"]}},
        http=HttpConfig(allow_private_networks=["127.0.0.1/32"], total_timeout=5),
        delivery=DeliveryConfig(default_channels=["hook"], backoff_base=30, **delivery),
    )
    clock = FakeClock()
    store = open_store(database_url or f"sqlite:///{tmp_path / 'm.db'}", clock)
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


def test_with_a_public_url_an_alert_links_its_hit_in_the_web_view(setup: Setup,
                                                                   receiver: Receiver) -> None:
    config = setup.dispatcher.config.model_copy(
        update={"web": WebConfig(public_url="https://news.example.org/monitor")})
    dispatcher = Dispatcher(config, setup.outbox, setup.channels,
                            ConsoleNotifier(setup.console), "w", jitter=lambda: 1.0)
    setup.save(1)
    with setup.store.read() as session:
        hit_id = session.scalars(select(HitRow.id)).one()
    assert dispatcher.dispatch_due().sent == 2
    (posted,) = receiver.hits_for("/hook")
    assert posted.json()["alert"]["web_url"] == f"https://news.example.org/monitor/hits/{hit_id}"
    assert (f"Evidence and feedback: https://news.example.org/monitor/hits/{hit_id}\n"
            in setup.console.getvalue())


def test_a_console_that_cannot_print_is_retried_not_counted_as_sent(
        setup: Setup, receiver: Receiver) -> None:
    """The console's failures (standard output closed: `monitor run >&-`) were ignored and
    the alert recorded as sent, though nothing was printed."""
    setup.console.close()
    setup.save(1)
    report = setup.dispatcher.dispatch_due()
    assert report.sent == 1 and report.retried == 1  # the webhook got it; the console did not
    (console,) = [n for n in setup.outbox.list() if n.channel == "console"]
    assert (console.status, console.attempts) == ("pending", 1)  # retried after back-off
    assert "console output failed" in (console.last_error or "")
    assert len(receiver.hits_for("/hook")) == 1


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
    assert "outbox?status=dead" not in s.console.getvalue()
    s.clock.advance(3600)
    assert s.dispatcher.dispatch_due().attempted == 0
    # with web.public_url, the notice also names the outbox page that retries it
    s.dispatcher = Dispatcher(
        s.dispatcher.config.model_copy(
            update={"web": WebConfig(public_url="https://news.example.org/monitor/")}),
        s.outbox, s.channels, ConsoleNotifier(s.console), "w", jitter=lambda: 1.0)
    s.save(2)
    assert s.dispatcher.dispatch_due().dead == 1
    (second,) = [row for row in s.outbox.list("dead") if row.id != dead.id]
    assert (f"`monitor notifications retry {second.id}`, or in the web view's outbox: "
            "https://news.example.org/monitor/outbox?status=dead.") in s.console.getvalue()
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
    assert setup.outbox.counts() == {"pending": 0, "held": 0, "digest": 0, "sent": 6, "dead": 0,
                                     "unknown": 0}


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


def test_G4_stopping_releases_claimed_rows_unsent(setup: Setup, receiver: Receiver) -> None:
    for n in range(3):
        setup.save(n)
    stops = iter([False, True])
    setup.dispatcher.should_stop = lambda: next(stops, True)
    setup.dispatcher.dispatch_due()
    assert setup.outbox.leased() == 0
    assert setup.outbox.counts()["pending"] == 6
    assert receiver.hits_for("/hook") == []


def test_G3_lease_of_a_crashed_dispatcher_expires_and_the_row_is_sent_once(
        setup: Setup, receiver: Receiver) -> None:
    setup.save(1)
    setup.outbox.claim("crashed", timedelta(seconds=120))
    assert setup.dispatcher.dispatch_due().attempted == 0
    setup.clock.advance(121)
    assert setup.dispatcher.dispatch_due().sent == 2
    assert len(receiver.hits_for("/hook")) == 1


# -- issue 10: live leases, one round at a time, idempotency keys, outcome unknown ----------

def recording_sender(sent: list[tuple[str, str]],
                     during: Callable[[], None] = lambda: None) -> Sender:
    def sender(url: str, message: RenderedMessage, timeout: float,
               key: str) -> DeliveryOutcome:
        sent.append((message.title, key))
        during()
        return DeliveryOutcome(ok=True)
    return sender


@pytest.mark.postgres
def test_a_database_outage_during_a_send_neither_repeats_it_nor_holds_the_rest(
        tmp_path: Path, receiver: Receiver) -> None:
    """PostgreSQL goes away while an alert is being sent: its outcome cannot be recorded and
    the round breaks off. Once the database is back, the next round records that send (it is
    not sent again when its lease runs out) and sends the other rows the round had claimed
    at once, not after their leases (delivery.lease, 2 minutes) run out."""
    with postgres_behind_a_proxy() as (url, proxy):
        s = make_setup(tmp_path, receiver, database_url=url, console=False)
        for n in range(3):
            s.save(n)
        sent: list[tuple[str, str]] = []

        def through(url: str, message: RenderedMessage, timeout: float,
                    key: str) -> DeliveryOutcome:
            outcome = send(url, message, timeout=timeout, allow_private=("127.0.0.1/32",),
                           idempotency_key=key)
            sent.append((message.title, key))
            if len(sent) == 1:
                proxy.stop()  # the database restarts while the first alert is on its way
            return outcome

        s.dispatcher.sender = through
        with pytest.raises(StoreError):
            s.dispatcher.dispatch_due()
        assert len(receiver.hits_for("/hook")) == 1
        proxy.start()
        report = s.dispatcher.dispatch_due()  # the clock has not moved: no lease ran out
        assert report.sent == 3 and report.retried == report.dead == 0
        titles = sorted(h.json()["alert"]["title"] for h in receiver.hits_for("/hook"))
        assert [t.rsplit(" ", 1)[-1] for t in titles] == ["0", "1", "2"]
        s.clock.advance(3600)  # every lease long gone: nothing is left to send again
        assert s.dispatcher.dispatch_due().attempted == 0
        assert len(receiver.hits_for("/hook")) == 3
        assert s.outbox.counts()["sent"] == 3
        s.store.close()


def test_a_row_whose_lease_ran_out_mid_batch_is_sent_once_by_its_new_holder(
        tmp_path: Path, receiver: Receiver) -> None:
    """A batch slower than the lease: the second dispatcher takes the rows whose lease ran
    out; the first sends only the rows it still holds (renewed just before each send)."""
    s = make_setup(tmp_path, receiver, console=False, lease=10, send_timeout=5)
    for n in range(4):
        s.save(n)
    sent: list[tuple[str, str]] = []
    second = Dispatcher(s.dispatcher.config, s.outbox, s.channels,
                        ConsoleNotifier(io.StringIO()), "second",
                        sender=recording_sender(sent))

    def slow_send() -> None:
        s.clock.advance(4)  # each send takes 4 s, within send_timeout: the batch outlasts
        if len(sent) == 3:  # the lease (10 s): at t=12 the last row's lease has run out
            second.dispatch_due()

    first = Dispatcher(s.dispatcher.config, s.outbox, s.channels,
                       ConsoleNotifier(io.StringIO()), "first",
                       sender=recording_sender(sent, slow_send))
    first.dispatch_due()
    titles = sorted(t for t, _ in sent)
    assert len(titles) == 4 and len(set(titles)) == 4, titles
    assert s.outbox.counts()["sent"] == 4
    s.store.close()


def test_one_dispatch_round_at_a_time_per_dispatcher(setup: Setup) -> None:
    setup.save(1)
    inner: list[int] = []

    def sender(url: str, message: RenderedMessage, timeout: float,
               key: str) -> DeliveryOutcome:
        inner.append(setup.dispatcher.dispatch_due().attempted)  # a second caller meanwhile
        return DeliveryOutcome(ok=True)

    setup.dispatcher.sender = sender
    assert setup.dispatcher.dispatch_due().sent == 2
    assert inner == [0]


def test_send_timeout_is_the_delivery_setting(setup: Setup) -> None:
    setup.save(1)
    seen: list[float] = []

    def sender(url: str, message: RenderedMessage, timeout: float,
               key: str) -> DeliveryOutcome:
        seen.append(timeout)
        return DeliveryOutcome(ok=True)

    setup.dispatcher.sender = sender
    setup.dispatcher.dispatch_due()
    assert seen == [30.0]


def test_the_idempotency_key_is_the_same_on_every_attempt(setup: Setup,
                                                           receiver: Receiver) -> None:
    receiver.statuses = [500]
    setup.save(1)
    setup.save(2)
    setup.dispatcher.dispatch_due()
    setup.clock.advance(31)
    setup.dispatcher.dispatch_due()
    keys = [h.headers[IDEMPOTENCY_HEADER] for h in receiver.hits_for("/hook")]
    assert len(keys) == 3 and len(set(keys)) == 2  # the retry repeats the first's key
    assert keys.count(keys[0]) == 2


def test_outcome_unknown_to_a_webhook_is_retried_with_the_same_key(setup: Setup) -> None:
    setup.save(1)
    keys: list[str] = []
    outcomes = iter([DeliveryOutcome(ok=False, unknown=True, keyed=True, code="unknown",
                                     error="outcome unknown: read timed out"),
                     DeliveryOutcome(ok=True, keyed=True)])

    def sender(url: str, message: RenderedMessage, timeout: float,
               key: str) -> DeliveryOutcome:
        keys.append(key)
        return next(outcomes)

    setup.dispatcher.sender = sender
    setup.dispatcher.dispatch_due()
    (row,) = setup.outbox.list("failed")
    assert "outcome unknown" in (row.last_error or "") and row.status == "pending"
    setup.clock.advance(31)
    setup.dispatcher.dispatch_due()
    assert len(keys) == 2 and keys[0] == keys[1]
    assert "unknown" in [a.outcome for a in setup.attempts()]
    assert setup.outbox.counts()["sent"] == 2


def test_outcome_unknown_where_repeats_cannot_be_dropped_is_not_retried(
        tmp_path: Path, receiver: Receiver) -> None:
    """A Gotify server that reads the request and never answers: status ``unknown``, no
    second attempt, the admin (the console here) told how to send it again."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config = Config(
            base_dir=tmp_path,
            channels={"push": {"urls": [f"gotify://127.0.0.1:{silent.getsockname()[1]}/tok"]}},
            http=HttpConfig(allow_private_networks=["127.0.0.1/32"]),
            delivery=DeliveryConfig(default_channels=["push"], send_timeout=0.5, lease=5))
        s = make_setup(tmp_path, receiver)
        s.dispatcher = Dispatcher(config, s.outbox, ChannelDirectory(config),
                                  ConsoleNotifier(s.console), "w", jitter=lambda: 1.0)
        s.channels = ChannelDirectory(config)
        s.save(1)
        report = s.dispatcher.dispatch_due()
    assert report.unknown == 1
    (row,) = s.outbox.list("unknown")
    assert row.attempts == 1 and "outcome unknown" in (row.last_error or "")
    assert "may not have reached push" in s.console.getvalue()
    assert f"notifications retry {row.id}" in s.console.getvalue()
    s.clock.advance(3600)
    assert s.dispatcher.dispatch_due().attempted == 0
    assert s.outbox.retry([row.id]) == 1  # the operator decides
    s.store.close()


def test_a_rebinding_webhook_is_refused_and_its_row_never_marked_sent(
        tmp_path: Path, receiver: Receiver) -> None:
    s = make_setup(tmp_path, receiver, console=False)
    url = f"json://hooks.example.test:{receiver.port}/hook"
    answers = iter(["93.184.216.34", "127.0.0.1"])
    s.dispatcher.sender = lambda u, message, timeout, key: send(
        url, message, timeout=timeout, idempotency_key=key,
        resolver=lambda host, port: [next(answers, "127.0.0.1")])
    s.save(1)
    report = s.dispatcher.dispatch_due()
    assert report.dead == 1 and report.sent == 0
    assert receiver.hits == []
    (dead,) = s.outbox.list("dead")
    assert "refused when connecting" in (dead.last_error or "")
    assert s.outbox.counts()["sent"] == 0
    s.store.close()


def test_a_send_still_running_at_shutdown_is_outcome_unknown_not_requeued(
        setup: Setup) -> None:
    """SIGTERM's grace ran out during a send: the row is not handed back as never sent; the
    webhook gets it again only with the same key, after back-off."""
    setup.save(1)
    started, release = threading.Event(), threading.Event()

    def slow_sender(url: str, message: RenderedMessage, timeout: float,
                    key: str) -> DeliveryOutcome:
        if url.startswith("json"):
            started.set()
            release.wait(10)
        return DeliveryOutcome(ok=True)

    setup.dispatcher.sender = slow_sender
    worker = threading.Thread(target=setup.dispatcher.dispatch_due)
    worker.start()
    assert started.wait(10)
    assert setup.dispatcher.abandon_in_flight() == 1
    setup.outbox.release("w")  # what Service.close() does next
    release.set()
    worker.join(10)
    (row,) = [n for n in setup.outbox.list() if n.channel == "hook"]
    assert row.status == "pending" and row.attempts == 1
    assert "outcome unknown" in (row.last_error or "")
    assert row.next_attempt_at > setup.clock.now  # after back-off, not at once
    assert setup.dispatcher.abandon_in_flight() == 0


def test_a_rule_naming_only_unknown_channels_still_reaches_the_console() -> None:
    from monitor.config import Config, DeliveryConfig
    from monitor.delivery.channels import ChannelDirectory
    from monitor.models import RuleHit

    config = Config(channels={"ops": {"urls": ["json://127.0.0.1/ops"]}},
                    delivery=DeliveryConfig(console=False))
    directory = ChannelDirectory(config)
    typo = directory.routes_for(RuleHit("r", "R", (), notify=("opz",)))
    assert [r.channel for r in typo] == ["console"]
    known = directory.routes_for(RuleHit("r", "R", (), notify=("ops", "opz")))
    assert [r.channel for r in known] == ["ops"]


# -- channels at runtime: a channel named "console", a rotated secret ---------------------

def test_a_channel_named_console_still_sends_to_its_urls(tmp_path: Path,
                                                         receiver: Receiver) -> None:
    config = Config(
        base_dir=tmp_path,
        channels={"console": {"urls": [f"json://127.0.0.1:{receiver.port}/hook"]}},
        http=HttpConfig(allow_private_networks=["127.0.0.1/32"]),
        delivery=DeliveryConfig(default_channels=["console"]))
    s = make_setup(tmp_path, receiver)
    s.channels = ChannelDirectory(config)
    s.dispatcher = Dispatcher(config, s.outbox, s.channels, ConsoleNotifier(s.console), "w")
    s.save(1)
    assert s.dispatcher.dispatch_due().sent == 2  # the terminal and the webhook
    assert len(receiver.hits_for("/hook")) == 1
    assert s.console.getvalue().count("Gencatan senjata di Gaza 1") == 1
    s.store.close()


def _password(hit: Hit) -> str:
    encoded = hit.headers["Authorization"].partition(" ")[2]
    return base64.b64decode(encoded).decode().partition(":")[2]


def _hook_config(tmp_path: Path, url: str) -> Config:
    (tmp_path / "monitor.yaml").write_text(
        "channels:\n  hook:\n    urls: ['${HOOK_URL}']\n"
        "http:\n  allow_private_networks: ['127.0.0.1/32']\n"
        "delivery:\n  default_channels: [hook]\n  console: false\n", encoding="utf-8")
    return load_config(tmp_path / "monitor.yaml", {"HOOK_URL": url})


def test_a_rotated_secret_does_not_kill_the_alerts_queued_before(tmp_path: Path,
                                                                 receiver: Receiver) -> None:
    """The send failed; the operator rotates the token in ${HOOK_URL} and restarts: the
    queued alert goes to the URL the variable holds now instead of going dead."""
    s = make_setup(tmp_path, receiver, console=False)
    config = _hook_config(tmp_path, f"json://hook:old-Secret1@127.0.0.1:{receiver.port}/hook")
    s.channels = ChannelDirectory(config)
    receiver.statuses = [503]
    s.save(1)
    assert Dispatcher(config, s.outbox, s.channels, ConsoleNotifier(s.console), "w",
                      jitter=lambda: 1.0).dispatch_due().retried == 1
    rotated = _hook_config(tmp_path, f"json://hook:new-Secret2@127.0.0.1:{receiver.port}/hook")
    s.clock.advance(60)
    report = Dispatcher(rotated, s.outbox, ChannelDirectory(rotated),
                        ConsoleNotifier(s.console), "w2").dispatch_due()
    assert report.sent == 1 and report.dead == 0
    first, second = receiver.hits_for("/hook")
    assert [_password(first), _password(second)] == ["old-Secret1", "new-Secret2"]
    (row,) = s.outbox.list()
    assert row.status == "sent" and "${HOOK_URL}" in row.destination
    s.store.close()


def test_a_destination_replaced_by_another_still_goes_dead(tmp_path: Path,
                                                           receiver: Receiver) -> None:
    """Only a URL from the same ${VAR} stands in: a URL written in the file, replaced by
    another one that looks the same masked, is a different destination."""
    def literal(url: str) -> Config:
        return Config(base_dir=tmp_path, channels={"hook": {"urls": [url]}},
                      http=HttpConfig(allow_private_networks=["127.0.0.1/32"]),
                      delivery=DeliveryConfig(default_channels=["hook"], console=False))

    s = make_setup(tmp_path, receiver, console=False)
    config = literal(f"json://hook:old-Secret1@127.0.0.1:{receiver.port}/hook")
    s.channels = ChannelDirectory(config)
    receiver.statuses = [503]
    s.save(1)
    Dispatcher(config, s.outbox, s.channels, ConsoleNotifier(s.console), "w").dispatch_due()
    replaced = literal(f"json://hook:new-Secret2@127.0.0.1:{receiver.port}/hook")
    s.clock.advance(60)
    report = Dispatcher(replaced, s.outbox, ChannelDirectory(replaced),
                        ConsoleNotifier(s.console), "w2").dispatch_due()
    assert report.dead == 1 and len(receiver.hits_for("/hook")) == 1
    s.store.close()


def test_a_mail_server_slower_than_the_send_timeout_gets_each_alert_once(
        tmp_path: Path, receiver: Receiver) -> None:
    """The server keeps the message and confirms it too late, every time: the alert is
    mailed once and left `unknown` for the operator, not mailed again at every retry."""
    sink = ReplyingSink(latency=1.5)
    with smtp_server(sink) as url:
        config = Config(base_dir=tmp_path, channels={"desk": {"urls": [url]}},
                        delivery=DeliveryConfig(default_channels=["desk"], send_timeout=0.5,
                                                lease=5))
        s = make_setup(tmp_path, receiver)
        s.channels = ChannelDirectory(config)
        s.dispatcher = Dispatcher(config, s.outbox, s.channels, ConsoleNotifier(s.console),
                                  "w", jitter=lambda: 1.0)
        s.save(1)
        assert s.dispatcher.dispatch_due().unknown == 1
        for _ in range(4):
            s.clock.advance(3600)
            assert s.dispatcher.dispatch_due().attempted == 0
    assert len(sink.envelopes) == 1
    (row,) = s.outbox.list("unknown")
    assert row.attempts == 1 and "may not have reached desk" in s.console.getvalue()
    s.store.close()


def test_a_send_that_outlasted_its_lease_is_counted_only_by_the_dispatcher_holding_it(
        tmp_path: Path, receiver: Receiver) -> None:
    """The first dispatcher's send outlasts its lease and the second takes the row over and
    sends it: the first's late answer neither settles the row nor counts an attempt."""
    s = make_setup(tmp_path, receiver, console=False, lease=10, send_timeout=5)
    s.save(1)
    sent: list[tuple[str, str]] = []
    second = Dispatcher(s.dispatcher.config, s.outbox, s.channels,
                        ConsoleNotifier(io.StringIO()), "second",
                        sender=recording_sender(sent))
    reports = []

    def stalled() -> None:
        s.clock.advance(11)  # past the first's lease (a stalled process, a paused VM)
        reports.append(second.dispatch_due())

    first = Dispatcher(s.dispatcher.config, s.outbox, s.channels,
                       ConsoleNotifier(io.StringIO()), "first",
                       sender=recording_sender(sent, stalled))
    late = first.dispatch_due()
    assert len(sent) == 2  # the known duplicate window: both sent it
    assert [r.sent for r in reports] == [1] and late.sent == 0
    assert [a.outcome for a in s.attempts()] == ["sent"]
    (row,) = s.outbox.list()
    assert row.status == "sent" and row.attempts == 1
    s.store.close()


def test_a_rotated_secret_queues_no_second_alert_for_a_story_and_keeps_its_key(
        tmp_path: Path, receiver: Receiver) -> None:
    """The operator rotates the token in ${HOOK_URL} and restarts; a copy of the story then
    arrives from another outlet. The destination is the same one: the copy queues no second
    alert to it, and the retry carries the key of the first attempt."""
    s = make_setup(tmp_path, receiver, console=False)
    config = _hook_config(tmp_path, f"json://hook:old-Secret1@127.0.0.1:{receiver.port}/hook")
    s.channels = ChannelDirectory(config)
    receiver.statuses = [503]
    fid = s.store.feed_health()[0].id
    first = s.store.save_article(fid, article(url="https://n.example/1", key="g1"), [hit()],
                                 s.channels.routes_for)
    assert Dispatcher(config, s.outbox, s.channels, ConsoleNotifier(s.console), "w",
                      jitter=lambda: 1.0).dispatch_due().retried == 1
    rotated = _hook_config(tmp_path, f"json://hook:new-Secret2@127.0.0.1:{receiver.port}/hook")
    channels = ChannelDirectory(rotated)
    copy = s.store.save_article(
        fid, article(url="https://other.example/copy", source="Other Outlet", key="g2"),
        [hit()], channels.routes_for, story_id=first.story_id)
    assert copy.created and copy.new_notifications == 0
    s.clock.advance(60)
    report = Dispatcher(rotated, s.outbox, channels, ConsoleNotifier(s.console),
                        "w2").dispatch_due()
    assert report.sent == 1
    before, after = receiver.hits_for("/hook")
    assert after.headers[IDEMPOTENCY_HEADER] == before.headers[IDEMPOTENCY_HEADER]
    assert [_password(before), _password(after)] == ["old-Secret1", "new-Secret2"]
    assert len(s.outbox.list()) == 1
    s.store.close()


def test_destination_keys_survive_a_rotated_variable_and_never_merge_two_urls(
        tmp_path: Path) -> None:
    """A ${VAR} URL is keyed by its masked label (the secret rotates, the key stays); two URLs
    of one channel that mask alike keep their whole URL's key, so they stay two destinations;
    a URL listed twice is one."""
    def keys(env: dict[str, str], *urls: str) -> list[str]:
        listed = ", ".join(f"'{u}'" for u in urls)
        (tmp_path / "monitor.yaml").write_text(
            f"channels:\n  hook:\n    urls: [{listed}]\n"
            "delivery:\n  default_channels: [hook]\n  console: false\n", encoding="utf-8")
        directory = ChannelDirectory(load_config(tmp_path / "monitor.yaml", env))
        return [r.destination_key for r in directory.routes_for(hit())]

    (old,) = keys({"HOOK_URL": "json://hook:old-Secret1@127.0.0.1:9/hook"}, "${HOOK_URL}")
    (new,) = keys({"HOOK_URL": "json://hook:new-Secret2@127.0.0.1:9/hook"}, "${HOOK_URL}")
    assert old == new
    (moved,) = keys({"HOOK_URL": "json://hook:new-Secret2@127.0.0.1:9/other"}, "${HOOK_URL}")
    assert moved != old
    twice = keys({"HOOK_URL": "json://hook:new-Secret2@127.0.0.1:9/hook"},
                 "${HOOK_URL}", "${HOOK_URL}")
    assert twice == [new]
    alike = keys({"WHO": "desk"}, "json://${WHO}:Secret-One1@127.0.0.1:9/hook",
                 "json://${WHO}:Secret-Two2@127.0.0.1:9/hook")
    assert len(set(alike)) == 2
