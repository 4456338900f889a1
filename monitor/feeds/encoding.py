"""Which encoding a feed document is in, where its declarations are wrong.

feedparser picks the encoding from the declarations (the HTTP charset, then the XML
declaration, as RFC 3023 orders them) and falls back to windows-1252 when they fail. Three
common mistakes defeat that, and each turns every non-Latin letter into mojibake, so that no
Cyrillic, Arabic or Greek rule can match: a UTF-8 document with a few stray bytes
(:func:`repair_utf8`), a UTF-8 document declared as something else
(:func:`misdeclared_utf8`), and a document in a legacy non-Latin encoding (windows-1251,
KOI8-R, windows-1256) that declares none, or whose server adds a default Latin-1 charset over
its XML declaration (:func:`legacy_encoding`). Each needs to know whether the document is
valid UTF-8; the parse stage asks :func:`is_utf8` once and passes the answer to all three, so a
large non-ASCII feed is decoded once rather than three times.

This is the only module that imports charset_normalizer.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from monitor.text import codec_name

__all__ = ["is_utf8", "legacy_encoding", "misdeclared_utf8", "repair_utf8", "with_charset"]

# Encoding declarations, read as feedparser reads them (HTTP charset, XML declaration).
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"'>]{1,40})["']""")
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"


def is_utf8(content: bytes) -> bool:
    """True when ``content`` decodes as UTF-8 (ASCII is checked without decoding)."""
    return content.isascii() or _decodes(content, "utf-8")


def repair_utf8(content: bytes, content_type: str | None, *,
                utf8: bool | None = None) -> tuple[bytes, int]:
    """A UTF-8 document with a few invalid bytes, with only those bytes replaced (U+FFFD);
    returns the bytes to parse and how many sequences were replaced.

    Left to feedparser, one stray byte makes it decode the whole document as windows-1252,
    and every non-Latin title becomes mojibake. Repaired only when the document is UTF-8 by
    every declaration (or has none) and most of its non-ASCII characters are valid UTF-8:
    a document declared in another encoding, or a Latin-1 one mislabelled or undeclared
    (mostly invalid as UTF-8), is left to feedparser's fallbacks, which read it correctly.
    ``utf8`` is :func:`is_utf8` of ``content`` when the caller has it (None: checked here).
    """
    if _valid_utf8(content, utf8):
        return content, 0
    if not _utf8_by_declaration(content, content_type):
        return content, 0
    text = content.decode("utf-8", "replace")
    replaced = text.count("\ufffd") - content.count("\ufffd".encode())
    valid = len(text) - len(text.encode("ascii", "ignore")) - replaced
    if valid <= replaced:
        return content, 0
    return text.encode("utf-8"), replaced


def misdeclared_utf8(content: bytes, content_type: str | None, *,
                     utf8: bool | None = None) -> str | None:
    """The other encoding a UTF-8 document is declared in (HTTP charset, XML declaration),
    if any: the encoding that feedparser would read it in, garbling every non-ASCII letter.

    feedparser follows RFC 3023 (the HTTP charset wins) and even reads a document with a
    UTF-8 byte-order mark in the encoding its declaration names. A server's default
    ``charset=windows-1251`` over a UTF-8 feed, or a feed re-saved as UTF-8 with its old
    declaration, turned every Cyrillic title into mojibake. Text in a legacy encoding with
    letters beyond ASCII is practically never valid UTF-8, so a body that is valid UTF-8
    (and has such letters) is UTF-8, whatever it says, as Miniflux reads it too. ``utf8`` as
    for :func:`repair_utf8`.
    """
    head = content[:4]
    if b"\x00" in head or content.startswith((_EBCDIC_XML, codecs.BOM_UTF16_BE,
                                                codecs.BOM_UTF16_LE)):
        return None  # UTF-16 and UTF-32 can be valid UTF-8 byte by byte
    if content.isascii() or not _valid_utf8(content, utf8):
        return None
    return _declared_other(content, content_type)


def legacy_encoding(content: bytes, content_type: str | None, *,
                    utf8: bool | None = None) -> tuple[str, str] | None:
    """The non-Latin legacy encoding a document is in where its declarations would have it
    read as Latin-1 (windows-1252), with why, in words; None when they are right or silent
    about nothing feedparser would get wrong.

    Two cases. The server's charset is a Latin-1 default (``iso-8859-1``, ``us-ascii``; RFC
    3023 makes it win) over an XML declaration naming another encoding: the declaration,
    written with the document, wins. Nothing names an encoding (none, or only a Latin-1
    default): charset_normalizer guesses from the text, and the guess is taken only when
    it reads the whole document and most of its letters beyond ASCII are of a non-Latin
    script, where windows-1252 makes mojibake of every one. A Latin-script guess is left to
    feedparser's windows-1252, which is what such a document usually is. ``utf8`` as for
    :func:`repair_utf8`.
    """
    head = content[:4]
    if content.isascii() or b"\x00" in head or content.startswith(
            (_EBCDIC_XML, codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)):
        return None
    if _valid_utf8(content, utf8):
        return None  # misdeclared_utf8's case, or none
    charset = _CHARSET.search(content_type or "")
    served = codec_name(charset.group(1)) if charset else None
    if served not in (None, *_LATIN_DEFAULTS):
        return None  # the server names a real choice; feedparser follows it
    declared = _XML_ENCODING.match(content[:1024])
    if declared:
        label = declared.group(1).decode("ascii", "replace").strip()
        codec = codec_name(label)
        if served is None or codec in (None, "utf-8", *_LATIN_DEFAULTS) or not _decodes(
                content, codec):
            return None
        return codec, (f"document served as {charset.group(1) if charset else served} "
                       f"declares {label}; read as {label}")
    guess = charset_normalizer.from_bytes(content[:_GUESS_BYTES]).best()
    if guess is None:
        return None
    codec = codec_name(guess.encoding)
    if codec in (None, "utf-8", *_LATIN_DEFAULTS) or not _decodes(content, codec):
        return None
    if not _mostly_non_latin(str(guess)):
        return None
    return codec, f"document declares no encoding; read as {codec}, the one its text is in"


def with_charset(content_type: str | None, charset: str) -> str:
    """``content_type`` with its charset parameter replaced by ``charset``."""
    media = (content_type or "").split(";", 1)[0].strip() or "application/xml"
    return f"{media}; charset={charset}"


# What servers add by default and feedparser falls back to: no statement about the text.
_LATIN_DEFAULTS = ("ascii", "latin-1", "iso8859-1", "cp1252")
_GUESS_BYTES = 65536  # charset_normalizer reads a sample; the whole is checked after


def _valid_utf8(content: bytes, known: bool | None) -> bool:
    return is_utf8(content) if known is None else known


def _decodes(content: bytes, codec: str) -> bool:
    try:
        content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _mostly_non_latin(text: str) -> bool:
    """True when most letters beyond ASCII are outside the Latin blocks (Cyrillic, Greek,
    Arabic, Hebrew, CJK...): what windows-1252 turns into Latin-1 mojibake."""
    letters = [c for c in text if c >= "\x80" and c.isalpha()]
    return sum(c > "\u024f" for c in letters) * 2 > len(letters) > 0


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
        if codec_name(name) not in (None, "utf-8", "utf-8-sig", "ascii"):
            return name.strip()
    return None
