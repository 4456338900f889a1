"""Import and export of feed lists as OPML, the format every feed reader exchanges.

Reading is safe on files from anywhere: the document is parsed by expat with entity
declarations refused, a DOCTYPE with an internal subset refused and external entities never
loaded, so neither a billion-laughs file nor an external-entity reference can do harm. Only
http(s) feeds are imported: a shared OPML file must not turn into trusted local-file feeds.

Tags come from folder outlines (the way Miniflux, FreshRSS and most readers export
categories) and from the OPML 2.0 ``category`` attribute (``"/news,/asia"``). Export writes
both, so a round trip keeps every tag and another reader still sees one folder per feed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from monitor.errors import ParseError
from monitor.text import clean_line

__all__ = ["OpmlFeed", "read_opml", "write_opml"]

log = logging.getLogger(__name__)

_FEED_SCHEMES = frozenset({"http", "https"})
_MAX_NESTING = 64  # folders deeper than this are not a real feed list


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of an OPML list: its URL, a display title and the tags (folders) it had."""

    url: str
    title: str
    tags: tuple[str, ...] = ()
    html_url: str | None = None


class _Refused(Exception):
    """Raised from an expat handler to stop parsing a construct we do not accept."""


def read_opml(content: bytes) -> list[OpmlFeed]:
    """Read the feeds of an OPML document, in document order, one per URL.

    A feed listed in several folders is returned once with the tags of all of them. Outlines
    whose URL is not http(s) are skipped (logged). Raises :class:`ParseError` for a document
    that is not well-formed OPML or that declares entities.
    """
    reader = _OpmlReader()
    parser = expat.ParserCreate()
    # Never read an external DTD or parameter entity, whatever the document says.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.doctype
    parser.EntityDeclHandler = reader.entity_declaration
    parser.ExternalEntityRefHandler = reader.external_entity
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    try:
        parser.Parse(content, True)
    except _Refused as exc:
        raise ParseError(f"OPML refused: {exc}") from exc
    except expat.ExpatError as exc:
        raise ParseError(f"OPML is not well-formed XML: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # e.g. an unknown encoding name
        raise ParseError(f"OPML could not be read: {exc}") from exc
    if reader.root != "opml":
        raise ParseError(f"not an OPML document (root element <{reader.root or ''}>)")
    if reader.skipped:
        log.warning("OPML import skipped %d outline(s) whose URL is not http(s): %s",
                    len(reader.skipped), ", ".join(reader.skipped[:5]))
    return reader.feeds()


class _OpmlReader:
    """expat handlers collecting feed outlines and the folder path above each."""

    def __init__(self) -> None:
        self.root: str | None = None
        # One item per open <outline>: the folder's title, or None for a feed or untitled one.
        self.stack: list[str | None] = []
        self.order: list[str] = []
        self.by_url: dict[str, OpmlFeed] = {}
        self.skipped: list[str] = []

    def doctype(self, name: str, system_id: str | None, public_id: str | None,
                has_internal_subset: bool) -> None:
        # A bare DOCTYPE is harmless (nothing is loaded); an internal subset is where
        # entity bombs live, and no honest OPML file needs one.
        if has_internal_subset:
            raise _Refused("DOCTYPE with an internal subset")

    def entity_declaration(self, name: str, *_args: object) -> None:
        raise _Refused(f"entity declaration {name!r}")

    def external_entity(self, *_args: object) -> int:
        raise _Refused("external entity reference")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = name.lower()
        if name.lower() != "outline":
            return
        if len(self.stack) >= _MAX_NESTING:
            raise _Refused(f"outlines nested deeper than {_MAX_NESTING}")
        lowered = {k.lower(): v for k, v in attrs.items()}
        label = clean_line(lowered.get("title") or lowered.get("text") or "")
        url = clean_line(lowered.get("xmlurl") or "")
        if not url:
            self.stack.append(label or None)
            return
        self.stack.append(None)
        self._add(url, label, lowered)

    def end(self, name: str) -> None:
        if name.lower() == "outline" and self.stack:
            self.stack.pop()

    def _add(self, url: str, label: str, attrs: Mapping[str, str]) -> None:
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in _FEED_SCHEMES:
            self.skipped.append(url[:200])
            return
        folders = [folder for folder in self.stack[:-1] if folder]
        categories = [c.strip(" /") for c in (attrs.get("category") or "").split(",")]
        tags = _unique([clean_line(t) for t in [*folders, *categories]])
        html_url = clean_line(attrs.get("htmlurl") or "") or None
        known = self.by_url.get(url)
        if known is None:
            self.order.append(url)
            self.by_url[url] = OpmlFeed(url=url, title=label or url, tags=tags, html_url=html_url)
        else:
            merged = _unique([*known.tags, *tags])
            self.by_url[url] = OpmlFeed(url=url, title=known.title, tags=merged,
                                        html_url=known.html_url or html_url)

    def feeds(self) -> list[OpmlFeed]:
        return [self.by_url[url] for url in self.order]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """Non-empty values, first occurrence kept, order preserved."""
    return tuple(dict.fromkeys(v for v in values if v))


def write_opml(feeds: Iterable[OpmlFeed], *, title: str = "newsmonitor feeds") -> bytes:
    """An OPML 2.0 document (UTF-8) listing ``feeds``.

    Each feed sits in a folder named after its first tag (feeds without tags at the top) and
    carries all its tags in ``category``. Output is deterministic for the same input.
    """
    folders: dict[str, list[OpmlFeed]] = {}
    loose: list[OpmlFeed] = []
    for feed in feeds:
        tags = _unique(clean_line(t).strip("/") for t in feed.tags)
        if tags:
            folders.setdefault(tags[0], []).append(feed)
        else:
            loose.append(feed)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for folder, members in folders.items():
        label = _attr(folder)
        lines.append(f"    <outline text={label} title={label}>")
        lines.extend(_feed_line(feed, "      ") for feed in members)
        lines.append("    </outline>")
    lines.extend(_feed_line(feed, "    ") for feed in loose)
    lines += ["  </body>", "</opml>", ""]
    # A lone surrogate in a title cannot be UTF-8: replace it rather than fail the export.
    return "\n".join(lines).encode("utf-8", "replace")


def _feed_line(feed: OpmlFeed, indent: str) -> str:
    label = _attr(feed.title or feed.url)
    parts = [f'type="rss" text={label} title={label} xmlUrl={_attr(feed.url)}']
    if feed.html_url:
        parts.append(f"htmlUrl={_attr(feed.html_url)}")
    tags = _unique(clean_line(t).strip("/") for t in feed.tags)
    if tags:
        parts.append(f"category={_attr(','.join('/' + t for t in tags))}")
    return f"{indent}<outline {' '.join(parts)}/>"


def _attr(value: str) -> str:
    # clean_line drops the control characters XML 1.0 cannot carry at all.
    return quoteattr(clean_line(value))


def _text(value: str) -> str:
    return escape(clean_line(value))
