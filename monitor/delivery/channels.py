"""Which destinations a hit goes to, and the secret URL behind each stored destination key.

The database stores only a destination key (a hash, see :func:`destination_key`) and a masked
label; the real URL, which may carry tokens, is looked up here from the configuration at send
time.
"""

from __future__ import annotations

import hashlib
import logging
import re

from monitor.config import Config
from monitor.delivery.notify import mask_url
from monitor.models import RuleHit
from monitor.store import Route

log = logging.getLogger(__name__)

CONSOLE = "console"
# The end of a masked label naming the ${VAR} its URL was read from (mask_url's source).
_FROM_VARIABLE = re.compile(r" \(\$\{[^{}]+\}\)$")


def destination_key(url: str, label: str | None = None) -> str:
    """The key of a destination in the outbox: part of a row's unique key (an alert is queued
    once per story and destination) and of its ``Idempotency-Key``.

    A URL read from a ``${VAR}`` (its masked ``label`` names the variable) is keyed by that
    label, which a rotated token or password leaves as it was: the daemon restarted with the
    new secret still sees the same destination, so a later copy of a story queues no second
    alert to it, and a retry keeps its key. Any other URL is keyed by the whole URL: one
    written in the file and changed there is another destination. Migration 0015 keys the
    rows queued before this way too, with a copy of this function.
    """
    if label is not None and _FROM_VARIABLE.search(label):
        return hashlib.sha256(f"label\x1f{label}".encode()).hexdigest()[:32]
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


class ChannelDirectory:
    """Routes for hits and the URL behind each (channel, destination key)."""

    def __init__(self, config: Config) -> None:
        self._default = tuple(config.delivery.default_channels)
        self._console = config.delivery.console
        self._routes: dict[str, list[Route]] = {}
        self._urls: dict[tuple[str, str], str] = {}
        self._labelled: dict[tuple[str, str], list[str]] = {}  # (channel, label) -> URLs
        self.formats = {name: ch.format for name, ch in config.channels.items()}
        self.templates = {name: ch.template for name, ch in config.channels.items()}
        self.timezones = {name: ch.timezone for name, ch in config.channels.items()}
        self.webhooks = {name: ch.webhook for name, ch in config.channels.items()}
        self._admin = config.delivery.admin_channel
        for name, channel in config.channels.items():
            urls = list(dict.fromkeys(channel.urls))  # a URL listed twice is one destination
            labels = [mask_url(url, config.url_source(url)) for url in urls]
            for url, label in zip(urls, labels, strict=True):
                self._labelled.setdefault((name, label), []).append(url)
            routes = []
            for url, label in zip(urls, labels, strict=True):
                # Two URLs of the channel that mask alike cannot share their label's key.
                alike = len(self._labelled[(name, label)]) > 1
                key = destination_key(url, None if alike else label)
                self._urls[(name, key)] = url
                # Rows an earlier version queued under the whole URL's key still find it.
                self._urls.setdefault((name, destination_key(url)), url)
                routes.append(Route(name, key, label))
            self._routes[name] = routes
        self._warned: set[str] = set()

    def routes_for(self, hit: RuleHit) -> list[Route]:
        """The hit's rule's channels, or the default ones; the console too when enabled.

        A rule whose channels are all unknown (a typo in ``notify:``) still prints its hits
        on the console, whatever ``delivery.console`` says: an alert is never silent.
        """
        console = Route(CONSOLE, CONSOLE, CONSOLE)
        routes = [console] if self._console else []
        names = hit.notify or self._default
        for name in names:
            if name not in self._routes:
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning("rule %s names channel %r, which is not configured",
                                hit.rule_id, name)
                continue
            routes.extend(self._routes[name])
        if names and not routes:
            routes.append(console)
        return routes

    def admin_routes(self) -> list[Route]:
        """Where service notices go: the admin channel, and the console when enabled."""
        routes = [Route(CONSOLE, CONSOLE, CONSOLE)] if self._console else []
        if self._admin is not None:
            routes.extend(self._routes.get(self._admin, []))
        return routes

    def url_for(self, channel: str, key: str, label: str | None = None) -> str | None:
        """The configured URL for a stored destination, or None if it was removed.

        A URL read from a ``${VAR}`` is keyed by its masked label (:func:`destination_key`),
        which survives a rotated token or password. A row queued under the whole URL's key
        (by an earlier version) whose ``${VAR}`` was rotated since keeps its ``label``: it
        goes to the one URL of the channel with that label instead of dying with its old
        secret.
        """
        url = self._urls.get((channel, key))
        if url is not None or label is None or not _FROM_VARIABLE.search(label):
            return url
        same = self._labelled.get((channel, label), [])
        return same[0] if len(same) == 1 else None
