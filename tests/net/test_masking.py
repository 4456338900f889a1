"""URLs in the net stage's error messages: never a password or token (F8).

An operator pastes ``https://feeduser:FeedPw0rd77@feeds.example.net/rss``; the refusal must
say where without saying the password, in the exception's text and in what is built from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.errors import FetchError, InvalidURLError
from monitor.net import check_url, shown_url
from tests.fetch_support import LocalServer, MapResolver, NetworkGuard, fetcher_for

PASSWORD = "FeedPw0rd77"

# URLs carrying PASSWORD in every place a URL can carry one: the userinfo (also read by
# urlsplit as a port when a '/', '#' or '?' comes before the '@'), a credential query value.
SECRET_URLS = [
    f"https://feeduser:{PASSWORD}@feeds.example.net/rss",
    f"https://feeduser:{PASSWORD}@feeds.example.net/rss?edition=uk",
    f"http://:{PASSWORD}@feeds.example.net/",
    f"https://feeduser:{PASSWORD}#frag@feeds.example.net/rss",
    f"https://feeduser:{PASSWORD}/x@feeds.example.net/rss",
    f"https://feeduser:{PASSWORD}?x@feeds.example.net/rss",
    f"https://feeduser:{PASSWORD}@feeds.example.net\\rss",
    f"https://feeduser:{PASSWORD}@feeds.example.net/r ss",
    f"ftp://feeduser:{PASSWORD}@feeds.example.net/rss",
    f"https://feeduser:{PASSWORD}@999.1.1.1.1/",
]


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    with NetworkGuard() as g:
        yield g


@pytest.mark.parametrize("url", SECRET_URLS)
def test_check_url_messages_never_quote_the_password(url: str) -> None:
    with pytest.raises(FetchError) as info:
        check_url(url)
    assert PASSWORD not in str(info.value)
    assert info.value.url == url  # the attribute keeps the URL for the code that needs it


def test_a_bad_port_is_refused_without_quoting_what_was_read_as_the_port() -> None:
    # urlsplit reads "feeduser:FeedPw0rd77" as host and port here: the message used to say
    # "Port could not be cast to integer value as 'FeedPw0rd77'".
    with pytest.raises(InvalidURLError, match="bad port in URL"):
        check_url(f"https://feeduser:{PASSWORD}#frag@feeds.example.net/rss")
    with pytest.raises(InvalidURLError, match="bad port in URL"):
        check_url("http://example.com:99999/")


@pytest.mark.parametrize(("url", "shown"), [
    (f"https://feeduser:{PASSWORD}@feeds.example.net/rss",
     "https://feeduser:****@feeds.example.net/rss"),
    (f"https://feeduser:{PASSWORD}@feeds.example.net/rss?edition=uk&api_key=K3y99&token=t0k",
     "https://feeduser:****@feeds.example.net/rss?edition=uk&api_key=****&token=****"),
    (f"https://feeduser:Pw@{PASSWORD}@feeds.example.net/", "https://feeduser:****@feeds.example.net/"),
    (f"http://:{PASSWORD}@feeds.example.net", "http://:****@feeds.example.net"),
    ("https://ghp_Tok3nTok3nTok3n@raw.example/feed.xml", "https://****@raw.example/feed.xml"),
    ("https://feeds.example.net/rss?edition=uk", "https://feeds.example.net/rss?edition=uk"),
    (f"https://a.example/go?url=https://u:{PASSWORD}@b.example/",
     "https://a.example/go?url=https://u:****@b.example/"),
    (f"no scheme:{PASSWORD}", f"no scheme:{PASSWORD}"),  # not a URL: nothing to read as one
])
def test_shown_url_masks_the_userinfo_and_credential_parameters(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_fetcher_refusals_never_quote_the_password(guard: NetworkGuard) -> None:
    with LocalServer("127.0.0.1") as public:
        public.route("/feed", body=b"<rss/>", headers={"Content-Type": "text/xml"})
        port = public.port
        # A redirect hop with credentials, in both notations, and the feed URL itself.
        public.redirect("/creds", f"http://feeduser:{PASSWORD}@news.example:{port}/feed")
        public.redirect("/port", f"http://feeduser:{PASSWORD}#x@news.example:{port}/feed")
        resolver = MapResolver({"news.example": [public.host]})
        with fetcher_for(public, resolver=resolver) as fetcher:
            for url in (f"http://news.example:{port}/creds", f"http://news.example:{port}/port",
                        f"http://feeduser:{PASSWORD}@news.example:{port}/feed"):
                with pytest.raises(InvalidURLError) as info:
                    fetcher.fetch_feed(url)
                assert PASSWORD not in str(info.value)
                assert PASSWORD not in shown_url(info.value.url or "")
        assert public.hits["/feed"] == 0
    assert all(host == "127.0.0.1" for host, _port in guard.connects)
