"""A feed that is UTF-8 is read as UTF-8 whatever its declarations say (a server's default
HTTP charset, a stale XML declaration, a byte-order mark): otherwise every Cyrillic title
became mojibake and no Cyrillic rule could match. Documents really in another encoding are
still read in it."""

from __future__ import annotations

import codecs

import pytest

from monitor.feeds import encoding
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


LEGACY_TEXTS = {
    "windows-1251": ("Лента", TITLE),
    "koi8-r": ("Лента", TITLE),
    "koi8-u": ("Стрічка", "Зеленський обговорив мирний план у Києві"),
    "windows-1256": ("أخبار", "مفاوضات في الدوحة حول وقف إطلاق النار في غزة"),
    "iso-8859-7": ("Ειδήσεις", "Διαπραγματεύσεις για εκεχειρία στη Γάζα"),
}


def _legacy_rss(channel: str, title: str, declaration: str | None) -> str:
    return (rss(declaration).replace("Лента", channel).replace(TITLE, title)
            .replace("описание", channel))


@pytest.mark.parametrize("encoding", LEGACY_TEXTS)
@pytest.mark.parametrize("content_type", [None, "text/xml", "application/rss+xml",
                                          "application/rss+xml; charset=iso-8859-1"])
def test_an_undeclared_feed_in_a_non_latin_legacy_encoding_is_read_in_it(
        encoding: str, content_type: str | None) -> None:
    # Left to feedparser, each was read as windows-1252: "Ïóòèí âñòðåòèëñÿ..." matches nothing.
    channel, title = LEGACY_TEXTS[encoding]
    body = _legacy_rss(channel, title, None).encode(encoding)
    feed = parse_feed(body, url=FEED_URL, content_type=content_type)
    assert (feed.title, [e.title for e in feed.entries]) == (channel, [title])
    assert any("declares no encoding" in w for w in feed.warnings)


@pytest.mark.parametrize("served", ["iso-8859-1", "ISO-8859-1", "us-ascii", "windows-1252"])
def test_a_servers_default_latin1_charset_yields_to_the_xml_declaration(served: str) -> None:
    # Apache's AddDefaultCharset over a windows-1251 feed: RFC 3023 lets the header win.
    body = rss("windows-1251").encode("windows-1251")
    feed = parse_feed(body, url=FEED_URL, content_type=f"application/rss+xml; charset={served}")
    assert [e.title for e in feed.entries] == [TITLE]
    assert any(f"served as {served} declares windows-1251" in w for w in feed.warnings)


@pytest.mark.parametrize(("title", "encoding", "content_type"), [
    # Latin-script text stays with feedparser's windows-1252 (what undeclared Latin text is).
    ("Les négociations à Genève sur la trêve à Gaza", "windows-1252", None),
    ("Über die Verhandlungen in Moskau für Österreich", "iso-8859-1", "text/xml"),
    # A charset the server names for real wins, as before (here a wrong one: its business).
    (TITLE, "windows-1251", "application/rss+xml; charset=windows-1251"),
])
def test_latin_text_and_real_declarations_are_left_as_they_were(
        title: str, encoding: str, content_type: str | None) -> None:
    body = rss(None).replace(TITLE, title).replace("Лента", "News").replace(
        "описание", "summary").encode(encoding)
    feed = parse_feed(body, url=FEED_URL, content_type=content_type)
    assert [e.title for e in feed.entries] == [title]
    assert not any("declares no encoding" in w or "served as" in w for w in feed.warnings)


@pytest.mark.parametrize(("body", "content_type"), [
    (rss("utf-8").encode(), None),
    (rss("windows-1251").encode(), "text/xml; charset=windows-1251"),  # misdeclared
    (rss("utf-8").encode()[:-40] + b"\xff" + rss("utf-8").encode()[-40:], None),  # repaired
    (rss(None).encode("windows-1251"), None),  # legacy, guessed
])
def test_a_feed_body_is_test_decoded_as_utf8_once(
        body: bytes, content_type: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The three checks share one answer: a large Cyrillic feed was decoded three times."""
    codecs_tried: list[str] = []
    real = encoding._decodes

    def counted(content: bytes, codec: str) -> bool:
        codecs_tried.append(codec)
        return real(content, codec)

    monkeypatch.setattr(encoding, "_decodes", counted)
    parse_feed(body, url=FEED_URL, content_type=content_type)
    assert codecs_tried.count("utf-8") == 1
