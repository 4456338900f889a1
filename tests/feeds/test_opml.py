"""OPML import/export: folders and categories as tags, round trips, hostile files."""

from __future__ import annotations

import logging
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from monitor.errors import OpmlError, ParseError
from monitor.feeds.opml import OpmlFeed, read_opml, write_opml

MINIFLUX_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Miniflux</title></head>
  <body>
    <outline text="World">
      <outline title="Kompas" text="Kompas" xmlUrl="https://www.kompas.com/rss"
               htmlUrl="https://www.kompas.com/" type="rss"/>
      <outline text="Asia">
        <outline text="Antara" xmlUrl="https://www.antaranews.com/rss/terkini.xml"
                 category="/indonesia,/wire"/>
      </outline>
    </outline>
    <outline text="Tech">
      <outline text="Kompas again" xmlUrl="https://www.kompas.com/rss"/>
    </outline>
    <outline title="Loose" xmlurl="http://loose.example/feed"/>
  </body>
</opml>"""


def test_read_folders_categories_and_duplicates() -> None:
    feeds = read_opml(MINIFLUX_EXPORT)
    assert feeds.feeds == (
        OpmlFeed(url="https://www.kompas.com/rss", title="Kompas", tags=("World", "Tech"),
                 html_url="https://www.kompas.com/"),
        OpmlFeed(url="https://www.antaranews.com/rss/terkini.xml", title="Antara",
                 tags=("World", "Asia", "indonesia", "wire")),
        OpmlFeed(url="http://loose.example/feed", title="Loose"),
    )


def test_write_then_read_keeps_every_feed_and_tag() -> None:
    feeds = [
        OpmlFeed("https://a.example/rss", 'A & "B" <c>', ("news", "asia")),
        OpmlFeed("http://b.example/feed?x=1&y=2", "B"),
        OpmlFeed("https://c.example/x", "C\u202e\x00", ("news",), "https://c.example/"),
    ]
    out = write_opml(feeds)
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    back = {f.url: f for f in read_opml(out).feeds}
    assert back["https://a.example/rss"] == feeds[0]
    assert back["http://b.example/feed?x=1&y=2"] == feeds[1]
    assert back["https://c.example/x"].title == "C"  # control and bidi characters dropped
    assert back["https://c.example/x"].tags == ("news",)
    assert write_opml(feeds) == out  # deterministic


def test_write_groups_feeds_in_a_folder_per_first_tag() -> None:
    out = write_opml([OpmlFeed("https://a.example/", "A", ("news", "x")),
                      OpmlFeed("https://b.example/", "B", ("news",))]).decode()
    assert out.count('<outline text="news" title="news">') == 1
    assert 'category="/news,/x"' in out


def test_non_http_urls_are_skipped_and_returned_not_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    body = b"""<opml version="2.0"><body>
      <outline text="local" xmlUrl="file:///etc/passwd"/>
      <outline text="js" xmlUrl="javascript:alert(1)"/>
      <outline text="ftp" xmlUrl="ftp://u:Secr3tPw@files.example/feed"/>
      <outline text="ok" xmlUrl="https://ok.example/rss"/>
    </body></opml>"""
    with caplog.at_level(logging.DEBUG, logger="monitor.feeds.opml"):
        listed = read_opml(body)
    assert [f.url for f in listed.feeds] == ["https://ok.example/rss"]
    # The caller says why each was skipped (with its password masked): this module cannot.
    assert listed.skipped == ("file:///etc/passwd", "javascript:alert(1)",
                              "ftp://u:Secr3tPw@files.example/feed")
    assert "Secr3tPw" not in caplog.text


@pytest.mark.parametrize("body", [
    b"",
    b"not xml",
    b"<opml><body><outline text='x'></body></opml>",
    b"<rss><channel/></rss>",
])
def test_invalid_documents_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        read_opml(body)


def test_a_bare_doctype_is_accepted() -> None:
    body = b'<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd"><opml><body>' \
           b'<outline text="a" xmlUrl="https://a.example/"/></body></opml>'
    assert [f.url for f in read_opml(body).feeds] == ["https://a.example/"]


def test_sec_B1_opml_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    body = ("<!DOCTYPE opml [" + "".join(entities) + "]>"
            '<opml><body><outline text="&l9;" xmlUrl="https://a.example/"/></body></opml>'
            ).encode()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ParseError, match="internal subset"):
            read_opml(body)
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 2.0  # expanded, it takes minutes
    assert peak < 20 * 1024 * 1024


def test_sec_B2_opml_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret-9c1")
    body = (f'<!DOCTYPE opml [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            '<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>'
            ).encode()
    with pytest.raises(ParseError) as caught:
        read_opml(body)
    assert "top-secret" not in str(caught.value)


def test_undeclared_entity_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        read_opml(b'<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>')


def test_utf16_opml_is_read() -> None:
    body = ('<?xml version="1.0" encoding="UTF-16"?><opml><body>'
            '<outline text="Berita" xmlUrl="https://a.example/"/></body></opml>').encode("utf-16")
    assert read_opml(body).feeds == (OpmlFeed("https://a.example/", "Berita"),)


def test_absurd_nesting_is_refused() -> None:
    body = b"<opml><body>" + b"<outline text='f'>" * 100 + b"</outline>" * 100 + b"</body></opml>"
    with pytest.raises(ParseError, match="nested"):
        read_opml(body)


@pytest.mark.parametrize("encoding", ["Shift_JIS", "EUC-JP", "GBK", "GB18030", "Big5",
                                      "EUC-KR", "windows-1251"])
def test_opml_in_a_legacy_multibyte_encoding_is_read(encoding: str) -> None:
    title = {"Shift_JIS": "日本経済新聞", "EUC-JP": "朝日新聞", "GBK": "新华社",
             "GB18030": "人民日报", "Big5": "中央社", "EUC-KR": "연합뉴스",
             "windows-1251": "Новости"}[encoding]
    body = (f'<?xml version="1.0" encoding="{encoding}"?>\r\n<opml version="1.0"><body>'
            f'<outline text="{title}" xmlUrl="https://a.example/"/></body></opml>\r\n'
            ).encode(encoding)
    assert read_opml(body).feeds == (OpmlFeed("https://a.example/", title),)


def test_bytes_invalid_in_the_declared_encoding_are_an_error_at_their_line() -> None:
    body = (b'<?xml version="1.0" encoding="Shift_JIS"?>\n<opml><body>\n'
            b'<outline text="\x81" xmlUrl="https://a.example/"/></body></opml>')
    with pytest.raises(OpmlError, match="Shift_JIS") as caught:
        read_opml(body)
    assert caught.value.line == 3


@pytest.mark.parametrize(("body", "line", "message"), [
    (b'<?xml version="1.0"?>\n<opml>\n<body>\n<outline text="a">\n</body></opml>', 5,
     "mismatched tag"),
    (b'<?xml version="1.0"?>\n\n<!DOCTYPE opml [<!ENTITY a "b">]>\n<opml/>', 3,
     "internal subset"),
    (b'<?xml version="1.0"?>\n<!-- a feed -->\n<rss version="2.0"/>', 3, "not an OPML"),
    (b'\n<?xml version="1.0" encoding="klingon-8"?>\n<opml/>', 2, "unknown encoding"),
    (b'<?xml version="1.0" encoding="utf\x00-8"?>\n<opml/>', 1, "unknown encoding"),  # ValueError
    (b'<?xml version="1.0"\n encoding="rot13"?>\n<opml/>', 2, "not a text encoding"),
    (b"<opml><body>\n" + b"<outline text='f'>\n" * 70 + b"</outline>" * 70
     + b"</body></opml>", 66, "nested"),
])
def test_errors_name_their_line(body: bytes, line: int, message: str) -> None:
    with pytest.raises(OpmlError, match=message) as caught:
        read_opml(body)
    assert caught.value.line == line
    assert re.search(r"\bline\b", str(caught.value)) is None  # the caller writes path:line


def test_one_url_repeated_with_many_tags_is_read_in_linear_time() -> None:
    # Each repeat merged its tags into a new tuple: 20,000 repeats (1.3 MB) took 30 s.
    count = 40_000
    body = b"<opml><body>" + b"".join(
        b'<outline text="x" xmlUrl="https://a.example/" category="t%d"/>' % i
        for i in range(count)) + b"</body></opml>"
    started = time.perf_counter()
    (feed,) = read_opml(body).feeds
    assert time.perf_counter() - started < 5.0
    assert len(feed.tags) == count and feed.tags[:2] == ("t0", "t1")
