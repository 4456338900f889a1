"""Database tables (SQLAlchemy 2.x typed ORM). Only the store package touches these classes.

Uniqueness is what prevents doubles, not luck: a feed entry is recorded once per feed, an
article once per canonical URL, a hit once per (article, rule), and an outbox row once per
(rule, story, channel, destination), so re-processing and concurrent workers cannot alert twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from monitor.models import MAX_CHANNEL_NAME_CHARS, MAX_RULE_ID_CHARS, MAX_RULE_NAME_CHARS
from monitor.store.records import StoredArticle

# Ids are 32-bit INTEGER columns on PostgreSQL (64-bit on SQLite): a larger one names no row,
# and one past 64 bits is an OverflowError in SQLite's driver.
MAX_ROW_ID = 2**31 - 1


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both backends (SQLite keeps no offset, so store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    tags: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    language: Mapped[str | None] = mapped_column(String(16))
    interval_seconds: Mapped[int] = mapped_column(Integer)
    configured: Mapped[bool] = mapped_column(default=True)
    next_check_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(256))
    last_full_fetch_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_new_entry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    last_warning: Mapped[str | None] = mapped_column(Text)
    # The unread-pages note of the last poll that fetched article pages (migration 0017):
    # polls that fetch none keep it, so a site blocking every page stays in the health.
    page_warning: Mapped[str | None] = mapped_column(Text)
    # New pages in a row none of which gave its text, and since when (0017): a site that
    # blocks the fetcher; reset by a poll that reads one (see monitor.store.health).
    pages_unread_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pages_unread_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    entries_seen: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Admin notices about this feed: the open episode ("failing"/"silent") and a counter that
    # makes each episode's notice key unique.
    health_alert: Mapped[str | None] = mapped_column(String(16))
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    health_episode: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Where the feed comes from: "config" (monitor.yaml, managed by sync_feeds) or "cli"
    # (`monitor feeds add/import`, kept until `monitor feeds remove`).
    origin: Mapped[str] = mapped_column(String(16), default="config", server_default="config")
    # Set when the feed was disabled after repeated parse-class failures (case D1); a
    # disabled feed is never claimed until `monitor feeds enable` or a config change.
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    parse_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Adaptive polling (monitor.feeds.polling): the moving average of new entries per hour and the
    # interval it gave at the last successful poll (None until the feed has a rhythm).
    entry_rate: Mapped[float | None] = mapped_column(Float)
    poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    # The server asked us to wait (429: the host, 503 + Retry-After: this URL) until then.
    paused_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class InstanceRow(Base):
    """One running daemon: its heartbeat and last cycle (``monitor status`` lists the live)."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the lease owner name
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_cycle_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_cycle: Mapped[str | None] = mapped_column(Text)  # one-line summary
    # Settings of monitor.yaml changed since the daemon started, which it applies only after a
    # restart (comma-separated dotted names); NULL: none.
    restart_pending: Mapped[str | None] = mapped_column(Text)


class ItemFailureRow(Base):
    """A feed entry that could not be stored (bad text, an oversized field, a constraint), with
    why. The entry stays unseen, so later polls retry it; after ``MAX_ITEM_ATTEMPTS`` failures
    it is recorded as seen (``feed_entries`` with no article) and retried no more."""

    __tablename__ = "item_failures"
    __table_args__ = (UniqueConstraint("feed_id", "entry_key", name="uq_item_failure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    entry_key: Mapped[str] = mapped_column(String(512))
    url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StoryRow(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ArticleRow(Base):
    __tablename__ = "articles"
    # The web view's outlet filter (migration 0009).
    __table_args__ = (Index("ix_articles_source_name", "source_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    source_name: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_source: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    # The language was detected (true) or declared and checked (false); NULL for the rows
    # saved before migration 0023: declared, checked when read.
    language_detected: Mapped[bool | None] = mapped_column(Boolean)
    author: Mapped[str | None] = mapped_column(String(512))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    error: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Distinct stems in the article's language, for the text index (migration 0011); NULL
    # until computed.
    stems: Mapped[str | None] = mapped_column(Text)

    def record(self) -> StoredArticle:
        """The row as the store hands an article out."""
        return StoredArticle(id=self.id, url=self.canonical_url, title=self.title,
                             text=self.text, source=self.source_name, language=self.language,
                             published=self.published_at, fetched_at=self.fetched_at,
                             text_source=self.text_source, error=self.error,
                             language_detected=self.language_detected)


class StoryBandRow(Base):
    """One LSH band of a story representative's signature: the story index every daemon shares.

    A story's first article and up to a few more that differ from those already indexed (its
    representatives, chosen by monitor.stories) each get one row per band. A new article's
    candidate stories are the representatives holding any of its band keys, so the lookup
    costs the same however many copies a story has. Rows older than the story window are
    pruned; an article's rows go with it.
    """

    __tablename__ = "story_bands"
    __table_args__ = (
        PrimaryKeyConstraint("band_key", "article_id", name="pk_story_bands"),
        Index("ix_story_bands_story_id", "story_id"),
        Index("ix_story_bands_published_at", "published_at"),
        # the key's second column: deleting an article scanned the table without this
        Index("ix_story_bands_article_id", "article_id"),
    )

    band_key: Mapped[int] = mapped_column(BigInteger)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FeedEntryRow(Base):
    """Every entry key ever seen per feed: the cheap check that skips known entries."""

    __tablename__ = "feed_entries"
    __table_args__ = (
        UniqueConstraint("feed_id", "entry_key", name="uq_feed_entry"),
        # pruning an article sets its entries' article_id to NULL: found by this index
        Index("ix_feed_entries_article_id", "article_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(512))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The entry as the feed last showed it (FeedEntry.fingerprint; migration 0016): a known
    # entry whose fingerprint changed was revised and may be fetched again
    # (monitor.daemon.revisions). NULL: unknown (seen before 0016), recorded at the next poll.
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    # How often the entry's page was fetched again for a revision (bounded by
    # polling.max_revisions).
    revisions: Mapped[int] = mapped_column(Integer, server_default="0")
    # When it was last fetched again (polling.revise_every apart); NULL: never.
    revised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class HitRow(Base):
    """A rule's match on an article. The two listing orders have their own indexes, so
    ``monitor hits [--rule X] --limit N`` reads N index entries, not every hit (migration 0007)."""

    __tablename__ = "hits"
    __table_args__ = (
        UniqueConstraint("article_id", "rule_id", name="uq_hit_article_rule"),
        Index("ix_hits_rule_matched", "rule_id", "matched_at", "id"),
        Index("ix_hits_matched", "matched_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(MAX_RULE_ID_CHARS))
    rule_name: Mapped[str] = mapped_column(String(MAX_RULE_NAME_CHARS))
    evidence: Mapped[str] = mapped_column(Text)  # JSON list of Evidence
    matched_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NotificationRow(Base):
    """The transactional outbox: written with its hit, then claimed and sent by the dispatcher.

    ``kind`` is ``alert`` (a hit for a rule) or ``notice`` (a service message to the admin
    channel, with ``subject`` and ``body``). ``dedupe_key`` names what the row announces
    (``alert:<rule>:<story>``, ``notice:...``); with the destination it is unique, so one
    story alerts once per rule and destination however often it is seen. Statuses: pending,
    held (waiting for the channel's next digest), digest (released into a digest), sending,
    sent, dead. ``digest_key`` names the digest message a row was put in before that message
    was first sent (its ``Idempotency-Key``); the lowest row of it keeps the message itself
    (``digest_message``), so a retry sends the same message with the same rows.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "channel", "destination_key", name="uq_notification_once"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_story_id", "story_id"),  # pruning a story checks its rows
        Index("ix_notifications_digest_key", "digest_key"),  # a digest is claimed whole
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="alert", server_default="alert")
    dedupe_key: Mapped[str] = mapped_column(String(255))
    hit_id: Mapped[int | None] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"),
                                               index=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(MAX_CHANNEL_NAME_CHARS))
    destination_key: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(512))  # masked, safe to show
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    in_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_key: Mapped[str | None] = mapped_column(String(64))
    digest_message: Mapped[str | None] = mapped_column(Text)  # JSON, on one row of the digest


class DigestStateRow(Base):
    """When each channel last released its held alerts into a digest."""

    __tablename__ = "digest_state"

    channel: Mapped[str] = mapped_column(String(MAX_CHANNEL_NAME_CHARS), primary_key=True)
    last_release_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(16))  # sent | retry | dead | unknown
    error: Mapped[str | None] = mapped_column(Text)


class FeedbackRow(Base):
    """A person's verdict on a hit: relevant or not (one per hit; the last word counts)."""

    __tablename__ = "feedback"

    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id", ondelete="CASCADE"),
                                        primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(128), index=True)
    relevant: Mapped[bool] = mapped_column()
    author: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiTokenRow(Base):
    """An API token: only its SHA-256 is stored; the token is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSessionRow(Base):
    """A signed-in browser: the SHA-256 of its cookie, its user, its CSRF token, its expiry,
    and the fingerprint of the password it signed in with (a new password ends it)."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(128))
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    credential: Mapped[str] = mapped_column(String(64), server_default="")


class SignInFailureRow(Base):
    """A failed sign-in, counted against each key it is kept under (the client, the user
    name, both: see monitor.web.signin): the SHA-256 of the key, never the name typed."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_key_failed_at", "key_hash", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class WebSecretRow(Base):
    """Server secrets made on first use (the key that derives feed tokens)."""

    __tablename__ = "web_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
