"""The parse stage: fields, entry identity, not-a-feed detection and hygiene (cases D1-D4).

Security cases B1-B5 are in ``tests/feeds/test_parse_security.py``; the corpus replay (D5) is in
``test_parse_corpus.py``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import NotAFeedError, ParseError
from monitor.feeds.common import MAX_TITLE_CHARS, html_to_text
from monitor.feeds.parse import parse_feed

FEED_URL = "https://news.example/feeds/world.xml"


def rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>World</title><link>https://news.example/</link>{channel}"
        f"{items}</channel></rss>"
    ).encode()


def item(guid: str | None = None, link: str | None = None, title: str | None = None,
         extra: str = "") -> str:
    parts = []
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if title is not None:
        parts.append(f"<title>{title}</title>")
    return f"<item>{''.join(parts)}{extra}</item>"


# --- fields ------------------------------------------------------------------------------


def test_rss_fields_are_cleaned_resolved_and_dated_in_utc() -> None:
    body = rss(
        item("g-1", "/2024/ceasefire", "Talks &lt;b&gt;resume&lt;/b&gt; &amp;amp; stall",
             "<description>&lt;p&gt;First &lt;script&gt;evil()&lt;/script&gt;para.&lt;/p&gt;"
             "&lt;p&gt;Second.&lt;/p&gt;</description>"
             "<content:encoded>&lt;p&gt;Full &lt;em&gt;text&lt;/em&gt;&lt;/p&gt;</content:encoded>"
             "<pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate>"
             "<dc:creator>Ana Reporter</dc:creator>"),
        channel="<language>id-ID</language>",
    )
    feed = parse_feed(body, url=FEED_URL, content_type="application/rss+xml")
    assert feed.title == "World"
    assert feed.link == "https://news.example/"
    assert feed.language == "id"
    assert feed.warnings == ()
    (entry,) = feed.entries
    assert entry.key == "guid:g-1"
    assert entry.url == "https://news.example/2024/ceasefire"
    assert entry.title == "Talks resume & stall"
    assert entry.summary == "First para.\n\nSecond."
    assert entry.content == "<p>Full <em>text</em></p>"
    assert entry.published == datetime(2003, 6, 10, 2, 0, tzinfo=UTC)
    assert entry.author == "Ana Reporter"
    assert entry.language == "id"


FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("stamp", [
    "Fri, 31 Dec 9999 23:59:59 GMT",  # "never"
    "Mon, 01 Jan 0001 00:00:00 GMT",  # Go's zero time (Hugo, for undated posts)
    "Thu, 01 Jan 1970 00:00:00 GMT",  # Unix 0
    "Mon, 03 Jun 2024 12:00:00 GMT",  # two days after the fetch
])
def test_an_implausible_date_leaves_the_entry_undated(stamp: str) -> None:
    body = rss(item("g", "https://n.example/1", "T", f"<pubDate>{stamp}</pubDate>"))
    feed = parse_feed(body, url=FEED_URL, now=FETCHED)
    assert [e.key for e in feed.entries] == ["guid:g"]
    assert feed.entries[0].published is None  # as an undated item: the fetch time stands in


def test_a_placeholder_published_date_gives_way_to_the_updated_date() -> None:
    body = rss(item("g", "https://n.example/1", "T",
                    "<pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate>"
                    "<atom:updated xmlns:atom='http://www.w3.org/2005/Atom'>"
                    "2024-05-30T10:00:00Z</atom:updated>"))
    (entry,) = parse_feed(body, url=FEED_URL, now=FETCHED).entries
    assert entry.published == datetime(2024, 5, 30, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("stamp", "expected"), [
    ("Sat, 01 Jun 2024 23:00:00 +0000", datetime(2024, 6, 1, 23, 0, tzinfo=UTC)),  # zone skew
    ("Fri, 02 Jan 1970 00:00:00 GMT", datetime(1970, 1, 2, tzinfo=UTC)),
])
def test_a_plausible_date_is_kept(stamp: str, expected: datetime) -> None:
    body = rss(item("g", "https://n.example/1", "T", f"<pubDate>{stamp}</pubDate>"))
    assert parse_feed(body, url=FEED_URL, now=FETCHED).entries[0].published == expected


def test_atom_entry_language_html_title_and_updated_date() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr-FR">
      <title type="html">&lt;i&gt;Le&lt;/i&gt; Monde</title><id>urn:feed</id>
      <entry xml:lang="de-AT"><id>urn:1</id><title type="html">A &lt;b&gt;B&lt;/b&gt;</title>
        <link href="a/1"/><updated>2020-01-01T10:00:00+02:00</updated>
        <summary>s &lt; t</summary></entry>
      <entry><id>urn:2</id><title>Plain &lt;tag&gt; stays</title></entry>
    </feed>"""
    feed = parse_feed(body, url="https://ex.example/feed/atom")
    assert feed.title == "Le Monde"
    assert feed.language == "fr"
    first, second = feed.entries
    assert (first.key, first.title, first.url) == ("guid:urn:1", "A B", "https://ex.example/feed/a/1")
    assert first.language == "de"
    assert first.summary == "s < t"
    assert first.published == datetime(2020, 1, 1, 8, 0, tzinfo=UTC)
    assert second.title == "Plain <tag> stays"  # plain text keeps a literal angle bracket
    assert second.language == "fr"  # inherited from the feed


@pytest.mark.parametrize(("channel", "expected"), [
    ("<ttl>30</ttl>", 1800),
    ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>", 900),
    ("<sy:updatePeriod>daily</sy:updatePeriod>", 86400),
    ("<ttl>0</ttl>", None),
    ("<ttl>soon</ttl>", None),
    ("<ttl>999999999999</ttl>", 30 * 24 * 3600),  # clamped: no column overflow
    ("", None),
])
def test_ttl_hint_from_ttl_or_syndication_module(channel: str, expected: int | None) -> None:
    assert parse_feed(rss(item("g"), channel), url=FEED_URL).ttl_seconds == expected


def test_content_location_header_sets_the_base_for_relative_links() -> None:
    feed = parse_feed(rss(item("g", "story/1")), url="https://cdn.example/x.xml",
                      headers={"Content-Location": "https://news.example/feeds/"})
    assert feed.entries[0].url == "https://news.example/feeds/story/1"
    unsafe = parse_feed(rss(item("g", "story/1")), url="https://cdn.example/x.xml",
                        headers={"Content-Location": "javascript:alert(1)"})
    assert unsafe.entries[0].url == "https://cdn.example/story/1"


def test_the_outlet_an_entry_names_as_its_origin_is_kept_apart_from_its_fingerprint() -> None:
    """Google News names the publisher in RSS ``<source>``; Atom has ``<source><title>``."""
    parsed = parse_feed(rss(
        item("a", "https://news.google.com/rss/articles/CBMiX", "Gencatan senjata - ANTARA",
             '<source url="https://www.antaranews.com">ANTARA\x01 &amp; News</source>')
        + item("b", "https://news.example/b", "No source")), url=FEED_URL)
    named, plain = parsed.entries
    assert (named.source, plain.source) == ("ANTARA & News", None)
    # An entry that gains or loses its <source> is not a revision of the story.
    bare = parse_feed(rss(item("a", "https://news.google.com/rss/articles/CBMiX",
                               "Gencatan senjata - ANTARA")), url=FEED_URL).entries[0]
    assert bare.source is None and bare.fingerprint() == named.fingerprint()
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            b'<entry><id>urn:1</id><title>x</title><link href="https://n.example/1"/>'
            b"<source><id>urn:r</id><title>Reuters</title></source></entry></feed>")
    assert parse_feed(atom, url=FEED_URL).entries[0].source == "Reuters"


def test_overlong_title_is_truncated() -> None:
    feed = parse_feed(rss(item("g", title="word " * 2000)), url=FEED_URL)
    assert len(feed.entries[0].title) == MAX_TITLE_CHARS


def test_a_withdrawn_language_code_is_read_as_today_s() -> None:
    # Java's Locale wrote "in" for Indonesian: such a feed must still meet `languages: [id]`.
    feed = parse_feed(rss(item("g"), channel="<language>in</language>"), url=FEED_URL)
    assert feed.entries[0].language == "id"


def test_html_to_text_drops_scripts_and_keeps_paragraphs() -> None:
    markup = "<div><p>One &amp; two</p><script>x()</script><style>p{}</style><p>three</p></div>"
    assert html_to_text(markup) == "One & two\n\nthree"


# --- identity ----------------------------------------------------------------------------


def test_key_survives_an_edited_headline() -> None:
    before = parse_feed(rss(item("tag:1", "https://n.example/a", "Draft headline")), url=FEED_URL)
    after = parse_feed(rss(item("tag:1", "https://n.example/a?v=2", "Final")), url=FEED_URL)
    assert before.entries[0].key == after.entries[0].key == "guid:tag:1"


def test_key_falls_back_to_link_then_to_a_content_hash() -> None:
    feed = parse_feed(rss(
        item(link="https://n.example/a", title="A")
        + item(title="Only a title", extra="<description>and text</description>")
    ), url=FEED_URL)
    by_link, by_hash = feed.entries
    assert by_link.key == "link:https://n.example/a"
    assert by_hash.key.startswith("hash:")
    assert len(by_hash.key) == len("hash:") + 32
    again = parse_feed(rss(item(title="Only a title", extra="<description>and text</description>")),
                       url=FEED_URL)
    assert again.entries[0].key == by_hash.key  # stable across polls


def test_relative_guid_key_does_not_depend_on_the_feed_url() -> None:
    # A feed that moves (301) must not re-alert every item: ids are kept as written.
    body = rss("<item><guid>12345</guid><title>t</title></item>")
    old = parse_feed(body, url="https://old.example/rss")
    new = parse_feed(body, url="https://new.example/feeds/rss")
    assert old.entries[0].key == new.entries[0].key == "guid:12345"
    # A permalink GUID standing in for a missing <link> is still resolved as a link.
    assert new.entries[0].url == "https://new.example/feeds/12345"


def test_long_ids_are_hashed_into_short_keys() -> None:
    feed = parse_feed(rss(item("x" * 5000, title="t")), url=FEED_URL)
    assert feed.entries[0].key.startswith("guid:sha256:")
    assert len(feed.entries[0].key) < 60


def test_D4_same_guid_on_every_item_falls_back_to_links() -> None:
    items = "".join(item("same", f"https://n.example/{i}", f"Story {i}") for i in range(5))
    feed = parse_feed(rss(items), url=FEED_URL)
    assert [e.key for e in feed.entries] == [f"link:https://n.example/{i}" for i in range(5)]
    assert any("share" in w for w in feed.warnings)


def test_D4_items_without_id_or_link_are_distinct_by_text_and_empty_ones_skipped() -> None:
    items = (
        item(title="Story one") + item(title="Story two")
        + item(title="Story one")  # the same item listed twice is one item
        + "<item><category>only a category</category></item>"
        + item("same", "https://n.example/x", "X") + item("same", "https://n.example/x", "Y")
    )
    feed = parse_feed(rss(items), url=FEED_URL)
    titles = [e.title for e in feed.entries]
    assert titles == ["Story one", "Story two", "X", "Y"]
    assert len({e.key for e in feed.entries}) == 4
    assert any("1 entry skipped" in w for w in feed.warnings)
    assert any("repeated" in w for w in feed.warnings)


def test_a_verbatim_duplicate_keeps_its_guid_key() -> None:
    # An item repeated by mistake must not switch to a link key (that would re-alert).
    twice = item("g-1", "https://n.example/1", "Same") * 2
    feed = parse_feed(rss(twice), url=FEED_URL)
    assert [e.key for e in feed.entries] == ["guid:g-1"]


# --- not a feed, ill-formed, hygiene ----------------------------------------------------------


@pytest.mark.parametrize("page", [
    b"<!DOCTYPE html><html><head><title>Home</title>"
    b'<link rel="alternate" type="application/rss+xml" href="/rss"></head>'
    b"<body><p>Welcome</body></html>",
    b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
    b"</head><body><p>well-formed XHTML</p></body></html>",
])
def test_D1_html_page_is_not_a_feed(page: bytes) -> None:
    with pytest.raises(NotAFeedError) as caught:
        parse_feed(page, url="https://news.example/", content_type="text/html; charset=utf-8")
    assert caught.value.code == "not_a_feed"


def test_D1_error_names_the_feed_the_page_advertises() -> None:
    page = (b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">'
            b"</head><body>x</body></html>")
    with pytest.raises(NotAFeedError, match=r"https://news\.example/atom\.xml"):
        parse_feed(page, url="https://news.example/index.html")


@pytest.mark.parametrize(("body", "error"), [
    (b"", ParseError),
    (b"   \n", ParseError),
    (b"hello world", ParseError),
    (b"\x00\x01\x02garbage\xff\xfe", ParseError),
    (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', NotAFeedError),
    (b"/etc/passwd", ParseError),  # feedparser would open a path given as bytes; we never do
])
def test_unreadable_or_foreign_documents_raise_parse_errors(body: bytes,
                                                             error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_feed(body, url=FEED_URL)


def test_D2_control_and_bidi_characters_are_removed_from_every_field() -> None:
    dirty = "A\x00B\x01C\x1b[31mD\u202eE"
    body = rss(item(f"id{dirty}", f"https://n.example/{dirty}", dirty,
                    f"<description>{dirty}</description><author>{dirty}</author>"),
               channel="").replace(b"<title>World</title>", f"<title>{dirty}</title>".encode())
    feed = parse_feed(body, url=FEED_URL)
    (entry,) = feed.entries
    for text in (feed.title, entry.key, entry.url, entry.title, entry.summary, entry.author):
        assert text is not None
        assert not any(ch in text for ch in "\x00\x01\x1b\u202e"), repr(text)
    assert entry.title == "ABC[31mDE"


def test_D2_character_references_to_controls_are_removed_too() -> None:
    feed = parse_feed(rss(item("g", title="x&#x202E;y&#27;z")), url=FEED_URL)
    assert feed.entries[0].title == "xyz"


def test_D3_invalid_utf8_keeps_entries_and_warns() -> None:
    body = rss(item("g", title="caf\xe9 ok")).replace("caf\xe9".encode(), b"caf\xe9")
    feed = parse_feed(body, url=FEED_URL, content_type="application/rss+xml; charset=utf-8")
    assert len(feed.entries) == 1
    assert feed.warnings
    # Mostly not UTF-8: Latin-1 mislabelled, which feedparser's windows-1252 fallback reads.
    assert feed.entries[0].title == "caf\xe9 ok"


@pytest.mark.parametrize("content_type", [None, "application/rss+xml; charset=utf-8",
                                          "text/xml"])
def test_D3_one_invalid_byte_in_utf8_costs_only_that_byte(content_type: str | None) -> None:
    """One stray byte must not turn the document into windows-1252 mojibake."""
    body = rss(item("g1", "https://n.example/1", "Перемирие в Газе продлено")
               + item("g2", "https://n.example/2", "Bad BYTE here"))
    body = body.replace(b"BYTE", b"\xff")
    feed = parse_feed(body, url=FEED_URL, content_type=content_type)
    assert [e.title for e in feed.entries] == ["Перемирие в Газе продлено", "Bad \ufffd here"]
    assert any("not valid UTF-8" in w and "1 invalid byte sequence" in w for w in feed.warnings)


def test_D3_an_undeclared_mostly_utf8_document_is_repaired_as_utf8() -> None:
    body = rss(item("g", "https://n.example/1", "Газа \u00e9t\u00e9 BYTE")).replace(
        b' encoding="utf-8"', b"").replace(b"BYTE", b"\xc0")
    (entry,) = parse_feed(body, url=FEED_URL).entries
    assert entry.title == "Газа \u00e9t\u00e9 \ufffd"


@pytest.mark.parametrize(("encoding", "declared_in"), [
    ("windows-1251", "xml"), ("windows-1251", "http"), ("iso-8859-1", "xml"),
    ("iso-8859-1", "none"),  # undeclared Latin-1: mostly invalid as UTF-8, left to feedparser
])
def test_D3_a_feed_in_another_encoding_is_not_repaired_as_utf8(encoding: str,
                                                               declared_in: str) -> None:
    title = ("Перемирие продлено" if encoding == "windows-1251"
             else "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e")
    text = rss(item("g", "https://n.example/1", title)).decode()
    if declared_in != "xml":
        text = text.replace(' encoding="utf-8"', "")
    else:
        text = text.replace('encoding="utf-8"', f'encoding="{encoding}"')
    content_type = f"application/rss+xml; charset={encoding}" if declared_in == "http" else None
    feed = parse_feed(text.encode(encoding), url=FEED_URL, content_type=content_type)
    assert [e.title for e in feed.entries] == [title]
    assert not any("not valid UTF-8" in w for w in feed.warnings)


def test_D3_bogus_encoding_name_keeps_entries_and_warns() -> None:
    body = rss(item("g", title="ok")).replace(b'encoding="utf-8"', b'encoding="x-no-such-enc"')
    feed = parse_feed(body, url=FEED_URL)
    assert [e.title for e in feed.entries] == ["ok"]
    assert feed.warnings


def test_D3_utf16_without_bom_is_read() -> None:
    body = rss(item("g", title="Gencatan senjata")).replace(b'"utf-8"', b'"utf-16le"')
    feed = parse_feed(body.decode().encode("utf-16-le"), url=FEED_URL)
    assert [e.title for e in feed.entries] == ["Gencatan senjata"]


def test_D3_unclosed_tags_still_yield_entries_with_a_warning() -> None:
    body = rss(item("g1", title="First") + "<item><title>Second</title>").replace(
        b"</channel></rss>", b"")
    feed = parse_feed(body, url=FEED_URL)
    assert [e.title for e in feed.entries] == ["First", "Second"]
    assert any("SAXParseException" in w for w in feed.warnings)


def test_D3_parser_crash_becomes_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import feedparser

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(feedparser, "parse", explode)
    with pytest.raises(ParseError, match="boom"):
        parse_feed(rss(item("g")), url=FEED_URL)


_SEED = rss(item("g1", "/a", "Title", "<description>&lt;p&gt;x&lt;/p&gt;</description>")
            + item(title="two"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_D3_no_exception_but_parse_errors_escape_on_mangled_feeds(data: st.DataObject) -> None:
    body = bytearray(_SEED)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            body[pos] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del body[pos: pos + data.draw(st.integers(1, 40))]
        else:
            body[pos:pos] = data.draw(st.sampled_from(
                [b"<", b"&", b"]]>", b"<!DOCTYPE x [", b"\x00", b"\xff\xfe", b"<![CDATA["]))
        if not body:
            break
    content_type = data.draw(st.sampled_from([None, "text/xml", "text/html"]))
    with contextlib.suppress(ParseError):  # anything else fails the test
        parse_feed(bytes(body), url=FEED_URL, content_type=content_type)


def test_the_update_time_is_read_from_atom_updated_and_dcterms_modified() -> None:
    """``FeedEntry.updated``: when the feed says the entry last changed (revised entries)."""
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:feed</id>
      <entry><id>urn:1</id><title>A</title><link href="https://ex.example/1"/>
        <published>2024-05-30T08:00:00Z</published><updated>2024-05-31T09:30:00Z</updated>
      </entry>
      <entry><id>urn:2</id><title>B</title><link href="https://ex.example/2"/></entry>
    </feed>"""
    first, second = parse_feed(atom, url="https://ex.example/atom", now=FETCHED).entries
    assert first.published == datetime(2024, 5, 30, 8, 0, tzinfo=UTC)
    assert first.updated == datetime(2024, 5, 31, 9, 30, tzinfo=UTC)
    assert second.updated is None
    body = rss(item("g", "https://n.example/1", "T",
                    "<pubDate>Thu, 30 May 2024 08:00:00 GMT</pubDate>"
                    "<dcterms:modified xmlns:dcterms='http://purl.org/dc/terms/'>"
                    "2024-05-31T10:00:00Z</dcterms:modified>")
               + item("h", "https://n.example/2", "U",
                      "<pubDate>Thu, 30 May 2024 08:00:00 GMT</pubDate>"))
    dated, plain = parse_feed(body, url=FEED_URL, now=FETCHED).entries
    assert dated.published == datetime(2024, 5, 30, 8, 0, tzinfo=UTC)
    assert dated.updated == datetime(2024, 5, 31, 10, 0, tzinfo=UTC)
    assert plain.updated is None  # a pubDate alone is no update time


def test_the_fingerprint_follows_what_the_feed_shows_of_an_entry() -> None:
    def entry(title: str, updated: str) -> bytes:
        return f"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id>
          <entry><id>urn:1</id><title>{title}</title><link href="https://ex.example/1"/>
            <updated>{updated}</updated><summary>s</summary></entry></feed>""".encode()

    def fingerprint(body: bytes) -> str:
        (only,) = parse_feed(body, url="https://ex.example/atom", now=FETCHED).entries
        return only.fingerprint()

    first = fingerprint(entry("Talks", "2024-05-31T09:00:00Z"))
    assert first == fingerprint(entry("Talks", "2024-05-31T09:00:00Z"))
    assert first != fingerprint(entry("Talks", "2024-05-31T10:00:00Z"))  # a later <updated>
    assert first != fingerprint(entry("Talks resume", "2024-05-31T09:00:00Z"))  # a new title
    assert len(first) == 32


# --- character references to no character ------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_reference_to_half_a_surrogate_pair_costs_no_entry(encoding: str) -> None:
    # expat refused the document and feedparser's loose parser then failed on chr(0xD800):
    # the whole feed was a parse error. A pair is the character it encodes (a CMS escaping an
    # emoji as UTF-16); anything else that names no character reads as U+FFFD.
    body = rss(item("g-1", "https://news.example/a&#xD800;", "Gaza &#55357;&#56832; truce "
                    "&#xdfff; &#1114112; &#8217;",
                    "<description><![CDATA[<p>Talks &#55357;&#56832; &#55357;</p>]]>"
                    "</description>")
               + item("g-2", "https://news.example/b", "Talks resume"))
    if encoding != "utf-8":
        body = body.decode().replace('encoding="utf-8"', f'encoding="{encoding}"').encode(encoding)
    feed = parse_feed(body, url=FEED_URL)
    first, second = feed.entries
    assert first.title == "Gaza \U0001F600 truce \ufffd \ufffd \u2019"
    assert first.summary == "Talks \U0001F600 \ufffd"
    assert first.url is not None and first.url.startswith("https://news.example/a")
    assert second.title == "Talks resume"


def test_repair_char_refs_touches_only_references_to_no_character() -> None:
    from monitor.feeds.xmlsafe import repair_char_refs

    plain = b"<t>&#8217; &#x2019; &#55295; &#xD7FF; &#57344; &#x10FFFF; &#x1F600;</t>"
    assert repair_char_refs(plain) is plain
    assert repair_char_refs(b"&#xD83D;&#xDE00;|&#55357;&#56832;|&#x0000D83D;&#56832;") == (
        b"&#x1F600;|&#x1F600;|&#x1F600;")
    # A high half not followed at once by a low one, a low one alone, past U+10FFFF.
    assert repair_char_refs(b"&#xD83D; &#xDE00;|&#xDE00;&#xD83D;|&#x110000;|&#99999999;") == (
        b"&#xFFFD; &#xFFFD;|&#xFFFD;&#xFFFD;|&#xFFFD;|&#xFFFD;")


# --- feedparser's handler faults -----------------------------------------------------------


@pytest.mark.parametrize("stray", ["</height>", "</width>", "</gml:pos>", "</media:player>",
                                   "<hei&#1;ght>15</height>"])
def test_a_stray_end_tag_in_a_malformed_feed_costs_no_entry(stray: str) -> None:
    # The unescaped & sends feedparser to its loose parser, whose handler for the stray end
    # tag raised TypeError or KeyError: the whole feed was a parse error.
    body = rss(item("g-1", "https://news.example/a", "Talks & truce")
               + item("g-2", "https://news.example/b", "Talks resume"),
               channel=f"<image><url>https://news.example/i.png</url>{stray}</image>")
    feed = parse_feed(body, url=FEED_URL)
    assert [e.title for e in feed.entries] == ["Talks & truce", "Talks resume"]


def test_a_fault_in_the_strict_parsers_events_falls_back_to_the_loose_parser() -> None:
    # Invalid UTF-8 in a namespace name made feedparser's strict parser unpack three parts
    # where it expected two (a ValueError, not an XML error): the feed was lost.
    body = (b'<rss version="2.0" xmlns:dc="http://purl.org/dc\xed\xa0\x80/elements/1.1/">'
            b"<channel><title>World</title><item><title>Talks</title>"
            b"<link>https://news.example/a</link><dc:creator>Ana</dc:creator></item>"
            b"</channel></rss>")
    feed = parse_feed(body, url=FEED_URL)
    assert [(e.title, e.url) for e in feed.entries] == [("Talks", "https://news.example/a")]
