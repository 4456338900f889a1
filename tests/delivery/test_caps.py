"""Caps that hold on the wire (issue 10, item 8): ``max_message_chars`` measured in the payload
the service receives, after its own escaping, with the real apprise plugins for Slack, Discord
and Telegram pointed at a loopback receiver; encoded words never break a mail header."""

from __future__ import annotations

import re
from typing import Any

import pytest

from monitor.delivery.markup import subject_line
from monitor.delivery.notify import send, target_kind
from monitor.delivery.render import default_format, render_alert, render_digest
from tests.delivery.test_notify import _mailto, chat_apis, make_alert
from tests.notify_support import Receiver, Sink

__all__ = ["chat_apis"]  # the fixture, imported for the tests below

CAP = 500
# Every character that a service escapes into an entity or a backslash pair.
HOSTILE = "<&> " * 300 + "_*[]()~`>#+-=|{}.! " * 40 + "@everyone <!channel> "
URLS = {
    "slack": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
    "telegram": "tgram://123456789:AAbbCCddEEffGGhh/12315544/",
    "telegram-v2": "tgram://123456789:AAbbCCddEEffGGhh/12315544/?mdv=v2",
    "discord": "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
    "discord-markdown": "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js?format=markdown",
}


def on_the_wire(name: str, payload: dict[str, Any]) -> int:
    """Characters of message text in the service's payload (title and body fields)."""
    if name == "slack":
        return sum(len(a.get("title", "")) + len(a.get("text", ""))
                   for a in payload["attachments"])
    if name.startswith("telegram"):
        return len(payload["text"])
    return len(payload.get("content", "")) + sum(
        len(e.get("title", "")) + len(e.get("description", "")) for e in payload.get("embeds", []))


@pytest.mark.parametrize("name", sorted(URLS))
@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "default"])
def test_max_message_chars_holds_on_the_wire(chat_apis: Receiver, name: str,
                                             fmt: str) -> None:
    url = URLS[name]
    chat_apis.reply = b"ok" if name == "slack" else b'{"ok": true, "result": {}}'
    target = target_kind(url)
    chosen = default_format(target) if fmt == "default" else fmt
    for alert in (make_alert(title="Talks " + HOSTILE[:150], snippet="ceasefire " + HOSTILE),
                  make_alert(title="Talks & more", snippet="ceasefire " + "a & b " * 400)):
        chat_apis.hits.clear()
        message = render_alert(alert, format=chosen,  # type: ignore[arg-type]
                               template=None, max_chars=CAP, target=target)
        outcome = send(url, message, timeout=5)
        assert outcome.ok, outcome.error
        (hit,) = chat_apis.hits
        assert on_the_wire(name, hit.json()) <= CAP, (name, chosen)


def test_a_slack_digest_also_holds_its_cap(chat_apis: Receiver) -> None:
    chat_apis.reply = b"ok"
    url = URLS["slack"]
    alerts = [make_alert(title=f"Talks {n} <&>", snippet="ceasefire " + "<&> " * 80)
              for n in range(12)]
    message = render_digest(alerts, format="markdown", template=None, max_chars=CAP,
                            target="slack")
    assert send(url, message, timeout=5).ok
    assert on_the_wire("slack", chat_apis.hits[0].json()) <= CAP


@pytest.mark.parametrize("title", [
    "Deal =?utf-8?q?agreed=0D=0ABcc:_attacker@evil.test?= today",
    "=?utf-8?b?VHJ1Y2UNClgtRXZpbDogMQ==?=",  # "Truce\r\nX-Evil: 1"
    "Nested =?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3D0D=3D0A=3F=3D?= end",
])
def test_encoded_words_in_a_title_never_break_a_mail_header(smtp: tuple[Sink, int],
                                                            title: str) -> None:
    sink, port = smtp
    line = subject_line(title, "email")
    assert "=?" not in line and "\r" not in line and "\n" not in line
    url = _mailto(port)
    for fmt in ("text", "html"):
        message = render_alert(make_alert(title=title), format=fmt,
                               template=None, max_chars=4000, target="email")
        assert send(url, message, timeout=10).ok
    for envelope, parsed in zip(sink.envelopes, sink.messages(), strict=True):
        assert envelope.rcpt_tos == ["desk@news.test"]
        headers = envelope.content.decode().split("\r\n\r\n", 1)[0]
        assert not re.search(r"^(Bcc|X-Evil):", headers, re.MULTILINE)
        subject = str(parsed["Subject"])  # decoded, as a mail reader shows it
        assert "\r" not in subject and "\n" not in subject, subject
        assert parsed["Bcc"] is None and parsed["X-Evil"] is None
