"""Which encoding a feed document is in, where its declarations are wrong.

feedparser picks the encoding from the declarations (the HTTP charset, then the XML
declaration, as RFC 3023 orders them) and falls back to windows-1252 when they fail. Two
common server mistakes defeat that, and both turn every non-Latin letter into mojibake, so
that no Cyrillic, Arabic or Greek rule can match: a UTF-8 document with a few stray bytes
(:func:`repair_utf8`), and a UTF-8 document declared as something else
(:func:`misdeclared_utf8`).
"""

from __future__ import annotations

import codecs
import re

__all__ = ["as_utf8", "misdeclared_utf8", "repair_utf8"]

# Encoding declarations, read as feedparser reads them (HTTP charset, XML declaration).
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"'>]{1,40})["']""")
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"


def repair_utf8(content: bytes, content_type: str | None) -> tuple[bytes, int]:
    """A UTF-8 document with a few invalid bytes, with only those bytes replaced (U+FFFD);
    returns the bytes to parse and how many sequences were replaced.

    Left to feedparser, one stray byte makes it decode the whole document as windows-1252,
    and every non-Latin title becomes mojibake. Repaired only when the document is UTF-8 by
    every declaration (or has none) and most of its non-ASCII characters are valid UTF-8:
    a document declared in another encoding, or a Latin-1 one mislabelled or undeclared
    (mostly invalid as UTF-8), is left to feedparser's fallbacks, which read it correctly.
    """
    try:
        content.decode("utf-8")
        return content, 0
    except UnicodeDecodeError:
        pass
    if not _utf8_by_declaration(content, content_type):
        return content, 0
    text = content.decode("utf-8", "replace")
    replaced = text.count("\ufffd") - content.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", "ignore")) - replaced
    if valid <= replaced:
        return content, 0
    return text.encode("utf-8"), replaced


def misdeclared_utf8(content: bytes, content_type: str | None) -> str | None:
    """The other encoding a UTF-8 document is declared in (HTTP charset, XML declaration),
    if any: the encoding that feedparser would read it in, garbling every non-ASCII letter.

    feedparser follows RFC 3023 (the HTTP charset wins) and even reads a document with a
    UTF-8 byte-order mark in the encoding its declaration names. A server's default
    ``charset=windows-1251`` over a UTF-8 feed, or a feed re-saved as UTF-8 with its old
    declaration, turned every Cyrillic title into mojibake. Text in a legacy encoding with
    letters beyond ASCII is practically never valid UTF-8, so a body that is valid UTF-8
    (and has such letters) is UTF-8, whatever it says, as Miniflux reads it too.
    """
    head = content[:4]
    if b"\x00" in head or content.startswith((_EBCDIC_XML, codecs.BOM_UTF16_BE,
                                                codecs.BOM_UTF16_LE)):
        return None  # UTF-16 and UTF-32 can be valid UTF-8 byte by byte
    if content.isascii():
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return _declared_other(content, content_type)


def as_utf8(content_type: str | None) -> str:
    """``content_type`` with its charset parameter replaced by ``utf-8``."""
    media = (content_type or "").split(";", 1)[0].strip() or "application/xml"
    return f"{media}; charset=utf-8"


def _declared_encodings(content: bytes, content_type: str | None) -> list[str]:
    """The encoding names the HTTP charset and the XML declaration give, in that order."""
    head = content[:1024].removeprefix(codecs.BOM_UTF8)
    names: list[str] = []
    charset = _CHARSET.search(content_type or "")
    if charset:
        names.append(charset.group(1))
    declared = _XML_ENCODING.match(head)
    if declared:
        names.append(declared.group(1).decode("ascii", "replace"))
    return names


def _utf8_by_declaration(content: bytes, content_type: str | None) -> bool:
    """True unless the document is in an encoding that is not ASCII-compatible (UTF-16, a
    BOM or ``<?xml`` in another layout) or declares one other than UTF-8."""
    head = content[:4]
    if not head.startswith(codecs.BOM_UTF8) and (
            b"\x00" in head or head.startswith((_EBCDIC_XML, codecs.BOM_UTF16_BE,
                                                 codecs.BOM_UTF16_LE))):
        return False
    return _declared_other(content, content_type) is None


def _declared_other(content: bytes, content_type: str | None) -> str | None:
    """The first encoding the declarations name other than UTF-8 (or its subset US-ASCII),
    as written; an unknown name declares nothing (feedparser cannot use it either)."""
    for name in _declared_encodings(content, content_type):
        try:
            codec = codecs.lookup(name.strip()).name
        except LookupError:
            continue
        if codec not in ("utf-8", "utf-8-sig", "ascii"):
            return name.strip()
    return None
