"""Which URLs and addresses the fetcher may reach (the SSRF policy).

Two layers, both without any HTTP library:

* :func:`check_url` looks at the URL text only: http(s) scheme, no backslash, no credentials,
  no whitespace or control characters. The pipeline calls it when it enqueues a link, and the
  fetcher calls it again on every redirect hop.
* :class:`AddressPolicy` decides on IP addresses. The fetcher's network backend resolves a host
  once, passes *every* answer through :meth:`AddressPolicy.check_answers` (one blocked record
  taints the host) and then dials only the addresses that were checked, so DNS rebinding has no
  window between check and connect.

Numeric hosts are read the way ``inet_aton`` and browsers read them (``2130706433``,
``0x7f.1``, ``127.1``, ``0177.0.0.1`` all mean 127.0.0.1), so an alternate notation can never
slip past the address check; a numeric-looking host that is not a valid address is refused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Collection, Iterable
from urllib.parse import urlsplit

from monitor.errors import (
    BlockedAddressError,
    ConfigError,
    FetchError,
    InvalidURLError,
    UnsupportedSchemeError,
)
from monitor.text import closest, first_surrogate

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# urlsplit's refusal of a '[' or ']' around no IPv6 address, in words (its own may quote the host)
_BRACKETS = "invalid URL: '[' and ']' belong around an IPv6 address only (elsewhere %5B, %5D)"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?\.)*"
                        r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")

# Refused ranges, each with the reason shown to the operator. The stdlib flags are checked as
# well (below); this table makes the policy independent of the Python patch release.
_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local (cloud metadata) address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
        ("::/96", "an IPv4-compatible IPv6 address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/23", "an IETF protocol address (Teredo, ORCHID...)"),
        ("2001:db8::/32", "a documentation address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_url(url: str) -> None:
    """Refuse a URL on its text alone, before any resolution or connection.

    Raises :class:`UnsupportedSchemeError` for anything but http and https (``file:``,
    ``gopher:``, ``ftp:``, ``javascript:``, ``data:``...) and :class:`InvalidURLError` for a
    backslash, credentials (``user@host``), whitespace or control characters, bytes that are
    not UTF-8, a missing host, a bad port or brackets around no IPv6 address. Address policy
    (private ranges...) is applied later, at connect time.

    No message quotes the URL or a part of it that may be a secret (the ``url`` attribute
    keeps the URL as given); to show the URL, show :func:`~monitor.net.masking.shown_url`.
    """
    match = _SCHEME.match(url)
    if match is None:
        raise UnsupportedSchemeError("URL has no scheme (only http and https are fetched): "
                                     "write https:// before it", url=url)
    scheme = match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        close = closest(scheme, sorted(ALLOWED_SCHEMES))  # a typo: htps, hhtp, https:/
        hint = f"; did you mean {close}?" if close else ""
        raise UnsupportedSchemeError(
            f"scheme {scheme!r} is not fetched (only http and https){hint}", url=url)
    # Parsers disagree on '\' (WHATWG reads it as '/', RFC 3986 parsers do not): refuse it.
    if "\\" in url:
        raise InvalidURLError("backslash in URL", url=url)
    if any(ord(ch) <= 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        raise InvalidURLError("whitespace or control character in URL", url=url)
    if first_surrogate(url) is not None:  # a command-line argument's non-UTF-8 bytes
        raise InvalidURLError("URL has bytes that are not UTF-8 (write them percent-encoded, "
                              "as %E9)", url=url)
    if not url[match.end():].startswith("//"):
        raise InvalidURLError("URL has no host", url=url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidURLError(_BRACKETS, url=url) from exc
    if "@" in parts.netloc:
        raise InvalidURLError("credentials (user@host) in URL", url=url)
    if not parts.hostname:
        raise InvalidURLError("URL has no host", url=url)
    try:
        parts.port  # noqa: B018  # the property validates the port
    except ValueError as exc:
        # Not the text read as the port: in ``https://user:pa55word#x@host`` it is the password.
        raise InvalidURLError("bad port in URL (a port is a number from 0 to 65535)",
                              url=url) from exc
    literal_ip(parts.hostname, url=url)


def normalize_host(host: str) -> str:
    """Lower-case, without a trailing dot or IPv6 brackets: the key for policy and politeness."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def literal_ip(host: str, *, url: str | None = None) -> IPAddress | None:
    """The address a host written as a number means, or None for a host name.

    Accepts IPv6 (with or without brackets, with a zone), dotted IPv4 and the legacy forms
    ``inet_aton`` accepts (decimal, hex, octal, fewer than four parts). A host whose last
    label is numeric but which is not a valid address raises :class:`InvalidURLError`.
    """
    name = normalize_host(host)
    if ":" in name:
        try:
            return _strip_zone(ipaddress.ip_address(name.split("%", 1)[0]))
        except ValueError as exc:
            raise InvalidURLError(f"invalid IPv6 address {host!r}", url=url) from exc
    labels = name.split(".")
    if not labels or not _NUMERIC_LABEL.match(labels[-1]):
        return None
    value = _legacy_ipv4(labels)
    if value is None:
        raise InvalidURLError(f"invalid numeric host {host!r}", url=url)
    return ipaddress.IPv4Address(value)


def _strip_zone(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return ipaddress.IPv6Address(int(ip))
    return ip


def _legacy_ipv4(labels: list[str]) -> int | None:
    """inet_aton: 1 to 4 parts, each decimal, 0x-hex or 0-octal; the last fills the rest."""
    if len(labels) > 4:
        return None
    numbers: list[int] = []
    for label in labels:
        try:
            if label[:2] in ("0x", "0X"):
                numbers.append(int(label[2:] or "0", 16))
            elif len(label) > 1 and label.startswith("0"):
                numbers.append(int(label, 8))
            else:
                numbers.append(int(label, 10))
        except ValueError:
            return None
    *head, last = numbers
    shift = 8 * (4 - len(head))
    if any(n > 255 for n in head) or last >= 1 << shift:
        return None
    value = 0
    for n in head:
        value = (value << 8) + n
    return (value << shift) + last


def blocked_reason(ip: IPAddress) -> str | None:
    """Why the default policy refuses this address, or None when it is a public address."""
    ip = _strip_zone(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:  # DNS64 answers on IPv6-only networks: judge the IPv4 inside
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            inner = blocked_reason(embedded)
            return None if inner is None else f"a NAT64 address of {embedded} ({inner})"
        if embedded is not None and (inner := blocked_reason(embedded)) is not None:
            return f"an IPv6 address embedding {embedded} ({inner})"
        if ip.sixtofour is not None:  # 6to4 reaches its IPv4 address, public here (Python
            return None  # 3.13 counts all of 2002::/16 as not global, 3.11 as global)
    for network, reason in _BLOCKED:
        if ip.version == network.version and ip in network:
            return reason
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or ip.is_reserved:
        return "a reserved address"
    if ip.is_loopback or ip.is_link_local or ip.is_private or not ip.is_global:
        return "a non-public address"
    return None


def default_resolver(host: str, port: int) -> list[str]:
    """All addresses the system resolver gives for ``host`` (TCP), in its order, deduplicated."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)


def _allow_entry(entry: str) -> IPNetwork | str | None:
    """An ``http.allow_private_networks`` entry read: a network, a host name (normalised), or
    None when it is neither."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        name = normalize_host(entry)
        return name if _HOST_NAME.match(name) else None


def allow_entry_problem(entry: str) -> str | None:
    """Why an ``http.allow_private_networks`` entry is neither a network in CIDR notation nor
    a host name (``10.0.0.0/33``, ``intranet example``), or None."""
    if _allow_entry(entry) is not None:
        return None
    return f"{entry!r} is neither a network (CIDR, such as 10.1.0.0/16) nor a host name"


class AddressPolicy:
    """Decides whether an address may be dialled; thread-safe (immutable after construction).

    ``allow`` holds the ``http.allow_private_networks`` entries: networks in CIDR notation
    (``10.1.0.0/16``, ``127.0.0.1``) or host names (``intranet.example``) whose every address is
    accepted. ``allow_endpoints`` holds exact ``(address, port)`` pairs; it is not settable
    from the configuration file and exists for tests that serve from loopback.
    """

    def __init__(self, allow: Iterable[str] = (),
                 allow_endpoints: Collection[tuple[str, int]] = ()) -> None:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for entry in allow:
            read = _allow_entry(entry)
            if read is None:
                raise ConfigError(f"http.allow_private_networks: {allow_entry_problem(entry)}")
            if isinstance(read, str):
                names.add(read)
            else:
                networks.append(read)
        self._networks = tuple(networks)
        self._names = frozenset(names)
        self._endpoints = frozenset(
            (_strip_zone(ipaddress.ip_address(addr)), port) for addr, port in allow_endpoints)

    @property
    def opens_private_networks(self) -> bool:
        """True when the configuration exempts some networks or hosts from the policy."""
        return bool(self._networks or self._names)

    def check_host(self, host: str, port: int, *, url: str | None = None) -> list[IPAddress] | None:
        """Check a host before resolving it: a literal address is checked and returned as the
        only address to dial; a host name returns None (it must be resolved, then passed to
        :meth:`check_answers`). ``localhost`` names are refused without asking DNS."""
        name = normalize_host(host)
        ip = literal_ip(name, url=url)
        if ip is not None:
            self._check_ip(name, ip, port, url=url)
            return [ip]
        if name in self._names:
            return None
        if name == "localhost" or name.endswith((".localhost", ".localhost.")):
            raise BlockedAddressError(f"host {host!r} is a loopback name; to allow it, add "
                                      f"{host} to http.allow_private_networks", url=url)
        return None

    def check_answers(self, host: str, port: int, answers: Iterable[str], *,
                      url: str | None = None) -> list[IPAddress]:
        """Parse and check every resolved address; one refused address refuses the host."""
        name = normalize_host(host)
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                addresses.append(_strip_zone(ipaddress.ip_address(answer.split("%", 1)[0])))
            except ValueError as exc:
                raise FetchError(f"resolver returned a bad address {answer!r} for {host!r}",
                                 url=url) from exc
        if not addresses:
            raise FetchError(f"host {host!r} has no address", url=url)
        if name not in self._names:
            for ip in addresses:
                self._check_ip(name, ip, port, url=url, resolved=len(addresses) > 1)
        return addresses

    def _check_ip(self, host: str, ip: IPAddress, port: int, *, url: str | None,
                  resolved: bool = False) -> None:
        if any(ip.version == net.version and ip in net for net in self._networks):
            return
        if (ip, port) in self._endpoints:
            return
        reason = blocked_reason(ip)
        if reason is None:
            return
        allow = (f"; to allow it, add {ip}/{ip.max_prefixlen} (or its network) to "
                 "http.allow_private_networks")
        if literal_ip(host) is not None:
            raise BlockedAddressError(f"refused {ip}: it is {reason}{allow}", url=url)
        taint = " (one refused address refuses the whole host)" if resolved else ""
        raise BlockedAddressError(f"refused {host!r}: it resolves to {ip}, {reason}{taint}"
                                  f"{allow}", url=url)
