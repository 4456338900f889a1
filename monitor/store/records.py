"""What the store hands back: plain frozen dataclasses, never ORM rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from monitor.models import Alert, Document, Evidence


@dataclass(frozen=True)
class FeedState:
    """A feed claimed for polling, with what the poller needs to remember between polls."""

    id: int
    url: str
    name: str
    language: str | None
    interval_seconds: int
    etag: str | None
    last_modified: str | None
    last_full_fetch_at: datetime | None
    consecutive_failures: int
    last_success_at: datetime | None = None
    parse_failures: int = 0  # consecutive polls whose body was not a readable feed
    entry_rate: float | None = None  # moving average of new entries per hour
    poll_interval_seconds: int | None = None  # the adaptive interval in force


@dataclass(frozen=True)
class FeedHealth:
    id: int
    url: str
    name: str
    configured: bool
    # ok | degraded | failing | polling | interrupted | disabled | removed | never polled
    status: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_error_code: str | None
    last_error_message: str | None
    last_warning: str | None
    page_warning: str | None  # pages not read, as of the last poll that fetched any
    next_check_at: datetime
    entries_seen: int
    origin: str = "config"  # config (monitor.yaml) or cli (`monitor feeds add/import`)
    interval_seconds: int = 0  # configured (base) interval
    poll_interval_seconds: int | None = None  # adaptive interval in force, if known
    tags: tuple[str, ...] = ()
    language: str | None = None
    disabled_at: datetime | None = None
    # Paused by the server (429 on the host, 503 + Retry-After on this URL) until then.
    paused_until: datetime | None = None

    @property
    def warning(self) -> str | None:
        """The last poll's warnings and the page note together, as shown to a person."""
        return "; ".join(w for w in (self.last_warning, self.page_warning) if w) or None


@dataclass(frozen=True)
class ItemFailure:
    """A feed entry that could not be stored, and why (the last reason)."""

    feed_id: int
    entry_key: str
    url: str | None
    reason: str
    attempts: int
    last_failed_at: datetime


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of a feed produced, recorded in the feed's health row."""

    ok: bool
    next_check_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    full_fetch: bool = False
    new_entries: int = 0
    warning: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    new_url: str | None = None  # a permanent redirect that passed the address policy
    entry_rate: float | None = None  # adaptive polling state after this poll (success only)
    poll_interval_seconds: int | None = None
    parse_failure: bool = False  # the body was fetched but is not a readable feed
    disable: bool = False  # this failure reached polling.max_failures_before_disable
    paused_until: datetime | None = None  # the server asked us to wait until then
    # Article pages: whether this poll's note on them replaces the feed's (it fetched new
    # pages, or has earlier ones waiting for a try or given up), and that note; else the
    # feed's page note stays as it was.
    replaces_page_note: bool = False
    page_warning: str | None = None
    new_pages: int = 0  # new entries' pages fetched (or tried) ...
    new_pages_unread: int = 0  # ... and of them, those that gave no text of their own


@dataclass(frozen=True)
class Route:
    """One destination an alert goes to; the secret URL stays in the config, not the database."""

    channel: str
    destination_key: str
    destination: str  # masked label


@dataclass(frozen=True)
class SavedArticle:
    article_id: int
    story_id: int
    created: bool
    new_hits: int = 0
    new_notifications: int = 0


@dataclass(frozen=True)
class KnownEntry:
    """An entry this feed listed before, as the store remembers it (revisions' bounds)."""

    fingerprint: str | None  # None: seen before fingerprints were kept (migration 0016)
    revisions: int
    first_seen_at: datetime
    article_id: int | None  # None: skipped, given up, or its article was pruned
    revised_at: datetime | None = None  # when it was last fetched again; None: never
    # The error code its article's page gave when fetched (None: the page came, or no
    # article): a transient one has a later poll fetch the page again.
    page_error: str | None = None


@dataclass(frozen=True)
class UnlistedRetry:
    """An entry the feed no longer lists whose article's page failed transiently: what a poll
    needs to fetch that page again (:func:`monitor.store.revising.unlisted_retries`)."""

    key: str
    known: KnownEntry
    url: str  # the article's canonical URL
    title: str
    published: datetime | None


@dataclass(frozen=True)
class RevisedArticle:
    """What storing a revised entry did: ``updated`` when the article's title or text
    changed; ``retry`` when the revision's page gave no text while the stored article has
    its page's (the fingerprint is kept, so the next poll tries again within the bounds)."""

    article_id: int | None
    story_id: int | None
    updated: bool = False
    retry: bool = False
    new_hits: tuple[str, ...] = ()  # rule ids that hit the article for the first time
    new_notifications: int = 0


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """A representative of a recent story that shares an LSH band (or a title key) with the
    new article; ``signature`` None for one that had no text to sign (a title-only item)."""

    article_id: int
    story_id: int
    published: datetime
    signature: bytes | None
    title: str = ""


@dataclass(frozen=True, slots=True)
class StoryChoice:
    """The story a new article joins (None: a new story), and whether it should represent
    that story in the shared index (a new story's first article always does)."""

    story_id: int | None
    represent: bool


@dataclass(frozen=True)
class StoryLookup:
    """What :meth:`Store.save_article` needs to decide an article's story in its transaction.

    ``choose`` gets the candidates (representatives holding any of ``band_keys`` and
    published within ``window`` of ``published``) and picks the story; a story gets at most
    ``max_representatives`` (more only when concurrent saves of one story race).
    """

    band_keys: Sequence[int]
    published: datetime
    window: timedelta
    max_representatives: int
    choose: Callable[[Sequence[StoryCandidate]], StoryChoice]


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A stored article with a signature (for rebuilding the shared story index)."""

    article_id: int
    story_id: int
    published: datetime
    signature: bytes


@dataclass(frozen=True)
class StoredHit:
    id: int
    rule_id: str
    rule_name: str
    title: str
    url: str
    source: str
    language: str | None
    published: datetime | None
    matched_at: datetime
    evidence: tuple[Evidence, ...]
    story_id: int


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str
    title: str
    text: str
    source: str
    language: str | None
    published: datetime | None
    fetched_at: datetime
    text_source: str = "page"  # "page", or the feed's text ("feed_summary", "feed_content")
    error: str | None = None  # why the page's text is not the article's (its error code)
    # ``language`` was detected (True) or declared and checked (False) when the article was
    # saved; None for an article saved before that was recorded (migration 0023).
    language_detected: bool | None = None

    def document(self) -> Document:
        """What the matcher reads of it (backtests, searches)."""
        return Document(title=self.title, body=self.text, language=self.language,
                        language_detected=self.language_detected)


@dataclass(frozen=True)
class Notice:
    """A service message for the admin channel (feed health, dead notifications)."""

    subject: str
    body: str


@dataclass(frozen=True)
class ClaimedNotification:
    """An outbox row leased to one dispatcher: an alert to render, or a notice.

    ``batched`` rows were released into their channel's digest and are sent together.
    ``digest_key``: the digest message the row was put in before that message was first sent
    (its key); the row that keeps the message has it in ``digest_message``.
    """

    id: int
    kind: str  # alert | notice
    channel: str
    destination_key: str
    destination: str
    rule_id: str
    attempts: int
    created_at: datetime
    batched: bool
    alert: Alert | None = None
    notice: Notice | None = None
    dedupe_key: str = ""
    digest_key: str | None = None
    digest_message: str | None = None

    @property
    def idempotency_key(self) -> str:
        """A stable key naming this row (what it announces, to which destination): the same on
        every attempt and every dispatcher, sent as ``Idempotency-Key`` so receivers can drop
        repeats."""
        return idempotency_key([self])


def idempotency_key(notes: Sequence[ClaimedNotification]) -> str:
    """The key of one message carrying ``notes`` (one row, or a digest's rows)."""
    parts = sorted(f"{n.dedupe_key}\x1f{n.channel}\x1f{n.destination_key}" for n in notes)
    return "nm-" + hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class NotificationInfo:
    id: int
    status: str
    channel: str
    destination: str
    rule_id: str
    title: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None

    def as_json(self) -> dict[str, object]:
        """The one JSON shape of an outbox row: ``/api/v1/notifications`` and
        ``monitor notifications --json`` both give it."""
        return {"id": self.id, "status": self.status, "channel": self.channel,
                "destination": self.destination, "rule": self.rule_id, "title": self.title,
                "attempts": self.attempts, "created_at": self.created_at.isoformat(),
                "next_attempt_at": self.next_attempt_at.isoformat(),
                "sent_at": self.sent_at.isoformat() if self.sent_at else None,
                "last_error": self.last_error}


def evidence_to_json(evidence: tuple[Evidence, ...]) -> str:
    return json.dumps([asdict(e) for e in evidence], ensure_ascii=False)


def evidence_from_json(text: str) -> tuple[Evidence, ...]:
    return tuple(Evidence(**item) for item in json.loads(text))
