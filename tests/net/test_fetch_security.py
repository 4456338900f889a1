"""SSRF and URL-policy cases A1-A12 of the reliability catalogue, against loopback servers.

"Public" hosts are fake names that an injected resolver maps to 127.0.0.1, reachable only
because the fetcher's test allow-list names that exact (address, port). Internal targets are
other loopback listeners (127.0.0.2, other ports) that must receive zero requests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from monitor.config import HttpConfig
from monitor.errors import (
    BlockedAddressError,
    InvalidURLError,
    UnsupportedSchemeError,
)
from monitor.models import FetchedBody
from monitor.net.fetch import Fetcher, check_url
from tests.fetch_support import (
    FlipResolver,
    LocalServer,
    MapResolver,
    NetworkGuard,
    fetcher_for,
)


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    with NetworkGuard() as g:
        yield g


@pytest.fixture
def public() -> Iterator[LocalServer]:
    """The "public" site: 127.0.0.1, reached only through the allow-list."""
    with LocalServer("127.0.0.1") as server:
        server.route("/feed", body=b"<rss>public</rss>", headers={"Content-Type": "text/xml"})
        yield server


@pytest.fixture
def internal(public: LocalServer) -> Iterator[LocalServer]:
    """An internal service on 127.0.0.2 at the same port as the public site."""
    with LocalServer("127.0.0.2", port=public.port) as server:
        server.route("/secret", body=b"TOP SECRET metadata")
        server.route("/latest/meta-data/", body=b"TOP SECRET metadata")
        yield server


def _resolver(public: LocalServer) -> MapResolver:
    return MapResolver({"news.example": [public.host]})


def test_sec_A1_metadata_address_refused_before_connecting(guard: NetworkGuard) -> None:
    resolver = MapResolver({"metadata.example": ["169.254.169.254"]})
    with fetcher_for(resolver=resolver) as fetcher:
        for url in ("http://169.254.169.254/latest/meta-data/",
                    "http://metadata.example/latest/meta-data/"):
            with pytest.raises(BlockedAddressError) as info:
                fetcher.fetch_page(url)
            assert info.value.code == "blocked_address"
            assert info.value.url == url
            assert "169.254.169.254" in str(info.value)
    assert guard.connects == []  # not one TCP connection attempt


def test_sec_A2_private_and_special_addresses_all_refused(
        guard: NetworkGuard, public: LocalServer) -> None:
    port = public.port
    urls = [
        f"http://127.0.0.1:{port}/feed", f"http://localhost:{port}/feed",
        f"http://[::1]:{port}/feed", f"http://0.0.0.0:{port}/feed",
        "http://10.0.0.1/feed", "http://172.16.0.1/feed", "http://192.168.1.1/feed",
        "http://100.64.0.1/feed", "http://[fe80::1]/feed", "http://[fc00::1]/feed",
        f"http://[::ffff:127.0.0.1]:{port}/feed", "http://224.0.0.1/feed",
    ]
    resolver = MapResolver({"localhost": ["127.0.0.1"]})
    with Fetcher(HttpConfig(), resolver=resolver) as fetcher:  # the default policy
        refused = 0
        for url in urls:
            with pytest.raises(BlockedAddressError):
                fetcher.fetch_feed(url)
            refused += 1
    assert refused == 12
    assert public.total_hits == 0
    assert guard.connects == []
    assert resolver.calls["localhost"] == 0  # a loopback name is refused without DNS
    # Control: the very same listener answers when the policy lets the fetcher reach it.
    with fetcher_for(public) as fetcher:
        assert isinstance(fetcher.fetch_feed(public.url("/feed")), FetchedBody)
    assert public.total_hits == 1


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1",
                                  "0x7f000001", "127.0.1"])
def test_sec_A3_alternate_ipv4_notations_never_reach_loopback(
        guard: NetworkGuard, public: LocalServer, host: str) -> None:
    resolver = MapResolver({})
    with (Fetcher(HttpConfig(), resolver=resolver) as fetcher,
          pytest.raises(BlockedAddressError) as info):
        fetcher.fetch_feed(f"http://{host}:{public.port}/feed")
    assert "127.0." in str(info.value)
    assert public.total_hits == 0
    assert guard.connects == []
    assert sum(resolver.calls.values()) == 0  # read as an address, never sent to DNS


def test_sec_A4_redirect_to_loopback_refused_with_hop_url(
        guard: NetworkGuard, public: LocalServer, internal: LocalServer) -> None:
    secret = internal.url("/secret")
    public.redirect("/item", secret)
    public.redirect("/item-by-name", f"http://localhost:{internal.port}/secret")
    public.redirect("/item-relative-host", f"//127.0.0.2:{internal.port}/secret", 307)
    with fetcher_for(public, resolver=_resolver(public)) as fetcher:
        for path, hop in (("/item", secret),
                          ("/item-by-name", f"http://localhost:{internal.port}/secret"),
                          ("/item-relative-host", secret)):
            with pytest.raises(BlockedAddressError) as info:
                fetcher.fetch_page(f"http://news.example:{public.port}{path}")
            assert info.value.url == hop  # the error names the hop, not the first URL
    assert internal.hits["/secret"] == 0
    assert public.total_hits == 3
    assert all(host == public.host for host, _ in guard.connects)


def test_sec_A5_dns_rebinding_checks_the_address_actually_dialled(
        guard: NetworkGuard, public: LocalServer, internal: LocalServer) -> None:
    url = f"http://rebind.example:{public.port}/feed"
    # A resolver that answers "public" first and "internal" afterwards (TTL 0). Each fetch
    # uses a fresh fetcher (fresh pool) and a fresh resolver: a check-then-connect
    # implementation would resolve twice and reach the internal listener every time.
    for _ in range(10):
        resolver = FlipResolver(first=[public.host], then=[internal.host])
        with fetcher_for(public, resolver=resolver) as fetcher:
            body = fetcher.fetch_feed(url)
        assert isinstance(body, FetchedBody) and body.content == b"<rss>public</rss>"
        assert resolver.calls == 1  # resolved once, and that answer was dialled
    assert internal.total_hits == 0
    assert public.hits["/feed"] == 10

    # Once the name really points inside, every fresh connection is refused.
    resolver = FlipResolver(first=[public.host], then=[internal.host])
    outcomes = []
    for _ in range(10):
        with fetcher_for(public, resolver=resolver) as fetcher:
            try:
                fetcher.fetch_feed(url)
                outcomes.append("ok")
            except BlockedAddressError:
                outcomes.append("blocked")
    assert outcomes == ["ok"] + ["blocked"] * 9
    assert internal.total_hits == 0
    assert {host for host, _ in guard.connects} == {public.host}


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "FILE:///etc/passwd", "gopher://127.0.0.1:70/_GET%20/",
    "ftp://127.0.0.1/pub/x", "javascript:alert(1)", "data:text/plain,hello",
    "dict://127.0.0.1:11211/stat", "ldap://127.0.0.1/", "//example.com/feed", "example.com/feed",
])
def test_sec_A6_unsupported_schemes_rejected_without_io(guard: NetworkGuard, url: str) -> None:
    with pytest.raises(UnsupportedSchemeError) as info:
        check_url(url)
    assert info.value.code == "unsupported_scheme"
    with fetcher_for() as fetcher:
        guard.reset()
        with pytest.raises(UnsupportedSchemeError):
            fetcher.fetch_feed(url)
        with pytest.raises(UnsupportedSchemeError):
            fetcher.fetch_page(url)
    assert guard.connects == []
    assert not [path for path in guard.opens if "passwd" in path]


def test_sec_A6_redirect_to_file_url_rejected(guard: NetworkGuard, public: LocalServer) -> None:
    public.redirect("/to-file", "file:///etc/passwd")
    with fetcher_for(public) as fetcher:
        guard.reset()
        with pytest.raises(UnsupportedSchemeError) as info:
            fetcher.fetch_feed(public.url("/to-file"))
    assert info.value.url is not None and info.value.url.startswith("file:")
    assert not [path for path in guard.opens if "passwd" in path]
    assert public.hits["/to-file"] == 1


def test_sec_A7_backslash_and_userinfo_refused(guard: NetworkGuard, public: LocalServer) -> None:
    port = public.port
    urls = [f"http://127.0.0.1:{port}\\@news.example/feed",
            f"http://news.example@127.0.0.1:{port}/feed",
            f"http://user:pw@127.0.0.1:{port}/feed",
            f"http://127.0.0.1:{port}/fe\ted", f"http://127.0.0.1:{port}/ feed"]
    with fetcher_for(public, resolver=_resolver(public)) as fetcher:
        for url in urls:
            with pytest.raises(InvalidURLError) as info:
                fetcher.fetch_feed(url)
            assert info.value.code == "invalid_url"
        # The same refusal for a redirect Location written with a backslash.
        public.redirect("/bs", f"http://127.0.0.1:{port}\\@news.example/feed")
        with pytest.raises(InvalidURLError):
            fetcher.fetch_feed(f"http://news.example:{port}/bs")
    assert public.hits["/feed"] == 0


@pytest.mark.parametrize("answers", [["127.0.0.1", "10.0.0.5"], ["10.0.0.5", "127.0.0.1"],
                                     ["127.0.0.1", "::ffff:10.0.0.5"]])
def test_sec_A8_one_private_record_taints_the_host(
        guard: NetworkGuard, public: LocalServer, answers: list[str]) -> None:
    resolver = MapResolver({"dual.example": answers})
    with (fetcher_for(public, resolver=resolver) as fetcher,
          pytest.raises(BlockedAddressError) as info):
        fetcher.fetch_feed(f"http://dual.example:{public.port}/feed")
    assert "10.0.0.5" in str(info.value) or "ffff" in str(info.value)
    assert public.total_hits == 0
    assert guard.connects == []  # refused before dialling any of the answers


def test_sec_A9_allow_private_networks_opt_in_warns_once(
        guard: NetworkGuard, public: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="monitor")
    config = HttpConfig(allow_private_networks=["127.0.0.0/8"], respect_robots_txt=False)
    with Fetcher(config) as fetcher:
        body = fetcher.fetch_feed(public.url("/feed"))
        fetcher.fetch_feed(public.url("/feed"))
    assert isinstance(body, FetchedBody) and body.content == b"<rss>public</rss>"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "allow_private_networks" in warnings[0].getMessage()
    assert public.hits["/feed"] == 2


def test_sec_A9_allow_private_networks_by_host_name(public: LocalServer) -> None:
    resolver = MapResolver({"intranet.example": [public.host], "other.example": [public.host]})
    config = HttpConfig(allow_private_networks=["intranet.example"], respect_robots_txt=False)
    with Fetcher(config, resolver=resolver) as fetcher:
        assert isinstance(fetcher.fetch_feed(f"http://intranet.example:{public.port}/feed"),
                          FetchedBody)
        with pytest.raises(BlockedAddressError):
            fetcher.fetch_feed(f"http://other.example:{public.port}/feed")
    assert public.hits["/feed"] == 1


def test_sec_A9_default_is_off_and_silent(
        guard: NetworkGuard, public: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="monitor")
    assert HttpConfig().allow_private_networks == []
    with Fetcher(HttpConfig()) as fetcher, pytest.raises(BlockedAddressError):
        fetcher.fetch_feed(public.url("/feed"))
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert public.total_hits == 0


def test_sec_A11_permanent_redirect_reported_only_after_policy(
        guard: NetworkGuard, public: LocalServer, internal: LocalServer) -> None:
    port = public.port
    public.redirect("/old", f"http://news.example:{port}/feed", 301)
    public.redirect("/moved-308", f"http://news.example:{port}/feed", 308)
    public.redirect("/perm-then-temp", f"http://news.example:{port}/old-temp", 301)
    public.redirect("/old-temp", f"http://news.example:{port}/feed", 302)
    public.redirect("/to-private", internal.url("/secret"), 301)
    with fetcher_for(public, resolver=_resolver(public)) as fetcher:
        moved = fetcher.fetch_feed(f"http://news.example:{port}/old")
        assert isinstance(moved, FetchedBody)
        assert moved.redirected_permanently and moved.url == f"http://news.example:{port}/feed"
        moved = fetcher.fetch_feed(f"http://news.example:{port}/moved-308")
        assert isinstance(moved, FetchedBody) and moved.redirected_permanently
        mixed = fetcher.fetch_feed(f"http://news.example:{port}/perm-then-temp")
        assert isinstance(mixed, FetchedBody) and not mixed.redirected_permanently
        # A permanent redirect to a private address yields no body at all, hence no new URL.
        with pytest.raises(BlockedAddressError) as info:
            fetcher.fetch_feed(f"http://news.example:{port}/to-private")
        assert info.value.url == internal.url("/secret")
    assert internal.total_hits == 0


def test_sec_A12_http_proxy_environment_is_ignored(
        guard: NetworkGuard, public: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalServer("127.0.0.1") as proxy:
        proxy.route("/feed", body=b"from the proxy")
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                     "all_proxy"):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with fetcher_for(public, proxy, resolver=_resolver(public)) as fetcher:
            body = fetcher.fetch_feed(f"http://news.example:{public.port}/feed")
        assert isinstance(body, FetchedBody) and body.content == b"<rss>public</rss>"
        assert proxy.total_hits == 0
    assert public.hits["/feed"] == 1
