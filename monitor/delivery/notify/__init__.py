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

Modules: :mod:`.targets` (what a URL names, whether it may be used), :mod:`.destination`
(one attempt), :mod:`.wire` (the connect-time check), :mod:`.outcome` (apprise's result in
our terms), :mod:`.secrets` (masking), :mod:`.console` (the console channel).
"""

from __future__ import annotations

from monitor.delivery.notify.console import ConsoleNotifier
from monitor.delivery.notify.destination import IDEMPOTENCY_HEADER, Destination, send
from monitor.delivery.notify.outcome import DeliveryOutcome, http_is_permanent
from monitor.delivery.notify.secrets import SecretMasker, mask_url, url_secrets
from monitor.delivery.notify.targets import (
    KEYED_SCHEMES,
    check_destination,
    destination_problem,
    recipient_problem,
    target_kind,
)

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
