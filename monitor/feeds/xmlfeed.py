"""RSS, Atom, RDF and CDF through feedparser, hardened for untrusted bytes: the only module
that imports feedparser.

- feedparser treats a ``str`` or ``bytes`` argument as a URL or a file *path* first, so the body
  is always handed over as a ``BytesIO``: nothing is ever fetched or opened (cases B2, B4).
- Before either of feedparser's parsers sees the document, every DOCTYPE (with its internal
  subset) is removed from the prolog and no entity declarations are passed on. feedparser's
  loose parser expands a large internal entity referenced many times quadratically (a 50 KB
  feed became a 609 MB title); with no declarations nothing is expanded (B1, B3). Character
  references to no character (half of a surrogate pair) are mended there too.
- GUIDs and Atom ids are kept as written instead of being resolved against the feed URL, so
  entry keys survive a feed moving to a new address.
- A fault in one of feedparser's element handlers costs that element's value, not the feed.

:mod:`monitor.feeds.parse` turns what :func:`read_xml_feed` returns into a ParsedFeed.
"""

from __future__ import annotations

import functools
import io
import re
import xml.sax
from typing import Any

import feedparser
import feedparser.api
import feedparser.mixin
import feedparser.sanitizer
import feedparser.urls

from monitor.feeds.common import html_to_text
from monitor.feeds.xmlsafe import repair_char_refs, strip_doctype

_NETSCAPE_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*netscape", re.IGNORECASE)


def _replace_doctype_safely(data: bytes) -> tuple[str | None, bytes, dict[str, str]]:
    """Stand-in for feedparser's ``replace_doctype``: drop every DOCTYPE and declare nothing;
    mend the character references to no character (:func:`repair_char_refs`).

    feedparser calls this on the document after converting it to UTF-8, whatever the original
    encoding (UTF-16, EBCDIC...), and feeds the result to both its strict and loose parsers,
    so this is the one place where stripping cannot be bypassed by an unusual encoding.
    feedparser's own version re-declares "safe" entities, which is the quadratic blow-up.
    """
    # Netscape's RSS 0.91 is recognised by its DOCTYPE alone; keep that one fact.
    version = "rss091n" if _NETSCAPE_DOCTYPE.search(data[:4096]) else None
    return version, repair_char_refs(strip_doctype(data)), {}


# feedparser offers no option to skip entity declarations, so its hook is replaced once, at
# import. Fail loudly if a feedparser upgrade removes the hook rather than parse unprotected.
if not callable(getattr(feedparser.api, "replace_doctype", None)):  # pragma: no cover
    raise ImportError("feedparser.api.replace_doctype is gone: DOCTYPE stripping cannot be "
                      "installed; pin feedparser to a version that has it")
feedparser.api.replace_doctype = _replace_doctype_safely

# feedparser resolves a permalink GUID or Atom id against the feed's URL, so a relative id
# ("12345") would change its key whenever the feed moves (a 301 to a new URL) and every item
# would alert again. Ids are identities, not links: keep them as written. Links are still
# resolved (by feedparser, and by resolve_link for a GUID that doubles as the link).
_MIXIN = feedparser.mixin._FeedParserMixin
_MIXIN.can_be_relative_uri = set(_MIXIN.can_be_relative_uri) - {"id"}

# feedparser's element handlers assume a well-formed element: a stray end tag in a malformed
# feed (`</height>` or `</width>` with no text, `</gml:pos>` or `</media:player>` with no
# start, which its loose parser meets) made one raise TypeError or KeyError, and the whole
# feed was lost. Each handler is guarded: one that fails drops that element's value (they pop
# their element first, so the parser's stack stays right) and the feed reads on. In the strict
# parser a fault in the element events is reported as the XML error it stands for, so that
# feedparser reads the document again with its loose parser, as for any malformed feed.
_HANDLER_FAULTS = (TypeError, KeyError, ValueError, IndexError)


def _dropping_faults(handler: Any) -> Any:
    @functools.wraps(handler)
    def guarded(self: Any, *args: Any) -> Any:
        try:
            return handler(self, *args)
        except _HANDLER_FAULTS:
            return None
    return guarded


def _as_xml_error(handler: Any) -> Any:
    @functools.wraps(handler)
    def guarded(self: Any, *args: Any) -> Any:
        try:
            return handler(self, *args)
        except _HANDLER_FAULTS as exc:
            raise xml.sax.SAXException(f"{type(exc).__name__}: {exc}") from exc
    return guarded


for _parser in (feedparser.api.LooseFeedParser, feedparser.api.StrictFeedParser):
    for _name in dir(_parser):
        if _name.startswith(("_start_", "_end_")):
            setattr(_parser, _name, _dropping_faults(getattr(_parser, _name)))
for _event in ("startElementNS", "endElementNS"):
    if not callable(getattr(feedparser.api.StrictFeedParser, _event, None)):  # pragma: no cover
        raise ImportError(f"feedparser's strict parser has no {_event}: its faults cannot be "
                          "guarded; pin feedparser to a version that has it")
    setattr(feedparser.api.StrictFeedParser, _event,
            _as_xml_error(getattr(feedparser.api.StrictFeedParser, _event)))


def read_xml_feed(content: bytes, response_headers: dict[str, str]) -> Any:
    """feedparser's result for a feed body, with ``response_headers`` (type, location,
    language) as if it had fetched it; relative links resolved, HTML sanitised."""
    return feedparser.parse(
        io.BytesIO(content),  # a stream: bytes or str would be tried as a path or URL
        response_headers=response_headers,
        resolve_relative_uris=True,
        sanitize_html=True,
    )


def sanitize_html(markup: str, base: str) -> str:
    """HTML cleaned as feedparser cleans RSS/Atom content, relative links made absolute.

    Used for JSON Feed ``content_html`` so every format stores the same kind of content.
    These helpers are feedparser internals (pinned below 7); if they fail the caller's
    plain-text fallback is used instead.
    """
    try:
        resolved = feedparser.urls.resolve_relative_uris(markup, base, "utf-8", "text/html")
        return str(feedparser.sanitizer._sanitize_html(resolved, "utf-8", "text/html"))
    except Exception:  # noqa: BLE001 - never lose an entry to the sanitiser: use plain text
        return html_to_text(markup)
