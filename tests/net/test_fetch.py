"""The fetch stage against real loopback servers: conditional GET, encodings, redirects,
statuses, robots.txt, politeness, local files, and the HTTP resource-limit cases C1-C7."""

from __future__ import annotations

import gzip
import itertools
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import httpx2
import pytest

from monitor.config import HttpConfig
from monitor.errors import (
    TRANSIENT_FETCH_CODES,
    BodyTooLargeError,
    DecodingError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    RateLimitedError,
    RobotsDisallowedError,
    ServerError,
    TooManyRedirectsError,
    UnsupportedSchemeError,
)
from monitor.models import FetchedBody, NotModified, Validators
from monitor.net import decoding, sockets, transport
from monitor.net.fetch import Fetcher, cache_max_age
from monitor.net.netpolicy import AddressPolicy
from tests.fetch_support import (
    FakeClock,
    Handler,
    LocalServer,
    MapResolver,
    NetworkGuard,
    RawServer,
    fetcher_for,
    read_request_head,
    wait_until,
)

MiB = 2**20


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    with NetworkGuard() as g:
        yield g


@pytest.fixture
def server(guard: NetworkGuard) -> Iterator[LocalServer]:
    with LocalServer() as s:
        yield s


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 200 KB of gzip that inflates to 200 MiB of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    return b"".join(compressor.compress(zeros) for _ in range(200)) + compressor.flush()


def _names(server: LocalServer, *names: str) -> MapResolver:
    return MapResolver({name: [server.host] for name in names})


# -- basics --------------------------------------------------------------------------------------


def test_conditional_get_returns_validators_then_not_modified(server: LocalServer) -> None:
    def feed(h: Handler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.reply(304, headers={"ETag": '"v1"'})
        else:
            h.reply(200, b"<rss/>", {"ETag": '"v1"', "Last-Modified":
                                     "Mon, 02 Mar 2026 10:00:00 GMT",
                                     "Content-Type": "application/rss+xml",
                                     "Cache-Control": "public, max-age=300"})
    server.routes["/feed"] = feed
    with fetcher_for(server, user_agent="test-agent/1.0") as fetcher:
        first = fetcher.fetch_feed(server.url("/feed"))
        assert isinstance(first, FetchedBody)
        assert first.content == b"<rss/>" and first.status == 200
        assert first.content_type == "application/rss+xml"
        assert first.validators == Validators('"v1"', "Mon, 02 Mar 2026 10:00:00 GMT")
        assert cache_max_age(first.headers) == 300
        second = fetcher.fetch_feed(server.url("/feed"), first.validators)
    assert isinstance(second, NotModified)
    assert second.validators == first.validators  # kept when the 304 omits one
    _, headers = server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Mon, 02 Mar 2026 10:00:00 GMT"
    assert headers["User-Agent"] == "test-agent/1.0"
    assert "gzip" in headers["Accept-Encoding"] and "br" in headers["Accept-Encoding"]


def test_a_validator_no_request_can_carry_is_not_kept_nor_sent(server: LocalServer) -> None:
    # An ETag in UTF-8 (or Latin-1) bytes was kept as text that httpx2 cannot encode in a
    # request header: every later poll of the feed failed with a UnicodeEncodeError.
    utf8_etag = '"Путин"'.encode().decode("latin-1")  # the bytes as the server sends them
    server.route("/feed", 200, b"<rss/>", {"ETag": utf8_etag,
                                           "Last-Modified": "Mon, 02 Mar 2026 10:00:00 GMT"})
    with fetcher_for(server) as fetcher:
        first = fetcher.fetch_feed(server.url("/feed"))
        assert isinstance(first, FetchedBody)
        assert first.validators == Validators(None, "Mon, 02 Mar 2026 10:00:00 GMT")
        # One stored before validators were checked is not sent either.
        second = fetcher.fetch_feed(server.url("/feed"), Validators('"caf\u00e9"', None))
    assert isinstance(second, FetchedBody)
    _, headers = server.requests[-1]
    assert "If-None-Match" not in headers


def test_cache_max_age_parsing() -> None:
    assert cache_max_age({"cache-control": "max-age=60, must-revalidate"}) == 60
    assert cache_max_age({"cache-control": "s-maxage=60"}) is None
    assert cache_max_age({}) is None


@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]), ("br", brotli.compress),
    ("identity", lambda b: b), ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
])
def test_content_encodings_are_decoded(server: LocalServer, encoding: str, encode: object) -> None:
    text = b"<rss>" + b"news " * 20000 + b"</rss>"
    assert callable(encode)
    server.route("/feed", body=encode(text), headers={"Content-Encoding": encoding})
    with fetcher_for(server) as fetcher:
        body = fetcher.fetch_feed(server.url("/feed"))
    assert isinstance(body, FetchedBody) and body.content == text


def test_status_errors(server: LocalServer) -> None:
    server.route("/gone", 404, b"no")
    server.route("/broken", 500, b"oops")
    server.route("/down", 503, b"down")
    with fetcher_for(server) as fetcher:
        for path, status in (("/gone", 404), ("/broken", 500), ("/down", 503)):
            with pytest.raises(HTTPStatusError) as info:
                fetcher.fetch_feed(server.url(path))
            assert info.value.status == status and info.value.url == server.url(path)
            assert not isinstance(info.value, RateLimitedError)  # 503 without Retry-After
            # A 5xx is the server's fault, worth a later try (an article's page is tried
            # again by a later poll); a 404 is not.
            assert isinstance(info.value, ServerError) == (status >= 500)
            assert info.value.transient == (status >= 500)
            assert (info.value.code in TRANSIENT_FETCH_CODES) == (status >= 500)
    # Cloudflare's challenge page (a 503 here): no later try passes it without a browser.
    server.route("/challenge", 503, b"Just a moment...", {"cf-mitigated": "challenge"})
    with fetcher_for(server) as fetcher, pytest.raises(HTTPStatusError) as info:
        fetcher.fetch_page(server.url("/challenge"))
    assert not info.value.transient and "bot challenge" in str(info.value)


def test_transient_fetch_codes_are_the_codes_of_the_transient_fetch_errors() -> None:
    def tree(cls: type[FetchError]) -> list[type[FetchError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in tree(sub))]

    errors = tree(FetchError)
    assert len(errors) >= 13
    assert {e.code for e in errors if e.transient} == TRANSIENT_FETCH_CODES
    assert not {e.code for e in errors if not e.transient} & TRANSIENT_FETCH_CODES


def test_exactly_max_redirects_are_followed(server: LocalServer) -> None:
    for i in range(5):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.route("/r5", body=b"done")
    with fetcher_for(server) as fetcher:
        body = fetcher.fetch_page(server.url("/r0"))
    assert isinstance(body, FetchedBody) and body.content == b"done"
    assert body.url == server.url("/r5") and not body.redirected_permanently


def test_cookies_are_never_stored_or_sent(server: LocalServer) -> None:
    server.route("/set", body=b"x", headers={"Set-Cookie": "session=abc; Path=/"})
    server.route("/check", body=b"y")
    with fetcher_for(server) as fetcher:
        fetcher.fetch_page(server.url("/set"))
        fetcher.fetch_page(server.url("/check"))
    assert "Cookie" not in server.requests[-1][1]


def test_network_failures_become_fetch_errors(guard: NetworkGuard) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now: connection refused

    def garbage(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn, stop)
        conn.sendall(b"this is not HTTP\r\n\r\n")

    def hang_up(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn, stop)

    with RawServer(garbage) as bad, RawServer(hang_up) as rude:
        endpoints = [("127.0.0.1", port), (bad.host, bad.port), (rude.host, rude.port)]
        with Fetcher(HttpConfig(), resolver=MapResolver({}),
                     allow_endpoints=endpoints) as fetcher:
            for url in (f"http://127.0.0.1:{port}/", bad.url(), rude.url(),
                        "http://unknown.example/"):
                with pytest.raises(FetchError) as info:
                    fetcher.fetch_feed(url)
                assert type(info.value).__module__ == "monitor.errors"
                assert info.value.url == url
                assert not isinstance(info.value.__cause__, httpx2.HTTPError)


def test_a_request_on_a_stale_kept_alive_connection_is_sent_once_more(
        guard: NetworkGuard) -> None:
    """A server closes a kept-alive connection when the next request arrives on it (the
    keep-alive race, and httpcore#1110's "Bad file descriptor"): the GET is sent again on a
    new connection. A server that hangs up on a fresh connection gets no second request."""
    def one_answer_per_connection(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn, stop)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        read_request_head(conn, stop)  # the second request on this connection: hang up

    def hang_up(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn, stop)

    with RawServer(one_answer_per_connection) as flaky, RawServer(hang_up) as rude, \
            fetcher_for(flaky, rude) as fetcher:
        for _ in range(3):
            assert fetcher.fetch_page(flaky.url("/a")).content == b"ok"
        assert flaky.accepted == 3  # each reuse failed and was retried on a new connection
        with pytest.raises(FetchError, match="disconnected"):
            fetcher.fetch_page(rude.url("/b"))
        assert rude.accepted == 1


def test_one_pool_per_origin_and_idle_origins_are_closed(guard: NetworkGuard) -> None:
    """Each origin gets its own small pool; a pool unused for the keep-alive expiry is closed
    at the next request, unless a response from it is still being read."""
    now = [0.0]
    with LocalServer() as first, LocalServer() as second:
        for srv in (first, second):
            srv.route("/x", 200, b"x" * 100)
        policy = AddressPolicy((), [(first.host, first.port), (second.host, second.port)])
        guarded = transport.GuardedTransport(
            policy, MapResolver({}), httpx2.create_ssl_context(), max_keepalive=2,
            clock=lambda: now[0])
        with httpx2.Client(transport=guarded) as client:
            assert client.get(first.url("/x")).content == b"x" * 100
            with client.stream("GET", second.url("/x")) as streaming:
                assert guarded.open_pools == 2
                now[0] += transport.KEEPALIVE_EXPIRY + 1
                client.get(first.url("/x"))  # sweeps: the second origin is still in flight
                assert guarded.open_pools == 2
                streaming.read()
            now[0] += transport.KEEPALIVE_EXPIRY + 1
            client.get(first.url("/x"))  # sweeps: the second origin has been idle too long
            assert guarded.open_pools == 1
            assert client.get(second.url("/x")).status_code == 200  # a new pool, as needed
            assert guarded.open_pools == 2


def test_concurrent_fetches_from_many_threads(server: LocalServer) -> None:
    for i in range(8):
        server.route(f"/f{i}", body=f"feed {i}".encode())
    hosts = [f"h{i}.example" for i in range(4)]
    errors: list[BaseException] = []
    results: list[bytes] = []
    lock = threading.Lock()
    with fetcher_for(server, resolver=_names(server, *hosts), per_host_concurrency=2) as fetcher:
        def work(n: int) -> None:
            try:
                body = fetcher.fetch_feed(f"http://{hosts[n % 4]}:{server.port}/f{n % 8}")
                assert isinstance(body, FetchedBody)
                with lock:
                    results.append(body.content)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == [] and len(results) == 40


# -- politeness ------------------------------------------------------------------------------------


def test_per_host_concurrency_limit(server: LocalServer) -> None:
    release = threading.Event()
    state = {"inflight": 0, "max": 0}
    lock = threading.Lock()

    def slow(h: Handler) -> None:
        with lock:
            state["inflight"] += 1
            state["max"] = max(state["max"], state["inflight"])
        release.wait(10)
        with lock:
            state["inflight"] -= 1
        h.reply(200, b"ok")
    server.routes["/slow"] = slow
    server.route("/fast", body=b"fast")
    resolver = _names(server, "busy.example", "calm.example")
    with fetcher_for(server, resolver=resolver, per_host_concurrency=2,
                     total_timeout=20) as fetcher:
        threads = [threading.Thread(target=fetcher.fetch_page,
                                    args=(f"http://busy.example:{server.port}/slow",))
                   for _ in range(6)]
        for thread in threads:
            thread.start()
        try:
            assert wait_until(lambda: state["inflight"] == 2)
            assert not wait_until(lambda: state["inflight"] > 2, timeout=0.3)
            # Another host is not held up by the busy one.
            body = fetcher.fetch_page(f"http://calm.example:{server.port}/fast")
            assert isinstance(body, FetchedBody) and body.content == b"fast"
        finally:
            release.set()
            for thread in threads:
                thread.join(timeout=20)
    assert state["max"] == 2
    assert server.hits["/slow"] == 6


def test_per_host_minimum_interval(server: LocalServer) -> None:
    times: list[float] = []

    def stamp(h: Handler) -> None:
        times.append(time.monotonic())
        h.reply(200, b"ok")
    server.routes["/p"] = stamp
    with fetcher_for(server, per_host_min_interval=0.15) as fetcher:
        for _ in range(3):
            fetcher.fetch_page(server.url("/p"))
    # Starts are spaced on the client; the first request also pays for the connection, so
    # the gaps seen by the server carry a little jitter.
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 2 and all(gap >= 0.1 for gap in gaps) and sum(gaps) >= 0.28


def test_robots_txt_honoured_and_cached(server: LocalServer) -> None:
    server.route("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n\n"
                                     b"User-agent: newsmonitor\nDisallow: /no-bots/\n")
    server.route("/news/1", body=b"article")
    server.route("/private/1", body=b"hidden")
    server.route("/no-bots/1", body=b"hidden")
    with fetcher_for(server, respect_robots_txt=True) as fetcher:
        assert fetcher.fetch_page(server.url("/news/1")).content == b"article"
        assert fetcher.fetch_page(server.url("/private/1")).content == b"hidden"  # other group
        with pytest.raises(RobotsDisallowedError) as info:
            fetcher.fetch_page(server.url("/no-bots/1"))
        assert info.value.code == "robots_disallowed"
        assert info.value.url == server.url("/no-bots/1")
        fetcher.fetch_feed(server.url("/no-bots/1"))  # feeds are not subject to robots.txt
    assert server.hits["/robots.txt"] == 1
    assert server.hits["/no-bots/1"] == 1  # only the feed request


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, True), (500, False)])
def test_robots_txt_status_rules(server: LocalServer, status: int, allowed: bool) -> None:
    server.route("/robots.txt", status, b"")
    server.route("/a", body=b"page")
    with fetcher_for(server, respect_robots_txt=True) as fetcher:
        if allowed:
            assert fetcher.fetch_page(server.url("/a")).content == b"page"
        else:
            with pytest.raises(RobotsDisallowedError):
                fetcher.fetch_page(server.url("/a"))


def test_robots_txt_not_requested_when_disabled(server: LocalServer) -> None:
    server.route("/robots.txt", body=b"User-agent: *\nDisallow: /\n")
    server.route("/a", body=b"page")
    with fetcher_for(server, respect_robots_txt=False) as fetcher:
        assert fetcher.fetch_page(server.url("/a")).content == b"page"
    assert server.hits["/robots.txt"] == 0


# -- local files ---------------------------------------------------------------------------------


def test_read_local(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b"<rss/>")
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 2048)
    with Fetcher(HttpConfig(feed_max_bytes=1024)) as fetcher:
        body = fetcher.read_local(str(feed))
        assert body.content == b"<rss/>" and body.url == str(feed)
        assert body.validators.last_modified is not None
        assert fetcher.read_local(feed.as_uri()).content == b"<rss/>"
        with pytest.raises(BodyTooLargeError):
            fetcher.read_local(str(big))
        with pytest.raises(FetchError):
            fetcher.read_local(str(tmp_path / "missing.xml"))
        with pytest.raises(FetchError):
            fetcher.read_local(str(tmp_path))
        with pytest.raises(UnsupportedSchemeError):
            fetcher.read_local("http://example.com/feed")


# -- C. HTTP resource limits ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gzip", "br"])
def test_sec_C1_compression_bomb_aborted_at_decoded_cap(
        server: LocalServer, gzip_bomb: bytes, kind: str) -> None:
    if kind == "gzip":
        payload = gzip_bomb
    else:
        compressor = brotli.Compressor(quality=5)
        zeros = bytes(MiB)
        payload = b"".join(compressor.process(zeros) for _ in range(200)) + compressor.finish()
    server.route("/bomb", body=payload, headers={"Content-Encoding": kind})
    with fetcher_for(server) as fetcher:  # default cap: 10 MiB for feeds
        tracemalloc.start()
        try:
            start = time.monotonic()
            with pytest.raises(BodyTooLargeError) as info:
                fetcher.fetch_feed(server.url("/bomb"))
            elapsed = time.monotonic() - start
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.code == "body_too_large"
    assert peak < 40 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert elapsed < 5


def test_sec_C2_huge_content_length_rejected_before_reading(guard: NetworkGuard) -> None:
    def liar(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn, stop)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n"
                     b"Content-Type: text/xml\r\n\r\n" + b"x" * 1024)
        stop.wait(10)  # then nothing: reading the body would hang until the deadline

    with RawServer(liar) as raw, fetcher_for(raw, total_timeout=5) as fetcher:
        start = time.monotonic()
        with pytest.raises(BodyTooLargeError) as info:
            fetcher.fetch_feed(raw.url("/feed"))
        assert time.monotonic() - start < 1
    assert "5000000000" in str(info.value)


def test_sec_C3_unbounded_stream_aborted_at_cap(
        guard: NetworkGuard, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = {"bytes": 0}

    def firehose(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn, stop)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n")
        chunk = b"\0" * 65536
        while not stop.is_set() and sent["bytes"] < 2 * 2**30:
            conn.sendall(chunk)
            sent["bytes"] += len(chunk)

    received = {"bytes": 0}
    original = sockets._SocketStream.read

    def counting(self: sockets._SocketStream, max_bytes: int,
                 timeout: float | None = None) -> bytes:
        data = original(self, max_bytes, timeout)
        received["bytes"] += len(data)
        return data
    monkeypatch.setattr(sockets._SocketStream, "read", counting)

    cap = 4 * MiB
    with (RawServer(firehose) as raw, fetcher_for(raw, feed_max_bytes=cap) as fetcher,
          pytest.raises(BodyTooLargeError)):
        fetcher.fetch_feed(raw.url("/feed"))
    assert received["bytes"] <= cap + 64 * 1024 + 1024


def _trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n")
    while not stop.wait(0.1):
        conn.sendall(b"x")  # one byte at a time, always within the read timeout


def _stall_after_status(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n")
    stop.wait(30)


def _trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stop.wait(0.1):
        conn.sendall(b"X")  # a header line that never ends


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(30)  # accept, never read, never answer


@pytest.mark.parametrize("behaviour", [_trickle_body, _stall_after_status, _trickle_headers,
                                       _silent])
def test_sec_C4_slow_servers_cut_at_total_deadline(guard: NetworkGuard, behaviour: object) -> None:
    assert callable(behaviour)
    with RawServer(behaviour) as slow, LocalServer() as good:
        good.route("/ok", body=b"fine")
        with fetcher_for(slow, good, total_timeout=1.0, read_timeout=10,
                         connect_timeout=10) as fetcher:
            start = time.monotonic()
            with pytest.raises(FetchTimeoutError) as info:
                fetcher.fetch_feed(slow.url("/feed"))
            elapsed = time.monotonic() - start
            assert info.value.code == "timeout_total"
            assert "total deadline" in str(info.value)
            assert 0.9 <= elapsed < 2.5, elapsed  # the read timeout (10 s) would be far later
            # The worker is free again: the next feed is fetched normally.
            body = fetcher.fetch_feed(good.url("/ok"))
            assert isinstance(body, FetchedBody) and body.content == b"fine"


def test_sec_C4_read_timeout_is_reported_as_such(guard: NetworkGuard) -> None:
    with RawServer(_stall_after_status) as slow, fetcher_for(
            slow, total_timeout=5, read_timeout=0.3) as fetcher:
        start = time.monotonic()
        with pytest.raises(FetchTimeoutError) as info:
            fetcher.fetch_feed(slow.url("/feed"))
    assert time.monotonic() - start < 2
    assert "read timed out" in str(info.value)


def test_sec_C4_stalled_dns_cut_at_total_deadline(guard: NetworkGuard) -> None:
    unblock = threading.Event()

    def stuck_resolver(host: str, port: int) -> list[str]:
        unblock.wait(10)
        return ["127.0.0.1"]
    try:
        with fetcher_for(resolver=stuck_resolver, total_timeout=0.5) as fetcher:
            start = time.monotonic()
            with pytest.raises(FetchTimeoutError):
                fetcher.fetch_feed("http://slow-dns.example/feed")
            assert time.monotonic() - start < 1.2
    finally:
        unblock.set()


def test_sec_C5_redirect_loop_and_long_chain(server: LocalServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    for i in range(25):
        server.redirect(f"/c{i}", f"/c{i + 1}")
    with fetcher_for(server) as fetcher:
        with pytest.raises(TooManyRedirectsError) as info:
            fetcher.fetch_feed(server.url("/a"))
        assert info.value.code == "too_many_redirects"
        assert server.hits["/a"] + server.hits["/b"] <= 6
        with pytest.raises(TooManyRedirectsError):
            fetcher.fetch_feed(server.url("/c0"))
    assert sum(n for path, n in server.hits.items() if path.startswith("/c")) <= 6


def test_sec_C6_bad_or_unknown_encodings(server: LocalServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    server.route("/fake-gzip", body=b"<rss>plain</rss>", headers={"Content-Encoding": "gzip"})
    server.route("/unknown", body=b"<rss/>", headers={"Content-Encoding": "x-unknown"})
    server.route("/truncated", body=gzip.compress(b"<rss>" * 1000)[:-20],
                 headers={"Content-Encoding": "gzip"})
    server.route("/br", body=brotli.compress(b"<rss/>"), headers={"Content-Encoding": "br"})
    with fetcher_for(server) as fetcher:
        for path in ("/fake-gzip", "/unknown", "/truncated"):
            with pytest.raises(DecodingError) as info:
                fetcher.fetch_feed(server.url(path))
            assert info.value.code == "decoding_error" and info.value.url == server.url(path)
    monkeypatch.setattr(decoding, "BROTLI_AVAILABLE", False)  # as if brotli were missing
    with fetcher_for(server) as fetcher:
        with pytest.raises(DecodingError) as info:
            fetcher.fetch_feed(server.url("/br"))
        assert "brotli" in str(info.value)
    assert "br" not in server.requests[-1][1]["Accept-Encoding"]


def test_sec_C7_retry_after_backs_off_the_whole_host(server: LocalServer) -> None:
    server.route("/ok", body=b"<rss/>")
    for i in range(200):
        server.route(f"/feed{i}", 429, b"slow down", {"Retry-After": "3600"})
    clock = FakeClock()
    resolver = _names(server, "busy.example", "calm.example")
    with fetcher_for(server, resolver=resolver, clock=clock) as fetcher:
        with pytest.raises(RateLimitedError) as info:
            fetcher.fetch_feed(f"http://busy.example:{server.port}/feed0")
        assert info.value.retry_after == 3600 and info.value.status == 429
        for i in range(1, 200):
            with pytest.raises(RateLimitedError) as info:
                fetcher.fetch_feed(f"http://busy.example:{server.port}/feed{i}")
            assert info.value.retry_after is not None and info.value.retry_after > 3599
        feed_hits = sum(n for path, n in server.hits.items() if path.startswith("/feed"))
        assert feed_hits == 1
        # Other hosts (even on the same server) are unaffected.
        assert isinstance(fetcher.fetch_feed(f"http://calm.example:{server.port}/ok"),
                          FetchedBody)
        clock.advance(3599)
        with pytest.raises(RateLimitedError):
            fetcher.fetch_feed(f"http://busy.example:{server.port}/feed5")
        assert sum(n for path, n in server.hits.items() if path.startswith("/feed")) == 1
        clock.advance(2)
        server.route("/feed5", body=b"<rss/>")
        assert isinstance(fetcher.fetch_feed(f"http://busy.example:{server.port}/feed5"),
                          FetchedBody)
    assert sum(n for path, n in server.hits.items() if path.startswith("/feed")) == 2


def test_503_with_retry_after_pauses_only_its_url(server: LocalServer) -> None:
    """A section feed under maintenance does not silence the outlet's other feeds."""
    server.route("/section", 503, b"maintenance", {"Retry-After": "7200"})
    server.route("/main", body=b"<rss/>")
    clock = FakeClock()
    resolver = _names(server, "outlet.example")
    base = f"http://outlet.example:{server.port}"
    with fetcher_for(server, resolver=resolver, clock=clock) as fetcher:
        with pytest.raises(RateLimitedError) as info:
            fetcher.fetch_feed(f"{base}/section")
        assert info.value.status == 503 and info.value.retry_after == 3600  # capped at 1 h
        assert isinstance(fetcher.fetch_feed(f"{base}/main"), FetchedBody)  # not delayed
        with pytest.raises(RateLimitedError):  # the paused URL is not requested again
            fetcher.fetch_feed(f"{base}/section")
        assert server.hits["/section"] == 1
        clock.advance(3601)
        with pytest.raises(RateLimitedError) as info:  # it repeats: its full Retry-After
            fetcher.fetch_feed(f"{base}/section")
        assert info.value.retry_after == 7200 and server.hits["/section"] == 2
        assert isinstance(fetcher.fetch_feed(f"{base}/main"), FetchedBody)
        clock.advance(7201)
        server.route("/section", body=b"<rss/>")
        assert isinstance(fetcher.fetch_feed(f"{base}/section"), FetchedBody)
    assert server.hits["/main"] == 2


def test_sec_C7_503_with_date_and_429_without_retry_after(server: LocalServer) -> None:
    server.route("/maint", 503, b"", {"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"})
    server.route("/plain429", 429, b"")
    clock = FakeClock()
    resolver = _names(server, "a.example", "b.example")
    with fetcher_for(server, resolver=resolver, clock=clock) as fetcher:
        with pytest.raises(RateLimitedError) as info:
            fetcher.fetch_feed(f"http://a.example:{server.port}/maint")
        assert info.value.status == 503
        assert info.value.retry_after == 3600  # a first 503 pauses its URL an hour at most
        with pytest.raises(RateLimitedError) as info:
            fetcher.fetch_feed(f"http://b.example:{server.port}/plain429")
        assert info.value.retry_after is None
        with pytest.raises(RateLimitedError):  # a default back-off still applies
            fetcher.fetch_feed(f"http://b.example:{server.port}/plain429")
        clock.advance(61)
        with pytest.raises(RateLimitedError):
            fetcher.fetch_feed(f"http://b.example:{server.port}/plain429")
    assert server.hits["/plain429"] == 2 and server.hits["/maint"] == 1
