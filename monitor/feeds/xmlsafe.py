"""Byte-level helpers for untrusted XML: DOCTYPE removal, character references to no
character, HTML sniffing and a complexity check.

An XML processor only honours a DOCTYPE (and so entity declarations, external subsets and
external entities) in the prolog, before the root element. :func:`strip_doctype` walks the
prolog the way expat does and removes every ``<!...>`` declaration there, keeping the XML
declaration, processing instructions and comments. Anything it cannot recognise ends the
prolog; what follows is then not a prolog an XML parser would accept either.
"""

from __future__ import annotations

import re

_SPACE = re.compile(rb"[ \t\r\n]*")
# The first tag name of a document, after its prolog.
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w:.-]*)")
_HTML_ROOTS = frozenset({b"html", b"head", b"body"})
_SNIFF_BYTES = 4096
# Shapes no real feed has and feedparser cannot afford (issue 10): a 6 MB feed of 2 million
# unclosed tags (74 s, 1.4 GB) and one element with 300,000 attributes (minutes of CPU).
# A dense 10 MiB feed has a few hundred thousand tags and no start tag near 64 KiB long.
MAX_MARKUP = 1_000_000  # "<" characters in one document
MAX_START_TAG_BYTES = 65_536
_LONG_START_TAG = re.compile(rb"<[A-Za-z_][^<>]{%d}" % MAX_START_TAG_BYTES)


# A numeric character reference to no character: half of a UTF-16 surrogate pair (a CMS that
# escapes an emoji as two references, &#55357;&#56832;) or a number past U+10FFFF. expat
# refuses the document for one, and feedparser's loose parser then fails on it too
# (chr(0xD800).encode), so one such reference in one item lost the whole feed. Only these
# shapes are candidates (feeds are full of &#8217;); each is checked by its value.
_SUSPECT_REF = re.compile(
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})|0*(5[5-7][0-9]{3}|[0-9]{7,}));")
_HIGH, _LOW = range(0xD800, 0xDC00), range(0xDC00, 0xE000)


def _referenced(match: re.Match[bytes]) -> int:
    hexa, decimal = match.groups()
    return int(hexa, 16) if hexa is not None else int(decimal)


def repair_char_refs(data: bytes) -> bytes:
    """``data`` (UTF-8) with each pair of references to a high and a low surrogate written as
    one reference to the character the pair encodes, and every other reference to no
    character as U+FFFD, as a browser reads it. Unchanged (the same object) when it has none.
    """
    found = [(m, _referenced(m)) for m in _SUSPECT_REF.finditer(data)] if b"&#" in data else []
    pieces: list[bytes] = []
    kept_from = 0
    i = 0
    while i < len(found):
        match, code = found[i]
        i += 1
        if code <= 0x10FFFF and code not in _HIGH and code not in _LOW:
            continue
        end, character = match.end(), 0xFFFD
        if code in _HIGH and i < len(found):
            after, low = found[i]
            if after.start() == end and low in _LOW:
                end, character = after.end(), 0x10000 + ((code - 0xD800) << 10) + low - 0xDC00
                i += 1
        pieces += [data[kept_from:match.start()], b"&#x%X;" % character]
        kept_from = end
    if not pieces:
        return data
    pieces.append(data[kept_from:])
    return b"".join(pieces)


def strip_doctype(data: bytes) -> bytes:
    """Remove every markup declaration (DOCTYPE with its internal subset) from the prolog.

    ``data`` must be in an ASCII-compatible encoding (UTF-8 after conversion). Returns the
    input unchanged when its prolog holds no declaration.
    """
    pieces: list[bytes] = []
    kept_from = 0
    pos = 0
    length = len(data)
    while pos < length:
        match = _SPACE.match(data, pos)
        pos = match.end() if match else pos
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                break
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                break
            pos = end + 3
        elif data.startswith(b"<!", pos):
            end = _declaration_end(data, pos + 2)
            pieces.append(data[kept_from:pos])
            kept_from = pos = end
        else:
            break
    if not pieces:
        return data
    pieces.append(data[kept_from:])
    return b"".join(pieces)


def _declaration_end(data: bytes, pos: int) -> int:
    """Index just past the ``>`` closing a declaration that started before ``pos``.

    Skips quoted literals, comments and the bracketed internal subset. An unterminated
    declaration runs to the end of the data (so all of it is dropped, never half of it).
    """
    depth = 0
    length = len(data)
    while pos < length:
        byte = data[pos]
        if byte in b"\"'":
            close = data.find(bytes([byte]), pos + 1)
            if close < 0:
                return length
            pos = close + 1
            continue
        if data.startswith(b"<!--", pos):
            close = data.find(b"-->", pos + 4)
            if close < 0:
                return length
            pos = close + 3
            continue
        if byte == ord("["):
            depth += 1
        elif byte == ord("]"):
            depth = max(0, depth - 1)
        elif byte == ord(">") and depth == 0:
            return pos + 1
        pos += 1
    return length


def first_element_name(data: bytes) -> str | None:
    """The root element's name (lower case), looking past the prolog; None if not found.

    Sniffs the first few kilobytes only; meant for ASCII-compatible encodings.
    """
    head = strip_doctype(data[:_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf"))
    pos = 0
    while True:
        match = _SPACE.match(head, pos)
        pos = match.end() if match else pos
        if head.startswith(b"<?", pos):
            end, closer = head.find(b"?>", pos + 2), 2
        elif head.startswith(b"<!--", pos):
            end, closer = head.find(b"-->", pos + 4), 3
        else:
            break
        if end < 0:
            return None
        pos = end + closer
    # search, not match: an HTML page may start with stray text before its first tag.
    tag = _FIRST_TAG.search(head, pos)
    return tag.group(1).lower().decode("ascii", "replace") if tag else None


def looks_like_html(data: bytes, content_type: str | None) -> bool:
    """True for an HTML page: an ``<html>`` root (or head/body) or a text/html response."""
    name = first_element_name(data)
    if name is not None:
        local = name.rsplit(":", 1)[-1].encode("ascii", "replace")
        if local in _HTML_ROOTS:
            return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def too_complex(data: bytes) -> str | None:
    """Why ``data`` is too costly to parse (a reason for the feed's health), else None.

    A cheap scan before the parser: the killable parse worker's time and memory limits bound
    whatever slips past it (a UTF-16 body, for one), this spares the worker the attempt.
    """
    tags = data.count(b"<")
    if tags > MAX_MARKUP:
        return f"{tags:,} tags (at most {MAX_MARKUP:,} are read)"
    if _LONG_START_TAG.search(data):
        return f"a start tag longer than {MAX_START_TAG_BYTES:,} bytes (an attribute flood)"
    return None
