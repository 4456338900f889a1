"""Keeping destination secrets (tokens, passwords) out of logs, errors and the database (F8).

* :func:`mask_url` is apprise's privacy mode (``url(privacy=True)``): the form of a
  destination that may be shown, logged or stored.
* :func:`url_secrets` lists the secret strings inside a destination URL: the password, the
  HTTP basic-auth header apprise derives from it, and every token apprise hides in privacy mode.
* :class:`SecretMasker` is a :class:`logging.Filter` that replaces those strings in every log
  record (message, arguments, traceback); ``SecretMasker.mask`` does the same to any text.

A filter added to a *logger* only sees records created on that very logger, not those
propagated from its children: install the masker on the *handlers* (see
:meth:`SecretMasker.install`), which see every record they output.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import apprise

from monitor.net import MASK, mask_text_urls  # one policy for URLs in any text

_MIN_SECRET = 4  # shorter strings would mask ordinary words; no real token is that short
_ELIDED = re.compile(r".\.\.\..")  # a token in apprise's privacy mode: "a...z"
_SPLIT = re.compile(r"[/:@?&=#,;\s]+")
# Loggers that format a destination URL themselves (apprise; urllib3 logs the request line,
# which holds the Telegram bot token, at DEBUG).
_URL_LOGGERS = ("apprise", "urllib3.connectionpool")

log = logging.getLogger(__name__)


def instantiate(url: str, asset: apprise.AppriseAsset | None = None) -> apprise.NotifyBase | None:
    """The apprise service for ``url``, or None when apprise cannot parse it.

    apprise logs an unparseable URL in full; the caller's masking must already be in place
    (see :func:`masking`).
    """
    plugin = apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)
    return plugin if isinstance(plugin, apprise.NotifyBase) else None


def instantiate_masked(url: str) -> apprise.NotifyBase | None:
    """:func:`instantiate` with the URL's own secrets masked in what apprise logs meanwhile
    (it logs a URL it cannot parse)."""
    with masking(SecretMasker.literal(url)):
        return instantiate(url)


@functools.cache  # on first use only: details() builds every service
def known_schemes() -> frozenset[str]:
    """Every URL scheme apprise has a service for (``mailto``, ``tgram``, ``json``...)."""
    found: set[str] = set()
    for service in apprise.Apprise().details()["schemas"]:
        for kind in ("protocols", "secure_protocols"):
            names = service.get(kind) or ()
            found.update([names] if isinstance(names, str) else names)
    return frozenset(name.lower() for name in found)


def _fallback_mask(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "<unparseable URL>"
    scheme = parts.scheme or "?"
    user = f"{MASK}@" if parts.username or parts.password else ""
    rest = "/..." if (parts.path.strip("/") or parts.query or parts.fragment) else ""
    return f"{scheme}://{user}{host}{rest}"


# Query keys whose values are credentials, whatever the service.
_SECRET_KEY = re.compile(r"(?i)(?:token|key|secret|pass(?:word)?|pwd?|auth|sig(?:nature)?|"
                         r"session|sid|credential|code|hash)")
def mask_url(url: str, source: str | None = None) -> str:
    """A destination URL safe to show, with only its secret parts masked.

    The password, credential query values (``token=``, ``api_key=``...) and every token apprise
    hides for that service (``slack://T1JJ3T3L2/A1BRTD4JD/TIiajkd...`` becomes
    ``slack://****/****/****``) are replaced by ``****``; scheme, host, port and the rest stay
    as written. ``source``, the ``${VAR}`` the URL came from, is named after it.
    """
    try:
        url.encode("utf-8")  # apprise's parser cannot take a lone surrogate either
        parts = urlsplit(url)
        hostport = parts.netloc.rpartition("@")[2]
    except ValueError:  # (UnicodeEncodeError is one)
        return "<unparseable URL>" + (f" (${{{source}}})" if source else "")
    userinfo = parts.netloc[: len(parts.netloc) - len(hostport)]
    known = instantiate_masked(url) is not None
    if known:
        found = url_secrets(url)
    else:  # no service to ask: the password and random-looking path segments
        found = {t for t in _tokens(f"{userinfo}{parts.path}") if _looks_secret(t)}
        if parts.password:
            found |= {parts.password, unquote(parts.password)}
    secrets = sorted(found, key=len, reverse=True)

    def hide(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    query = "&".join(
        f"{k}={MASK}" if _SECRET_KEY.search(k) and v else hide(f"{k}={v}" if sep else k)
        for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item))
    shown = f"{parts.scheme}://{hide(userinfo)}{hide(hostport)}{hide(parts.path)}"
    shown += f"?{query}" if query else ""
    shown += f"#{hide(parts.fragment)}" if parts.fragment else ""
    return shown + (f" (${{{source}}})" if source else "")


def privacy_url(plugin: apprise.NotifyBase) -> str:
    """apprise's privacy-mode rendering of a service's URL (tokens and passwords hidden)."""
    return str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]  # apprise untyped


def _looks_secret(token: str) -> bool:
    """A token apprise hid that is random-looking (so not an ordinary word such as 'insecure')."""
    if len(token) < 6:
        return False
    mixed = any(c.isdigit() for c in token) or (token.lower() != token != token.upper())
    return mixed or len(token) >= 16


def _tokens(text: str) -> set[str]:
    pieces = set(_SPLIT.split(text)) | set(_SPLIT.split(unquote(text)))
    return {p for p in pieces if p}


def url_secrets(url: str) -> set[str]:
    """The secret strings inside a destination URL (raw and percent-decoded forms)."""
    secrets: set[str] = set()
    try:
        parts = urlsplit(url)
        scheme, path = parts.scheme, parts.path
        user, password, host = parts.username, parts.password, parts.hostname or ""
    except ValueError:
        scheme = path = host = ""
        user = password = None
    if password:
        secrets |= {password, unquote(password)}
        if user is not None:
            pair = f"{unquote(user)}:{unquote(password)}".encode()
            secrets.add(base64.b64encode(pair).decode("ascii"))
    plugin = instantiate_masked(url)
    if plugin is None:
        # Nothing to compare with: everything but the scheme and host is treated as secret.
        shown = {scheme, host}
        hidden = {t for t in _tokens(url) if t not in shown and len(t) >= _MIN_SECRET}
    else:
        shown = _tokens(privacy_url(plugin))
        # apprise shows a token it hides as "a...z" (first and last character): such a
        # token is secret however plain it looks (an Apprise API key such as "newsdesk").
        elided = {(t[0], t[-1]) for t in shown if _ELIDED.fullmatch(t)}
        hidden = {t for t in _tokens(url) if t not in shown
                  and (_looks_secret(t) or (t[0], t[-1]) in elided)}
        # Whole path segments too, so a token that contains a separator is masked whole.
        hidden |= {s for s in path.split("/") if s and s not in shown and _looks_secret(s)}
    secrets |= hidden
    return {s for s in secrets if len(s) >= _MIN_SECRET}


class SecretMasker(logging.Filter):
    """Replaces known secrets with ``****`` in log records (and in any text via :meth:`mask`).

    Built from the configured destination URLs (each URL, whole, and its secret parts) and/or
    plain secret strings; more can be added later with :meth:`add`. Thread-safe.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._shown: dict[str, str] = {}  # a whole URL -> its masked form
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    @classmethod
    def literal(cls, *strings: str) -> SecretMasker:
        """A masker for exactly these strings (no URL analysis, any length)."""
        masker = cls()
        masker._store({s for s in strings if s})
        return masker

    def _store(self, found: set[str], shown: dict[str, str] | None = None) -> None:
        with self._lock:
            self._secrets |= found
            self._shown.update(shown or {})
            ordered = sorted(self._secrets, key=len, reverse=True)  # longest first
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def add(self, *secrets: str, source: str | None = None) -> None:
        """Add secrets; a URL (``scheme://...``) adds itself, shown masked (naming ``source``,
        the ``${VAR}`` it came from), and its :func:`url_secrets`."""
        found: set[str] = set()
        shown: dict[str, str] = {}
        for secret in secrets:
            if not secret:
                continue
            if "://" in secret:
                found.add(secret)
                shown[secret] = mask_url(secret, source)
                found |= url_secrets(secret)
            elif len(secret) >= _MIN_SECRET:
                found.add(secret)
        self._store(found, shown)

    def mask(self, text: str) -> str:
        """``text`` with every known secret replaced by ``****`` (a known URL by its masked
        form), and the passwords and credential query values of any other URL masked."""
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            shown = self._shown
            text = pattern.sub(lambda m: shown.get(m.group(0), MASK), text)
        return mask_text_urls(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place (message, traceback, stack); never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call; logging reports it later
            return True
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True

    def install(self) -> None:
        """Attach to every root handler and to the loggers that print destination URLs."""
        for handler in logging.getLogger().handlers:
            if self not in handler.filters:
                handler.addFilter(self)
        for name in _URL_LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)


@contextmanager
def masking(masker: SecretMasker) -> Iterator[None]:
    """Mask ``masker``'s secrets in apprise's and urllib3's records while the block runs.

    Loggers run their own filters before propagating, so every handler (the lead's, pytest's
    caplog) receives the masked record even if no global masker was installed.
    """
    loggers = [logging.getLogger(name) for name in _URL_LOGGERS]
    for logger in loggers:
        logger.addFilter(masker)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(masker)
