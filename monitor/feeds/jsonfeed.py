"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1).

Called by :func:`monitor.feeds.parse.parse_feed` when the response is JSON; entries go through the
same :func:`~monitor.feeds.common.build_entries` as RSS and Atom, so keys and hygiene match.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from monitor.errors import NotAFeedError, ParseError
from monitor.feeds.common import (
    EARLIEST_PUBLISHED,
    EntryDraft,
    build_entries,
    html_to_text,
    optional_line,
    plain_title,
    resolve_link,
    truncate,
)
from monitor.language_codes import normalize_language
from monitor.models import ParsedFeed
from monitor.text import clean_line, clean_text

__all__ = ["looks_like_json_feed", "parse_json_feed"]

_VERSION_PREFIX = "https://jsonfeed.org/version/"
_KNOWN_VERSIONS = frozenset({_VERSION_PREFIX + "1", _VERSION_PREFIX + "1.1"})
_JSON_MEDIA = ("application/feed+json", "application/json")
_LEADING = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"

HtmlSanitizer = Callable[[str], str]


def looks_like_json_feed(content: bytes, content_type: str | None) -> bool:
    """True when the body should be read as JSON: it starts with ``{``, or a JSON media type
    announces it and the body does not start like XML (servers mislabel feeds both ways)."""
    head = content[:64].removeprefix(_BOM).lstrip(_LEADING)
    if head.startswith(b"{"):
        return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    is_json_type = media in _JSON_MEDIA or media.endswith("+json")
    return is_json_type and not head.startswith(b"<")


def parse_json_feed(
    content: bytes, *, url: str, sanitize_html: HtmlSanitizer | None = None,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a JSON Feed document.

    ``url`` resolves relative item URLs. ``sanitize_html`` cleans ``content_html`` (the parse
    stage passes feedparser's sanitizer, as RSS and Atom content gets); without one, HTML
    content is reduced to plain text, which is always safe. ``now`` is the fetch time
    (default: the current time); implausible item dates are read as none, as for RSS.

    Raises :class:`ParseError` for invalid JSON and :class:`NotAFeedError` for JSON that is
    not a JSON Feed.
    """
    warnings: list[str] = []
    try:
        document = json.loads(content)
    except UnicodeDecodeError:
        # JSON must be UTF-8; read what we can rather than lose the whole feed (case D3).
        warnings.append("JSON Feed is not valid UTF-8; undecodable bytes replaced")
        document = _loads(content.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {truncate(clean_line(str(exc)), 200)}") from exc
    if not isinstance(document, dict):
        raise NotAFeedError("JSON document is not a JSON Feed (not an object)")

    version = document.get("version")
    items = document.get("items")
    if not isinstance(items, list):
        if isinstance(version, str) and version.startswith(_VERSION_PREFIX):
            warnings.append("JSON Feed has no 'items' list")
            items = []
        else:
            raise NotAFeedError("JSON document is not a JSON Feed (no version, no items)")
    if not isinstance(version, str) or version not in _KNOWN_VERSIONS:  # {} is unhashable
        warnings.append(f"unknown JSON Feed version {truncate(clean_line(str(version)), 80)!r}")

    feed_language = normalize_language(document.get("language"))
    drafts: list[EntryDraft] = []
    for index in range(len(items)):
        # Each item's JSON is dropped once its draft is made: a 50,000-item feed then peaks
        # at its drafts, not at its drafts plus the whole decoded document.
        item, items[index] = items[index], None
        if not isinstance(item, dict):
            warnings.append(f"item {index} skipped: not an object")
            continue
        try:
            drafts.append(_draft(item, url, feed_language, sanitize_html))
        except Exception as exc:  # noqa: BLE001 - one odd item must not cost the others
            warnings.append(f"item {index} skipped: {type(exc).__name__}")
    entries, entry_warnings = build_entries(drafts, now or datetime.now(UTC))
    warnings.extend(entry_warnings)

    title = document.get("title")
    return ParsedFeed(
        title=(plain_title(title, is_html=False) or None) if isinstance(title, str) else None,
        link=resolve_link(url, document.get("home_page_url")),
        language=feed_language,
        entries=entries,
        warnings=tuple(warnings),
    )


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {truncate(clean_line(str(exc)), 200)}") from exc


def _draft(item: Mapping[str, Any], url: str, feed_language: str | None,
           sanitize_html: HtmlSanitizer | None) -> EntryDraft:
    raw_id = item.get("id")
    # Version 1 allowed numeric ids; 1.1 requires strings. Both identify the item.
    if isinstance(raw_id, bool):
        raw_id = None
    guid = clean_line(str(raw_id)) if isinstance(raw_id, str | int | float) else ""
    link = resolve_link(url, item.get("url")) or resolve_link(url, item.get("external_url"))
    title = item.get("title")
    summary = item.get("summary")
    return EntryDraft(
        guid=guid or None,
        link=link,
        title=plain_title(title, is_html=False) if isinstance(title, str) else "",
        summary=html_to_text(summary) if isinstance(summary, str) else "",
        content=_content(item, sanitize_html),
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        author=_author(item),
        language=normalize_language(item.get("language")) or feed_language,
        updated=_date(item.get("date_modified")),
    )


def _content(item: Mapping[str, Any], sanitize_html: HtmlSanitizer | None) -> str:
    markup = item.get("content_html")
    if isinstance(markup, str) and markup.strip():
        if sanitize_html is None:
            return html_to_text(markup)
        return clean_text(sanitize_html(markup)).strip()
    text = item.get("content_text")
    return clean_text(text).strip() if isinstance(text, str) else ""


def _author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")  # 1.1
    candidates = authors if isinstance(authors, list) else [item.get("author")]  # 1.0
    for author in candidates:
        if isinstance(author, Mapping):
            name = optional_line(author.get("name"))
            if name:
                return name
    return None


def _date(value: object) -> datetime | None:
    """An RFC 3339 date as an aware UTC datetime; naive dates are taken as UTC. Also the RFC
    822 dates that generators copy from their RSS code (``Tue, 02 Dec 2026 10:00:00 GMT``)
    where the spec asks for RFC 3339. None for a placeholder before 1970 (Go's zero time), so
    ``date_modified`` is read instead."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value.strip())
        except (ValueError, TypeError, IndexError, OverflowError):
            return None
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed > EARLIEST_PUBLISHED else None
