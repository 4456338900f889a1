"""Feed autodiscovery: the feeds an HTML page advertises, as Miniflux and FreshRSS find them.

A page names its feeds with ``<link rel="alternate" type="application/rss+xml" href=...>``
(also Atom, RDF and JSON Feed types) in its head. Links are resolved against the page's URL
(or its ``<base href>``); duplicates are dropped, the page's order is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from monitor.feeds.common import resolve_link
from monitor.text import clean_line

_FEED_TYPES = re.compile(r"^application/(?:(?:rss|atom|rdf|feed)\+xml|feed\+json|json)$",
                         re.IGNORECASE)
_MAX_LINKS = 20


@dataclass(frozen=True)
class FeedLink:
    """One feed a page advertises: its absolute URL, its title (may be empty) and type."""

    url: str
    title: str
    type: str


class _LinkFinder(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self.links: list[FeedLink] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and values.get("href"):
            self.base = resolve_link(self.base, values["href"]) or self.base
        if tag not in ("link", "a") or len(self.links) >= _MAX_LINKS:
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").strip().lower()
        if "alternate" not in rels or not _FEED_TYPES.match(kind):
            return
        url = resolve_link(self.base, values.get("href"))
        if url and url.startswith(("http://", "https://")):
            self.links.append(FeedLink(url, clean_line(values.get("title", "")).strip(), kind))


def discover_feeds(content: bytes, page_url: str) -> list[FeedLink]:
    """The feeds ``content`` (an HTML page fetched from ``page_url``) advertises."""
    finder = _LinkFinder(page_url)
    try:
        finder.feed(content[: 2 * 2**20].decode("utf-8", errors="replace"))
        finder.close()
    except (AssertionError, ValueError):  # HTMLParser on pathological markup
        pass
    unique: dict[str, FeedLink] = {}
    for link in finder.links:
        unique.setdefault(link.url, link)
    return list(unique.values())
