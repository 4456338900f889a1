"""Canonical article URLs and offline unwrapping of aggregator and redirect links."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.net.urls import canonical_url, resolve_aggregator_link


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM:443/News/Story.html?utm_source=rss&b=2&a=1&fbclid=x#top",
         "https://www.example.com/News/Story.html?a=1&b=2"),
        ("http://example.com:80/berita/123?id=5&gclid=abc&ocid=AA&utm_medium=feed",
         "http://example.com/berita/123?id=5"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/../b/./c", "https://example.com/b/c"),
        ("  https://example.com/x\n", "https://example.com/x"),
        ("https://example.com/a\n/b c", "https://example.com/a/b%20c"),
        ("https://user:Secret@example.com/x", "https://example.com/x"),
        ("https://BÜCHER.example/x", "https://xn--bcher-kva.example/x"),
        ("https://example.com/#!/story/77", "https://example.com/#!/story/77"),
        ("https://[::1]:8080/x", "https://[::1]:8080/x"),
        # session ids: a new one per visit, so every poll would list the article anew
        ("https://n.example/story;jsessionid=1A2B3C?id=5", "https://n.example/story?id=5"),
        ("https://n.example/a;JSESSIONID=x/b", "https://n.example/a/b"),
        ("https://n.example/a?PHPSESSID=abc&id=3&CFID=1&cftoken=2",
         "https://n.example/a?id=3"),
        ("https://n.example/a?sid=7", "https://n.example/a?sid=7"),  # may be the story's id
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_the_same_article_from_two_feeds_has_one_canonical_url() -> None:
    first = "https://News.Detik.com/internasional/d-8245/as-israel-qatar?utm_source=rss&utm_campaign=x"
    second = "https://news.detik.com:443/internasional/d-8245/as-israel-qatar?fbclid=IwAR0#komentar"
    assert canonical_url(first) == canonical_url(second)


def test_meaningful_parameters_keep_articles_apart() -> None:
    assert canonical_url("https://x.id/read.php?id=1") != canonical_url("https://x.id/read.php?id=2")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # A bare query names the article on older CMSs (news.asp?12345): it is not blank.
        ("https://x.id/news.asp?12345", "https://x.id/news.asp?12346"),
        ("https://x.id/berita.php?2024-05-01-banjir", "https://x.id/berita.php?2024-05-02-gempa"),
        # Parameter names that merely contain a tracker's word are not trackers.
        ("https://x.id/p?cid=77", "https://x.id/p?cid=78"),
        ("https://x.id/p?gameId=1", "https://x.id/p?gameId=2"),
        ("https://x.id/photos?gallery=1", "https://x.id/photos?gallery=2"),
        ("https://x.id/p?article_uid=1", "https://x.id/p?article_uid=2"),
        ("https://x.id/p?sourceid=9", "https://x.id/p?sourceid=8"),
        ("https://x.id/p?refid=1", "https://x.id/p?refid=2"),
    ],
)
def test_different_articles_keep_different_canonical_urls(first: str, second: str) -> None:
    """Two articles under one canonical URL would be one: the second never fetched, its hits
    never matched (the poller links it to the first as "the same article")."""
    assert canonical_url(first) != canonical_url(second)


@pytest.mark.parametrize(
    "variant",
    [
        "https://x.id/berita/caf%c3%a9-baru?a=1",  # hex case of an escape
        "https://x.id/berita/café-baru?a=1",  # not escaped at all
        "https://x.id/berita/caf%C3%A9%2Dbaru?a=1",  # an unreserved character escaped
        "https://x.id/%62erita/caf%C3%A9-baru?%61=1",
        "https://x.id/berita/caf%C3%A9-baru?a=1&utm_source=rss&fbclid=x&gclid=y&ref=rss",
        "https://x.id/berita/caf%C3%A9-baru?a=1&mc_cid=1&mc_eid=2&_ga=3&xtor=RSS-1",
        "https://x.id/berita/caf%C3%A9-baru?a=1&campaign=x&source=rss&msclkid=z&yclid=1",
        "https://x.id/berita/caf%C3%A9-baru?amp=1&a=1",  # the AMP rendition
        "https://x.id/berita/caf%C3%A9-baru?a=1&amp",
    ],
)
def test_equivalent_spellings_of_one_url_are_one_canonical_url(variant: str) -> None:
    assert canonical_url(variant) == "https://x.id/berita/caf%C3%A9-baru?a=1"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "", "http://",
                                 "https://example.com:notaport/x", "mailto:a@b.c"])
def test_canonical_url_never_raises_and_leaves_other_urls_alone(url: str) -> None:
    assert canonical_url(url) == url.strip()


@given(st.text(alphabet="abcXYZ019-._~%/?&=#:@!$'()*+,;", max_size=40))
def test_canonical_url_is_idempotent(tail: str) -> None:
    once = canonical_url(f"https://Example.com/{tail}")
    assert canonical_url(once) == once


def _google_news_link(target: str) -> str:
    raw = target.encode()
    message = b"\x08\x13\x22" + _varint(len(raw)) + raw + b"\xd2\x01\x00"
    article_id = base64.urlsafe_b64encode(message).decode().rstrip("=")
    return f"https://news.google.com/rss/articles/{article_id}?oc=5"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@pytest.mark.parametrize(
    "target",
    [
        "https://news.detik.com/internasional/d-8245/as-israel-qatar",
        "https://www.antaranews.com/berita/" + "x" * 200,  # length needs a two-byte varint
    ],
)
def test_old_format_google_news_links_are_decoded(target: str) -> None:
    assert resolve_aggregator_link(_google_news_link(target)) == target
    read_link = _google_news_link(target).replace("/rss/articles/", "/read/")
    assert resolve_aggregator_link(read_link) == target


def test_new_format_google_news_links_are_left_alone() -> None:
    message = b"\x08\x13\x22\x40" + b"AU_yqL" + b"M" * 58
    link = ("https://news.google.com/rss/articles/"
            + base64.urlsafe_b64encode(message).decode().rstrip("=") + "?oc=5")
    assert resolve_aggregator_link(link) == link


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("https://www.google.com/url?rct=j&sa=t&url=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&ct=ga",
         "https://example.com/a?b=1"),
        ("https://www.google.co.id/url?q=https://example.id/berita&sa=U", "https://example.id/berita"),
        ("https://news.google.com/news/url?url=https://example.com/n", "https://example.com/n"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fex.com%2Fx&h=AT0", "https://ex.com/x"),
        ("https://out.reddit.com/t3_abc?url=https%3A%2F%2Fex.com%2Fy&token=z", "https://ex.com/y"),
        ("https://www.youtube.com/redirect?event=x&q=https%3A%2F%2Fex.com%2Fv", "https://ex.com/v"),
        ("https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fex.com%2Fs&data=1",
         "https://ex.com/s"),
        ("https://www.bing.com/ck/a?!&&p=abc&u=a1"
         + base64.urlsafe_b64encode(b"https://example.com/bing").decode().rstrip("=")
         + "&ntb=1", "https://example.com/bing"),
        ("https://r.search.yahoo.com/_ylt=A/RV=2/RE=1/RO=10/RU="
         + quote("https://example.com/news/", safe="") + "/RK=2/RS=x-", "https://example.com/news/"),
        ("https://www.google.com/amp/s/www.example.com/amp/story.html",
         "https://www.example.com/amp/story.html"),
        ("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/story",
         "https://www.example.com/story"),
        ("https://tracker.example.net/redirect?url=https://target.org/a", "https://target.org/a"),
        # Nested: a Google redirect around a Google News link around the publisher URL.
        ("https://www.google.com/url?url="
         + quote(_google_news_link("https://example.com/deep"), safe=""), "https://example.com/deep"),
    ],
)
def test_redirect_links_are_unwrapped(link: str, target: str) -> None:
    assert resolve_aggregator_link(link) == target


@pytest.mark.parametrize(
    "link",
    [
        "http://feedproxy.google.com/~r/Example/~3/AbC123/story.html",  # needs a request
        "https://t.co/AbCdEf123",
        "https://bit.ly/3xyz",
        "https://example.com/redirect?url=javascript:alert(1)",  # not an http(s) target
        "https://example.com/redirect?url=file:///etc/passwd",
        "https://www.reddit.com/r/worldnews/comments/abc/",
        "https://example.com/search?q=https://example.org/",  # not a redirect path
        "file:///tmp/feed/article.html",
        "not a url",
    ],
)
def test_links_that_cannot_be_resolved_offline_are_unchanged(link: str) -> None:
    assert resolve_aggregator_link(link) == link
