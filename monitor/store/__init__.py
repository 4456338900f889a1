"""The store stage: SQL persistence for feeds, articles, stories, hits and the outbox.

Owns the schema and its Alembic migrations, the engine (SQLite in WAL mode or PostgreSQL), the
records the stages exchange with the database, leases that share work between daemons, the
outbox, feed health, and what the web view reads (Browse) and writes (Access: feedback, API
tokens, sessions). Every other stage reads and writes the database through these names.

Must not import: any stage package above it (net, feeds, extract, rules, stories, delivery,
daemon, cli). Only the foundation (config, errors, models, text).
"""

from __future__ import annotations

from monitor.store.access import Access, ApiToken, WebSession
from monitor.store.browse import (
    Browse,
    HitView,
    Outlet,
    RuleStats,
    StoryDetail,
    StoryFilter,
    StoryPage,
    StorySummary,
)
from monitor.store.engine import safe_url, sqlite_path
from monitor.store.feeds import MAX_ITEM_ATTEMPTS
from monitor.store.health import feed_health_notices
from monitor.store.integrity import DATABASE_DAMAGED, quick_check
from monitor.store.lexemes import MAX_LEXEME, STEM_MARK, ArticleStemmer, index_lexemes
from monitor.store.migrate import current_revision, head_revision, upgrade
from monitor.store.ops import (
    Instance,
    OutboxStats,
    clock_offset,
    feed_status_counts,
    forget_instance,
    heartbeat,
    live_instances,
    outbox_stats,
    paused_feeds,
    ping,
    release_dead_leases,
)
from monitor.store.outbox import Outbox
from monitor.store.records import (
    ClaimedNotification,
    FeedHealth,
    FeedState,
    ItemFailure,
    KnownEntry,
    Notice,
    NotificationInfo,
    PollOutcome,
    RevisedArticle,
    Route,
    SavedArticle,
    StoredArticle,
    StoredHit,
    StoryCandidate,
    StoryChoice,
    StoryLookup,
    StoryMember,
    UnlistedRetry,
    idempotency_key,
)
from monitor.store.retention import PruneCount, prune, prune_plan
from monitor.store.saving import NewArticle
from monitor.store.schema import MAX_ROW_ID
from monitor.store.store import Store, utc_now
from monitor.store.textindex import INDEX_BATCH, STEMS_COLUMN, TextIndex, asks_for_stems
from monitor.store.vocabulary import ArticleVocabulary

__all__ = [
    "DATABASE_DAMAGED",
    "INDEX_BATCH",
    "MAX_ITEM_ATTEMPTS",
    "MAX_LEXEME",
    "MAX_ROW_ID",
    "STEMS_COLUMN",
    "STEM_MARK",
    "Access",
    "ApiToken",
    "ArticleStemmer",
    "ArticleVocabulary",
    "Browse",
    "ClaimedNotification",
    "FeedHealth",
    "FeedState",
    "HitView",
    "Instance",
    "ItemFailure",
    "KnownEntry",
    "NewArticle",
    "Notice",
    "NotificationInfo",
    "Outbox",
    "OutboxStats",
    "Outlet",
    "PollOutcome",
    "PruneCount",
    "RevisedArticle",
    "Route",
    "RuleStats",
    "SavedArticle",
    "Store",
    "StoredArticle",
    "StoredHit",
    "StoryCandidate",
    "StoryChoice",
    "StoryDetail",
    "StoryFilter",
    "StoryLookup",
    "StoryMember",
    "StoryPage",
    "StorySummary",
    "TextIndex",
    "UnlistedRetry",
    "WebSession",
    "asks_for_stems",
    "clock_offset",
    "current_revision",
    "feed_health_notices",
    "feed_status_counts",
    "forget_instance",
    "head_revision",
    "heartbeat",
    "idempotency_key",
    "index_lexemes",
    "live_instances",
    "outbox_stats",
    "paused_feeds",
    "ping",
    "prune",
    "prune_plan",
    "quick_check",
    "release_dead_leases",
    "safe_url",
    "sqlite_path",
    "upgrade",
    "utc_now",
]
