"""Article text extraction: trafilatura in killable worker processes (the feed's own text,
when the page gives too little, is :mod:`monitor.extract.feedtext`).

:func:`extract_html` is the pure function (HTML in, :class:`ExtractedText` or ``None`` out).
:class:`Extractor` is the pipeline stage: it runs :func:`extract_html` in a pool of worker
processes that are killed at a wall-clock limit and capped in address space (case E1/E2 of
the reliability catalogue: trafilatura has no timeout of its own and some pages take tens of
seconds or hundreds of megabytes), so one pathological page is abandoned with a recorded
reason and never stalls the cycle.

Options were chosen by measurement on the article-extraction benchmark (181 pages, token F1
against the true article body, see ``tests/benchmarks/bench_extract.py``):

=========================================================  =======  ==============
options                                                     F1       pages / CPU-s
=========================================================  =======  ==============
trafilatura.extract, default options                        0.944    ~33
include_comments=False                                      0.955
include_comments=False, fast=True                           0.958
include_comments=False, favor_precision=True                0.961
... + balanced retry when the result is short               0.964
... + title line, teaser and notice lines dropped           0.966    ~30
... + fast=True (no readability/jusText fallbacks, ours)    0.964    ~49
... + no page metadata (the feed gave title and date)       0.963    ~78
=========================================================  =======  ==============

``fast`` gives up 0.002 F1 for 1.6 times the speed: the fallback extractors rarely win once
precision mode and the balanced retry are in place. Page metadata (title, author, date, site
name: htmldate's date search and trafilatura's author and category passes are half of the
remaining cost) is extracted only when the feed entry lacks a title or a date; otherwise the
feed's title stands in and the site name comes from the page's ``og:site_name``.

This is the only module that imports trafilatura, and only in the worker processes (their
fork server preloads it): the daemon process never runs it, and its import (with htmldate
and justext) is ~5 MB of PSS there.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from datetime import UTC, datetime
from html import unescape
from typing import TYPE_CHECKING, Any

from monitor.errors import ExtractError
from monitor.extract.charset import decode_page
from monitor.extract.noise import remove_noise
from monitor.extract.pool import KillablePool
from monitor.extract.walls import find_wall
from monitor.models import ExtractedText, TextAnalysis
from monitor.text import clean_prose, clean_prose_line

if TYPE_CHECKING:  # an annotation only: the workers' fork server does without pydantic
    from monitor.config import ExtractConfig

# Pre-size cap: the page fetcher already stops at http.page_max_bytes (5 MiB by default);
# this bounds the work for callers that did not (a 20 MB single text node, case E3). The
# beginning is kept because the article normally comes before trailing scripts and JSON.
# A pure function of an extracted text run in the worker beside it (the daemon hands over the
# story signature: see Extractor).
Signer = Callable[[str], bytes | None]
# Likewise, the matcher's analysis of the text, given the article's declared language.
Analyzer = Callable[[str, str | None], TextAnalysis]
MAX_HTML_BYTES = 5 * 2**20

# A precision-first extraction shorter than this is retried in balanced mode and the longer
# result kept: precision mode occasionally latches onto a short boxed notice ("This copy is
# for your personal use...") and returns it instead of the article (+0.003 mean F1).
RETRY_BELOW_CHARS = 500

# trafilatura logs what is an expected outcome here (no HTML tree, nothing extracted) at
# ERROR and WARNING; extract_html returns it as None and its callers say so in their own
# terms, so those lines would only repeat it out of context (``monitor try`` printed three).
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

_OPTIONS: dict[str, Any] = {
    "include_comments": False,  # reader comments are not the article (+0.010 F1)
    "include_tables": True,  # tables in articles are usually data the story is about
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "deduplicate": False,  # cross-document dedup state would make results order-dependent
}
_DATE_PARAMS = {
    "original_date": True,  # publication, not last-modified
    "extensive_search": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}

# Magic numbers of formats that servers send labelled text/html by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"fLaC", "flac"),
    (b"wOFF", "woff"),
    (b"wOF2", "woff2"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x7fELF", "elf"),
    (b"%!PS", "postscript"),
    (b"{\\rtf", "rtf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
)
_SNIFF_BYTES = 2048
# Control bytes that never appear in text (TAB, LF, FF, CR and ESC are left out).
_CONTROL = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
_LANG_ATTR = re.compile(
    rb"""<html\b[^>]{0,500}?\blang\s*=\s*["']?\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*""",
    re.IGNORECASE,
)
_SITE_NAME_TAG = re.compile(
    rb"""<meta\b[^>]{0,600}?property\s*=\s*["']?og:site_name\b[^>]{0,600}>""", re.IGNORECASE)
_CONTENT_ATTR = re.compile(rb"""\bcontent\s*=\s*(?:"([^"<>]{1,200})"|'([^'<>]{1,200})')""",
                           re.IGNORECASE)
_LANG_META = re.compile(
    rb"""<meta\b[^>]{0,300}?(?:http-equiv\s*=\s*["']?content-language|property\s*=\s*["']?og:locale)"""
    rb"""[^>]{0,300}?content\s*=\s*["']?\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*""",
    re.IGNORECASE,
)


def sniff_binary(data: bytes | str) -> str | None:
    """The kind of binary content (``"pdf"``, ``"png"``...) in a body labelled HTML, or None.

    Checks magic numbers (after a BOM or leading whitespace) and, failing that, the share of
    control bytes in the first 2 KiB. UTF-16 text with a BOM is text.
    """
    head = data[:_SNIFF_BYTES]
    raw = head.encode("latin-1", "replace") if isinstance(head, str) else head
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    raw = raw.removeprefix(b"\xef\xbb\xbf").lstrip()
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            return kind
    if raw[4:12] in (b"ftypisom", b"ftypmp42", b"ftypM4A ") or raw[4:8] == b"ftyp":
        return "mp4"
    if raw.startswith(b"RIFF") and raw[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return raw[8:12].decode().strip().lower()
    if raw and raw.translate(None, _CONTROL) != raw:
        controls = len(raw) - len(raw.translate(None, _CONTROL))
        nuls_even = raw[0::2].count(0)
        nuls_odd = raw[1::2].count(0)
        # UTF-16 without a BOM: NULs on one side only, like "<\0h\0t\0m\0l\0".
        utf16 = min(nuls_even, nuls_odd) == 0 and max(nuls_even, nuls_odd) * 4 > len(raw)
        if not utf16 and controls * 10 > len(raw):
            return "binary"
    return None


def _language(raw_head: bytes) -> str | None:
    for pattern in (_LANG_ATTR, _LANG_META):
        match = pattern.search(raw_head)
        if match:
            return match.group(1).decode("ascii").lower()
    return None


def _site_name(raw_head: bytes) -> str | None:
    """``og:site_name`` from the page head, for when trafilatura's metadata pass is skipped."""
    tag = _SITE_NAME_TAG.search(raw_head)
    match = _CONTENT_ATTR.search(tag.group(0)) if tag else None
    if match is None:
        return None
    raw = match.group(1) or match.group(2)
    return _optional(unescape(raw.decode("utf-8", "replace")))


def _parse_date(value: str | None) -> datetime | None:
    """htmldate's output as an aware datetime; a value without an offset is taken as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _optional(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = clean_prose_line(value)
    return cleaned or None


def _run(page: bytes | str, url: str | None, *, precision: bool, metadata: bool) -> Any:
    import trafilatura  # workers only: preloaded by their fork server

    try:
        return trafilatura.bare_extraction(
            page,
            url=url,
            favor_precision=precision,
            fast=True,
            with_metadata=metadata,
            date_extraction_params=_DATE_PARAMS,
            **_OPTIONS,
        )
    except MemoryError:
        raise  # the worker pool reports it as a memory-limit kill
    # trafilatura catches its own ValueError/TypeError; anything else is a parser bug on
    # hostile input and must not take the caller down with a foreign exception type.
    except Exception as exc:
        raise ExtractError.coded(f"trafilatura failed: {type(exc).__name__}: {exc}",
                                 "extract_failed") from exc


def extract_html(
    html: str | bytes, url: str | None = None, *, max_bytes: int = MAX_HTML_BYTES,
    metadata: bool = True, title: str | None = None, signer: Signer | None = None,
    content_type: str | None = None, analyzer: Analyzer | None = None,
    language: str | None = None,
) -> ExtractedText | None:
    """The main text and metadata of an article page, or None when the page has no text.

    ``html`` is the body as fetched (bytes are decoded by the charset of ``content_type``,
    the response's header, else by the page's ``<meta>``, else by trafilatura's guess) or
    already decoded text. Bodies over ``max_bytes`` are cut
    to that size first. ``metadata=False`` skips the page's title, author and date (the
    caller has them from the feed; ``title`` is then the known title, whose repetition atop
    the text is dropped). Raises :class:`ExtractError` with code ``binary_content`` for PDF,
    images and other binary data served as HTML, ``consent_wall`` or ``interstitial`` when
    the text is a cookie consent wall or a bot-check, JavaScript or subscription page
    instead of the article (see :mod:`monitor.extract.walls`), and ``extract_failed`` if the
    parser itself breaks. ``signer`` (a pure function of the text) fills
    :attr:`ExtractedText.signature`; ``analyzer`` (pure too) fills
    :attr:`ExtractedText.analysis`, told the article's declared ``language`` if the caller
    knows one (the entry's or feed's), else the page's.
    """
    kind = sniff_binary(html)
    if kind is not None:
        raise ExtractError.coded(f"binary content ({kind}) served as HTML", "binary_content")
    if len(html) > max_bytes:
        html = html[:max_bytes]
    if isinstance(html, bytes):  # the declared charset first: trafilatura only guesses
        html = decode_page(html, content_type)
    if not html.strip():
        return None

    doc = _run(html, url, precision=True, metadata=metadata)
    text = _text_of(doc)
    if len(text) < RETRY_BELOW_CHARS:
        second = _run(html, url, precision=False, metadata=metadata and doc is None)
        second_text = _text_of(second)
        if len(second_text) > len(text):
            text = second_text
            doc = doc if doc is not None else second
    if doc is None:
        return None
    if metadata:
        title = _optional(doc.title)
    text = remove_noise(text, title)
    if not text.strip():
        return None
    wall = find_wall(text)
    if wall is not None:  # the same text on every page of the site: not the article
        raise ExtractError.coded(wall.describe(), wall.code)
    head = html[:65536]
    raw_head = head if isinstance(head, bytes) else head.encode("utf-8", "replace")
    signature = signer(text) if signer is not None else None
    if not metadata:
        page_language = _language(raw_head)
        return ExtractedText(text=text, source="page", title=title,
                             site_name=_site_name(raw_head), language=page_language,
                             signature=signature,
                             analysis=_analysis(analyzer, text, language or page_language),
                             url=url)
    page_language = _optional(doc.language) or _language(raw_head)
    return ExtractedText(
        text=text,
        source="page",
        title=title,
        author=_optional(doc.author),
        published=_parse_date(doc.date),
        site_name=_optional(doc.sitename),
        language=page_language,
        signature=signature,
        analysis=_analysis(analyzer, text, language or page_language),
        url=url,
    )


def _analysis(analyzer: Analyzer | None, text: str, language: str | None) -> TextAnalysis | None:
    """The analyzer's result, or None when there is none or it failed: the analysis only
    spares the daemon's process work it can still do, so it must not cost the page."""
    if analyzer is None:
        return None
    try:
        return analyzer(text, language)
    except MemoryError:
        raise  # the pool's memory limit: reported as such
    except Exception:  # noqa: BLE001 - the daemon tokenizes and stems the text itself
        return None


def _text_of(doc: Any) -> str:
    if doc is None or not isinstance(doc.text, str):
        return ""
    return clean_prose(doc.text).strip()


def _default_workers() -> int:
    # Honour CPU affinity (containers, taskset), not just the machine's core count.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on macOS
        return os.cpu_count() or 1


class Extractor:
    """The extraction stage: :func:`extract_html` in killable, memory-capped processes.

    Futures resolve to the extracted text (or None when the page has none) or fail with
    :class:`~monitor.errors.ExtractTimeoutError` (killed at ``config.timeout``) or
    :class:`~monitor.errors.ExtractError` whose ``code`` says why: ``memory_limit``,
    ``worker_died``, ``binary_content``, ``consent_wall``, ``interstitial``,
    ``extract_failed``, ``pool_closed``. Either way the worker is replaced and the next page
    is served at once. Thread-safe: fetch threads may call :meth:`extract` concurrently;
    pages beyond the worker count wait in a queue.
    """

    def __init__(self, config: ExtractConfig, *, signer: Signer | None = None,
                 analyzer: Analyzer | None = None) -> None:
        """``signer`` and ``analyzer``: pure, module-level functions (pickled by name) that
        the workers run on each extracted text (see :func:`extract_html`); their modules are
        preloaded in the workers' fork server."""
        self.config = config
        self.workers = config.workers or _default_workers()
        self._signer = signer
        self._analyzer = analyzer
        preload = ["monitor.extract.extractor", "trafilatura"]
        preload += [f.__module__ for f in (signer, analyzer) if f is not None]
        self._pool = KillablePool(
            workers=self.workers,
            timeout=config.timeout,
            memory_limit=config.memory_limit,
            max_tasks=config.recycle_after,
            preload=tuple(preload),
        )

    def submit(self, html: bytes, url: str, *, metadata: bool = True, title: str | None = None,
               content_type: str | None = None, language: str | None = None,
               ) -> Future[ExtractedText | None]:
        """Schedule one page; it is killed ``config.timeout`` seconds after a worker starts it.

        ``metadata``, ``title``, ``content_type`` and ``language`` are :func:`extract_html`'s.
        """
        # Cut before pickling so an oversized body is not copied to the worker first.
        return self._pool.submit(extract_html, html[:MAX_HTML_BYTES], url, metadata=metadata,
                                 title=title, signer=self._signer, content_type=content_type,
                                 analyzer=self._analyzer, language=language)

    def extract(self, html: bytes, url: str, *, metadata: bool = True,
                title: str | None = None, content_type: str | None = None,
                ) -> ExtractedText | None:
        """Extract one page and wait for it (raises the same errors as the future)."""
        try:
            return self.submit(html, url, metadata=metadata, title=title,
                               content_type=content_type).result()
        except CancelledError:  # close() raced with us; say so in the error tree's terms
            raise ExtractError.coded("extraction pool stopped", "pool_closed") from None

    def close(self) -> None:
        """Stop the workers, killing any extraction still running."""
        self._pool.close()

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
