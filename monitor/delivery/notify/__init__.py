"""Sending one rendered message to one destination with apprise, and nothing more.

The dispatcher (outbox, retries, back-off) calls :func:`send` once per destination URL per
attempt. Each :class:`Destination` wraps exactly one URL in its own ``apprise.Apprise`` object,
so a retry is only ever sent to the destination that failed (G9). apprise is imported only
in this package.

Safety rules applied on every attempt:

* SSRF (A10): webhook-style destinations whose host the operator chose (``json://``,
  ``xml://``, ``form://``, Gotify, Mattermost...) are resolved and refused, permanently, when
  any address is private or loopback, unless ``allow_private`` (``http.allow_private_networks``)
  allows it; the address rules are :mod:`monitor.net.netpolicy`'s. apprise follows no redirects.
* Markup: the body is declared to apprise in the format :mod:`monitor.delivery.render` wrote and
  escaped it for; a message rendered for another kind of destination goes out as TEXT.
* Secrets (F8): the URL, its password and tokens are masked in apprise's and urllib3's log
  records during the attempt and in the outcome's error and log text.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import apprise

from monitor.delivery.markup import Format, title_heading
from monitor.delivery.notify.outcome import DeliveryOutcome, classify_result, http_is_permanent
from monitor.delivery.notify.secrets import (
    SecretMasker,
    instantiate,
    mask_url,
    masking,
    url_secrets,
)
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
    "ConsoleNotifier",
    "DeliveryOutcome",
    "Destination",
    "SecretMasker",
    "check_destination",
    "http_is_permanent",
    "mask_url",
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


def target_kind(url: str) -> str:
    """The kind of destination a URL is: ``slack``, ``telegram``, ``discord``, ``email``,
    ``json``, ``xml``, ``form``... (apprise's service, lower case), or ``unknown``."""
    with masking(SecretMasker.literal(url)):
        plugin = instantiate(url)
    if plugin is None:
        return "unknown"
    return type(plugin).__name__.removeprefix("Notify").lower()


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
    with masking(SecretMasker.literal(url)):
        plugin = instantiate(url)
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
            self._apprise, self._plugin = apprise.Apprise(asset=asset), plugin
            self._apprise.add(plugin)
        if timeout > 0:
            # apprise's call deadline stops the wait and reports TIMEOUT; the socket timeouts,
            # just after it, also end the abandoned request instead of letting it hang on.
            limit = timeout + 0.5
            plugin = self._plugin
            plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, limit)
            plugin.socket_read_timeout = min(plugin.socket_read_timeout, limit)
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
        return title, body, fmt

    def send(self, message: RenderedMessage, *, timeout: float) -> DeliveryOutcome:
        """One attempt; never raises for a delivery problem, returns the outcome."""
        with masking(self._masker):
            return self._send(message, timeout)

    def _send(self, message: RenderedMessage, timeout: float) -> DeliveryOutcome:
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
        try:
            result = client.notify(body=body, title=title, body_format=apprise.NotifyFormat(fmt),
                                   timeout=max(timeout, 0), log_level=logging.DEBUG)
        # apprise turns delivery problems into results; anything raised is a bug or a bad
        # argument, which must not stop the dispatcher: report it (masked) as transient.
        except Exception as exc:  # noqa: BLE001
            return DeliveryOutcome(ok=False, code="internal",
                                   error=mask(f"{self.kind} delivery raised "
                                              f"{type(exc).__name__}: {exc}"))
        try:
            return classify_result(result, mask=mask, label=self.kind)
        finally:
            result.close()


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
         allow_private: Sequence[str] = ()) -> DeliveryOutcome:
    """Send ``message`` to the one destination ``url`` (one attempt, one apprise object)."""
    return Destination(url, allow_private=allow_private).send(message, timeout=timeout)


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
        try:
            stream.write(f"{message.title}\n{message.body}\n\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # closed pipe or stream
            return DeliveryOutcome(ok=False, error=f"console output failed: {exc}",
                                   code="console")
        return DeliveryOutcome(ok=True)
