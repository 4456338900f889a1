"""A feed that is UTF-8 is read as UTF-8 whatever its declarations say (a server's default
HTTP charset, a stale XML declaration, a byte-order mark): otherwise every Cyrillic title
became mojibake and no Cyrillic rule could match. Documents really in another encoding are
still read in it."""

from __future__ import annotations

import codecs

import pytest

from monitor.feeds.encoding import misdeclared_utf8
from monitor.feeds.parse import parse_feed

FEED_URL = "https://news.example/feeds/world.xml"
TITLE = "Путин встретился с министром обороны"


def rss(declaration: str | None) -> str:
    encoding = f' encoding="{declaration}"' if declaration else ""
    return (f'<?xml version="1.0"{encoding}?><rss version="2.0"><channel><title>Лента</title>'
            f"<link>https://news.example/</link><item><title>{TITLE}</title>"
            f"<link>https://news.example/1</link><description>{TITLE}: описание</description>"
            "</item></channel></rss>")


@pytest.mark.parametrize(("declaration", "content_type", "bom"), [
    ("windows-1251", None, True),  # re-saved as UTF-8 (with a BOM), old declaration kept
    ("windows-1251", "application/rss+xml; charset=windows-1251", True),
    ("koi8-r", "text/xml", True),
    ("utf-8", "application/rss+xml; charset=windows-1251", False),  # nginx `charset` default
    (None, "text/xml; charset=koi8-r", False),
    ("windows-1251", None, False),
])
def test_a_utf8_feed_declared_otherwise_is_read_as_utf8(
        declaration: str | None, content_type: str | None, bom: bool) -> None:
    body = (codecs.BOM_UTF8 if bom else b"") + rss(declaration).encode("utf-8")
    feed = parse_feed(body, url=FEED_URL, content_type=content_type)
    assert feed.title == "Лента"
    assert [e.title for e in feed.entries] == [TITLE]
    assert feed.entries[0].summary == f"{TITLE}: описание"
    assert any("is UTF-8; read as UTF-8" in w for w in feed.warnings)


@pytest.mark.parametrize(("encoding", "content_type"), [
    ("windows-1251", None), ("koi8-r", None),
    ("windows-1251", "application/rss+xml; charset=utf-8"),  # a wrong header, a right prolog
    ("koi8-r", "application/rss+xml; charset=koi8-r"),
])
def test_a_feed_really_in_a_legacy_encoding_is_still_read_in_it(
        encoding: str, content_type: str | None) -> None:
    body = rss(encoding).encode(encoding)
    feed = parse_feed(body, url=FEED_URL, content_type=content_type)
    assert [e.title for e in feed.entries] == [TITLE]
    assert not any("read as UTF-8" in w for w in feed.warnings)


def test_only_documents_with_letters_beyond_ascii_or_wide_encodings_are_judged() -> None:
    ascii_only = (rss("windows-1251").replace(TITLE, "Ceasefire").replace("Лента", "World")
                  .replace("описание", "summary"))
    assert misdeclared_utf8(ascii_only.encode(), None) is None
    # UTF-16 of Cyrillic text can be valid UTF-8 byte by byte: never taken for it.
    assert misdeclared_utf8(rss("utf-16-le").encode("utf-16-le"), None) is None
    assert misdeclared_utf8(rss("utf-8").encode(), "text/xml; charset=utf-8") is None
    assert misdeclared_utf8(rss("windows-1251").encode(), None) == "windows-1251"
