"""Single-destination delivery with apprise, against real local servers on loopback.

An SMTP sink (aiosmtpd) and HTTP receivers (http.server) stand in for mail, JSON webhooks,
Slack, Telegram and Discord; the chat services are pointed at the receiver by replacing the
plugin's API base URL, so the real apprise plugin builds and posts the real payload.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import apprise
import pytest
from apprise import AppriseResult, AppriseResultStatus, NotifyAttempt, NotifyLogEntry, NotifyResult

from monitor.delivery.notify import (
    ConsoleNotifier,
    DeliveryOutcome,
    Destination,
    SecretMasker,
    check_destination,
    destination_problem,
    mask_url,
    send,
    target_kind,
    url_secrets,
)
from monitor.delivery.notify.outcome import classify_result
from monitor.delivery.render import RenderedMessage, render_alert
from monitor.errors import NotifyError, PermanentNotifyError
from monitor.models import Alert, Evidence
from tests.notify_support import Receiver, Sink, free_port

LOOPBACK = ["127.0.0.1/32"]
HOSTILE_TITLE = ("Deal <!channel> <http://evil|Bank login> & @everyone @here <@123> "
                 "[x](http://evil) <img src=x onerror=alert(1)> _*[]()~`>#+-=|{}.!")
RESERVED = "_*[]()~`>#+-=|{}.!"


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def chat_apis(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Receiver:
    """Slack, Telegram and Discord plugins posting to the local receiver instead."""
    from apprise.plugins.discord import NotifyDiscord
    from apprise.plugins.slack import NotifySlack
    from apprise.plugins.telegram import NotifyTelegram

    base = f"http://127.0.0.1:{receiver.port}"
    monkeypatch.setattr(NotifyTelegram, "notify_url", f"{base}/bot")
    monkeypatch.setattr(NotifySlack, "webhook_url", f"{base}/services")
    monkeypatch.setattr(NotifyDiscord, "notify_url", f"{base}/api/webhooks")
    return receiver


def make_alert(title: str = "Ceasefire talks resume", snippet: str | None = None) -> Alert:
    snippet = snippet or "Negotiators said the ceasefire could hold"
    return Alert(
        notification_id=7, channel="team", rule_id="gaza", rule_name="Gaza truce",
        title=title, url="https://news.example/story?id=1&x=2", source="Example Wire",
        published=datetime(2026, 3, 4, 5, 6, tzinfo=UTC), language="en",
        evidence=(Evidence(term="ceasefire", matched="ceasefire", field="body", start=4,
                           end=13, snippet=snippet, entity="Gaza"),),
        story_size=3, also_reported_by=("Wire A", "Wire B"),
    )


def rendered(url: str, fmt: str = "text", alert: Alert | None = None) -> RenderedMessage:
    return render_alert(alert or make_alert(), format=fmt,  # type: ignore[arg-type]
                        template=None, max_chars=4000, target=target_kind(url))


# --------------------------------------------------------------------------- JSON webhook


def test_json_webhook_receives_the_versioned_alert_event(receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{receiver.port}/hook"
    alert = replace(make_alert(title="Ceasefire talks @everyone resume", snippet="Negotiators"
                               " said the *ceasefire* could hold"), story_id=41)
    outcome = send(url, rendered(url, alert=alert), timeout=5, allow_private=LOOPBACK)
    assert outcome == DeliveryOutcome(ok=True, log=outcome.log)
    (hit,) = receiver.hits
    assert hit.path == "/hook"
    assert hit.json() == {
        "schema": "newsmonitor.alert/1",
        "event": "alert",
        "alert": {
            "notification_id": 7,
            "rule": {"id": "gaza", "name": "Gaza truce"},
            "title": "Ceasefire talks @everyone resume",
            "url": "https://news.example/story?id=1&x=2",
            "outlet": "Example Wire",
            "published": "2026-03-04T05:06:00+00:00",
            "language": "en",
            "story": {"id": 41, "size": 3, "other_outlets": ["Wire A", "Wire B"]},
            "matched": ["ceasefire"],
            "web_url": None,
            "evidence": [{"term": "ceasefire", "entity": "Gaza", "matched": "ceasefire",
                          "field": "body", "start": 4, "end": 13,
                          "snippet": "Negotiators said the *ceasefire* could hold"}],
        },
    }
    raw = hit.body.decode()
    assert "\\u200b" not in raw and "\u200b" not in raw and "**" not in raw


def test_json_webhook_in_apprise_mode_keeps_the_title_and_message_form(
        receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{receiver.port}/hook"
    message = render_alert(make_alert(), format="text", template=None, max_chars=4000,
                           target="json", webhook="apprise")
    outcome = send(url, message, timeout=5, allow_private=LOOPBACK)
    assert outcome.ok
    payload = receiver.hits[0].json()
    assert payload["title"] == "[Gaza truce] Ceasefire talks resume"
    for expected in ("Example Wire", "2026-03-04 05:06 UTC", "https://news.example/story?id=1&x=2",
                     "*ceasefire*", "Also reported by 2 outlets"):
        assert expected in payload["message"]


def test_sec_A10_loopback_webhook_refused_by_default_without_connecting(
    receiver: Receiver,
) -> None:
    for host in ("127.0.0.1", "localhost", "2130706433", "[::1]"):
        url = f"json://{host}:{receiver.port}/hook"
        outcome = send(url, rendered(url), timeout=5)
        assert not outcome.ok
        assert outcome.permanent, host
        assert outcome.code == "blocked_address"
        assert "allow_private_networks" in (outcome.error or "")
    assert receiver.hits == []


def test_sec_A10_private_answer_from_dns_taints_the_webhook_host(receiver: Receiver) -> None:
    url = f"json://hooks.example.test:{receiver.port}/hook"
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["93.184.216.34", "10.0.0.5"]

    dest = Destination(url, resolver=resolver)
    outcome = dest.send(rendered(url), timeout=5)
    assert (outcome.ok, outcome.permanent, outcome.code) == (False, True, "blocked_address")
    assert calls == ["hooks.example.test"]
    assert receiver.hits == []


def test_check_destination_rules() -> None:
    check_destination("json://127.0.0.1:9/x", ["127.0.0.0/8"])  # allowed explicitly
    check_destination("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")  # fixed host
    check_destination("mailto://127.0.0.1:25?to=a@b.test")  # local relay is ordinary
    with pytest.raises(PermanentNotifyError):
        check_destination("json://169.254.169.254/latest/meta-data/")
    with pytest.raises(PermanentNotifyError):
        check_destination("xml://0x7f.1:80/")

    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror("temporary failure in name resolution")

    with pytest.raises(NotifyError) as info:
        check_destination("json://hooks.example.test/x", resolver=failing)
    assert not isinstance(info.value, PermanentNotifyError)


def test_webhook_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.redirect_to = f"http://127.0.0.1:{receiver.port}/internal-secret"
    url = f"json://127.0.0.1:{receiver.port}/redirect"
    outcome = send(url, rendered(url), timeout=5, allow_private=LOOPBACK)
    assert not outcome.ok
    assert receiver.hits_for("/internal-secret") == []


# --------------------------------------------------------------------------- G8-G10


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (401, True), (403, True), (404, True),
     (400, True), (408, False), (429, False)],
)
def test_G8_G9_status_classification_after_one_attempt(
    receiver: Receiver, status: int, permanent: bool
) -> None:
    url = f"json://127.0.0.1:{receiver.port}/status/{status}/"
    outcome = send(url, rendered(url), timeout=5, allow_private=LOOPBACK)
    assert not outcome.ok
    assert outcome.status == status
    assert outcome.permanent is permanent
    assert outcome.code == f"http_{status}"
    assert len(receiver.hits) == 1  # apprise itself never retried


def test_G9_failing_destination_does_not_resend_to_the_one_that_succeeded(
    receiver: Receiver,
) -> None:
    good = Destination(f"json://127.0.0.1:{receiver.port}/good", allow_private=LOOPBACK)
    bad = Destination(f"json://127.0.0.1:{receiver.port}/status/500/bad",
                      allow_private=LOOPBACK)
    message = rendered(f"json://127.0.0.1:{receiver.port}/good")
    assert good.send(message, timeout=5).ok
    for _ in range(3):  # the dispatcher's retries of the failed destination only
        assert bad.send(message, timeout=5).retryable
    assert len(receiver.hits_for("/good")) == 1
    assert len(receiver.hits_for("/status/500")) == 3


def test_connection_refused_is_transient() -> None:
    port = free_port()
    url = f"json://127.0.0.1:{port}/hook"
    outcome = send(url, rendered(url), timeout=5, allow_private=LOOPBACK)
    assert (outcome.ok, outcome.permanent, outcome.status) == (False, False, None)
    assert "Connection error" in (outcome.error or "")


def test_unresponsive_server_is_outcome_unknown_within_the_send_timeout() -> None:
    """The request was written and no answer came: the receiver may have it (issue 10)."""
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"json://127.0.0.1:{silent.getsockname()[1]}/hook"
        started = time.monotonic()
        outcome = send(url, rendered(url), timeout=0.5, allow_private=LOOPBACK)
        elapsed = time.monotonic() - started
    assert (outcome.ok, outcome.permanent, outcome.unknown) == (False, False, True)
    assert outcome.code == "unknown" and "outcome unknown" in (outcome.error or "")
    assert elapsed < 5


def test_unparseable_url_is_permanent() -> None:
    outcome = send("nosuchscheme://whatever", rendered("x://y"), timeout=1)
    assert (outcome.ok, outcome.permanent, outcome.code) == (False, True, "bad_url")


def _result(status: AppriseResultStatus, *services: tuple[AppriseResultStatus, str]
            ) -> AppriseResult:
    results = [
        NotifyResult("JSON", "json://host/", attempts=[
            NotifyAttempt(s, logs=[NotifyLogEntry("WARNING", text)] if text else [])])
        for s, text in services
    ]
    return AppriseResult(status, results)


def test_G10_every_apprise_status_is_classified() -> None:
    def classify(result: AppriseResult) -> DeliveryOutcome:
        return classify_result(result, mask=lambda s: s, label="json")

    ok = classify(_result(AppriseResultStatus.SUCCESS, (AppriseResultStatus.SUCCESS, "")))
    assert ok.ok

    failure = classify(_result(AppriseResultStatus.FAILURE, (
        AppriseResultStatus.FAILURE, "Failed to send JSON POST notification: Unauthorized, "
                                     "error=401.")))
    assert (failure.ok, failure.permanent, failure.status) == (False, True, 401)

    partial = classify(_result(
        AppriseResultStatus.PARTIAL, (AppriseResultStatus.SUCCESS, ""),
        (AppriseResultStatus.FAILURE, "A Connection error occurred sending JSON notification")))
    assert (partial.ok, partial.permanent, partial.code) == (False, False, "partial")

    timeout = classify(_result(AppriseResultStatus.TIMEOUT, (AppriseResultStatus.TIMEOUT, "")))
    assert (timeout.ok, timeout.permanent, timeout.code) == (False, False, "timeout")

    nomatch = classify(_result(AppriseResultStatus.NOMATCH))
    assert (nomatch.ok, nomatch.permanent, nomatch.code) == (False, True, "no_service")

    # A result object is never the singleton False: only bool() tells failure apart.
    failed: object = _result(AppriseResultStatus.FAILURE)
    assert failed is not False
    assert not failed


# --------------------------------------------------------------------------- email


def _mailto(port: int, secret: str = "") -> str:
    auth = f"alerts:{secret}@" if secret else ""
    return (f"mailto://{auth}127.0.0.1:{port}?from=alerts@monitor.test&to=desk@news.test"
            "&mode=insecure")


def test_sec_F6_email_subject_single_line_and_recipients_unchanged(
    smtp: tuple[Sink, int],
) -> None:
    sink, port = smtp
    alert = make_alert(title="Truce holds\r\nBcc: attacker@evil.test\r\nX-Evil: 1")
    url = _mailto(port)
    outcome = send(url, rendered(url, "text", alert), timeout=10)
    assert outcome.ok, outcome.error
    assert len(sink.envelopes) == 1
    assert sink.envelopes[0].rcpt_tos == ["desk@news.test"]
    assert sink.envelopes[0].mail_from == "alerts@monitor.test"
    raw = sink.envelopes[0].content.decode()
    headers = raw.split("\r\n\r\n", 1)[0]
    assert len(re.findall(r"^Subject:", headers, re.MULTILINE)) == 1
    assert not re.search(r"^(Bcc|X-Evil):", headers, re.MULTILINE)
    message = sink.messages()[0]
    assert message["Subject"] == "[Gaza truce] Truce holds Bcc: attacker@evil.test X-Evil: 1"


def test_sec_F5_email_html_is_multipart_alternative_with_dead_tags(
    smtp: tuple[Sink, int],
) -> None:
    sink, port = smtp
    alert = make_alert(snippet="Before <img src=x onerror=alert(1)> the ceasefire")
    url = _mailto(port)
    assert send(url, rendered(url, "html", alert), timeout=10).ok
    message = sink.messages()[0]
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    html_part, text_part = parts["text/html"], parts["text/plain"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_part
    assert "<img" not in html_part
    assert '<a href="https://news.example/story?id=1&amp;x=2">' in html_part
    assert "<b>ceasefire</b>" in html_part
    # apprise derives the plain part from the HTML; the link stays because it is visible.
    assert "https://news.example/story?id=1&x=2" in text_part


def test_email_text_format_sends_one_plain_part(smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    url = _mailto(port)
    assert send(url, rendered(url, "text", make_alert(snippet="<b>x</b> ceasefire")),
                timeout=10).ok
    message = sink.messages()[0]
    assert message.get_content_type() == "text/plain"
    assert "<b>x</b> *ceasefire*" in message.get_content()


# --------------------------------------------------------------------------- chat payloads


def test_sec_F3_slack_payload_has_no_live_tokens(chat_apis: Receiver) -> None:
    chat_apis.reply = b"ok"
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    for fmt in ("text", "markdown", "html"):
        chat_apis.hits.clear()
        outcome = send(url, rendered(url, fmt, make_alert(title=HOSTILE_TITLE)), timeout=5)
        assert outcome.ok, (fmt, outcome.error)
        payload = chat_apis.hits[0].json()
        attachment = payload["attachments"][0]
        assert "&lt;!channel&gt;" in attachment["title"], fmt
        for text in (attachment["title"], attachment["text"]):
            assert "<!" not in text
            assert "<http://evil" not in text
            assert not re.search(r"(?<!\u200b)@(everyone|here)\b", text.replace("@\u200b", ""))


class _TelegramHTML(HTMLParser):
    ALLOWED = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a",
                         "code", "pre", "span", "tg-spoiler", "blockquote", "tg-emoji"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.bad: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.ALLOWED:
            self.bad.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.ALLOWED:
            self.bad.append(tag)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.bad.append(f"&{name};")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _strip_markdown_v2(text: str) -> str:
    """What is left of a MarkdownV2 text once escapes and balanced entities are removed."""
    text = re.sub(r"\\.", "", text)
    for marker in ("*", "_", "~", "||"):
        if text.count(marker) % 2:
            return text  # unbalanced entity: leave it for the caller to see
        text = text.replace(marker, "")
    return text


def test_sec_F4_telegram_html_and_markdown_v2_escape_every_reserved_character(
    chat_apis: Receiver,
) -> None:
    alert = make_alert(title=f"Title {RESERVED} <b>x</b> &amp; end",
                       snippet=f"ceasefire {RESERVED} <i>y</i>")
    html_url = "tgram://123456789:AAbbCCddEEffGGhh/12315544/"
    assert send(html_url, rendered(html_url, "html", alert), timeout=5).ok
    payload = chat_apis.hits[-1].json()
    assert payload["parse_mode"] == "HTML"
    parser = _TelegramHTML()
    parser.feed(payload["text"])
    assert parser.bad == []
    assert "&lt;b&gt;x&lt;/b&gt;" in payload["text"]

    v2_url = "tgram://123456789:AAbbCCddEEffGGhh/12315544/?mdv=v2"
    assert send(v2_url, rendered(v2_url, "markdown", alert), timeout=5).ok
    payload = chat_apis.hits[-1].json()
    assert payload["parse_mode"] == "MarkdownV2"
    text = payload["text"]
    escaped = "".join("\\" + c for c in RESERVED)
    assert escaped in text
    # Outside escapes and balanced entity markers, no reserved character may remain.
    leftover = _strip_markdown_v2(text)
    links = re.findall(r"\[[^\]]*\]\([^)]*\)", leftover)
    for link in links:
        leftover = leftover.replace(link, "")
    assert not [c for c in leftover if c in RESERVED]


def test_sec_F7_discord_never_mentions(chat_apis: Receiver) -> None:
    alert = make_alert(title="@everyone look <@123> <@&456> @here",
                       snippet="ceasefire @everyone <@!789> @qatar")
    for url in ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
                "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js?format=markdown"):
        for fmt in ("text", "markdown", "html"):
            chat_apis.hits.clear()
            assert send(url, rendered(url, fmt, alert), timeout=5).ok
            raw = chat_apis.hits[0].body.decode("utf-8")
            payload = json.loads(raw)
            everything = json.dumps(payload, ensure_ascii=False)
            assert not re.search(r"@(everyone|here)\b", everything), (url, fmt)
            assert not re.search(r"<@[!&]?\d+>", everything), (url, fmt)
            assert "allow_mentions" not in payload
            assert "allowed_mentions" not in payload or payload["allowed_mentions"] == {
                "parse": []}


# --------------------------------------------------------------------------- secrets (F8)


def _leaks(texts: list[str], secrets: list[str]) -> list[str]:
    return [s for s in secrets for t in texts if s in t]


def test_sec_F8_secrets_absent_from_logs_errors_and_output_at_debug(
    receiver: Receiver, chat_apis: Receiver, smtp: tuple[Sink, int],
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Pw-9f8e7d6c5b"
    bot_token = "123456789:AAsecretBotToken0042"
    smtp_secret = "SmtpSecret-777"
    secrets = [password, bot_token, "AAsecretBotToken0042", smtp_secret,
               base64.b64encode(f"hookuser:{password}".encode()).decode()]
    outcomes = [
        send(f"json://hookuser:{password}@127.0.0.1:{receiver.port}/status/401/",
             rendered("json://x/"), timeout=5, allow_private=LOOPBACK),
        send(f"json://hookuser:{password}@127.0.0.1:{receiver.port}/hook",
             rendered("json://x/"), timeout=5),  # refused: loopback not allowed
        send(f"tgram://{bot_token}/12315544/", rendered("tgram://1:a/1"), timeout=5),
        send(_mailto(smtp[1], smtp_secret), rendered("mailto://x@y.test"), timeout=5),
        send(f"json://hookuser:{password}@[bad", rendered("json://x/"), timeout=5),
    ]
    assert [o.ok for o in outcomes] == [False, False, True, False, False]
    assert receiver.hits[0].headers["Authorization"].endswith(secrets[-1])  # it was sent
    texts = [r.getMessage() for r in caplog.records] + [caplog.text]
    texts += [o.error or "" for o in outcomes] + [o.log for o in outcomes]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    assert any("127.0.0.1" in t for t in texts)  # the logs did say something
    assert _leaks(texts, secrets) == []


def test_secret_masker_filter_masks_records_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "tgram://123456789:AAsecretBotToken0042/12315544/"
    masker = SecretMasker([url, "plain-secret-value"])
    logger = logging.getLogger("monitor.test_masker")
    logger.addFilter(masker)
    try:
        with caplog.at_level(logging.INFO, logger="monitor.test_masker"):
            logger.info("sending to %s with %s", url, "plain-secret-value")
            try:
                raise RuntimeError(f"boom {url}")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.removeFilter(masker)
    assert "AAsecretBotToken0042" not in caplog.text
    assert "123456789" not in caplog.text
    assert "plain-secret-value" not in caplog.text
    assert "boom tgram://****:****/12315544/" in caplog.text
    assert masker.mask("x AAsecretBotToken0042 y") == "x **** y"


def test_masker_names_the_variable_and_masks_any_url_in_a_log_line() -> None:
    masker = SecretMasker()
    masker.add("mailtos://me:Sup3rSecret@smtp.example.test", source="SMTP_URL")
    assert masker.mask("connecting to mailtos://me:Sup3rSecret@smtp.example.test failed") == (
        "connecting to mailtos://me:****@smtp.example.test (${SMTP_URL}) failed")
    assert masker.mask("auth Sup3rSecret refused") == "auth **** refused"
    # a URL the masker was never told about (a feed, a redirect) still loses its secrets
    assert masker.mask("GET https://u:hunter22@feeds.example/rss?token=t0k3n&page=2") == (
        "GET https://u:****@feeds.example/rss?token=****&page=2")


def test_mask_url_and_secrets() -> None:
    masked = mask_url("json://user:s3cretpassw0rd@hooks.example.test:8080/path")
    assert "s3cretpassw0rd" not in masked
    assert masked.startswith("json://user:****@hooks.example.test:8080/path")
    slack = mask_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in slack
    assert slack == "slack://****/****/****"
    assert mask_url("nosuch://user:pw1234@host/token123") == "nosuch://user:****@host/****"
    # only the secret parts: a URL without one is shown whole, and the ${VAR} is named
    assert mask_url("json://hooks.example.test/alerts") == "json://hooks.example.test/alerts"
    assert mask_url("mailtos://me:Sup3rSecret@smtp.example.test?to=desk@news.test",
                    "SMTP_URL") == ("mailtos://me:****@smtp.example.test?to=desk@news.test "
                                    "(${SMTP_URL})")
    assert mask_url("https://hooks.example.test/x?api_key=abc123&room=7") == (
        "https://hooks.example.test/x?api_key=****&room=7")
    assert {"A1BRTD4JD", "T1JJ3T3L2", "TIiajkdnlazkcOXrIdevi7FQ"} <= url_secrets(
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")
    assert "insecure" not in url_secrets(
        "mailto://a:pw12345@mail.example.test?to=x@y.test&mode=insecure")
    # a lone surrogate (a non-UTF-8 byte): apprise's parser raised UnicodeEncodeError
    assert mask_url("slack://T1JJ3T3L2/A1BRTD4JD/caf\udce9", "HOOK") == (
        "<unparseable URL> (${HOOK})")


@pytest.mark.parametrize(("url", "secret", "masked"), [
    ("apprises://apprise.example.test/newsdesk", "newsdesk",  # an Apprise API key
     "apprises://apprise.example.test/****"),
    ("gotifys://push.example.test/abcdefghijklmno", "abcdefghijklmno",
     "gotifys://push.example.test/****"),
    ("discord://4174216298/abcdefghijklmnopqrst", "abcdefghijklmnopqrst", "discord://****/****"),
])
def test_sec_F8_tokens_apprise_hides_are_masked_however_plain(url: str, secret: str,
                                                                masked: str) -> None:
    """apprise's privacy mode shows these tokens elided ("n...k"): lower-case words are
    secrets there too, in the stored label and in every log line."""
    assert mask_url(url) == masked
    assert secret in url_secrets(url)
    assert secret not in SecretMasker([url]).mask(f"POST {url} failed; key {secret}")


def test_target_kind() -> None:
    assert target_kind("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ") == "slack"
    assert target_kind("tgram://123456789:abc/1/") == "telegram"
    assert target_kind("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js") == "discord"
    assert target_kind("https://discord.com/api/webhooks/4174216298/JHMHI8qBe7bk2Zw") == "discord"
    assert target_kind("mailto://a:b@example.test?to=x@y.test") == "email"
    assert target_kind("json://example.test/") == "json"
    assert target_kind("xml://example.test/") == "xml"
    assert target_kind("form://example.test/") == "form"
    assert target_kind("nosuch://x") == "unknown"


def test_message_rendered_for_another_target_goes_out_as_text(receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{receiver.port}/hook"
    message = render_alert(make_alert(), format="html", template=None, max_chars=4000,
                           target="slack")
    assert send(url, message, timeout=5, allow_private=LOOPBACK).ok
    assert receiver.hits[0].json()["message"] == message.body  # TEXT: passed through as is


# --------------------------------------------------------------------------- console


def test_console_notifier_prints_the_text_alert(capsys: pytest.CaptureFixture[str]) -> None:
    console = ConsoleNotifier()
    outcome = console.show(make_alert(title="Shelling \x1b[31mred\u202e stops"))
    assert outcome.ok
    out = capsys.readouterr().out
    assert out.startswith("[Gaza truce] Shelling [31mred stops\n")
    assert "\x1b" not in out and "\u202e" not in out
    assert "https://news.example/story?id=1&x=2" in out


def test_console_notifier_reports_a_closed_stream() -> None:
    import io

    stream = io.StringIO()
    stream.close()
    assert not ConsoleNotifier(stream).show(make_alert()).ok


def test_console_notifier_on_an_ascii_terminal_prints_what_it_can() -> None:
    """A terminal in ASCII or Latin-1 (PYTHONIOENCODING, an old locale): writing an Arabic or
    Cyrillic title raised UnicodeEncodeError, and no alert was printed at all."""
    import io

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    outcome = ConsoleNotifier(stream).show(make_alert(title="Переговоры in Doha قطر"))
    assert outcome.ok
    assert "?????????? in Doha ???" in raw.getvalue().decode("ascii")


def test_console_notifier_without_stdout_fails_the_send_not_the_daemon(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", None)  # `monitor run >&-`: Python has no sys.stdout
    outcome = ConsoleNotifier().show(make_alert())
    assert not outcome.ok and "no standard output" in (outcome.error or "")


def test_apprise_is_imported_only_by_the_notify_package(repo_root: Any) -> None:
    offenders = [
        str(path.relative_to(repo_root)) for path in (repo_root / "monitor").rglob("*.py")
        if re.search(r"^\s*(import apprise|from apprise)", path.read_text(), re.MULTILINE)
        and path.relative_to(repo_root / "monitor").parts[:2] != ("delivery", "notify")
    ]
    assert offenders == []
    assert apprise.__version__.startswith("2.")


@pytest.mark.parametrize(("url", "problem"), [
    ("mailto://ops@example.com", None),
    ("json://127.0.0.1:9/hook", None),
    ("maito://ops@example.com", "no notification service has the scheme maito://; did you "
     "mean mailto://?"),
    ("qqqqqqq://x", "no notification service has the scheme qqqqqqq://"),
    ("json//127.0.0.1/x", "not a notification URL: it needs a scheme, such as mailto:// or "
     "json://"),
    ("slack://T1JJ3T3L2secret", "not a slack:// URL apprise can read (is a token or a part of "
     "the address missing?)"),
])
def test_destination_problem_says_why_a_url_cannot_be_used(url: str, problem: str | None,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert destination_problem(url) == problem
    assert "secret" not in caplog.text  # apprise logs what it cannot parse: masked


SMTP = "mailtos://desk:Sm7pPassw0rd@smtp.example.com"
NO_ONE = "no To address is left, so no one would receive its mail"


@pytest.mark.parametrize(("query", "problem"), [
    # apprise reads these URLs and drops the recipient with a warning; every send then
    # failed with "There are no Email recipients to notify" while check said all held.
    ("?to=not-an-email", f"To 'not-an-email' is not an email address; {NO_ONE}"),
    ("?to=a@@b", f"To 'a@@b' is not an email address; {NO_ONE}"),
    ("/not-an-email", f"To 'not-an-email' is not an email address; {NO_ONE}"),
    # one good recipient left: the bad one would still never receive anything
    ("?to=desk@news.test,typo", "To 'typo' is not an email address"),
    ("?to=desk@news.test&cc=nobody&bcc=b@news.test&reply=r@@news.test",
     "Cc 'nobody' is not an email address; Reply-To 'r@@news.test' is not an email address"),
])
def test_destination_problem_refuses_mail_recipients_apprise_would_drop(
        query: str, problem: str, caplog: pytest.LogCaptureFixture) -> None:
    from tests.fetch_support import NetworkGuard

    caplog.set_level(logging.DEBUG)
    with NetworkGuard() as guard:
        found = destination_problem(f"{SMTP}{query}")
    assert found == f"mailtos://desk:****@smtp.example.com{query}: {problem}"
    assert guard.connects == []  # the check is offline
    assert "Sm7pPassw0rd" not in caplog.text


@pytest.mark.parametrize("url", [
    f"{SMTP}?to=desk@news.test", f"{SMTP}?to=Desk Team <desk@news.test>, b@news.test",
    f"{SMTP}/desk@news.test/b@news.test?cc=c@news.test&from=alerts@monitor.test",
    "mailto://ops@example.com",  # no To: apprise mails the sender
])
def test_destination_problem_accepts_mail_urls_whose_recipients_all_hold(url: str) -> None:
    assert destination_problem(url) is None


def test_destination_problem_refuses_targets_other_services_drop() -> None:
    # Pushover: a device name it cannot use is put aside as an invalid target.
    url = "pover://uSerKey9000@aPpT0ken9000/phone/bad!device"
    problem = destination_problem(url)
    assert problem is not None
    assert problem.endswith(": target 'bad!device' is not one the service can use (apprise "
                            "drops it)")
    assert "aPpT0ken9000" not in problem and "uSerKey9000" not in problem
    assert destination_problem("pover://uSerKey9000@aPpT0ken9000/phone") is None


def test_net_text_masking_is_the_one_the_logs_use() -> None:
    from monitor.net import mask_text_urls

    text = "skipped https://u:OpmlPass1@opml-c.example/rss?sig=abc123&ed=uk: refused"
    assert mask_text_urls(text) == SecretMasker().mask(text) == (
        "skipped https://u:****@opml-c.example/rss?sig=****&ed=uk: refused")
