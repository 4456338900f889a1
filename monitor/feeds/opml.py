"""Import and export of feed lists as OPML, the format every feed reader exchanges.

Reading is safe on files from anywhere: the document is parsed by expat with entity
declarations refused, a DOCTYPE with an internal subset refused and external entities never
loaded, so neither a billion-laughs file nor an external-entity reference can do harm. Only
http(s) feeds are returned as feeds: a shared OPML file must not turn into trusted local-file
feeds. The other outlines' URLs are returned apart, as written, for the caller to say why each
is skipped with its password masked (this stage may not import the net stage's masking). A
document in an encoding expat cannot read (``Shift_JIS``, ``GBK``, ``Big5``, ``EUC-KR``: it
reads single-byte ones only) is decoded in the one its XML declaration names. Errors carry the
line they are at (:class:`~monitor.errors.OpmlError`).

Tags come from folder outlines (the way Miniflux, FreshRSS and most readers export
categories) and from the OPML 2.0 ``category`` attribute (``"/news,/asia"``). Export writes
both, so a round trip keeps every tag and another reader still sees one folder per feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from monitor.errors import OpmlError
from monitor.text import clean_line, codec_name

__all__ = ["OpmlFeed", "OpmlList", "read_opml", "write_opml"]

_FEED_SCHEMES = frozenset({"http", "https"})
_MAX_NESTING = 64  # folders deeper than this are not a real feed list
# The encoding an XML declaration names, in a document whose head is ASCII-compatible.
_XML_ENCODING = re.compile(
    rb"""^(?:\xef\xbb\xbf)?\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"'<>]{1,100})["']""")
# What expat reads itself (Python's codec names); it reads other single-byte encodings
# through Python, but no multi-byte one.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "utf-16-be", "utf-16-le", "iso8859-1",
                              "ascii"})


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of an OPML list: its URL, a display title and the tags (folders) it had."""

    url: str
    title: str
    tags: tuple[str, ...] = ()
    html_url: str | None = None


@dataclass(frozen=True)
class OpmlList:
    """What an OPML document lists: its http(s) feeds, and the other outlines' URLs."""

    feeds: tuple[OpmlFeed, ...]
    skipped: tuple[str, ...] = ()  # as written (a password in one is the caller's to mask)


class _Refused(Exception):
    """Raised from an expat handler to stop parsing a construct we do not accept."""


def read_opml(content: bytes) -> OpmlList:
    """Read the feeds of an OPML document, in document order, one per URL.

    A feed listed in several folders is returned once with the tags of all of them. Outlines
    whose URL is not http(s) are not feeds: their URLs are returned in ``skipped``. Raises
    :class:`OpmlError` (with the line) for a document that is not well-formed OPML, that
    declares entities or that is not in the encoding it declares.
    """
    content, encoding = _readable(content)
    reader = _OpmlReader()
    parser = expat.ParserCreate(encoding)
    # Never read an external DTD or parameter entity, whatever the document says.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.doctype
    parser.EntityDeclHandler = reader.entity_declaration
    parser.ExternalEntityRefHandler = reader.external_entity
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    reader.parser = parser
    try:
        parser.Parse(content, True)
    except _Refused as exc:
        raise OpmlError(f"OPML refused: {exc}", parser.CurrentLineNumber) from exc
    except expat.ExpatError as exc:
        raise OpmlError(f"OPML is not well-formed XML: {expat.ErrorString(exc.code)} "
                        f"(column {exc.offset + 1})", exc.lineno) from exc
    except (ValueError, LookupError, RecursionError) as exc:  # e.g. an unknown encoding
        raise OpmlError(f"OPML could not be read: {exc}", parser.CurrentLineNumber) from exc
    if reader.root != "opml":
        raise OpmlError(f"not an OPML document (root element <{reader.root or ''}>)",
                        reader.root_line)
    return OpmlList(feeds=tuple(reader.feeds()), skipped=_unique(reader.skipped))


def _readable(content: bytes) -> tuple[bytes, str | None]:
    """``content`` and the encoding to tell expat: as it is (None: expat reads the XML
    declaration) or, in an encoding expat cannot read, decoded and given as UTF-8."""
    declared = _XML_ENCODING.match(content[:1024])
    if declared is None:
        return content, None
    label = declared.group(1).decode("ascii", "replace")
    codec = codec_name(label)
    if codec is None:
        raise OpmlError(f"OPML declares an unknown encoding {label!r}",
                        content.count(b"\n", 0, declared.end()) + 1)
    if codec in _EXPAT_ENCODINGS:
        return content, None
    try:
        return content.decode(codec).encode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        raise OpmlError(f"OPML is not in the {label} encoding it declares (byte "
                        f"0x{content[exc.start]:02x} at offset {exc.start})",
                        content.count(b"\n", 0, exc.start) + 1) from exc
    except LookupError as exc:  # a codec that is not a text encoding (rot13, hex...)
        raise OpmlError(f"OPML declares {label!r}, which is not a text encoding",
                        content.count(b"\n", 0, declared.end()) + 1) from exc


class _OpmlReader:
    """expat handlers collecting feed outlines and the folder path above each."""

    def __init__(self) -> None:
        self.parser: expat.XMLParserType | None = None
        self.root: str | None = None
        self.root_line = 1
        # One item per open <outline>: the folder's title, or None for a feed or untitled one.
        self.stack: list[str | None] = []
        self.by_url: dict[str, _Listed] = {}  # in document order
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
            self.root_line = self.parser.CurrentLineNumber if self.parser else 1
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
            self.skipped.append(url)
            return
        folders = [folder for folder in self.stack[:-1] if folder]
        categories = [c.strip(" /") for c in (attrs.get("category") or "").split(",")]
        tags = _unique([clean_line(t) for t in [*folders, *categories]])
        html_url = clean_line(attrs.get("htmlurl") or "") or None
        known = self.by_url.get(url)
        if known is None:
            self.by_url[url] = _Listed(title=label or url, html_url=html_url,
                                       tags=dict.fromkeys(tags))
        else:  # merged in place: one URL repeated many times stays linear
            known.tags.update(dict.fromkeys(tags))
            known.html_url = known.html_url or html_url

    def feeds(self) -> list[OpmlFeed]:
        return [OpmlFeed(url=url, title=item.title, tags=tuple(item.tags),
                         html_url=item.html_url) for url, item in self.by_url.items()]


@dataclass
class _Listed:
    """A feed while the document is read: the tags of every outline listing it so far."""

    title: str
    html_url: str | None
    tags: dict[str, None]


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
