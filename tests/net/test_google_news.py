"""Resolving current-format Google News links by asking Google (``http.resolve_google_news``),
against a loopback server that answers as Google's two endpoints do; and the fetcher's POST."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from monitor.config import HttpConfig
from monitor.errors import BlockedAddressError, HTTPStatusError, RateLimitedError
from monitor.net import (
    GoogleNewsResolver,
    google_news,
    google_news_article_id,
    on_google,
    resolve_aggregator_link,
)
from monitor.net.google_news import rpc_request, rpc_target
from tests.fetch_support import (
    FakeGoogleNews,
    LocalServer,
    MapResolver,
    NetworkGuard,
    fetcher_for,
    google_news_id,
)

PUBLISHER = "https://www.antaranews.com/berita/4512345/gencatan-senjata-gaza"


def _answer(*rows: object) -> str:
    return ")]}'\n\n" + json.dumps(list(rows))


def _row(payload: object) -> list[object]:
    return ["wrb.fr", "Fbv4je", json.dumps(payload), None, None, None, "generic"]


def test_only_links_google_alone_can_resolve_are_named() -> None:
    article = google_news_id(1)
    link = f"https://news.google.com/rss/articles/{article}?oc=5&hl=id&gl=ID&ceid=ID:id"
    assert google_news_article_id(link) == article
    assert google_news_article_id(link.replace("/rss/articles/", "/read/")) == article
    assert resolve_aggregator_link(link) == link  # nothing to decode offline
    # The older format carries the URL itself: decoded offline, never asked for.
    old = "CBMi" + "SGh0dHBzOi8vd3d3LmFudGFyYW5ld3MuY29tL2Jlcml0YS8x"
    assert resolve_aggregator_link(f"https://news.google.com/rss/articles/{old}") != (
        f"https://news.google.com/rss/articles/{old}")
    assert google_news_article_id(f"https://news.google.com/rss/articles/{old}") is None
    for other in (f"https://news.google.co.id/rss/articles/{article}",
                  f"https://example.com/rss/articles/{article}",
                  f"ftp://news.google.com/rss/articles/{article}",
                  "https://news.google.com/rss/search?q=gaza", "not a url", "http://[::1"):
        assert google_news_article_id(other) is None


def test_google_s_own_hosts_are_told_from_publishers() -> None:
    for url in ("https://news.google.com/rss/articles/x", "https://consent.google.com/ml",
                "https://www.google.co.id/url?q=x", "http://GOOGLE.com/", "https://google.de"):
        assert on_google(url), url
    for url in ("https://www.antaranews.com/berita/1", "https://notgoogle.com/",
                "https://google.example.org/", "https://blog.google/", "http://[::1", ""):
        assert not on_google(url), url


def test_the_call_carries_the_id_its_timestamp_and_signature() -> None:
    form = urllib.parse.parse_qs(rpc_request("CBMiXYZ", 1764900000, "AU_sig", "ID:id"))
    envelope = json.loads(form["f.req"][0])
    assert envelope[0][0][0] == "Fbv4je" and envelope[0][0][3] == "generic"
    inner = json.loads(envelope[0][0][1])
    assert inner[0] == "garturlreq" and inner[2:] == ["CBMiXYZ", 1764900000, "AU_sig"]
    assert inner[1][0][7] == "ID:id"  # the feed's locale


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_answer(_row(["garturlres", PUBLISHER, 1]), ["di", 27]), PUBLISHER),
        # No guard, spaces around, an AMP cache's wrapper unwrapped.
        ("  " + json.dumps([_row(["garturlres",
                                  "https://www-antaranews-com.cdn.ampproject.org/c/s/"
                                  "www.antaranews.com/berita/1", 1])]),
         "https://www.antaranews.com/berita/1"),
        # Google's error row (no payload), another call's row, a payload of another kind.
        (_answer(["wrb.fr", "Fbv4je", None, None, None, [3], "generic"]), None),
        (_answer(["wrb.fr", "Other", json.dumps(["garturlres", PUBLISHER])]), None),
        (_answer(_row(["other", PUBLISHER])), None),
        # What is not a publisher's page: Google itself, a script, a relative path.
        (_answer(_row(["garturlres", "https://news.google.com/articles/x", 1])), None),
        (_answer(_row(["garturlres", "javascript:alert(1)", 1])), None),
        (_answer(_row(["garturlres", "/berita/1", 1])), None),
        (_answer(_row(["garturlres", "http://[::1/berita", 1])), None),
        (_answer(_row(["garturlres", "https://NEWS.google.com/x", 1])), None),
        (_answer(_row(["garturlres", "https://consent.google.com/ml?continue=x", 1])), None),
        # Not JSON at all, cut short, a payload that is not JSON, a sign-in page.
        (")]}'\n\n[[\"wrb.fr\",", None),
        (_answer(["wrb.fr", "Fbv4je", "{not json", None]), None),
        ("<html><body>Sign in</body></html>", None),
        (")]}'\n" + "[" * 100_000 + "]" * 100_000, None),  # past the JSON parser's depth
        (_answer(["wrb.fr", "Fbv4je", "[" * 100_000, None]), None),
        ("", None),
    ],
)
def test_only_a_publisher_url_in_the_answer_counts(answer: str, expected: str | None) -> None:
    assert rpc_target(answer) == expected


def test_a_link_is_resolved_through_the_page_and_the_call() -> None:
    article = google_news_id(2)
    link = f"https://news.google.com/rss/articles/{article}?oc=5&hl=id&gl=ID&ceid=ID:id"
    with LocalServer() as google, NetworkGuard() as guard:
        fake = FakeGoogleNews(google)
        fake.add(article, PUBLISHER)
        # Not a crawl of the site: robots.txt is not asked (as for a feed), however it reads.
        google.route("/robots.txt", body=b"User-agent: *\nDisallow: /\n")
        with fetcher_for(google, respect_robots_txt=True) as fetcher:
            resolved = GoogleNewsResolver(fetcher, google.url("")).resolve(link)
        assert resolved == PUBLISHER
        assert google.hits["/robots.txt"] == 0
        assert {host for host, _port in guard.connects} == {"127.0.0.1"}
    page_request = next(path for path, _h in google.requests if "/rss/articles/" in path)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(page_request).query) == {
        "hl": ["id"], "gl": ["ID"], "ceid": ["ID:id"]}  # asked in the feed's locale
    assert [call[2:] for call in fake.calls] == [[article, 1764900000, "AU_yqLsig-1"]]
    assert google.hits[FakeGoogleNews.RPC_PATH] == 1


def test_an_article_is_asked_for_once_whatever_feed_lists_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Several search feeds list one article (each link with its own locale): Google is
    asked once; only the last REMEMBERED resolutions are kept."""
    monkeypatch.setattr(google_news, "REMEMBERED", 2)
    ids = [google_news_id(n) for n in (20, 21, 22)]
    with LocalServer() as google:
        fake = FakeGoogleNews(google)
        for n, article in enumerate(ids):
            fake.add(article, f"{PUBLISHER}/{n}")
        with fetcher_for(google) as fetcher:
            resolver = GoogleNewsResolver(fetcher, google.url(""))
            for query in ("?oc=5&hl=id&gl=ID&ceid=ID:id", "?hl=en-US&gl=US&ceid=US:en", ""):
                link = f"https://news.google.com/rss/articles/{ids[0]}{query}"
                assert resolver.resolve(link) == f"{PUBLISHER}/0"
            assert len(fake.calls) == 1 and google.hits["/rss/articles/" + ids[0]] == 1
            for article in ids[1:]:  # two more: the first is forgotten
                resolver.resolve(f"https://news.google.com/rss/articles/{article}")
            resolver.resolve(f"https://news.google.com/rss/articles/{ids[0]}")
            assert [call[2] for call in fake.calls] == [ids[0], ids[1], ids[2], ids[0]]


def test_google_news_host_names_are_dialled_at_the_address_the_policy_checked() -> None:
    """The resolver asks ``news.google.com`` itself by default: here a resolver maps the name
    to the loopback server, which the fetcher may reach only as that exact endpoint."""
    article = google_news_id(3)
    with LocalServer() as google, NetworkGuard():
        FakeGoogleNews(google).add(article, PUBLISHER)
        base = f"http://news.google.com:{google.port}"
        with fetcher_for(google, resolver=MapResolver({"news.google.com": ["127.0.0.1"]})
                         ) as fetcher:
            assert GoogleNewsResolver(fetcher, base).resolve(
                f"{base}/rss/articles/{article}") == PUBLISHER
        # Without the allowance the loopback address is refused, as for any link.
        with (fetcher_for(resolver=MapResolver({"news.google.com": ["127.0.0.1"]})) as fetcher,
              pytest.raises(BlockedAddressError)):
            GoogleNewsResolver(fetcher, base).resolve(f"{base}/rss/articles/{article}")


def test_what_google_does_not_resolve_is_none_and_a_failed_request_raises(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    known, unsigned, unknown = google_news_id(4), google_news_id(5), google_news_id(6)
    with LocalServer() as google:
        fake = FakeGoogleNews(google)
        fake.add(known, PUBLISHER)
        google.route(f"/rss/articles/{unsigned}", body=b"<html><body>consent</body></html>")
        fake.known[unknown] = ("", "s", 1)
        google.route(f"/rss/articles/{unknown}", body=b'<div data-n-a-sg="s" data-n-a-ts="1">')
        with fetcher_for(google) as fetcher:
            resolver = GoogleNewsResolver(fetcher, google.url("/"))
            assert resolver.resolve(f"https://news.google.com/rss/articles/{unsigned}") is None
            assert resolver.resolve(f"https://news.google.com/rss/articles/{unknown}") is None
            assert resolver.resolve("https://example.com/berita/1") is None  # not asked
            assert google.hits[FakeGoogleNews.RPC_PATH] == 1  # only the signed one called
            # Google answers 429: a FetchError for the caller, and the host paused.
            google.route(FakeGoogleNews.RPC_PATH, 429, b"", {"Retry-After": "600"})
            with pytest.raises(RateLimitedError):
                resolver.resolve(f"https://news.google.com/rss/articles/{known}")
            with pytest.raises(RateLimitedError):  # paused: no request at all
                resolver.resolve(f"https://news.google.com/rss/articles/{known}")
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "gave no signature" in messages and "named no publisher URL" in messages


def test_a_post_is_sent_once_and_a_redirect_in_answer_is_not_followed() -> None:
    with LocalServer() as server:
        server.route("/echo", body=b"ok", headers={"Content-Type": "text/plain"})
        server.redirect("/moved", server.url("/echo"), status=307)
        with fetcher_for(server) as f:
            answer = f.post_form(server.url("/echo"), "f.req=%5B1%5D&x=%D0%B9")
            assert answer.content == b"ok" and answer.status == 200
            with pytest.raises(HTTPStatusError, match="redirect in answer to a POST"):
                f.post_form(server.url("/moved"), "a=1")
    assert server.posted == [("/echo", b"f.req=%5B1%5D&x=%D0%B9"), ("/moved", b"a=1")]
    assert server.hits["/echo"] == 1  # the redirect was not followed
    sent = dict(server.requests[0][1])
    assert sent["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_resolving_is_off_by_default() -> None:
    config = HttpConfig()
    assert config.resolve_google_news is False
    assert config.google_news_url == "https://news.google.com"
    assert HttpConfig(google_news_url="http://127.0.0.1:8080/").google_news_url == (
        "http://127.0.0.1:8080")
    for bad in ("news.google.com", "ftp://news.google.com", "https://news.google.com/x"):
        with pytest.raises(ValueError, match="not an http"):
            HttpConfig(google_news_url=bad)
