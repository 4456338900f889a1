"""Incremental Content-Encoding decoding with a bounded output per step.

httpx2 decodes a compressed chunk in one call, so a 64 KiB gzip chunk of zeros becomes 64 MiB
at once before any size check. Here every stage hands out about :data:`STEP` bytes at a time
at most, so the fetcher can count decoded bytes against its cap and stop a gzip bomb after
reading little more than the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

from monitor.errors import DecodingError

STEP = 64 * 1024

try:  # brotli is a dependency, but decode "br" only with the bounded-output API (>= 1.2).
    import brotli  # type: ignore[import-untyped]

    BROTLI_AVAILABLE = hasattr(brotli.Decompressor(), "can_accept_more_data")
except ImportError:  # pragma: no cover - exercised only where brotli is missing
    BROTLI_AVAILABLE = False


def accept_encoding() -> str:
    """The Accept-Encoding header value for the encodings this module decodes."""
    return "gzip, deflate, br" if BROTLI_AVAILABLE else "gzip, deflate"


class _Stage(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...
    def finish(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), STEP):
            yield data[start:start + STEP]

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (wbits 31) or deflate: zlib-wrapped as the RFC says, raw deflate as IIS sends."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._gzip = name == "gzip"
        self._obj: zlib._Decompress | None = zlib.decompressobj(31) if self._gzip else None
        self._started = False
        self._head = b""
        self._ended = False  # the current stream reached its end
        self._between = b""  # bytes after a gzip member, waiting to show a new member
        self._junk = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self._started = True
        if self._obj is None:  # deflate: choose zlib or raw from the first two bytes
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            zlib_header = data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(15 if zlib_header else -15)
        yield from self._run(data)

    def _run(self, pending: bytes) -> Iterator[bytes]:
        while self._obj is not None:
            if self._ended:
                # A new gzip member may follow (concatenated gzip); zero padding or other bytes
                # after the end are ignored, as browsers do.
                if not self._gzip or self._junk:
                    return
                self._between = (self._between + pending).lstrip(b"\0")
                if len(self._between) < 2:
                    return
                if self._between[:2] != b"\x1f\x8b":
                    self._junk = True
                    return
                self._obj, self._ended = zlib.decompressobj(31), False
                pending, self._between = self._between, b""
            try:
                out = self._obj.decompress(pending, STEP)
            except zlib.error as exc:
                raise DecodingError(f"body is not valid {self._name} data: {exc}") from exc
            if out:
                yield out
            if self._obj.eof:
                self._ended = True
                pending = self._obj.unused_data
                continue
            pending = self._obj.unconsumed_tail
            # Done when the input is used up and zlib had no more output pending.
            if not pending and len(out) < STEP:
                return

    def finish(self) -> Iterator[bytes]:
        if not self._started:
            return
        if self._obj is None:
            raise DecodingError(f"{self._name} body is too short to decode")
        yield from self._run(b"")
        if not self._ended:
            raise DecodingError(f"{self._name} body ended before the end of the compressed data")


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self._started = True
        try:
            out = self._obj.process(data, output_buffer_limit=STEP)
            # The limit stops the output buffer from growing (it may end a little past STEP);
            # the rest of this input's output comes from further calls with empty input.
            while out:
                yield out
                out = self._obj.process(b"", output_buffer_limit=STEP)
        except brotli.error as exc:
            raise DecodingError(f"body is not valid br data: {exc}") from exc

    def finish(self) -> Iterator[bytes]:
        if self._started and not self._obj.is_finished():
            raise DecodingError("br body ended before the end of the compressed data")
        return iter(())


def _stage(name: str) -> _Stage:
    if name == "identity":
        return _Identity()
    if name in ("gzip", "x-gzip"):
        return _Zlib("gzip")
    if name == "deflate":
        return _Zlib("deflate")
    if name == "br":
        if not BROTLI_AVAILABLE:
            raise DecodingError("Content-Encoding br needs the brotli package (>= 1.2)")
        return _Brotli()
    raise DecodingError(f"unsupported Content-Encoding {name!r}")


class ContentDecoder:
    """Decodes a body encoded with ``Content-Encoding`` (a comma list, applied in order).

    Raises :class:`DecodingError` at construction for an unknown encoding, and while feeding
    for data that does not decode. ``feed`` and ``finish`` yield chunks of about
    :data:`STEP` bytes at most.
    """

    def __init__(self, content_encoding: str | None) -> None:
        names = [t.strip().lower() for t in (content_encoding or "").split(",") if t.strip()]
        # The last encoding applied is the first to undo.
        self._stages = [_stage(name) for name in reversed(names)] or [_Identity()]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode one chunk of the raw body."""
        return self._through(0, self._stages[0].feed(data))

    def finish(self) -> Iterator[bytes]:
        """Flush every stage at the end of the body; raise if the data was truncated."""
        for index, stage in enumerate(self._stages):
            yield from self._through(index, stage.finish())

    def _through(self, index: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
        if index + 1 >= len(self._stages):
            yield from chunks
            return
        for chunk in chunks:
            yield from self._through(index + 1, self._stages[index + 1].feed(chunk))
