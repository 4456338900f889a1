"""Sending one rendered message to one destination with apprise, and nothing more.

The dispatcher (outbox, retries, back-off) calls :func:`send` once per destination URL per
attempt. Each :class:`Destination` wraps exactly one URL in its own ``apprise.Apprise`` object,
so a retry is only ever sent to the destination that failed (G9). apprise is imported only
in this package.

Safety rules applied on every attempt:

* SSRF (A10): webhook-style destinations whose host the operator chose (``json://``,
  ``xml://``, ``form://``, Gotify, Mattermost...) are resolved and refused, permanently, when
  any address is private or loopback, unless ``allow_private`` (``http.allow_private_networks``)
  allows it; the address rules are :mod:`monitor.net.netpolicy`'s. The check is made again
  when apprise connects, and the socket goes to the address checked then
  (:mod:`~monitor.delivery.notify.wire`), so a DNS answer that changes between the two
  lookups (rebinding) is refused too. apprise follows no redirects.
* Time: ``timeout`` (``delivery.send_timeout``) is every plugin's socket connect and read
  timeout (apprise's own default is 4 s) and, with a small margin, apprise's deadline for the
  call. Once the outcome is settled no request of the attempt may still go out.
* Length: ``max_message_chars`` (the message's ``limit``) holds at the service: the title
  and body are measured as apprise will send them (converted to the service's format and
  dialect: Slack's ``&amp;``, Telegram's HTML reduction...; the title as escaped entities),
  and the body is cut again when the service's own escaping made it longer.
* Duplicates: webhook targets (``json``, ``xml``, ``form``) carry ``Idempotency-Key`` (the
  outbox row's key, the same on every attempt); a request written without an answer is
  "outcome unknown" (:attr:`DeliveryOutcome.unknown`), for the dispatcher to retry only where
  the receiver can deduplicate. apprise's own retries are off: the outbox retries.
* Markup: the body is declared to apprise in the format :mod:`monitor.delivery.render` wrote and
  escaped it for; a message rendered for another kind of destination goes out as TEXT.
* Secrets (F8): the URL, its password and tokens are masked in apprise's and urllib3's log
  records during the attempt and in the outcome's error and log text.
"""

from __future__ import annotations

import difflib
import html
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TextIO

import apprise
from apprise.conversion import convert_between

from monitor.delivery.markup import ELLIPSIS, Format, title_heading, truncate, wire_length
from monitor.delivery.notify.outcome import DeliveryOutcome, classify_result, http_is_permanent
from monitor.delivery.notify.secrets import (
    SecretMasker,
    instantiate,
    instantiate_masked,
    known_schemes,
    mask_url,
    masking,
    url_secrets,
)
from monitor.delivery.notify.wire import Attempt, watching
from monitor.delivery.render import MARKDOWN_TEXT_TARGETS, RenderedMessage, render_alert
from monitor.errors import (
    BlockedAddressError,
    FetchError,
    InvalidURLError,
    NotifyError,
    PermanentNotifyError,
)
from monitor.models import Alert
from monitor.net import AddressPolicy, Resolver, default_resolver

__all__ = [
    "IDEMPOTENCY_HEADER",
    "KEYED_SCHEMES",
    "ConsoleNotifier",
    "DeliveryOutcome",
    "Destination",
    "SecretMasker",
    "check_destination",
    "destination_problem",
    "http_is_permanent",
    "mask_url",
    "recipient_problem",
    "send",
    "target_kind",
    "url_secrets",
]

log = logging.getLogger(__name__)

# apprise schemes whose host part is a network host the operator picked (for the others,
# such as slack:// or tgram://, the "host" is a token and the service host is fixed).
# Mail is left out on purpose: a relay on localhost is an ordinary setup.
NETWORK_HOST_SCHEMES = frozenset({
    "json", "jsons", "xml", "xmls", "form", "forms", "gotify", "gotifys", "mmost", "mmosts",
    "rocket", "rockets", "apprise", "apprises", "ncloud", "nclouds", "nctalk", "nctalks",
    "hassio", "hassios", "kodi", "kodis", "xbmc", "xbmcs", "synology", "synologys", "signal",
    "signals", "mqtt", "mqtts",
})
# Generic HTTP webhooks: their requests carry the outbox row's key, so receivers can drop
# repeats. The other services' APIs (Slack, Discord, Telegram, mail...) take no such key.
KEYED_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# apprise's deadline for a call, past the socket timeouts so that they end a slow request
# first (with the plugin's own report) and the deadline is only the backstop.
DEADLINE_FACTOR = 1.2


def target_kind(url: str) -> str:
    """The kind of destination a URL is: ``slack``, ``telegram``, ``discord``, ``email``,
    ``json``, ``xml``, ``form``... (apprise's service, lower case), or ``unknown``."""
    plugin = instantiate_masked(url)
    if plugin is None:
        return "unknown"
    return type(plugin).__name__.removeprefix("Notify").lower()


def destination_problem(url: str) -> str | None:
    """Why apprise cannot send to ``url``, in words for the configuration check, or None when
    it can: no scheme, a scheme no service has (a typo: ``maito://``, with the scheme it may
    mean), a URL its service cannot read (a token missing), or a recipient written in it
    that apprise would drop (:func:`recipient_problem`). The URL is never quoted unmasked
    (it may hold a token). No network connection is made."""
    plugin = instantiate_masked(url)
    if plugin is not None:
        return recipient_problem(plugin, url)
    scheme, sep, _rest = url.partition("://")
    if not sep or not scheme:
        return "not a notification URL: it needs a scheme, such as mailto:// or json://"
    scheme = scheme.lower()
    schemes = known_schemes()
    if scheme not in schemes:
        close = difflib.get_close_matches(scheme, sorted(schemes), n=1)
        hint = f"; did you mean {close[0]}://?" if close else ""
        return f"no notification service has the scheme {scheme}://{hint}"
    # Not even masked: what apprise cannot read, it cannot say which part is the secret.
    return (f"not a {scheme}:// URL apprise can read (is a token or a part of the address "
            "missing?)")


# A mail URL's recipient fields (apprise's keyword arguments) and their header names.
_MAIL_FIELDS = (("targets", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("reply_to", "Reply-To"))
_LIST_DELIMITERS = re.compile(r"[\[\];,\s]+")  # apprise's, between the entries of a list


def _mail_entries(value: object) -> list[str]:
    """Each recipient written in one field of a mail URL, as apprise reads the field, with
    what it skips without a word (``bad`` in ``to=ok@news.test,bad``)."""
    from apprise.utils.parse import parse_emails

    entries: list[str] = []
    for text in value if isinstance(value, list | tuple) else [value]:
        if not isinstance(text, str) or not text:
            continue
        found = [str(e) for e in parse_emails(  # type: ignore[no-untyped-call]  # apprise
            text, store_unparseable=False)]
        rest = text
        for email in found:
            rest = rest.replace(email, " ", 1)
        entries += found + [piece for piece in _LIST_DELIMITERS.split(rest) if piece]
    return entries


def recipient_problem(plugin: apprise.NotifyBase, url: str) -> str | None:
    """Why a recipient written in ``url`` would never receive a message, or None.

    apprise reads a URL with a bad recipient all the same and only drops the recipient,
    logging a warning at most (``mailto://...?to=not-an-email``: every send then fails with
    "There are no Email recipients to notify"). For mail, every To, Cc, Bcc and Reply-To
    entry must be an email address and at least one To must be left; for the other services,
    a target the service put aside as invalid (its ``invalid_targets``) is one too many.
    The URL is quoted masked (:func:`mask_url`); nothing is sent or resolved.
    """
    from apprise.plugins.email import NotifyEmail  # loaded once a mail URL is read
    from apprise.utils.parse import is_email

    bad: list[str] = []
    if isinstance(plugin, NotifyEmail):
        read = type(plugin).parse_url(url)  # type: ignore[no-untyped-call]  # apprise untyped
        if isinstance(read, dict):
            bad += [f"{header} {entry!r} is not an email address"
                    for key, header in _MAIL_FIELDS
                    for entry in _mail_entries(read.get(key))
                    if not is_email(entry)]  # type: ignore[no-untyped-call]  # apprise
        if not plugin.targets:
            bad.append("no To address is left, so no one would receive its mail")
    for name in ("invalid_targets", "_invalid_targets"):
        dropped = getattr(plugin, name, None)
        if isinstance(dropped, list | tuple | set):
            bad += [f"target {str(target)!r} is not one the service can use (apprise drops it)"
                    for target in dropped]
    if not bad:
        return None
    masker = SecretMasker()
    masker.add(url)  # the URL shown as mask_url shows it, and its secrets wherever quoted
    return masker.mask(f"{url}: {'; '.join(bad)}")


def check_destination(
    url: str, allow_private: Sequence[str] = (), *, resolver: Resolver | None = None
) -> None:
    """Refuse a destination whose host is (or resolves to) a private or loopback address.

    Raises :class:`PermanentNotifyError` for a refused address or an unusable URL and
    :class:`NotifyError` (transient) when the host does not resolve right now. Destinations
    whose service host is fixed (Slack, Telegram, Discord...) and mail are not checked.
    ``allow_private`` takes networks (CIDR) or host names, like ``http.allow_private_networks``.
    """
    scheme = url.partition("://")[0].lower()
    if scheme not in NETWORK_HOST_SCHEMES:
        return
    plugin = instantiate_masked(url)
    shown = mask_url(url)
    if plugin is None:
        raise PermanentNotifyError(f"destination {shown} is not a valid notification URL")
    host = plugin.host
    if not isinstance(host, str) or not host:
        return
    port = plugin.port if isinstance(plugin.port, int) else (443 if plugin.secure else 80)
    policy = AddressPolicy(allow_private)
    try:
        if policy.check_host(host, port) is None:
            policy.check_answers(host, port, (resolver or default_resolver)(host, port))
    except (BlockedAddressError, InvalidURLError) as exc:
        raise PermanentNotifyError(
            f"destination {shown} refused: {exc}"
        ) from None
    except (FetchError, OSError) as exc:
        raise NotifyError(f"destination {shown} cannot be resolved: {exc}") from None


class Destination:
    """One destination URL with its own apprise object, reused for every attempt.

    ``allow_private`` exempts networks or hosts from the SSRF refusal; ``resolver`` replaces
    DNS (tests).
    """

    def __init__(self, url: str, *, allow_private: Sequence[str] = (),
                 resolver: Resolver | None = None) -> None:
        self._url = url
        self._masker = SecretMasker([url])
        self._allow = tuple(allow_private)
        self._resolver = resolver
        self._scheme = url.partition("://")[0].lower()
        self.kind = target_kind(url)
        self._scheme_is_json = url.partition("://")[0].lower() in ("json", "jsons")
        self._extras: dict[str, Any] = {}
        self.masked = mask_url(url)
        self._apprise: apprise.Apprise | None = None
        self._plugin: apprise.NotifyBase | None = None

    def _service(self, timeout: float) -> tuple[apprise.Apprise, apprise.NotifyBase] | None:
        if self._apprise is None or self._plugin is None:
            # No redirects: a webhook answering 302 -> 169.254.169.254 would otherwise be
            # followed past the address check (A4 for notifications).
            asset = apprise.AppriseAsset(http_redirects=False)
            plugin = instantiate(self._url, asset)
            if plugin is None:
                return None
            # The renderer already fits the service's limit; should a conversion grow the
            # text past it, cut rather than have the service refuse the whole message.
            plugin.overflow_mode = apprise.OverflowMode.TRUNCATE
            self._extras = dict(getattr(plugin, "payload_extras", None) or {})
            plugin.retry = 0  # the outbox retries, with back-off and the same key
            self._apprise, self._plugin = apprise.Apprise(asset=asset), plugin
            self._apprise.add(plugin)
        if timeout > 0:
            # The setting, not apprise's 4 s default (what ``?cto=``/``?rto=`` in the URL set).
            self._plugin.socket_connect_timeout = timeout
            self._plugin.socket_read_timeout = timeout
        return self._apprise, self._plugin

    def _prepare(self, message: RenderedMessage,
                 plugin: apprise.NotifyBase) -> tuple[str, str, Format]:
        fmt = message.format
        if fmt != "text" and message.target != self.kind:
            # Escaped for another service's syntax: only plain text is safe to declare.
            log.warning("message rendered for %s sent to a %s destination: sending it as text",
                        message.target, self.kind)
            fmt = "text"
        title, body = message.title, message.body
        if title and (plugin.title_maxlen <= 0 or self.kind in MARKDOWN_TEXT_TARGETS):
            # The service puts the title inside the body (Telegram; Discord, which also draws
            # it as Markdown): apprise would insert it unescaped, so it is escaped and put
            # there here.
            title, body = "", title_heading(title, fmt) + body
        if message.limit:
            title, body = self._fit(plugin, title, body, fmt, message.limit)
        return title, body, fmt

    def _wire_length(self, plugin: apprise.NotifyBase, title: str, body: str,
                     fmt: Format) -> int:
        """Characters the service receives: the body as apprise converts it to the service's
        format and dialect, and the title with ``& < >`` as entities (Slack's escape; an
        upper bound for the others)."""
        source = apprise.NotifyFormat(fmt)
        try:
            native = plugin.resolve_format(source)
            wire = body if native == source else str(
                convert_between(source, native, body))  # type: ignore[no-untyped-call]
            wire = plugin.dialect_convert(wire, native)
        # An apprise without these hooks: the renderer's own estimate.
        except Exception:  # noqa: BLE001
            return wire_length(title, body, fmt, self.kind)
        return len(html.escape(title, quote=False)) + len(wire)

    def _fit(self, plugin: apprise.NotifyBase, title: str, body: str, fmt: Format,
             limit: int) -> tuple[str, str]:
        """Cut the body again if the service's conversion makes the message longer than
        ``limit`` (the title first, if its escapes alone take half of it)."""
        while title and len(html.escape(title, quote=False)) > limit // 2:
            title = title[: len(title) * 3 // 4].rstrip() + ELLIPSIS

        def measure(t: str, b: str) -> int:
            return self._wire_length(plugin, t, b, fmt)

        if measure(title, body) > limit:
            body = truncate(title, body, fmt, self.kind, limit, measure)
        return title, body

    @property
    def keyed(self) -> bool:
        """Whether this destination's requests carry :data:`IDEMPOTENCY_HEADER`."""
        return self._scheme in KEYED_SCHEMES

    def send(self, message: RenderedMessage, *, timeout: float,
             idempotency_key: str | None = None) -> DeliveryOutcome:
        """One attempt; never raises for a delivery problem, returns the outcome."""
        with masking(self._masker):
            return self._send(message, timeout, idempotency_key)

    def _send(self, message: RenderedMessage, timeout: float,
              key: str | None) -> DeliveryOutcome:
        mask = self._masker.mask
        try:
            check_destination(self._url, self._allow, resolver=self._resolver)
        except PermanentNotifyError as exc:
            return DeliveryOutcome(ok=False, permanent=True, error=mask(str(exc)),
                                   code="blocked_address")
        except NotifyError as exc:
            return DeliveryOutcome(ok=False, error=mask(str(exc)), code="resolve_failed")
        service = self._service(timeout)
        if service is None:
            return DeliveryOutcome(
                ok=False, permanent=True, code="bad_url",
                error=f"destination {self.masked} is not a valid notification URL")
        client, plugin = service
        title, body, fmt = self._prepare(message, plugin)
        _event_body(plugin, message, self._scheme_is_json, self._extras)
        headers = getattr(plugin, "headers", None)
        keyed = bool(key) and self.keyed and isinstance(headers, dict)
        if keyed and isinstance(headers, dict):
            headers[IDEMPOTENCY_HEADER] = key
        checked = self._scheme in NETWORK_HOST_SCHEMES
        attempt = Attempt(policy=AddressPolicy(self._allow) if checked else None,
                          resolver=self._resolver)
        try:
            with watching(attempt):
                result = client.notify(body=body, title=title,
                                       body_format=apprise.NotifyFormat(fmt),
                                       timeout=max(timeout, 0) * DEADLINE_FACTOR,
                                       log_level=logging.DEBUG)
        # apprise turns delivery problems into results; anything raised is a bug or a bad
        # argument, which must not stop the dispatcher: report it (masked) as transient.
        except Exception as exc:  # noqa: BLE001
            written = attempt.close()
            return DeliveryOutcome(ok=False, code="unknown" if written else "internal",
                                   unknown=written, keyed=keyed,
                                   error=mask(f"{self.kind} delivery raised "
                                              f"{type(exc).__name__}: {exc}"))
        written = attempt.close()  # from here on, an abandoned worker cannot send any more
        try:
            outcome = classify_result(result, mask=mask, label=self.kind)
        finally:
            result.close()
        if attempt.blocked is not None:
            return DeliveryOutcome(
                ok=False, permanent=True, code="blocked_address", log=outcome.log,
                error=mask(f"destination {self.masked} refused when connecting: "
                           f"{attempt.blocked} (allow it with http.allow_private_networks)"))
        if not outcome.ok and written and outcome.status is None and not outcome.permanent:
            # Sent, and no answer: the receiver may have it. Retrying would repeat it unless
            # the receiver drops repeats by their key.
            return replace(outcome, unknown=True, code="unknown", keyed=keyed,
                           error=f"outcome unknown: the request was sent but no answer came "
                                 f"({outcome.error})")
        return replace(outcome, keyed=keyed)


# apprise's own JSON keys: an event body removes them (an empty value drops a key).
_APPRISE_JSON_KEYS = ("version", "title", "message", "attachments", "type")


def _event_body(plugin: apprise.NotifyBase, message: RenderedMessage, is_json: bool,
                original: dict[str, Any]) -> None:
    """Make apprise's JSON plugin post ``message.event`` (the structured webhook event)
    instead of its ``{"title", "message"}`` form, or restore the form for other messages.

    The plugin builds its body from ``payload_extras``: keys of its own given an empty value
    are dropped and other keys are added as they are (nested values included). The URL's
    own ``:key=value`` extras (``original``) are kept for apprise's form, replaced for an
    event.
    """
    if not is_json or not hasattr(plugin, "payload_extras"):
        return
    if message.event is None:
        extras = dict(original)
    else:
        extras = {**dict.fromkeys(_APPRISE_JSON_KEYS, ""), **message.event}
    setattr(plugin, "payload_extras", extras)  # noqa: B010  # apprise's attribute, untyped


def send(url: str, message: RenderedMessage, *, timeout: float,
         allow_private: Sequence[str] = (), idempotency_key: str | None = None,
         resolver: Resolver | None = None) -> DeliveryOutcome:
    """Send ``message`` to the one destination ``url`` (one attempt, one apprise object)."""
    return Destination(url, allow_private=allow_private, resolver=resolver).send(
        message, timeout=timeout, idempotency_key=idempotency_key)


class ConsoleNotifier:
    """Prints alerts as plain text to a stream (stdout by default): the demo's channel."""

    def __init__(self, stream: TextIO | None = None, *, max_chars: int = 4000,
                 timezone: str = "UTC") -> None:
        self._stream = stream
        self._max_chars = max_chars
        self._timezone = timezone

    def show(self, alert: Alert) -> DeliveryOutcome:
        """Render ``alert`` in the text format and print it."""
        message = render_alert(alert, format="text", template=None, max_chars=self._max_chars,
                               target="console", timezone=self._timezone)
        return self.send(message)

    def send(self, message: RenderedMessage) -> DeliveryOutcome:
        """Print an already rendered message (title line, body, blank line)."""
        # Resolved at call time so a replaced sys.stdout (tests, daemons) is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        if stream is None:  # started with stdout closed (`monitor run >&-`)
            return DeliveryOutcome(ok=False, error="console output failed: no standard output",
                                   code="console")
        try:
            stream.write(f"{message.title}\n{message.body}\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # closed pipe or stream
            return DeliveryOutcome(ok=False, error=f"console output failed: {exc}",
                                   code="console")
        return DeliveryOutcome(ok=True)
