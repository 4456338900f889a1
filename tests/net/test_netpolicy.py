"""The address policy and URL checks on their own (no network)."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.errors import BlockedAddressError, ConfigError, InvalidURLError, UnsupportedSchemeError
from monitor.net.netpolicy import (
    AddressPolicy,
    allow_entry_problem,
    blocked_reason,
    check_url,
    default_resolver,
    literal_ip,
    normalize_host,
)


@pytest.mark.parametrize("url", [
    "http://example.com/feed", "https://example.com:8443/a?b=c#d", "HTTP://EXAMPLE.COM/",
    "https://bücher.example/", "http://[2001:4860::1]/", "http://8.8.8.8/",
])
def test_check_url_accepts_plain_http_urls(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://x/",
                                 "javascript:alert(1)", "data:,x", "mailto:a@b", "no-scheme"])
def test_check_url_refuses_other_schemes(url: str) -> None:
    with pytest.raises(UnsupportedSchemeError):
        check_url(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8888\\@example.com/", "http://example.com\\foo", "http://a@example.com/",
    "http://user:pass@example.com/", "http://exa mple.com/", "http://example.com/\x00",
    "http://example.com/\r\nHost: evil", "http:example.com", "http:///path",
    "http://example.com:99999/", "http://example.com:port/", "http://1.2.3.999/",
    "http://exa[mple.com/", "http://[::1/", "http://a]b/",  # urlsplit's ValueError, as ours
    "http://example.com/caf\udce9",  # a non-UTF-8 byte of a command-line argument
])
def test_check_url_refuses_ambiguous_notation(url: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        check_url(url)
    assert info.value.url == url


@pytest.mark.parametrize(("host", "expected"), [
    ("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("127.0.1", "127.0.0.1"),
    ("0x7F.0.0.1.", "127.0.0.1"), ("017700000001", "127.0.0.1"), ("1.2.3.4", "1.2.3.4"),
    ("[::1]", "::1"), ("::ffff:127.0.0.1", "::ffff:7f00:1"), ("fe80::1%25eth0", "fe80::1"),
    ("example.com", None), ("1.example", None), ("xn--bcher-kva.example", None),
])
def test_literal_ip_reads_every_notation(host: str, expected: str | None) -> None:
    ip = literal_ip(host)  # compared as addresses: Python 3.13 prints ::ffff:127.0.0.1 dotted
    assert ip == (ipaddress.ip_address(expected) if expected is not None else None)


@pytest.mark.parametrize("host", ["256.0.0.0.1", "1.2.3.256", "08.0.0.1", "0x1g.1", "[::zz]"])
def test_literal_ip_refuses_malformed_numbers(host: str) -> None:
    with pytest.raises(InvalidURLError):
        literal_ip(host)


@pytest.mark.parametrize("address", [
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1",
    "127.255.255.255", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8",
    "192.0.2.1", "192.168.1.1", "198.18.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1",
    "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
    "2002:7f00:0001::1", "64:ff9b::a00:1", "64:ff9b:1::1", "100::1", "2001::1",
])
def test_blocked_ranges(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1",
                                     "2606:4700:4700::1111", "2002:808:808::1", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_policy_taints_host_with_any_blocked_answer() -> None:
    policy = AddressPolicy()
    assert policy.check_host("news.example", 80) is None  # a name: resolve, then check
    ips = policy.check_answers("news.example", 80, ["8.8.8.8", "2606:4700:4700::1111"])
    assert [str(ip) for ip in ips] == ["8.8.8.8", "2606:4700:4700::1111"]
    with pytest.raises(BlockedAddressError) as info:
        policy.check_answers("news.example", 80, ["8.8.8.8", "10.0.0.5"])
    assert "10.0.0.5" in str(info.value) and "whole host" in str(info.value)


def test_policy_refuses_localhost_names_without_dns() -> None:
    for host in ("localhost", "LOCALHOST.", "app.localhost"):
        with pytest.raises(BlockedAddressError):
            AddressPolicy().check_host(host, 80)


def test_policy_allow_list_networks_names_and_endpoints() -> None:
    policy = AddressPolicy(["10.1.0.0/16", "127.0.0.1", "Intranet.Example."],
                           allow_endpoints=[("127.0.0.2", 8080)])
    assert policy.opens_private_networks
    assert policy.check_host("10.1.2.3", 80) == [ipaddress.ip_address("10.1.2.3")]
    assert policy.check_host("127.0.0.1", 1) is not None
    with pytest.raises(BlockedAddressError):
        policy.check_host("10.2.0.1", 80)
    assert policy.check_answers("intranet.example", 80, ["192.168.0.9"])
    assert policy.check_host("127.0.0.2", 8080) is not None
    with pytest.raises(BlockedAddressError):
        policy.check_host("127.0.0.2", 8081)  # endpoints are exact: another port is refused
    assert not AddressPolicy(allow_endpoints=[("127.0.0.1", 1)]).opens_private_networks


def test_policy_refuses_bad_allow_entries() -> None:
    with pytest.raises(ConfigError, match="'not a network!' is neither a network"):
        AddressPolicy(["not a network!"])
    assert allow_entry_problem("10.0.0.0/33") is not None  # no such prefix: not a host either
    assert allow_entry_problem("fd00::/8") is None and allow_entry_problem("Intranet.") is None


def test_normalize_host() -> None:
    assert normalize_host("Example.COM.") == "example.com"
    assert normalize_host("[::1]") == "::1"


def test_default_resolver_deduplicates() -> None:
    answers = default_resolver("127.0.0.1", 80)
    assert answers == ["127.0.0.1"]
