"""The fetch stage: feeds and article pages over HTTP(S), and configured local feed files.

One :class:`Fetcher` serves the pipeline's whole thread pool (it is thread-safe). It owns a
single ``httpx2.Client`` over :class:`~monitor.net.transport.GuardedTransport` and enforces what
httpx2 does not:

* **Address policy** (:mod:`monitor.net.netpolicy`): http(s) only; loopback, private, link-local,
  CGNAT, multicast, reserved and IPv4-mapped addresses refused in every notation; the host is
  resolved once and the checked address is the one dialled; every redirect hop is checked
  again. ``http.allow_private_networks`` opens named networks or hosts (warned at start-up).
* **Limits**: connect and read timeouts plus a total deadline over the whole fetch (redirects,
  robots.txt, waiting for a host slot, slow bodies); a cap on the *decoded* body, checked
  against Content-Length first and while decompressing incrementally; at most
  ``max_redirects`` redirects, followed here rather than by httpx2.
* **Politeness** (:mod:`monitor.net.politeness`): User-Agent, per-host concurrency and spacing,
  per-host back-off after 429/503 with Retry-After (further requests fail fast without
  touching the network), robots.txt for pages.

Environment proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) are
**ignored**: the client has ``trust_env=False``, because a proxy would do its own DNS and
connect where the address policy cannot see. Cookies are never stored or sent.

Every failure is a :class:`~monitor.errors.FetchError` subclass whose ``url`` is the URL (or
redirect hop) at fault; no httpx2 exception leaves this module. ``304 Not Modified`` is a
return value (:class:`~monitor.models.NotModified`).
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import stat
import time
import unicodedata
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path
from ssl import SSLContext
from urllib.parse import urlsplit

import httpx2

from monitor.config import HttpConfig
from monitor.errors import (
    BodyTooLargeError,
    DecodingError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    InvalidURLError,
    RateLimitedError,
    RobotsDisallowedError,
    ServerError,
    TooManyRedirectsError,
    UnsupportedSchemeError,
)
from monitor.models import FetchedBody, NotModified, Validators
from monitor.net.deadline import Deadline, deadline_scope
from monitor.net.decoding import ContentDecoder, accept_encoding
from monitor.net.masking import mask_text_urls
from monitor.net.netpolicy import (
    DEFAULT_PORTS,
    AddressPolicy,
    Resolver,
    check_url,
    default_resolver,
    normalize_host,
)
from monitor.net.politeness import (
    DEFAULT_429_BACKOFF_SECONDS,
    BackoffRegistry,
    HostLimiter,
    RobotsCache,
    RobotsRules,
    parse_retry_after,
)
from monitor.net.transport import GuardedTransport

__all__ = ["Fetcher", "cache_max_age", "check_url", "url_problem"]

log = logging.getLogger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_SUCCESS = frozenset({200, 203})
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Never store or send cookies: one feed must not see another site's state."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


def cache_max_age(headers: Mapping[str, str]) -> int | None:
    """``max-age`` seconds from a Cache-Control header (``FetchedBody.headers``), if any."""
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return int(match.group(1)) if match else None


class Fetcher:
    """Fetches feeds and pages under the address policy, limits and politeness rules.

    ``resolver(host, port)`` returns the host's addresses (default: the system resolver);
    ``clock`` is the time source for per-host back-off and the robots.txt cache (default
    ``time.monotonic``; deadlines and spacing always use the real monotonic clock because they
    pace real I/O). ``ssl_context`` replaces the default verification (certifi roots), e.g. a
    private CA. ``allow_endpoints`` lists exact ``(address, port)`` pairs exempt from the
    address policy; it is for tests serving from loopback and is not a configuration setting.
    """

    def __init__(self, config: HttpConfig, *, resolver: Resolver | None = None,
                 clock: Callable[[], float] | None = None, ssl_context: SSLContext | None = None,
                 allow_endpoints: Collection[tuple[str, int]] = ()) -> None:
        self._config = config
        self._policy = AddressPolicy(config.allow_private_networks, allow_endpoints)
        if self._policy.opens_private_networks:
            log.warning("http.allow_private_networks is set (%s): the fetcher may reach these "
                        "private networks and hosts; feed and article links can point there too",
                        ", ".join(config.allow_private_networks))
        clock = clock or time.monotonic
        self._limiter = HostLimiter(config.per_host_concurrency, config.per_host_min_interval)
        self._backoff = BackoffRegistry(clock)
        self._robots = RobotsCache(clock)
        transport = GuardedTransport(
            self._policy, resolver or default_resolver,
            ssl_context or httpx2.create_ssl_context(trust_env=False),
            max_keepalive=config.per_host_concurrency, dns_threads=max(4, config.workers))
        self._client = httpx2.Client(
            transport=transport,
            trust_env=False,  # HTTP_PROXY & co. are ignored: see the module docstring
            follow_redirects=False,  # redirects are followed (and re-checked) by _follow
            timeout=httpx2.Timeout(connect=config.connect_timeout, read=config.read_timeout,
                                  write=config.read_timeout, pool=config.total_timeout),
            headers={"User-Agent": config.user_agent, "Accept-Encoding": accept_encoding()},
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections; the fetcher must not be used afterwards."""
        self._client.close()

    def fetch_feed(self, url: str, validators: Validators | None = None,
                   ) -> FetchedBody | NotModified:
        """GET a feed, conditionally when ``validators`` are given; body capped at
        ``feed_max_bytes``. Returns :class:`NotModified` on 304 (with the server's new
        validators, or the old ones when it sent none)."""
        headers = {"Accept": FEED_ACCEPT}
        # (A validator stored before they were checked on receipt may not be sendable.)
        if validators is not None and (etag := _sendable(validators.etag)):
            headers["If-None-Match"] = etag
        if validators is not None and (since := _sendable(validators.last_modified)):
            headers["If-Modified-Since"] = since
        sent = validators if len(headers) > 1 else None
        with deadline_scope(self._config.total_timeout) as deadline:
            return self._follow(url, headers, self._config.feed_max_bytes, deadline,
                                sent=sent, robots=False)

    def paused(self, url: str) -> bool:
        """Whether a request to ``url`` would now be refused unsent: its host (a 429) or the
        URL itself (a 503 with Retry-After) asked us to wait, and the wait is not over."""
        try:
            host = _host_key(httpx2.URL(url))
        except (httpx2.InvalidURL, UnicodeError, ValueError):
            return False  # the fetch will say what is wrong with it
        return bool(host) and (self._backoff.remaining(host) > 0
                               or self._backoff.remaining(host, url) > 0)

    def fetch_page(self, url: str, *, crawl: bool = True) -> FetchedBody:
        """GET an article page, body capped at ``page_max_bytes``; honours robots.txt (cached
        per origin) when ``respect_robots_txt`` is set, raising
        :class:`RobotsDisallowedError` for a disallowed page. ``crawl=False``: a request that
        is not a crawl of the site (an interface a feed's link leads to), which robots.txt,
        as for feeds, does not govern."""
        with deadline_scope(self._config.total_timeout) as deadline:
            result = self._follow(url, {"Accept": PAGE_ACCEPT}, self._config.page_max_bytes,
                                  deadline, robots=crawl and self._config.respect_robots_txt)
        return _unconditional(result)

    def post_form(self, url: str, form: str) -> FetchedBody:
        """POST an ``application/x-www-form-urlencoded`` body (already encoded) under the same
        policy, caps and deadline as a page; a redirect in answer is an error (never
        followed: it would repeat or drop the POST)."""
        headers = {"Accept": "*/*",
                   "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        with deadline_scope(self._config.total_timeout) as deadline:
            result = self._follow(url, headers, self._config.page_max_bytes, deadline,
                                  robots=False, method="POST", content=form.encode("utf-8"))
        return _unconditional(result)

    def read_local(self, path: str) -> FetchedBody:
        """Read a feed configured as a local file (a path or ``file://`` URL), trusted because
        an operator configured it; capped at ``feed_max_bytes``. Only regular files are read."""
        if path.startswith("file:"):
            parts = urlsplit(path)
            if parts.netloc not in ("", "localhost"):
                raise UnsupportedSchemeError("file URLs must name a local file", url=path)
            file_path = Path(urllib.request.url2pathname(parts.path))
        elif "://" in path:
            raise UnsupportedSchemeError("read_local reads files; fetch URLs with fetch_feed",
                                         url=path)
        else:
            file_path = Path(path)
        cap = self._config.feed_max_bytes
        try:
            info = file_path.stat()
            if not stat.S_ISREG(info.st_mode):  # a FIFO or device could block or never end
                raise FetchError(f"{file_path} is not a regular file", url=path)
            if info.st_size > cap:
                raise BodyTooLargeError(f"file is {info.st_size} bytes, over the cap of {cap}",
                                        url=path)
            with file_path.open("rb") as handle:
                content = handle.read(cap + 1)
        except OSError as exc:
            raise FetchError(f"cannot read {file_path}: {exc.strerror or exc}", url=path) from exc
        if len(content) > cap:
            raise BodyTooLargeError(f"file grew over the cap of {cap} bytes", url=path)
        return FetchedBody(url=path, status=200, content=content, validators=Validators(
            last_modified=formatdate(info.st_mtime, usegmt=True)))

    # -- the request loop ------------------------------------------------------------------

    def _follow(self, url: str, headers: dict[str, str], cap: int, deadline: Deadline, *,
                sent: Validators | None = None, robots: bool,
                truncate: bool = False, method: str = "GET",
                content: bytes | None = None) -> FetchedBody | NotModified:
        """Request ``url``, following up to ``max_redirects`` redirects, each hop re-checked
        (a GET's only)."""
        current = url
        redirects = 0
        permanent = True
        while True:
            with _errors_at(current):
                check_url(current)
                # Literal addresses are refused before anything else, as both the stdlib and
                # httpx2 read the URL (the connect-time check is the one that really counts).
                split = urlsplit(current)
                scheme_port = DEFAULT_PORTS[split.scheme.lower()]
                self._policy.check_host(split.hostname or "", split.port or scheme_port,
                                        url=current)
                target = httpx2.URL(current)
                host = _host_key(target)
                port = target.port or scheme_port
                self._policy.check_host(host, port, url=current)
                if robots:
                    self._check_robots(target, host, port, deadline)
                self._backoff.check(host, url=current)
                with self._limiter.slot(host, deadline.at):
                    response = self._client.send(
                        self._client.build_request(method, target, headers=headers,
                                                   content=content), stream=True)
                    try:
                        status = response.status_code
                        if status not in _REDIRECTS:
                            return self._result(response, current, host, cap=cap, sent=sent,
                                                truncate=truncate,
                                                permanent=redirects > 0 and permanent)
                        location = response.headers.get("location")
                    finally:
                        response.close()
                if location is None or method != "GET":
                    raise HTTPStatusError(f"HTTP {status} redirect "
                                          + ("without a Location" if location is None
                                             else f"in answer to a {method}"), status=status)
                if redirects >= self._config.max_redirects:
                    raise TooManyRedirectsError(
                        f"more than {self._config.max_redirects} redirects")
                if any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in location):
                    raise InvalidURLError("redirect Location with a backslash or control "
                                          "character", url=location)
                next_url = str(target.join(location))
            redirects += 1
            permanent = permanent and status in _PERMANENT
            current = next_url

    def _result(self, response: httpx2.Response, url: str, host: str, *, cap: int,
                sent: Validators | None, truncate: bool,
                permanent: bool) -> FetchedBody | NotModified:
        status = response.status_code
        headers = {key.lower(): value for key, value in response.headers.items()}
        if status == 304 and sent is not None:
            return NotModified(url=url, validators=Validators(
                etag=_sendable(headers.get("etag", sent.etag)),
                last_modified=_sendable(headers.get("last-modified", sent.last_modified))))
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status == 429:  # a rate limit counts this client's requests: pause the host
            wait = retry_after if retry_after is not None else DEFAULT_429_BACKOFF_SECONDS
            self._backoff.note(host, wait, status)
            hint = f"; Retry-After {retry_after:.0f} s" if retry_after is not None else ""
            raise RateLimitedError(f"HTTP {status} {response.reason_phrase}{hint}; host "
                                   f"{host} paused", url=url, status=status,
                                   retry_after=retry_after)
        if status == 503 and retry_after is not None:  # this resource is down: pause the URL
            paused = self._backoff.note_url(url, retry_after, status)
            raise RateLimitedError(f"HTTP {status} {response.reason_phrase}; Retry-After "
                                   f"{retry_after:.0f} s; this URL paused {paused:.0f} s",
                                   url=url, status=status, retry_after=paused)
        self._backoff.succeeded(url)
        if status not in _SUCCESS:
            # A 5xx is worth another try later, unless it is a bot challenge (Cloudflare marks
            # every challenge page so, whatever its status): a client without a browser's
            # JavaScript never passes one.
            challenged = headers.get("cf-mitigated") == "challenge"
            failed = ServerError if status >= 500 and not challenged else HTTPStatusError
            hint = " (a bot challenge page)" if challenged else ""
            raise failed(f"HTTP {status} {response.reason_phrase}".rstrip() + hint, url=url,
                         status=status)
        return FetchedBody(
            url=url, status=status, content=self._read_body(response, headers, cap, truncate),
            content_type=headers.get("content-type"), headers=headers,
            validators=Validators(etag=_sendable(headers.get("etag")),
                                  last_modified=_sendable(headers.get("last-modified"))),
            redirected_permanently=permanent)

    @staticmethod
    def _read_body(response: httpx2.Response, headers: Mapping[str, str], cap: int,
                   truncate: bool) -> bytes:
        """The decoded body, never holding more than ``cap`` decoded bytes."""
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > cap and not truncate:
            raise BodyTooLargeError(f"Content-Length {declared} is over the cap of {cap} bytes")
        decoder = ContentDecoder(headers.get("content-encoding"))
        body = bytearray()
        for piece in _decoded(decoder, response.iter_raw()):
            if len(body) + len(piece) > cap:
                if truncate:
                    body += piece[:cap - len(body)]
                    break
                raise BodyTooLargeError(f"decoded body is over the cap of {cap} bytes")
            body += piece
        return bytes(body)

    # -- robots.txt ------------------------------------------------------------------------

    def _check_robots(self, target: httpx2.URL, host: str, port: int,
                      deadline: Deadline) -> None:
        origin = f"{target.scheme}://{host}:{port}"
        robots_url = str(target.copy_with(path="/robots.txt", query=None, fragment=None))
        rules = self._robots.rules(origin, lambda: self._load_robots(robots_url, deadline),
                                   deadline.at)
        if not rules.can_fetch(self._config.user_agent, str(target)):
            raise RobotsDisallowedError(f"robots.txt of {origin} disallows this page")

    def _load_robots(self, robots_url: str, deadline: Deadline) -> tuple[RobotsRules, bool]:
        """Fetch and parse robots.txt; returns the rules and whether they are temporary."""
        try:
            result = self._follow(robots_url, {"Accept": "text/plain"}, ROBOTS_MAX_BYTES,
                                  deadline, robots=False, truncate=True)
        except RateLimitedError:
            raise
        except HTTPStatusError as exc:
            return RobotsRules.from_answer(exc.status), exc.status >= 500
        except (DecodingError, TooManyRedirectsError):  # unreadable counts as unavailable
            return RobotsRules.from_answer(404), False
        content = result.content if isinstance(result, FetchedBody) else b""
        return RobotsRules.from_answer(None, content), False


def _host_key(target: httpx2.URL) -> str:
    """The host as the address policy and politeness know it (IDNA, normalised)."""
    return normalize_host(target.raw_host.decode("ascii"))


def _unconditional(result: FetchedBody | NotModified) -> FetchedBody:
    """The body of a request sent without validators: a 304 to it is a broken server's."""
    if isinstance(result, NotModified):
        raise HTTPStatusError("unexpected 304 Not Modified", url=result.url, status=304)
    return result


def _decoded(decoder: ContentDecoder, raw_chunks: Iterator[bytes]) -> Iterator[bytes]:
    for raw in raw_chunks:
        yield from decoder.feed(raw)
    yield from decoder.finish()


def _sendable(value: str | None) -> str | None:
    """A validator (ETag, Last-Modified) as it can be sent back: printable ASCII, else None
    (the next fetch is then a full one). A server's ETag in UTF-8 or Latin-1 bytes is read as
    text no request header can carry: sent back, it failed every later poll of the feed."""
    return value if value and value.isascii() and value.isprintable() else None


def url_problem(url: str) -> str | None:
    """Why a fetch of ``url`` would be refused for its text alone, in words, or None: what
    :func:`check_url` refuses, and a host name httpx cannot encode (a zero-width space or a
    soft hyphen in it). ``monitor check`` asks it of configured feed URLs: a space or a port
    of 99999 passed, and then every poll failed."""
    try:
        check_url(url)
    except FetchError as exc:
        return str(exc)
    try:
        with _errors_at(url):
            httpx2.URL(url)
    except FetchError as exc:
        hidden = [ch for ch in urlsplit(url).netloc if unicodedata.category(ch)[0] in "CZ"]
        if hidden:  # else the message reads as if the URL shown were wrong as it looks
            return (f"{exc}: the host has an invisible character, U+{ord(hidden[0]):04X} "
                    f"{unicodedata.name(hidden[0], '')}".rstrip())
        return str(exc)
    return None


@contextmanager
def _errors_at(url: str) -> Iterator[None]:
    """Give errors the hop URL and translate whatever httpx2 raised into monitor.errors."""
    try:
        yield
    except FetchError as exc:
        if exc.url is None:
            exc.url = url
        raise
    # httpx2's messages may quote the URL: masked (monitor.net.masking).
    except httpx2.InvalidURL as exc:
        # Without the component it quotes ("Invalid port: 'pa55word'" for a redirect to
        # ``http://user:pa55word#x@host/``: urlsplit's reading of a password).
        reason = str(exc).split(": ", 1)[0]
        raise InvalidURLError(f"invalid URL: {mask_text_urls(reason)}", url=url) from exc
    except httpx2.UnsupportedProtocol as exc:
        raise UnsupportedSchemeError(mask_text_urls(str(exc)), url=url) from exc
    except httpx2.TimeoutException as exc:
        raise FetchTimeoutError(f"timed out: {mask_text_urls(str(exc))}", url=url) from exc
    except (httpx2.HTTPError, httpx2.StreamError) as exc:
        raise FetchError(f"request failed: {mask_text_urls(str(exc))}", url=url) from exc
