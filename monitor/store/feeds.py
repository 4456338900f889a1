"""The feeds table: the feed list (from monitor.yaml and from the CLI), leases and health.

A feed row has an ``origin``. ``config`` rows follow monitor.yaml: :meth:`FeedTable.sync_feeds`
adds, updates and retires them at every start. ``cli`` rows were added with ``monitor feeds
add`` or ``import`` and stay until ``monitor feeds remove``; a URL that monitor.yaml also lists
is managed by the file (its origin becomes ``config``). Retired feeds keep their row
(``configured`` false) so their articles, hits and seen entry keys survive a re-add.

A feed whose body is not a readable feed several polls in a row is disabled
(``disabled_at``); it is not polled again until ``monitor feeds enable`` or until its entry in
monitor.yaml changes. The threshold is decided by :mod:`monitor.feeds.polling`; this module only
records what a :class:`PollOutcome` says (:mod:`monitor.store.polls`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.models import FeedSource
from monitor.store.polls import record_poll
from monitor.store.records import FeedHealth, FeedState, ItemFailure, PollOutcome
from monitor.store.schema import FeedEntryRow, FeedRow, ItemFailureRow
from monitor.text import clean_line, clean_text

AddResult = Literal["added", "updated", "restored", "exists", "configured"]
SYNC_FEEDS_LOCK = 0x6E6D_0001  # pg_advisory_xact_lock key of sync_feeds ("nm" 1)
# An entry that failed to be stored this many polls is given up (recorded as seen).
MAX_ITEM_ATTEMPTS = 3


class FeedTable:
    """Feed methods of :class:`monitor.store.Store` (a mixin: it needs ``write``, ``read``
    and ``clock`` from the store)."""

    clock: Callable[[], datetime]

    def write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def sync_feeds(self, sources: Sequence[FeedSource]) -> None:
        """Make the config-origin feeds follow monitor.yaml; CLI-added feeds are left alone.

        A feed whose entry changed (name, tags, language, interval) starts afresh: the
        adaptive interval is reset to the configured one, and a disabled feed is enabled.
        """
        now = self.clock()
        wanted = {s.url: s for s in sources}
        with self.write() as session:
            # Several daemons starting together on one PostgreSQL run this at the same moment:
            # the advisory lock makes them take turns, and the inserts skip a URL that another
            # one added first instead of failing on the unique key.
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(SYNC_FEEDS_LOCK)))
            rows = {r.url: r for r in session.scalars(select(FeedRow).order_by(FeedRow.id))}
            _insert_missing(session, [s for url, s in wanted.items() if url not in rows], now)
            for url, source in wanted.items():
                row = rows.get(url)
                if row is None:
                    continue
                changed = (row.origin != "config" or not row.configured
                           or _settings(row) != _source_settings(source))
                if not changed:  # nothing to write (20,000 unchanged feeds: 0.7 s to 0.35 s)
                    continue
                if row.interval_seconds != source.interval_seconds:
                    row.next_check_at = min(row.next_check_at,
                                            now + timedelta(seconds=source.interval_seconds))
                    row.entry_rate = None  # a new base interval: learn the rhythm again
                    row.poll_interval_seconds = None
                if changed and row.disabled_at is not None:
                    _enable(row, now)
                _apply(row, source)
                row.origin = "config"
                row.configured = True
            for url, row in rows.items():
                if url not in wanted and row.origin == "config":
                    row.configured = False

    def add_feed(self, source: FeedSource, *, update_existing: bool = True) -> AddResult:
        """Add a feed from the CLI (origin ``cli``); returns what happened.

        ``configured``: monitor.yaml lists the URL (change it there). ``exists``: already in
        the list and ``update_existing`` is false (an import skips it). ``updated``: a CLI
        feed's settings replaced. ``restored``: a removed feed is back, with its history.
        """
        now = self.clock()
        with self.write() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == source.url))
            if row is None:
                session.add(_new_row(source, "cli", now))
                return "added"
            if row.configured and row.origin == "config":
                return "configured"
            if row.configured and not update_existing:
                return "exists"
            result: AddResult = "updated" if row.configured else "restored"
            if not row.configured or row.interval_seconds != source.interval_seconds:
                row.next_check_at = now
                row.entry_rate = None
                row.poll_interval_seconds = None
            _apply(row, source)
            row.origin = "cli"
            row.configured = True
            return result

    def remove_feed(self, url: str) -> Literal["removed", "configured", "unknown"]:
        """Stop polling a CLI-added feed; its articles and hits are kept."""
        with self.write() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == url))
            if row is None or not row.configured:
                return "unknown"
            if row.origin == "config":
                return "configured"
            row.configured = False
            row.lease_owner = None
            row.lease_until = None
            return "removed"

    def enable_feed(self, url: str) -> Literal["enabled", "not_disabled", "unknown"]:
        """Re-enable a feed disabled after parse failures; it is polled at the next tick."""
        now = self.clock()
        with self.write() as session:
            row = session.scalar(select(FeedRow).where(FeedRow.url == url))
            if row is None:
                return "unknown"
            if row.disabled_at is None:
                return "not_disabled"
            _enable(row, now)
            return "enabled"

    def refresh_feeds(self, urls: Sequence[str] | None = None) -> list[str]:
        """Make feeds due now, ignoring back-off and server pauses (``monitor feeds
        refresh``); ``None``: every active feed. Disabled and removed feeds are left alone.
        Returns the URLs made due."""
        now = self.clock()
        with self.write() as session:
            query = select(FeedRow).where(FeedRow.configured.is_(True),
                                          FeedRow.disabled_at.is_(None))
            if urls is not None:
                query = query.where(FeedRow.url.in_(list(urls)))
            rows = list(session.scalars(query))
            for row in rows:
                row.next_check_at = now
                row.paused_until = None
            return [row.url for row in rows]

    def claim_due_feeds(self, owner: str, lease: timedelta, limit: int,
                        due_by: datetime | None = None) -> list[FeedState]:
        """Lease up to ``limit`` feeds due by ``due_by`` (default: now) to ``owner``;
        concurrent daemons never share one."""
        now = self.clock()
        with self.write() as session:
            due = (
                select(FeedRow.id)
                .where(FeedRow.configured.is_(True), FeedRow.disabled_at.is_(None),
                       FeedRow.next_check_at <= (due_by or now),
                       or_(FeedRow.lease_until.is_(None), FeedRow.lease_until < now))
                .order_by(FeedRow.next_check_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(due))
            if not ids:
                return []
            session.execute(
                update(FeedRow).where(FeedRow.id.in_(ids))
                .values(lease_owner=owner, lease_until=now + lease, last_attempt_at=now)
            )
            rows = session.scalars(select(FeedRow).where(FeedRow.id.in_(ids))
                                   .order_by(FeedRow.next_check_at))
            return [
                FeedState(
                    id=r.id, url=r.url, name=r.name, language=r.language,
                    interval_seconds=r.interval_seconds, etag=r.etag,
                    last_modified=r.last_modified, last_full_fetch_at=r.last_full_fetch_at,
                    consecutive_failures=r.consecutive_failures,
                    last_success_at=r.last_success_at, parse_failures=r.parse_failures,
                    entry_rate=r.entry_rate, poll_interval_seconds=r.poll_interval_seconds,
                )
                for r in rows
            ]

    def renew_feed_leases(self, owner: str, feed_ids: Sequence[int], lease: timedelta) -> int:
        """Extend ``owner``'s leases on these feeds to ``lease`` from now: their polls are
        still running (a slow host), and another daemon must not poll them meanwhile.
        Returns how many leases were still ``owner``'s."""
        if not feed_ids:
            return 0
        now = self.clock()
        with self.write() as session:
            result = session.execute(
                update(FeedRow).where(FeedRow.id.in_(feed_ids), FeedRow.lease_owner == owner)
                .values(lease_until=now + lease))
            return int(getattr(result, "rowcount", 0) or 0)

    def record_poll(self, feed_id: int, owner: str, outcome: PollOutcome,
                    interval_seconds: int | None = None) -> None:
        """Store a poll's result in the feed's health row and release its lease.

        ``interval_seconds`` is the feed's configured interval the poll was made with: if
        monitor.yaml changed it meanwhile, the feed started afresh, and the poll's next check
        and adaptive interval are not recorded."""
        now = self.clock()
        with self.write() as session:
            record_poll(session, feed_id, owner, outcome, now, interval_seconds)

    def record_item_failure(self, feed_id: int, entry_key: str, url: str | None,
                            reason: str) -> int:
        """Record that one entry of a feed could not be stored; returns its failure count.

        At :data:`MAX_ITEM_ATTEMPTS` the entry is also recorded as seen (with no article), so
        later polls stop retrying it; its failure row stays as the record of why.
        """
        now = self.clock()
        key = clean_text(entry_key)[:512]
        with self.write() as session:
            row = session.scalar(select(ItemFailureRow).where(
                ItemFailureRow.feed_id == feed_id, ItemFailureRow.entry_key == key))
            if row is None:
                row = ItemFailureRow(feed_id=feed_id, entry_key=key, attempts=0,
                                     first_failed_at=now)
                session.add(row)
            row.attempts += 1
            row.url = clean_text(url)[:2048] if url else None
            row.reason = clean_text(reason)[:2000]
            row.last_failed_at = now
            if row.attempts >= MAX_ITEM_ATTEMPTS and session.scalar(select(FeedEntryRow.id).where(
                    FeedEntryRow.feed_id == feed_id, FeedEntryRow.entry_key == key)) is None:
                session.add(FeedEntryRow(feed_id=feed_id, entry_key=key, article_id=None,
                                         first_seen_at=now))
            return row.attempts

    def item_failures(self, feed_id: int | None = None) -> list[ItemFailure]:
        """Entries that could not be stored, newest failure first."""
        query = select(ItemFailureRow).order_by(ItemFailureRow.last_failed_at.desc())
        if feed_id is not None:
            query = query.where(ItemFailureRow.feed_id == feed_id)
        with self.read() as session:
            return [ItemFailure(feed_id=r.feed_id, entry_key=r.entry_key, url=r.url,
                                reason=r.reason, attempts=r.attempts,
                                last_failed_at=r.last_failed_at)
                    for r in session.scalars(query)]

    def release_feeds(self, owner: str) -> None:
        """Give back every lease held by ``owner`` (graceful shutdown)."""
        with self.write() as session:
            session.execute(update(FeedRow).where(FeedRow.lease_owner == owner)
                            .values(lease_owner=None, lease_until=None))

    def feed_health(self) -> list[FeedHealth]:
        """Every feed row (active, disabled and removed) with its health, by name."""
        now = self.clock()
        with self.read() as session:  # columns, not ORM rows: 20,000 feeds took 0.5 s
            return [_health(r, now) for r in session.execute(
                select(*_HEALTH_COLUMNS).order_by(FeedRow.name))]

    def active_feeds(self) -> Iterator[FeedHealth]:
        """The feed list as it stands (both origins, disabled ones included), by name."""
        return (h for h in self.feed_health() if h.configured)


def _insert_missing(session: Session, sources: Sequence[FeedSource], now: datetime) -> None:
    """INSERT ... ON CONFLICT (url) DO NOTHING for each new config feed."""
    if not sources:
        return
    values = []
    for source in sources:
        row = _new_row(source, "config", now)
        values.append({column.key: getattr(row, column.key)
                       for column in FeedRow.__table__.columns
                       if getattr(row, column.key, None) is not None})
    insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
              else sqlite_insert)
    for value in values:  # one statement each: the rows' key sets may differ
        session.execute(insert(FeedRow).values(**value).on_conflict_do_nothing(
            index_elements=["url"]))


def _new_row(source: FeedSource, origin: str, now: datetime) -> FeedRow:
    row = FeedRow(url=source.url, origin=origin, configured=True, next_check_at=now,
                  consecutive_failures=0, parse_failures=0, entries_seen=0)
    _apply(row, source)
    return row


def _apply(row: FeedRow, source: FeedSource) -> None:
    row.name = clean_line(source.name)[:512]
    row.tags = ",".join(source.tags)
    row.language = source.language
    row.interval_seconds = source.interval_seconds


def _settings(row: FeedRow) -> tuple[str, str, str | None, int]:
    return row.name, row.tags, row.language, row.interval_seconds


def _source_settings(source: FeedSource) -> tuple[str, str, str | None, int]:
    return (clean_line(source.name)[:512], ",".join(source.tags), source.language,
            source.interval_seconds)


def _enable(row: FeedRow, now: datetime) -> None:
    row.disabled_at = None
    row.parse_failures = 0
    row.next_check_at = now


_HEALTH_COLUMNS = tuple(getattr(FeedRow, name) for name in (
    "id", "url", "name", "configured", "disabled_at", "last_attempt_at", "last_success_at",
    "consecutive_failures", "lease_until", "last_warning", "page_warning", "last_error_code",
    "last_error_message", "next_check_at", "entries_seen", "origin", "interval_seconds",
    "poll_interval_seconds", "tags", "language", "paused_until"))


def _health(row: Any, now: datetime) -> FeedHealth:
    """``row``: the :data:`_HEALTH_COLUMNS` of a feed."""
    if not row.configured:
        status = "removed"
    elif row.disabled_at is not None:
        status = "disabled"
    elif row.last_attempt_at is None:
        status = "never polled"
    elif row.consecutive_failures:
        status = "failing"
    elif row.last_success_at is None or row.last_success_at < row.last_attempt_at:
        # Claimed (last_attempt_at) but no outcome recorded since: being polled while the
        # lease runs, else the poll was cut short (a stop, a crash) and is retried.
        running = row.lease_until is not None and row.lease_until > now
        status = "polling" if running else "interrupted"
    elif row.last_warning or row.page_warning:
        status = "degraded"
    else:
        status = "ok"
    return FeedHealth(
        id=row.id, url=row.url, name=row.name, configured=row.configured, status=status,
        last_attempt_at=row.last_attempt_at, last_success_at=row.last_success_at,
        consecutive_failures=row.consecutive_failures, last_error_code=row.last_error_code,
        last_error_message=row.last_error_message, last_warning=row.last_warning,
        page_warning=row.page_warning,
        next_check_at=row.next_check_at, entries_seen=row.entries_seen, origin=row.origin,
        interval_seconds=row.interval_seconds, poll_interval_seconds=row.poll_interval_seconds,
        tags=tuple(t for t in row.tags.split(",") if t), language=row.language,
        disabled_at=row.disabled_at, paused_until=row.paused_until,
    )
