"""What a destination URL names, and whether it may be used: the configuration check's
questions (:func:`destination_problem`, :func:`recipient_problem`) and the address check
every attempt makes first (:func:`check_destination`). Nothing is sent from here."""

from __future__ import annotations

import re
from collections.abc import Sequence

import apprise

from monitor.delivery.notify.secrets import (
    SecretMasker,
    instantiate_masked,
    known_schemes,
    mask_url,
)
from monitor.errors import (
    BlockedAddressError,
    FetchError,
    InvalidURLError,
    NotifyError,
    PermanentNotifyError,
)
from monitor.net import AddressPolicy, Resolver, default_resolver
from monitor.text import closest

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
        close = closest(scheme, sorted(schemes))
        hint = f"; did you mean {close}://?" if close else ""
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
