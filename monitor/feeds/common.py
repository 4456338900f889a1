"""What every feed format shares once parsed: text cleaning, languages and entry identity.

``monitor.feeds.parse`` (RSS/Atom/RDF/CDF through feedparser) and ``monitor.feeds.jsonfeed``
(JSON Feed) both turn their input into :class:`EntryDraft` values and hand them to
:func:`build_entries`, so identity keys, duplicate handling and text hygiene are the same
whatever the format.

Entry identity (``FeedEntry.key``) must survive an edited headline (users-and-peers #2), so it
prefers the feed's own id, then the link, and only then a hash of the text. Feeds that give
every item the same id (Miniflux's case, reliability case D4) are detected per feed and those
items fall back to their links.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from monitor.models import FeedEntry
from monitor.text import clean_line, clean_text

# Titles and authors are one-line labels: a feed that puts a novel (or a 200-million-character
# entity expansion) in a title must not carry it into every alert and index.
MAX_TITLE_CHARS = 1000
MAX_AUTHOR_CHARS = 300
# Ids and links up to this length are kept readable in the key; longer ones are hashed so keys
# stay short enough for an indexed column.
MAX_KEY_VALUE_CHARS = 200
# The feed's own polling hint is clamped to 30 days so a bogus <ttl> cannot overflow a column.
MAX_TTL_SECONDS = 30 * 24 * 3600
# Publication dates outside (EARLIEST_PUBLISHED, fetch time + FUTURE_SLACK] are placeholders,
# not dates: Go's zero time 0001-01-01 (Hugo writes it for undated posts), Unix 0, "9999".
# They are read as no date, so the fetch time stands in as for any undated item. The slack
# covers clocks and mislabelled time zones (at most 26 hours apart).
EARLIEST_PUBLISHED = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

_WHITESPACE_RUN = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """One entry as read from a feed, cleaned, before its identity key is chosen."""

    guid: str | None
    link: str | None
    title: str
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    author: str | None = None
    language: str | None = None
    updated: datetime | None = None
    source: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing could identify or describe the entry (no id, link or text)."""
        return not (self.guid or self.link or self.title or self.summary or self.content)

    def signature(self) -> tuple[str | None, str | None, str, str, str]:
        """What makes two listings the same item (a feed that repeats an item verbatim)."""
        return (self.guid, self.link, self.title, self.summary, self.content)


# --- text --------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, with line breaks at block boundaries."""

    _BLOCKS = frozenset({
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    })
    # Their content is never text a reader sees.
    _SKIPPED = frozenset({"script", "style", "template", "noscript", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skip_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept.

    Uses the standard library's tolerant tokenizer: it resolves no entity declarations and
    loads nothing, so it is safe on hostile markup.
    """
    if "<" not in markup and "&" not in markup:
        return _tidy(clean_text(markup))
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    return _tidy(clean_text("".join(extractor.parts)))


def _tidy(text: str) -> str:
    """Collapse runs of spaces within lines and blank-line runs into one paragraph break."""
    lines = [_WHITESPACE_RUN.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def plain_title(value: str, *, is_html: bool) -> str:
    """A title as one clean line of plain text, at most :data:`MAX_TITLE_CHARS` long.

    HTML titles lose their tags; plain ones only have entities decoded, because feeds often
    escape twice (``AT&amp;amp;T``) while a literal ``<`` in plain text is real text.
    """
    text = html_to_text(value) if is_html else html.unescape(value)
    return truncate(clean_line(text), MAX_TITLE_CHARS)


def optional_line(value: object, limit: int = MAX_AUTHOR_CHARS) -> str | None:
    """A short one-line field (author, feed title) or None when absent or blank."""
    if not isinstance(value, str):
        return None
    text = truncate(clean_line(html.unescape(value)), limit)
    return text or None


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def resolve_link(base: str, href: object) -> str | None:
    """``href`` made absolute against ``base``; None when absent or unparseable.

    Unsafe schemes (``javascript:``, ``file:``) are kept as written: the fetch policy rejects
    them with a recorded ``unsupported_scheme`` error, which an operator can see.
    """
    if not isinstance(href, str):
        return None
    link = clean_line(href)
    if not link:
        return None
    try:
        absolute = urljoin(base, link) if base else link
        urlsplit(absolute)  # raises ValueError on e.g. an invalid IPv6 literal
    except ValueError:
        return None
    return absolute


def utc_datetime(parts: object) -> datetime | None:
    """A timezone-aware UTC datetime from a UTC ``time.struct_time``-like 9-tuple; None for
    none or a placeholder before 1970 (so a reader falls through to the next date field)."""
    if not isinstance(parts, tuple) or len(parts) < 6:
        return None
    try:
        year, month, day, hour, minute, second = (int(p) for p in parts[:6])
        # Leap seconds (60, 61) exist in feeds but not in datetime.
        value = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if value > EARLIEST_PUBLISHED else None


def plausible_date(value: datetime | None, now: datetime) -> datetime | None:
    """``value`` if it can be a publication date fetched at ``now``, else None (unknown)."""
    if value is None or value <= EARLIEST_PUBLISHED or value - now > FUTURE_SLACK:
        return None
    return value


def clamp_ttl(seconds: int | None) -> int | None:
    """Keep a positive polling hint, clamped to :data:`MAX_TTL_SECONDS`."""
    if seconds is None or seconds <= 0:
        return None
    return min(seconds, MAX_TTL_SECONDS)


# --- identity ----------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _key(prefix: str, value: str) -> str:
    if len(value) > MAX_KEY_VALUE_CHARS:
        return f"{prefix}:sha256:{_digest(value)}"
    return f"{prefix}:{value}"


def _hash_key(draft: EntryDraft) -> str:
    # Title and summary identify an item without id or link; content only when both are empty.
    text = f"{draft.title}\n{draft.summary}" if (draft.title or draft.summary) else draft.content
    return f"hash:{_digest(text)}"


def build_entries(
    drafts: Iterable[EntryDraft], now: datetime,
) -> tuple[tuple[FeedEntry, ...], list[str]]:
    """Choose a stable key for each draft and return the entries and the warnings raised.

    ``now`` is the fetch time: a date that cannot be a publication date by then (see
    :func:`plausible_date`) leaves the entry undated.

    - An item with no id, link, title or text is skipped with a warning.
    - An item listed twice verbatim is kept once.
    - Key order of preference: ``guid:<id>``, ``link:<url>``, ``hash:<sha256 of title+summary>``.
      A value shared by distinct items of this feed cannot identify them, so those items move
      down the list (a feed with one GUID on every item is keyed by link, case D4).
    - Entries whose keys still collide are indistinguishable; the first is kept.
    """
    warnings: list[str] = []
    kept: list[EntryDraft] = []
    seen: set[tuple[str | None, str | None, str, str, str]] = set()
    skipped = repeated = 0
    for draft in drafts:
        if draft.is_empty:
            skipped += 1
            continue
        signature = draft.signature()
        if signature in seen:
            repeated += 1
            continue
        seen.add(signature)
        kept.append(draft)
    if skipped:
        warnings.append(f"{skipped} entr{'y' if skipped == 1 else 'ies'} skipped: "
                        "no id, link, title or text")
    if repeated:
        warnings.append(f"{repeated} repeated entr{'y' if repeated == 1 else 'ies'} dropped")

    keys = _choose_keys(kept, warnings)
    entries: list[FeedEntry] = []
    used: set[str] = set()
    collided = 0
    for draft, key in zip(kept, keys, strict=True):
        if key in used:
            collided += 1
            continue
        used.add(key)
        # The parse boundary: whatever a format's reader did, no entry leaves with NUL,
        # controls or a lone surrogate in its text (clean_text is idempotent and cheap on
        # text that is clean already).
        entries.append(FeedEntry(
            key=clean_text(key), url=clean_line(draft.link) if draft.link else None,
            title=clean_line(draft.title), summary=clean_text(draft.summary),
            content=clean_text(draft.content), published=plausible_date(draft.published, now),
            author=clean_line(draft.author) if draft.author else None,
            language=draft.language, updated=plausible_date(draft.updated, now),
            source=clean_line(draft.source) if draft.source else None,
        ))
    if collided:
        warnings.append(f"{collided} entr{'y' if collided == 1 else 'ies'} dropped: "
                        "indistinguishable from another entry")
    return tuple(entries), warnings


def _choose_keys(drafts: list[EntryDraft], warnings: list[str]) -> list[str]:
    """Walk each draft down guid -> link -> hash until its value is not shared."""
    guid_counts = Counter(d.guid for d in drafts if d.guid)
    shared_guids = {g for g, n in guid_counts.items() if n > 1}
    if shared_guids:
        affected = sum(guid_counts[g] for g in shared_guids)
        sample = truncate(sorted(shared_guids)[0], 80)
        warnings.append(f"{affected} entries share {len(shared_guids)} id(s) (e.g. {sample!r}); "
                        "keyed by link instead")

    keys: list[str | None] = [None] * len(drafts)
    by_link: dict[str, list[int]] = defaultdict(list)
    for i, draft in enumerate(drafts):
        if draft.guid and draft.guid not in shared_guids:
            keys[i] = _key("guid", draft.guid)
        elif draft.link:
            by_link[draft.link].append(i)
    for link, indexes in by_link.items():
        if len(indexes) == 1:
            keys[indexes[0]] = _key("link", link)
    return [key if key is not None else _hash_key(d) for key, d in zip(keys, drafts, strict=True)]
