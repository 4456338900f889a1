"""C8: certificate problems are refused with distinct messages; TLS verifies the host name
while the connection goes to the address that was checked."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.errors import TLSError
from monitor.models import FetchedBody
from tests.fetch_support import LocalServer, MapResolver, NetworkGuard, Pki, fetcher_for, make_pki

pytest.importorskip("cryptography")

Issue = Callable[..., ssl.SSLContext]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, Issue]:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    with NetworkGuard() as g:
        yield g


def _fetch_error(server_context: ssl.SSLContext, client_context: ssl.SSLContext | None
                 ) -> TLSError | FetchedBody:
    with LocalServer(tls=server_context) as server:
        server.route("/feed", body=b"<rss/>")
        resolver = MapResolver({"secure.example": [server.host]})
        with fetcher_for(server, resolver=resolver, ssl_context=client_context) as fetcher:
            try:
                body = fetcher.fetch_feed(f"https://secure.example:{server.port}/feed")
            except TLSError as exc:
                assert exc.url == f"https://secure.example:{server.port}/feed"
                assert server.hits["/feed"] == 0
                return exc
        assert isinstance(body, FetchedBody)
        return body


def test_valid_certificate_verified_against_the_host_name(
        guard: NetworkGuard, pki: tuple[Pki, Issue]) -> None:
    authority, issue = pki
    result = _fetch_error(issue(["secure.example"]), authority.client_context())
    assert isinstance(result, FetchedBody) and result.content == b"<rss/>"
    assert {host for host, _ in guard.connects} == {"127.0.0.1"}  # dialled the checked IP


def test_sec_C8_tls_failures_have_distinct_messages(
        guard: NetworkGuard, pki: tuple[Pki, Issue]) -> None:
    authority, issue = pki
    trusted = authority.client_context()
    self_signed = _fetch_error(issue(["secure.example"], self_signed=True), trusted)
    expired = _fetch_error(issue(["secure.example"], expired=True), trusted)
    mismatch = _fetch_error(issue(["other.example"]), trusted)
    errors = [self_signed, expired, mismatch]
    assert all(isinstance(e, TLSError) and e.code == "tls_error" for e in errors)
    assert "self-signed" in str(self_signed)
    assert "expired" in str(expired)
    assert "does not match" in str(mismatch)
    assert len({str(e).split(" (")[0] for e in errors}) == 3


def test_sec_C8_private_ca_not_trusted_by_default(
        guard: NetworkGuard, pki: tuple[Pki, Issue]) -> None:
    _, issue = pki
    result = _fetch_error(issue(["secure.example"]), None)  # default roots (certifi)
    assert isinstance(result, TLSError)
    assert "not trusted" in str(result) or "self-signed" in str(result)
