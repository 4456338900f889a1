"""The parse stage: feed bytes in, :class:`~monitor.models.ParsedFeed` out.

RSS, Atom, RDF and CDF go through feedparser, hardened in :mod:`monitor.feeds.xmlfeed` (the
only module that imports it: no fetch or file open, no entity expansion, ids kept as
written); JSON Feed goes through :mod:`monitor.feeds.jsonfeed`. No exception other than
:class:`ParseError` (or :class:`NotAFeedError`) leaves :func:`parse_feed`: a feed that breaks
the parser is a feed error, never a crashed cycle.
"""

from __future__ import annotations

import dataclasses
import pyexpat
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.errors import NotAFeedError, ParseError
from monitor.feeds.common import (
    EntryDraft,
    build_entries,
    clamp_ttl,
    html_to_text,
    optional_line,
    plain_title,
    resolve_link,
    truncate,
    utc_datetime,
)
from monitor.feeds.encoding import (
    is_utf8,
    legacy_encoding,
    misdeclared_utf8,
    repair_utf8,
    with_charset,
)
from monitor.feeds.jsonfeed import looks_like_json_feed, parse_json_feed
from monitor.feeds.xmlfeed import read_xml_feed, sanitize_html
from monitor.feeds.xmlsafe import looks_like_html, too_complex
from monitor.language_codes import normalize_language
from monitor.models import ParsedFeed
from monitor.text import clean_line, clean_text

__all__ = ["EXPAT_MIN_VERSION", "expat_warning", "parse_feed"]

# expat releases before 2.7.2 have known amplification and recursion weaknesses; the DOCTYPE
# stripping below is the mitigation either way, the warning tells the operator to upgrade.
EXPAT_MIN_VERSION = (2, 7, 2)
_MAX_WARNING_CHARS = 300
# A DOCTYPE with a bracketed internal subset, in an ASCII-compatible encoding (for a warning).
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_SUBSET_SNIFF_BYTES = 8192
_FEED_TYPES = re.compile(r"(rss|atom|rdf|feed)\+xml|feed\+json", re.IGNORECASE)
_SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400,
               "monthly": 30 * 86400, "yearly": 365 * 86400}
# FeedBurner (and Pheedo before it) replaced each <link> with a click-tracking redirect
# (feedproxy.google.com, which no longer resolves reliably) and kept the publisher's URL in
# origLink. feedparser keys FeedBurner's by namespace, Pheedo's (a namespace it
# does not know) by the prefix as written, which its feeds wrote as "pheedo".
_ORIGINAL_LINKS = ("feedburner_origlink", "pheedo_origlink")


def expat_warning() -> str | None:
    """A warning for the start-up log when the linked expat is older than 2.7.2 (case B5)."""
    found = pyexpat.version_info
    if tuple(found) >= EXPAT_MIN_VERSION:
        return None
    wanted = ".".join(str(p) for p in EXPAT_MIN_VERSION)
    return (f"XML parser {pyexpat.EXPAT_VERSION} is older than expat {wanted}; feeds are still "
            "parsed with DOCTYPE declarations removed, but upgrade Python/libexpat")


def parse_feed(
    content: bytes,
    *,
    url: str,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a fetched feed body.

    ``url`` is the final URL of the fetch: relative links resolve against it (or against a
    ``Content-Location`` header). ``content_type`` and ``headers`` are the response's and
    guide the character-encoding choice and the JSON Feed detection. ``now`` is the fetch
    time (default: the current time, as a body is parsed right after it is fetched); an entry
    dated implausibly against it (before 1970, or in the future) is read as undated.

    Returns entries as far as the feed can be read; ill-formed input that was still readable
    is reported in ``warnings``. Raises :class:`NotAFeedError` for an HTML page or another
    document that is not a feed, :class:`ParseError` for anything that cannot be read at all.
    """
    try:
        return _parse(content, url, content_type, headers or {}, now or datetime.now(UTC))
    except (ParseError, MemoryError):
        raise  # MemoryError: a worker's memory cap, reported by the pool as too_complex
    except Exception as exc:  # whatever breaks is this feed's error, not the cycle's
        raise ParseError(f"feed could not be parsed: {_describe(exc)}") from exc


def _parse(content: bytes, url: str, content_type: str | None,
           headers: Mapping[str, str], now: datetime) -> ParsedFeed:
    lowered = {k.lower(): v for k, v in headers.items()}
    if content_type is None:
        content_type = lowered.get("content-type")
    if looks_like_json_feed(content, content_type):
        return parse_json_feed(content, url=url, sanitize_html=lambda m: sanitize_html(m, url),
                               now=now)
    if not content or content.isspace():
        raise ParseError("empty document")
    reason = too_complex(content)
    if reason is not None:
        # too_complex counts toward disabling, like a parse timeout
        raise ParseError.coded(f"feed too complex to parse: {reason}", "too_complex")
    utf8 = is_utf8(content)  # the one UTF-8 decode; each check below needs its answer
    content, replaced = repair_utf8(content, content_type, utf8=utf8)
    # A repaired body was declared UTF-8 (repair_utf8 requires it): nothing misdeclared.
    misdeclared = None if replaced else misdeclared_utf8(content, content_type, utf8=utf8)
    legacy = (None if misdeclared or replaced
              else legacy_encoding(content, content_type, utf8=utf8))
    read_as = content_type
    if misdeclared:
        read_as = with_charset(content_type, "utf-8")
    elif legacy:
        read_as = with_charset(content_type, legacy[0])
    result = read_xml_feed(content, _feedparser_headers(url, read_as, lowered))
    parsed = _to_parsed_feed(result, content, url, content_type, now)
    if misdeclared:
        note = f"document declared as {misdeclared} is UTF-8; read as UTF-8"
        parsed = dataclasses.replace(parsed, warnings=(note, *parsed.warnings))
    if legacy:
        parsed = dataclasses.replace(parsed, warnings=(legacy[1], *parsed.warnings))
    if replaced:  # still degraded (case D3), with every valid character kept
        note = (f"document is not valid UTF-8: {replaced} invalid byte sequence"
                f"{'' if replaced == 1 else 's'} replaced")
        parsed = dataclasses.replace(parsed, warnings=(note, *parsed.warnings))
    return parsed


def _feedparser_headers(url: str, content_type: str | None, lowered: Mapping[str, str],
                        ) -> dict[str, str]:
    """The response headers feedparser uses: type (encoding), location (base), language."""
    base = url
    location = lowered.get("content-location")
    if location:
        try:
            joined = urljoin(url, location.strip())
            if urlsplit(joined).scheme in ("http", "https"):
                base = joined
        except ValueError:
            pass  # an unparseable header: keep the fetch URL as the base
    # Without a type, feedparser would flag "no Content-type specified" whenever any header is
    # passed (and we always pass the base URL). application/xml keeps its no-header behaviour:
    # the XML declaration's encoding, else UTF-8 (local files, tests).
    out = {"content-location": base, "content-type": content_type or "application/xml"}
    language = lowered.get("content-language")
    if language:
        out["content-language"] = language
    return out


def _describe(exc: BaseException) -> str:
    text = clean_line(f"{type(exc).__name__}: {exc}")
    return truncate(text, _MAX_WARNING_CHARS)


def _to_parsed_feed(result: Any, content: bytes, url: str,
                    content_type: str | None, now: datetime) -> ParsedFeed:
    """Turn feedparser's result into a ParsedFeed, or decide it is not a feed at all."""
    feed = result.get("feed") or {}
    raw_entries = result.get("entries") or []
    warnings: list[str] = []
    if result.get("bozo"):
        warnings.append(_describe(result.get("bozo_exception") or ValueError("ill-formed feed")))

    if _INTERNAL_SUBSET.search(content[:_SUBSET_SNIFF_BYTES]):
        warnings.append("DOCTYPE internal subset ignored: declared entities are not expanded")
    if not result.get("version") and not raw_entries:
        # feedparser reports bozo=0 and version '' for an HTML page (case D1).
        if looks_like_html(content, content_type):
            raise NotAFeedError(_html_message(feed, url))
        if not feed:
            if result.get("bozo"):
                raise ParseError(f"not a readable feed: {warnings[0]}")
            raise NotAFeedError("not a feed: no RSS, Atom, RDF or CDF content found")
        # Otherwise a feed with channel data and no items yet (CDF has no version either).

    feed_language = normalize_language(
        feed.get("language") or _detail(feed, "title_detail", "language")
        or _detail(feed, "subtitle_detail", "language")
    )
    drafts: list[EntryDraft] = []
    for index, raw in enumerate(raw_entries):
        try:
            drafts.append(_draft(raw, url, feed_language))
        except Exception as exc:  # noqa: BLE001 - one odd entry must not cost the others
            warnings.append(f"entry {index} skipped: {_describe(exc)}")
    entries, entry_warnings = build_entries(drafts, now)
    warnings.extend(entry_warnings)

    title = feed.get("title")
    return ParsedFeed(
        title=(plain_title(title, is_html=_is_html(feed, "title_detail")) or None)
        if isinstance(title, str) else None,
        link=resolve_link(url, feed.get("link")),
        language=feed_language,
        entries=entries,
        warnings=tuple(warnings),
        ttl_seconds=_ttl_seconds(feed),
    )


def _html_message(feed: Any, url: str) -> str:
    """Say it is an HTML page, naming the feeds it advertises so the operator can fix it."""
    advertised = []
    for link in feed.get("links") or []:
        kind = str(link.get("type") or "") if isinstance(link, Mapping) else ""
        if link.get("rel") == "alternate" and _FEED_TYPES.search(kind):
            href = resolve_link(url, link.get("href"))
            if href:
                advertised.append(truncate(href, 200))
    if advertised:
        return f"an HTML page, not a feed; it advertises: {', '.join(advertised[:3])}"
    return "an HTML page, not a feed"


def _detail(obj: Any, name: str, key: str) -> Any:
    detail = obj.get(name)
    return detail.get(key) if isinstance(detail, Mapping) else None


def _is_html(obj: Any, name: str) -> bool:
    kind = _detail(obj, name, "type")
    return isinstance(kind, str) and ("html" in kind)


def _text(obj: Any, name: str) -> str:
    """A summary-like field as plain-ish text (paragraph breaks kept)."""
    value = obj.get(name)
    if not isinstance(value, str):
        return ""
    if _is_html(obj, f"{name}_detail"):
        return html_to_text(value)
    return clean_text(value).strip()


def _content(raw: Any) -> tuple[str, str | None]:
    """The entry's full content (sanitised HTML or text) and its xml:lang, if it has any."""
    blocks: list[tuple[str, Mapping[str, Any]]] = [
        (b["value"], b) for b in raw.get("content") or []
        if isinstance(b, Mapping) and isinstance(b.get("value"), str) and b["value"].strip()
    ]
    if not blocks:
        return "", None
    # Prefer an HTML rendering (richer) and among equals the longest.
    value, best = max(blocks, key=lambda vb: ("html" in str(vb[1].get("type")), len(vb[0])))
    language = best.get("language")
    return clean_text(value).strip(), language if isinstance(language, str) else None


def _draft(raw: Any, url: str, feed_language: str | None) -> EntryDraft:
    """One feedparser entry, cleaned."""
    content, content_language = _content(raw)
    title = raw.get("title")
    guid = raw.get("id")
    # dict.get: feedparser's own get() answers a missing updated_parsed with published_parsed
    # (and a DeprecationWarning), which would read a placeholder date twice.
    published = (utc_datetime(dict.get(raw, "published_parsed"))
                 or utc_datetime(dict.get(raw, "updated_parsed"))
                 or utc_datetime(dict.get(raw, "created_parsed")))
    language = normalize_language(
        raw.get("language") or _detail(raw, "title_detail", "language")
        or content_language or _detail(raw, "summary_detail", "language")
    ) or feed_language
    return EntryDraft(
        guid=(clean_line(guid) or None) if isinstance(guid, str) else None,
        link=_original_link(raw) or resolve_link(url, raw.get("link")),
        title=plain_title(title, is_html=_is_html(raw, "title_detail"))
        if isinstance(title, str) else "",
        summary=_text(raw, "summary"),
        content=content,
        published=published,
        author=optional_line(raw.get("author")),
        language=language,
        # Atom <updated> and dcterms:modified (feedparser's updated_parsed; it leaves the
        # non-standard dc:modified unparsed, and reading it now would change the
        # fingerprint of every such entry stored: all would look revised at once).
        updated=utc_datetime(dict.get(raw, "updated_parsed")),
        source=_source_name(raw),
    )


def _source_name(raw: Any) -> str | None:
    """The outlet an entry names as its origin: RSS ``<source url="...">Name</source>`` or
    Atom ``<source><title>``, as feedparser reads both."""
    source = dict.get(raw, "source")
    return optional_line(source.get("title")) if isinstance(source, dict) else None


def _original_link(raw: Any) -> str | None:
    """The publisher's URL an aggregator kept beside its redirect link, if it is an absolute
    http(s) URL (a bad one leaves the entry its link, as before)."""
    for key in _ORIGINAL_LINKS:
        value = raw.get(key)
        if not isinstance(value, str):
            continue
        link = clean_line(value)
        try:
            parts = urlsplit(link)
        except ValueError:  # an invalid IPv6 literal
            continue
        if parts.scheme.lower() in ("http", "https") and parts.hostname:
            return link
    return None


def _ttl_seconds(feed: Any) -> int | None:
    """The feed's refresh hint: RSS ``<ttl>`` (minutes), else ``sy:updatePeriod/Frequency``."""
    ttl = _positive_int(feed.get("ttl"))
    if ttl is not None:
        return clamp_ttl(ttl * 60)
    period = feed.get("sy_updateperiod")
    seconds = _SY_PERIODS.get(period.strip().lower()) if isinstance(period, str) else None
    if seconds is None:
        return None
    frequency = _positive_int(feed.get("sy_updatefrequency")) or 1
    return clamp_ttl(max(1, seconds // frequency))


def _positive_int(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    # Bounded length: int() of a huge digit string is slow and the value meaningless.
    if not text.isdigit() or len(text) > 12:
        return None
    number = int(text)
    return number if number > 0 else None
