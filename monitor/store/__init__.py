"""The store stage: SQL persistence for feeds, articles, stories, hits and the outbox."""

from monitor.store.migrate import current_revision, head_revision, upgrade
from monitor.store.outbox import Outbox
from monitor.store.records import (
    ClaimedNotification,
    FeedHealth,
    FeedState,
    Notice,
    NotificationInfo,
    PollOutcome,
    Route,
    SavedArticle,
    StoredArticle,
    StoredHit,
)
from monitor.store.store import Store, utc_now

__all__ = [
    "ClaimedNotification",
    "FeedHealth",
    "FeedState",
    "Notice",
    "NotificationInfo",
    "Outbox",
    "PollOutcome",
    "Route",
    "SavedArticle",
    "Store",
    "StoredArticle",
    "StoredHit",
    "current_revision",
    "head_revision",
    "upgrade",
    "utc_now",
]
