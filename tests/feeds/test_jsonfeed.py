"""JSON Feed 1.0/1.1 through the parse stage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.errors import NotAFeedError, ParseError
from monitor.feeds.jsonfeed import looks_like_json_feed, parse_json_feed
from monitor.feeds.parse import parse_feed

FEED_URL = "https://blog.example/feed.json"


def doc(**overrides: Any) -> bytes:
    base: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Blog &amp; more",
        "home_page_url": "https://blog.example/",
        "language": "en-GB",
        "items": [],
    }
    base.update(overrides)
    return json.dumps(base).encode()


def test_json_feed_11_fields() -> None:
    body = doc(items=[{
        "id": "post-1",
        "url": "/2024/talks",
        "title": "Talks <resume>",
        "summary": "<p>Short</p>",
        "content_html": '<p>Body <a href="/x">link</a><script>alert(1)</script></p>',
        "date_published": "2024-05-01T12:00:00+07:00",
        "authors": [{"name": "Budi"}],
        "language": "id-ID",
    }])
    feed = parse_feed(body, url=FEED_URL, content_type="application/feed+json")
    assert (feed.title, feed.link, feed.language) == ("Blog & more", "https://blog.example/", "en")
    assert feed.warnings == ()
    (entry,) = feed.entries
    assert entry.key == "guid:post-1"
    assert entry.url == "https://blog.example/2024/talks"
    assert entry.title == "Talks <resume>"  # JSON Feed titles are plain text
    assert entry.summary == "Short"
    assert "<script" not in entry.content
    assert 'href="https://blog.example/x"' in entry.content
    assert entry.published == datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
    assert entry.author == "Budi"
    assert entry.language == "id"


def test_json_feed_10_numeric_id_author_object_and_text_content() -> None:
    body = doc(version="https://jsonfeed.org/version/1", language=None, items=[{
        "id": 42, "external_url": "https://elsewhere.example/a", "content_text": "Plain body",
        "date_modified": "2024-05-01T12:00:00Z", "author": {"name": "Ana"},
    }])
    (entry,) = parse_feed(body, url=FEED_URL).entries
    assert entry.key == "guid:42"
    assert entry.url == "https://elsewhere.example/a"
    assert entry.content == "Plain body"
    assert entry.title == ""
    assert entry.published == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert entry.author == "Ana"
    assert entry.language is None


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (b'{"version": 1}', None, True),
    (b'\xef\xbb\xbf  \n{"a": 1}', "text/plain", True),
    (b"[1, 2]", "application/feed+json", True),
    (b"<rss/>", "application/json", False),  # mislabelled XML goes to feedparser
    (b"<rss/>", "application/rss+xml", False),
    (b"hello", None, False),
])
def test_json_detection(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_json_feed(body, content_type) is expected


def test_xml_served_as_json_still_parses_as_rss() -> None:
    body = b"<rss version='2.0'><channel><item><guid>g</guid><title>t</title></item></channel>"
    body += b"</rss>"
    feed = parse_feed(body, url=FEED_URL, content_type="application/json")
    assert [e.key for e in feed.entries] == ["guid:g"]


@pytest.mark.parametrize(("body", "error"), [
    (b"{not json", ParseError),
    (b"[" * 100_000 + b"]" * 100_000, ParseError),  # recursion is a parse error, not a crash
    (b"[]", NotAFeedError),
    (b'{"name": "some API answer"}', NotAFeedError),
])
def test_json_that_is_not_a_feed(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_feed(body, url=FEED_URL, content_type="application/json")


def test_unknown_version_and_bad_items_warn_but_keep_good_items() -> None:
    body = doc(version="https://jsonfeed.org/version/9", items=[
        "not an object", {"id": "ok", "title": "Kept"}, {"id": None, "title": None},
    ])
    feed = parse_feed(body, url=FEED_URL)
    assert [e.title for e in feed.entries] == ["Kept"]
    assert any("unknown JSON Feed version" in w for w in feed.warnings)
    assert any("not an object" in w for w in feed.warnings)
    assert any("skipped: no id" in w for w in feed.warnings)


@pytest.mark.parametrize("version", [{}, ["https://jsonfeed.org/version/1.1"], 1.1, None])
def test_a_version_that_is_not_a_text_warns_and_keeps_the_items(version: object) -> None:
    # A list or an object as the version raised TypeError (unhashable): the feed was lost.
    feed = parse_feed(doc(version=version, items=[{"id": "ok", "title": "Kept"}]), url=FEED_URL)
    assert [e.title for e in feed.entries] == ["Kept"]
    assert any("unknown JSON Feed version" in w for w in feed.warnings)


def test_D4_same_id_on_every_item_uses_links() -> None:
    items = [{"id": "x", "url": f"https://blog.example/{i}", "title": str(i)} for i in range(3)]
    feed = parse_feed(doc(items=items), url=FEED_URL)
    assert [e.key for e in feed.entries] == [f"link:https://blog.example/{i}" for i in range(3)]


def test_D2_D3_hygiene_and_invalid_utf8() -> None:
    body = doc(items=[{"id": "a\u0000b", "title": "x\u0000y\u001bz\u202ew", "content_text": "c"}])
    body = body.replace(b'"c"', b'"c\xff"')
    feed = parse_feed(body, url=FEED_URL)
    (entry,) = feed.entries
    assert entry.key == "guid:ab"
    assert entry.title == "xyzw"
    assert any("UTF-8" in w for w in feed.warnings)


def test_dates_that_are_not_rfc3339_are_ignored() -> None:
    items = [{"id": "1", "title": "t", "date_published": "yesterday"},
             {"id": "2", "title": "u", "date_published": "2024-05-01T12:00:00"},
             {"id": "3", "title": "v", "date_published": "Mon, 32 Foo 2024 99:00:00 GMT"}]
    first, second, third = parse_feed(doc(items=items), url=FEED_URL).entries
    assert first.published is None and third.published is None
    assert second.published == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # naive taken as UTC


def test_rfc822_dates_copied_from_rss_code_are_read() -> None:
    # Against the spec, but common: the item was dated at fetch time, out of its real order.
    items = [{"id": "1", "title": "t", "date_published": "Wed, 01 May 2024 12:00:00 +0700"},
             {"id": "2", "title": "u", "date_published": "Wed, 01 May 2024 05:00:00 GMT"}]
    first, second = parse_feed(doc(items=items), url=FEED_URL).entries
    assert first.published == second.published == datetime(2024, 5, 1, 5, 0, tzinfo=UTC)


def test_placeholder_dates_leave_items_undated() -> None:
    """Go's zero time, year 9999 and a date days after the fetch are not publication dates."""
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    items = [{"id": "1", "title": "t", "date_published": "0001-01-01T00:00:00Z"},
             {"id": "2", "title": "u", "date_published": "9999-12-31T23:59:59Z"},
             {"id": "3", "title": "v", "date_published": "2024-06-05T00:00:00Z"},
             {"id": "4", "title": "w", "date_published": "0001-01-01T00:00:00Z",
              "date_modified": "2024-06-01T08:00:00Z"}]
    feed = parse_feed(doc(items=items), url=FEED_URL, now=now)
    assert [e.published for e in feed.entries] == [
        None, None, None, datetime(2024, 6, 1, 8, 0, tzinfo=UTC)]  # date_modified instead
    (entry,) = parse_json_feed(doc(items=items[1:2]), url=FEED_URL, now=now).entries
    assert entry.published is None


def test_without_a_sanitizer_html_content_becomes_plain_text() -> None:
    body = doc(items=[{"id": "1", "content_html": "<p>Hi <b>there</b></p><script>x</script>"}])
    (entry,) = parse_json_feed(body, url=FEED_URL).entries
    assert entry.content == "Hi there"


def test_lone_surrogates_and_nul_are_normalised_at_the_parse_boundary() -> None:
    """``"\\ud83d"`` is legal JSON but no UTF-8 encoder takes it: replaced, NUL removed."""
    document = ('{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": ['
                '{"id": "a\\u0000b", "url": "https://n.example/1", "title": "Hi \\ud83d there",'
                ' "content_text": "x\\udfff\\u0000y", "authors": [{"name": "A\\ud800"}]}]}')
    (entry,) = parse_json_feed(document.encode(), url="https://n.example/").entries
    assert entry.title == "Hi \ufffd there" and entry.content == "x\ufffdy"
    assert entry.key == "guid:ab" and entry.author == "A\ufffd"
    for text in (entry.key, entry.title, entry.summary, entry.content, entry.author or ""):
        text.encode("utf-8")  # strict: raises on any surrogate left


def test_date_modified_is_the_update_time() -> None:
    items = [{"id": "1", "title": "t", "date_published": "2024-05-01T05:00:00Z",
              "date_modified": "2024-05-02T06:00:00Z"},
             {"id": "2", "title": "u", "date_published": "2024-05-01T05:00:00Z"}]
    first, second = parse_feed(doc(items=items), url=FEED_URL,
                               now=datetime(2024, 6, 1, tzinfo=UTC)).entries
    assert first.published == datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
    assert first.updated == datetime(2024, 5, 2, 6, 0, tzinfo=UTC)
    assert second.updated is None
