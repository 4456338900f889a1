"""One destination URL with its own apprise object: one attempt at a time, under the rules
of the package's docstring (address checks, timeouts, lengths, keys, markup, masking)."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import apprise
from apprise.conversion import convert_between

from monitor.delivery.markup import ELLIPSIS, Format, title_heading, truncate, wire_length
from monitor.delivery.notify.outcome import DeliveryOutcome, classify_result
from monitor.delivery.notify.secrets import SecretMasker, instantiate, mask_url, masking
from monitor.delivery.notify.targets import (
    KEYED_SCHEMES,
    NETWORK_HOST_SCHEMES,
    check_destination,
    target_kind,
)
from monitor.delivery.notify.wire import Attempt, watching
from monitor.delivery.render import MARKDOWN_TEXT_TARGETS, RenderedMessage
from monitor.errors import NotifyError, PermanentNotifyError
from monitor.net import AddressPolicy, Resolver

log = logging.getLogger("monitor.delivery.notify")

IDEMPOTENCY_HEADER = "Idempotency-Key"
# apprise's deadline for a call, past the socket timeouts so that they end a slow request
# first (with the plugin's own report) and the deadline is only the backstop.
DEADLINE_FACTOR = 1.2


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
