"""Incremental Content-Encoding decoding: correctness, bounded steps, clear errors."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable

import brotli  # type: ignore[import-untyped]
import pytest

from monitor.errors import DecodingError
from monitor.net.decoding import STEP, ContentDecoder, accept_encoding

DATA = os.urandom(50_000) + b"\0" * 1_000_000


def _decode(encoding: str | None, blob: bytes, chunk: int = 4096) -> tuple[bytes, int]:
    decoder = ContentDecoder(encoding)
    out = bytearray()
    largest = 0
    pieces = [decoder.feed(blob[i:i + chunk]) for i in range(0, len(blob), chunk)]
    for produced in [*pieces, decoder.finish()]:
        for piece in produced:
            out += piece
            largest = max(largest, len(piece))
    return bytes(out), largest


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "deflate-raw": lambda b: zlib.compress(b)[2:-4],
    "br": brotli.compress,
    "gzip, br": lambda b: brotli.compress(gzip.compress(b)),
    "identity": lambda b: b,
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
@pytest.mark.parametrize("chunk", [1, 4096, 300_000])
def test_round_trip_in_bounded_steps(name: str, chunk: int) -> None:
    data = DATA if chunk > 1 else DATA[:60_000]  # byte-by-byte only on a small body
    encoding = "deflate" if name == "deflate-raw" else name
    out, largest = _decode(encoding, ENCODERS[name](data), chunk)
    assert out == data
    assert largest <= 2 * STEP


def test_concatenated_gzip_members_and_trailing_padding() -> None:
    blob = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:]) + b"\0\0\0"
    assert _decode("gzip", blob, 1)[0][:2000] == DATA[:2000]
    assert _decode("gzip", blob)[0] == DATA


@pytest.mark.parametrize(("encoding", "blob", "message"), [
    ("gzip", b"<rss>plain text</rss>", "not valid gzip"),
    ("gzip", gzip.compress(DATA)[:-50], "ended before"),
    ("br", b"not brotli at all", "not valid br"),
    ("br", brotli.compress(DATA)[:-10], "ended before"),
    ("deflate", b"x", "too short"),
])
def test_bad_data_raises_decoding_error(encoding: str, blob: bytes, message: str) -> None:
    with pytest.raises(DecodingError, match=message):
        _decode(encoding, blob)


def test_unknown_encoding_raises_at_once() -> None:
    with pytest.raises(DecodingError, match="x-unknown"):
        ContentDecoder("gzip, x-unknown")


def test_empty_body_with_an_encoding_is_empty() -> None:
    assert _decode("gzip", b"") == (b"", 0)


def test_accept_encoding_lists_what_is_decoded() -> None:
    assert accept_encoding() == "gzip, deflate, br"
