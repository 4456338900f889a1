"""What reaches the wire in one send: connect-time address checks (DNS rebinding), the send
timeout, the idempotency key, and "outcome unknown" (issue 10, items 1, 2 and 6)."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor.delivery.notify import IDEMPOTENCY_HEADER, Destination, send, target_kind
from monitor.delivery.notify.wire import Attempt, watching
from monitor.delivery.render import RenderedMessage, render_alert
from tests.delivery.test_notify import make_alert
from tests.notify_support import Receiver, Sink, free_port

PUBLIC = "93.184.216.34"


def rendered(url: str) -> RenderedMessage:
    return render_alert(make_alert(), format="text", template=None, max_chars=4000,
                        target=target_kind(url))


class Rebinding:
    """A resolver whose answer changes between lookups: public first, then loopback (TTL 0)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [self.answers[min(len(self.calls), len(self.answers)) - 1]]


def test_sec_A5_rebinding_webhook_is_refused_at_connect_time(receiver: Receiver) -> None:
    """The check before the send sees a public address; the connection would go to loopback:
    refused, permanently, and the loopback service is never reached."""
    url = f"json://hooks.example.test:{receiver.port}/hook"
    for _ in range(10):  # fresh apprise objects and connections each time
        resolver = Rebinding(PUBLIC, "127.0.0.1")
        outcome = Destination(url, resolver=resolver).send(rendered(url), timeout=5,
                                                           idempotency_key="k")
        assert (outcome.ok, outcome.permanent, outcome.code) == (False, True, "blocked_address")
        assert "when connecting" in (outcome.error or "")
        assert resolver.calls == ["hooks.example.test", "hooks.example.test"]
    assert receiver.hits == []


def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(
        receiver: Receiver) -> None:
    url = f"json://hooks.example.test:{receiver.port}/hook"
    resolver = Rebinding("127.0.0.1")
    outcome = Destination(url, allow_private=["127.0.0.1/32"], resolver=resolver).send(
        rendered(url), timeout=5)
    assert outcome.ok, outcome.error
    (hit,) = receiver.hits
    assert hit.headers["Host"] == f"hooks.example.test:{receiver.port}"


def test_connections_outside_a_send_are_untouched(receiver: Receiver) -> None:
    import requests

    Destination(f"json://127.0.0.1:{receiver.port}/x", allow_private=["127.0.0.1/32"])
    with watching(Attempt()):  # installs the hook; no policy: any address, traced
        pass
    assert requests.post(f"http://127.0.0.1:{receiver.port}/plain", data=b"x",
                         timeout=5).status_code == 200


def test_webhooks_carry_the_idempotency_key_and_chat_services_do_not(receiver: Receiver) -> None:
    for scheme in ("json", "form", "xml"):
        url = f"{scheme}://127.0.0.1:{receiver.port}/{scheme}"
        outcome = send(url, rendered(url), timeout=5, allow_private=["127.0.0.1/32"],
                       idempotency_key=f"nm-{scheme}")
        assert outcome.ok and outcome.keyed, outcome.error
        (hit,) = receiver.hits_for(f"/{scheme}")
        assert hit.headers[IDEMPOTENCY_HEADER] == f"nm-{scheme}"
    gotify = f"gotify://127.0.0.1:{receiver.port}/token"
    outcome = send(gotify, rendered(gotify), timeout=5, allow_private=["127.0.0.1/32"],
                   idempotency_key="nm-g")
    assert not outcome.keyed


@pytest.fixture
def slow_receiver(receiver: Receiver) -> Receiver:
    receiver.delay = 4.5  # slower than apprise's 4 s default socket timeout
    return receiver


def test_send_timeout_follows_the_setting_not_apprises_4s(slow_receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{slow_receiver.port}/slow"
    started = time.monotonic()
    outcome = send(url, rendered(url), timeout=30, allow_private=["127.0.0.1/32"])
    assert outcome.ok, outcome.error
    assert 4.5 <= time.monotonic() - started < 15
    assert len(slow_receiver.hits) == 1


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections and reads the request, never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    done = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(0.1)
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    done.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_a_request_sent_without_an_answer_is_outcome_unknown(silent_port: int) -> None:
    url = f"json://127.0.0.1:{silent_port}/hook"
    outcome = send(url, rendered(url), timeout=0.5, allow_private=["127.0.0.1/32"],
                   idempotency_key="nm-1")
    assert (outcome.ok, outcome.permanent, outcome.unknown, outcome.keyed) == (
        False, False, True, True)
    assert outcome.code == "unknown"


def test_a_refused_connection_is_a_plain_failure_not_unknown() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"json://127.0.0.1:{port}/hook"
    outcome = send(url, rendered(url), timeout=2, allow_private=["127.0.0.1/32"])
    assert (outcome.ok, outcome.permanent, outcome.unknown) == (False, False, False)


def test_nothing_is_written_after_the_attempt_is_settled() -> None:
    attempt = Attempt()
    assert attempt.close() is False
    with pytest.raises(ConnectionAbortedError):
        attempt._writing()
    assert attempt.written is False


def test_send_timeout_reaches_every_plugin() -> None:
    for url in ("json://hooks.example.test/x", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOX",
                "tgram://123456789:AAbbCCddEEffGGhh/12315544/",
                "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
                "mailto://u:p@mail.example.test?to=desk@news.test",
                "gotify://push.example.test/token"):
        service = Destination(url)._service(30)
        assert service is not None, url
        _, plugin = service
        assert (plugin.socket_connect_timeout, plugin.socket_read_timeout) == (30, 30), url
        assert plugin.retry == 0, url  # the outbox retries, never apprise on its own


def test_sec_A5_rebinding_through_the_system_resolver_is_refused(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production path: socket.getaddrinfo answers a public address, then loopback."""
    real = socket.getaddrinfo
    answers = iter([PUBLIC])

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.test":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = f"json://hooks.example.test:{receiver.port}/hook"
    outcome = send(url, rendered(url), timeout=5, idempotency_key="nm-x")
    assert (outcome.ok, outcome.permanent, outcome.code) == (False, True, "blocked_address")
    assert receiver.hits == []


# -- mail: a message the server did not answer, and nothing sent after the outcome ----------

class ReplyingSink(Sink):
    """An SMTP server that takes ``latency`` seconds to answer a message's final dot (a
    content scanner), then answers ``reply``; the message is recorded when it arrives."""

    def __init__(self, reply: str = "250 OK", latency: float = 0.0) -> None:
        super().__init__()
        self.reply = reply
        self.latency = latency

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        await asyncio.sleep(self.latency)  # emulated server latency, not a test wait
        return self.reply


@contextmanager
def smtp_server(sink: Sink) -> Iterator[str]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (f"mailto://127.0.0.1:{port}?from=alerts@monitor.test&to=desk@news.test"
               "&mode=insecure")
    finally:
        controller.stop()


def test_a_mail_the_server_took_but_did_not_confirm_in_time_is_outcome_unknown() -> None:
    """Retrying it would mail it again (the server delivers what it was slow to confirm)."""
    sink = ReplyingSink(latency=2.0)
    with smtp_server(sink) as url:
        outcome = send(url, rendered(url), timeout=0.5)
    assert (outcome.ok, outcome.unknown, outcome.keyed, outcome.code) == (
        False, True, False, "unknown")
    assert len(sink.envelopes) == 1


@pytest.mark.parametrize("reply", ["451 4.7.1 Greylisted, try again later",
                                   "554 5.7.1 Message rejected"])
def test_a_mail_the_server_refused_is_a_known_failure(reply: str) -> None:
    with smtp_server(ReplyingSink(reply)) as url:
        outcome = send(url, rendered(url), timeout=5)
    assert (outcome.ok, outcome.unknown) == (False, False)


def test_no_mail_goes_out_after_the_attempt_is_settled() -> None:
    """apprise's deadline passed while its worker was still talking to a slow server: the
    worker must not send the message afterwards (the attempt is already recorded)."""
    sink = ReplyingSink()
    with smtp_server(sink) as url, watching(Attempt()) as attempt:
        port = int(url.split(":")[2].split("?")[0])
        client = smtplib.SMTP("127.0.0.1", port, timeout=5)
        try:
            client.ehlo()
            assert attempt.close() is False  # nothing of a message was written
            with pytest.raises(ConnectionAbortedError):
                client.sendmail("alerts@monitor.test", ["desk@news.test"], b"Subject: x\r\n\r\nx")
        finally:
            client.close()
    assert sink.envelopes == []
