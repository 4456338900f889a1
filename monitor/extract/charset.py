"""Decoding a page by its HTTP header or its own declaration before trafilatura guesses.

trafilatura reads bytes as UTF-8 when they are valid UTF-8 and otherwise takes what
charset_normalizer guesses from the first and last 5,000 bytes; it reads neither the
``Content-Type`` header nor ``<meta charset>``. A windows-1251, KOI8-R or windows-1256 page
whose charset is named only in the header, or in a ``<meta>`` after 5,000 bytes of inline
script (and whose ends are ASCII script, as on most news pages), was read as U+FFFD for every
Cyrillic or Arabic letter, so no rule in those scripts matched it. Here the declarations are
applied first, as a browser applies them: the header's charset, then the page's ``<meta>``.
"""

from __future__ import annotations

import codecs
import re

from monitor.text import codec_name

# Where a browser looks for the declaration: the head, before any body content.
_HEAD_BYTES = 65536
_BODY = re.compile(rb"<body[\s>/]", re.IGNORECASE)
# <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">.
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]{0,500}?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:+-]{1,40})""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""(?:^|;)\s*charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
# The WHATWG Encoding Standard reads these labels as windows-1252 (a superset).
_WINDOWS_1252 = frozenset({"ascii", "iso8859-1", "latin-1"})
_LATIN1 = "cp1252"  # what _codec reads a Latin-1 label as
_UTF8 = frozenset({"utf-8", "utf-8-sig"})
_UTF8_TAIL = 3  # bytes of a multi-byte sequence a cut can leave unfinished


def _codec(label: str) -> str | None:
    name = codec_name(label)
    return "cp1252" if name in _WINDOWS_1252 else name


def header_codec(content_type: str | None) -> str | None:
    """The Python codec named by a Content-Type's ``charset`` parameter, or None."""
    match = _HEADER_CHARSET.search(content_type or "")
    return None if match is None else _codec(match.group(1))


def declared_codec(html: bytes) -> str | None:
    """The Python codec a page's ``<meta>`` declares in its head, or None."""
    head = html[:_HEAD_BYTES]
    body = _BODY.search(head)
    match = _META_CHARSET.search(head, 0, body.start() if body else len(head))
    return None if match is None else _codec(match.group(1).decode("ascii"))


def decode_page(html: bytes, content_type: str | None = None) -> str | bytes:
    """The page as text when its bytes say how to read them; else the bytes, for trafilatura.

    Valid UTF-8 is left as it is, whatever is declared (a header naming a legacy charset over
    a UTF-8 page is a server's default, and decoding by it would garble every letter), and
    so is a page with a byte-order mark (trafilatura reads it). UTF-8 cut short inside a
    character (a page over the size cap) is decoded without the broken tail, which would
    otherwise send the whole page to the guesser. Otherwise the first declaration that decodes
    the page wins: the header's charset, then the ``<meta>`` one, except that a ``<meta>``
    naming another charset outranks a Latin-1 header: ISO-8859-1 is HTTP/1.1's old default,
    which servers stamp on pages they never read (Apache's ``AddDefaultCharset``), and every
    byte decodes as Latin-1, so a windows-1251 page would become mojibake that no rule in
    Cyrillic matches. The page's own declaration is written by whoever wrote its bytes.
    """
    try:
        html.decode("utf-8")
        return html
    except UnicodeDecodeError as exc:
        if exc.start >= len(html) - _UTF8_TAIL and exc.reason == "unexpected end of data":
            return html[:exc.start].decode("utf-8")
    if html.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return html
    header, meta = header_codec(content_type), declared_codec(html)
    order = (meta, header) if header == _LATIN1 and meta not in (None, *_UTF8) else (header, meta)
    for codec in order:
        if codec is None or codec in _UTF8:
            continue
        try:
            return html.decode(codec)
        except UnicodeDecodeError:
            continue
    return html
