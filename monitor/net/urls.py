"""Article URL identity: canonical form and offline resolution of aggregator links.

The same article reaches us through several feeds with different decorations: campaign
parameters (``utm_source=rss``), click ids (``fbclid``), fragments, upper-case hosts,
explicit default ports, and aggregator or redirect wrappers around the publisher's URL.
:func:`canonical_url` gives the form stored as the article's identity, so the copy from the
second feed is recognised without fetching it; :func:`resolve_aggregator_link` unwraps links
whose target is *written inside the link itself*. Neither function touches the network and
neither raises: a URL they cannot improve is returned as it came.

What :func:`resolve_aggregator_link` can and cannot resolve
-----------------------------------------------------------
Resolvable (the target is encoded in the link):

- Google News article links in the older format, ``news.google.com/rss/articles/CBMi...``
  (also ``/articles/``, ``/read/``, ``/__i/rss/rd/articles/``): the id is base64url of a
  small protobuf message whose field 4 is the publisher URL.
- Redirectors carrying the target in a query parameter: ``google.*/url?q=|url=``,
  ``news.google.com/news/url?url=``, ``l.facebook.com/l.php?u=``, ``t.co``-style
  ``out.reddit.com?url=``, ``youtube.com/redirect?q=``, ``linkedin.com/redir/redirect?url=``,
  ``*.safelinks.protection.outlook.com/?url=``, ``slack-redir.net/link?url=``,
  ``steamcommunity.com/linkfilter/?url=``, ``bing.com/news/apiclick.aspx?url=``,
  ``t.umblr.com/redirect?z=``, ``href.li/?<url>``, and any host on a redirect-looking path
  (``/url``, ``/redirect``, ``/redir``, ``/out``, ``/goto``, ``/link``, ``/click``...) whose
  ``url``/``u``/``q``/``target``/``dest``/``to`` parameter is an absolute http(s) URL.
- ``bing.com/ck/a?...&u=a1<base64url>``, Yahoo ``r.search.yahoo.com/.../RU=<url>/RK=...``.
- AMP caches: ``www.google.com/amp/s/<host>/<path>`` and
  ``<host>.cdn.ampproject.org/c/s/<host>/<path>`` (``/s/`` means https).

Not resolvable without a request (returned unchanged; the fetcher follows the redirect
under the SSRF policy; the feed parser prefers an entry's ``feedburner:origLink``):

- Google News links in the current format (the decoded id starts with ``AU_yqL``: an opaque
  key that only Google's servers can map to the publisher URL; :func:`google_news_article_id`
  names them, and :mod:`monitor.net.google_news` asks Google when
  ``http.resolve_google_news`` is set);
- FeedBurner ``feedproxy.google.com/~r/<feed>/~3/<id>/...`` links;
- URL shorteners (``t.co``, ``bit.ly``, ``ow.ly``, ``dlvr.it``, ``trib.al``, ``lnkd.in``...);
- click-tracking hosts that keep the target server-side (``mailchi.mp``, ``*.list-manage``,
  ``links.*``/``click.*`` ESP domains).

A decoded target that is not an absolute http(s) URL (``javascript:``, ``file:``) is ignored.

This is the only module that imports courlan.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

from courlan import normalize_url

# Tracking parameters, lower-case exact names, prefixes and suffixes. The query is not left to
# courlan: its filter drops every parameter whose name merely contains a tracker's word
# (``cid``, ``gameId``, ``gallery``, ``article_uid``, ``sourceid``) and every parameter
# without a value (``news.asp?12345``), and those name articles: two articles under one
# canonical URL are one, the second never fetched. The names courlan drops that are trackers
# and not words an article's address uses are here.
_EXTRA_TRACKERS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid", "twclid",
        "ttclid", "clickid", "partnerid", "igsh", "aff", "affi", "affiliate", "campaign",
        "keyword", "kwd", "medium", "ref", "referer", "referrer", "ref_src", "ref_url",
        "source", "session", "xtor", "_ga", "_gl", "amp",
        "ocid", "icid", "cmpid", "cmp", "smid", "smtyp", "s_cid", "sr_share", "share",
        "soc_src", "soc_trk", "trk", "trkcampaign", "guccounter", "spm", "mbid", "_hsenc",
        "_hsmi", "hsctatracking", "wt.mc_id", "wt.tsrc", "sc_cid", "ito", "dicbo", "rss",
        "feed", "feedtype", "from", "via", "share_id", "cvid", "ei", "ved", "usg", "sa",
        "amp_js_v", "amp_gsa", "__twitter_impression", "_branch_match_id", "mkt_tok",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "at_custom1",
        "at_custom2", "at_custom3", "at_custom4", "ir", "__tn__", "igshid", "si",
        # Session ids (PHP, Java, ColdFusion): a new one per visit, so a feed that writes one
        # into its links would list every article under a new identity at every poll.
        "phpsessid", "jsessionid", "sessionid", "cfid", "cftoken",
    }
)
# A Java session id written into the path (``/story;jsessionid=1A2B?id=5``).
_PATH_SESSION = re.compile(r";jsessionid=[^/?#;]*", re.IGNORECASE)
_TRACKER_PREFIXES = ("utm_", "ns_", "at_", "pk_", "mtm_", "oly_", "vero_", "hsa_", "wt.",
                     "mc_", "ad_", "ads_", "ga_", "gs_", "itm_", "mkt_", "ml_")
_TRACKER_SUFFIXES = ("clid", "_source", "_medium", "_campaign", "_referrer", "_referer")
# RFC 3986 section 6.2.2: hex digits of an escape are case-insensitive, and an escaped
# unreserved character is the character itself.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

_TAB_NEWLINE = re.compile(r"[\t\r\n]")
_HTTP = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)
_VALID_HOST = re.compile(r"^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|[0-9a-f:.]+)$")
_MAX_DEPTH = 4  # wrappers inside wrappers (Google News -> AMP cache -> publisher)

_GOOGLE_NEWS_PATH = re.compile(
    r"^/(?:__i/rss/rd/|rss/)?(?:articles|read)/(?P<id>[A-Za-z0-9_-]{8,})"
)
_YAHOO_RU = re.compile(r"/RU=(?P<url>[^/]+)/R[KS]=")
_AMP_GOOGLE = re.compile(r"^/amp/(?P<secure>s/)?(?P<rest>.+)$")
_AMP_CDN = re.compile(r"^/[cv]/(?P<secure>s/)?(?P<rest>.+)$")
_REDIRECT_PATH = re.compile(
    r"(?:^|/)(?:url|redirect|redir|rd|out|outbound|goto|go|link|links|linkfilter|click|"
    r"l\.php|apiclick\.aspx|exit|away|jump|external|leave|r)/?$",
    re.IGNORECASE,
)
_TARGET_PARAMS = ("url", "u", "q", "target", "dest", "destination", "to", "z", "link",
                  "redirect", "redirect_url", "goto", "out")
# Hosts whose links are redirects whatever the path (their parameter names vary).
_REDIRECT_HOSTS = (
    "l.facebook.com", "lm.facebook.com", "l.instagram.com", "l.messenger.com",
    "out.reddit.com", "slack-redir.net", "t.umblr.com", "safelinks.protection.outlook.com",
    "away.vk.com", "steamcommunity.com", "youtube.com", "linkedin.com",
)


def _host_in(host: str, domains: tuple[str, ...]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _is_tracker(name: str) -> bool:
    lowered = name.lower()
    return (lowered in _EXTRA_TRACKERS or lowered.startswith(_TRACKER_PREFIXES)
            or lowered.endswith(_TRACKER_SUFFIXES))


def _normal_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _escaped(text: str) -> str:
    # surrogateescape: bytes that are not UTF-8 (a latin-1 query) come back as they were
    return quote_plus(text, safe="", errors="surrogateescape")


def _clean_query(query: str) -> str:
    """The query without tracking parameters, sorted by name (stably), each part escaped one
    way (as ``urlencode`` does); a name without a value (``?12345``) stays as it is."""
    kept: list[tuple[str, str]] = []
    for field in query.split("&"):
        if not field:
            continue
        raw_name, equals, raw_value = field.partition("=")
        name = unquote_plus(raw_name, errors="surrogateescape")
        if _is_tracker(name):
            continue
        value = unquote_plus(raw_value, errors="surrogateescape")
        kept.append((name, _escaped(name) + (f"={_escaped(value)}" if equals else "")))
    kept.sort(key=lambda pair: pair[0])
    return "&".join(encoded for _, encoded in kept)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: ``/a/../b/./c`` is ``/b/c``."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") or not path.startswith("/") else "/" + result


def _ascii_host(host: str) -> str:
    """Internationalised host names in their ASCII (punycode) form, which cannot spoof."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def canonical_url(url: str) -> str:
    """The identity of an article URL, for recognising one article across feeds.

    Lower-cases scheme and host (ASCII/punycode form), removes default ports, credentials,
    dot segments, fragments (except ``#!`` routes, which name content), tracking parameters
    (``utm_*``, ``fbclid``, ``gclid``, ``ocid``...), session ids (``PHPSESSID``,
    ``;jsessionid=``) and ``amp``, writes every escape one way
    (``%c3`` is ``%C3``, ``%2D`` is ``-``), and sorts the parameters that remain, which are
    kept, valued or not (``?id=123`` and ``news.asp?12345`` name the article). Returns
    non-http(s) input, and anything that cannot be parsed, stripped but otherwise unchanged.
    """
    # As browsers do (WHATWG URL): tabs and newlines vanish, an inner space is %20.
    text = _TAB_NEWLINE.sub("", url.strip()).replace(" ", "%20")
    if not _HTTP.match(text):
        return url.strip()
    try:
        parts = urlsplit(text)
        fragment = parts.fragment if parts.fragment.startswith("!") else ""
        host = parts.hostname or ""
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        return url.strip()
    netloc = _ascii_host(host)
    if not _VALID_HOST.match(netloc):
        return url.strip()  # not a host anyone can fetch: nothing to normalise
    if ":" in netloc:
        netloc = f"[{netloc}]"  # IPv6 literal
    if port is not None:
        netloc = f"{netloc}:{port}"
    query = _clean_query(parts.query)
    path = _remove_dot_segments(_ESCAPE.sub(_normal_escape, _PATH_SESSION.sub("", parts.path)))
    stripped = urlunsplit((parts.scheme, netloc, path, "", ""))
    try:  # courlan's part: the default port, the path's slashes and escaping
        normalized = normalize_url(stripped, strict=False, trailing_slash=True)
    except (ValueError, AttributeError):
        return urlunsplit((parts.scheme, netloc, path or "/", query, fragment))
    final = urlsplit(normalized)
    host_out = _ascii_host(final.netloc)  # courlan turns punycode back into Unicode
    return urlunsplit((final.scheme, host_out, final.path or "/", query, fragment))


def _protobuf_strings(data: bytes) -> list[bytes]:
    """Length-delimited values of a flat protobuf message, in order (best effort)."""
    values: list[bytes] = []
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while pos < len(data):
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                break
        raise ValueError("truncated varint")

    try:
        while pos < len(data):
            wire_type = varint() & 0x07
            if wire_type == 0:
                varint()
            elif wire_type == 2:
                length = varint()
                values.append(data[pos : pos + length])
                pos += length
            elif wire_type == 1:
                pos += 8
            elif wire_type == 5:
                pos += 4
            else:
                break
    except ValueError:
        pass
    return values


def _google_news_target(article_id: str) -> str | None:
    """Publisher URL inside an old-format Google News article id, or None."""
    try:
        data = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (binascii.Error, ValueError):
        return None
    for value in _protobuf_strings(data):
        text = value.decode("utf-8", "replace")
        if _HTTP.match(text):
            return text
    return None  # current format ("AU_yqL..."): needs Google's servers


def google_news_article_id(url: str) -> str | None:
    """The article id of a Google News link that only Google's servers can resolve (the
    current format; see :mod:`monitor.net.google_news`), or None for any other URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if (parts.hostname or "").lower() != "news.google.com" or parts.scheme not in ("http",
                                                                                 "https"):
        return None
    match = _GOOGLE_NEWS_PATH.match(parts.path)
    if match is None or _google_news_target(match.group("id")) is not None:
        return None
    return match.group("id")


# Google's own hosts (news.google.com, consent.google.com, www.google.co.id...).
_GOOGLE_HOST = re.compile(r"(?:^|\.)google\.(?:[a-z]{2,3}\.)?[a-z]{2,3}$")


def on_google(url: str) -> bool:
    """Whether ``url`` is on one of Google's own hosts: a page there is not a publisher's
    (a Google News link not resolved, a consent page). False for what does not parse."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return False
    return _GOOGLE_HOST.search(host.lower()) is not None


def _absolute(candidate: str | None) -> str | None:
    if not candidate:
        return None
    candidate = candidate.strip()
    if not _HTTP.match(candidate) and _HTTP.match(unquote(candidate)):
        candidate = unquote(candidate)
    return candidate if _HTTP.match(candidate) else None


def _unwrap_once(url: str) -> str | None:
    """The URL one wrapper deeper, or None when ``url`` is not a known wrapper."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path
    params = dict(parse_qsl(parts.query, keep_blank_values=True))

    if host == "news.google.com":
        match = _GOOGLE_NEWS_PATH.match(path)
        if match:
            return _google_news_target(match.group("id"))
    if _host_in(host, ("bing.com",)) and path == "/ck/a" and params.get("u", "").startswith("a1"):
        encoded = params["u"][2:]
        try:
            return _absolute(
                base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
            )
        except (binascii.Error, ValueError):
            return None
    if _host_in(host, ("search.yahoo.com",)):
        match = _YAHOO_RU.search(path)
        if match:
            return _absolute(unquote(match.group("url")))
    if host.startswith("www.google.") or host == "google.com":
        amp = _AMP_GOOGLE.match(path)
        if amp:
            scheme = "https" if amp.group("secure") else "http"
            return _absolute(f"{scheme}://{amp.group('rest')}")
    if host.endswith(".cdn.ampproject.org"):
        amp = _AMP_CDN.match(path)
        if amp:
            scheme = "https" if amp.group("secure") else "http"
            return _absolute(f"{scheme}://{amp.group('rest')}")
    if host == "href.li" and parts.query:
        return _absolute(parts.query)

    known = _host_in(host, _REDIRECT_HOSTS) or (
        (host.startswith("www.google.") or host.startswith("google.")) and path == "/url"
    )
    if known or _REDIRECT_PATH.search(path):
        lowered = {k.lower(): v for k, v in params.items()}
        for name in _TARGET_PARAMS:
            target = _absolute(lowered.get(name))
            if target:
                return target
    return None


def resolve_aggregator_link(url: str) -> str:
    """The publisher URL wrapped in an aggregator or redirect link, or ``url`` unchanged.

    Works offline only (see the module docstring for what is and is not resolvable), up to
    a few nested wrappers deep. The result still goes through the fetcher's address policy.
    """
    current = url.strip()
    for _ in range(_MAX_DEPTH):
        if not _HTTP.match(current):
            break
        target = _unwrap_once(current)
        if target is None or target == current:
            break
        current = target
    return current if current != url.strip() else url
