"""The transactional outbox: notification rows written with their hits, sent by the dispatcher.

A row moves ``pending`` -> ``sending`` (leased to one dispatcher) -> ``sent``, or back to
``pending`` with a later ``next_attempt_at`` after a transient failure, or to ``dead`` after a
permanent failure or the retry deadline. Every attempt is recorded. A lease that expires (the
dispatcher crashed) makes the row claimable again, so nothing is lost; the one duplicate window
is a crash after the send succeeded and before :meth:`Outbox.record_sent` committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from monitor.hygiene import clean_text
from monitor.models import Alert
from monitor.store.records import ClaimedNotification, NotificationInfo, evidence_from_json
from monitor.store.schema import (
    ArticleRow,
    DeliveryAttemptRow,
    HitRow,
    NotificationRow,
)
from monitor.store.store import Store

STATUSES = ("pending", "sending", "sent", "dead")


class Outbox:
    """Claiming and settling outbox rows on top of a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def claim(self, owner: str, lease: timedelta, limit: int = 50) -> list[ClaimedNotification]:
        """Lease due rows to ``owner``: pending ones, and sending ones whose lease expired."""
        now = self.store.clock()
        with self.store.write() as session:
            due = (
                select(NotificationRow.id)
                .where(or_(
                    and_(NotificationRow.status == "pending",
                         NotificationRow.next_attempt_at <= now),
                    and_(NotificationRow.status == "sending", NotificationRow.lease_until < now),
                ))
                .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(due))
            if not ids:
                return []
            session.execute(update(NotificationRow).where(NotificationRow.id.in_(ids))
                            .values(status="sending", lease_owner=owner, lease_until=now + lease))
            rows = session.execute(
                select(NotificationRow, HitRow, ArticleRow)
                .join(HitRow, NotificationRow.hit_id == HitRow.id)
                .join(ArticleRow, HitRow.article_id == ArticleRow.id)
                .where(NotificationRow.id.in_(ids))
                .order_by(NotificationRow.id)
            ).all()
            claimed = []
            for note, hit, article in rows:
                outlets = list(dict.fromkeys(session.scalars(
                    select(ArticleRow.source_name).where(ArticleRow.story_id == hit.story_id)
                    .order_by(ArticleRow.id))))
                claimed.append(ClaimedNotification(
                    id=note.id, channel=note.channel, destination_key=note.destination_key,
                    destination=note.destination, attempts=note.attempts,
                    created_at=note.created_at,
                    alert=Alert(
                        notification_id=note.id, channel=note.channel, rule_id=hit.rule_id,
                        rule_name=hit.rule_name, title=article.title, url=article.canonical_url,
                        source=article.source_name, published=article.published_at,
                        language=article.language, evidence=evidence_from_json(hit.evidence),
                        story_size=max(1, len(outlets)),
                        also_reported_by=tuple(o for o in outlets if o != article.source_name),
                    ),
                ))
            return claimed

    def record_sent(self, notification_id: int, owner: str) -> bool:
        """Settle a successful send; False when the lease was lost meanwhile."""
        now = self.store.clock()
        with self.store.write() as session:
            done = session.execute(
                update(NotificationRow)
                .where(NotificationRow.id == notification_id, NotificationRow.lease_owner == owner,
                       NotificationRow.status == "sending")
                .values(status="sent", sent_at=now, lease_owner=None, lease_until=None,
                        attempts=NotificationRow.attempts + 1, last_error=None))
            session.add(DeliveryAttemptRow(notification_id=notification_id, attempted_at=now,
                                           outcome="sent", error=None))
            return bool(getattr(done, "rowcount", 0))

    def record_failure(self, notification_id: int, owner: str, error: str,
                       retry_at: datetime | None) -> None:
        """Record a failed attempt: retry at ``retry_at``, or dead when it is None."""
        now = self.store.clock()
        error = clean_text(error)[:2000]
        status = "pending" if retry_at is not None else "dead"
        with self.store.write() as session:
            session.execute(
                update(NotificationRow)
                .where(NotificationRow.id == notification_id, NotificationRow.lease_owner == owner)
                .values(status=status, lease_owner=None, lease_until=None, last_error=error,
                        attempts=NotificationRow.attempts + 1,
                        next_attempt_at=retry_at or now))
            session.add(DeliveryAttemptRow(notification_id=notification_id, attempted_at=now,
                                           outcome="retry" if retry_at else "dead", error=error))

    def release(self, owner: str) -> int:
        """Hand rows leased by ``owner`` back to pending (graceful shutdown before sending)."""
        with self.store.write() as session:
            result = session.execute(
                update(NotificationRow)
                .where(NotificationRow.lease_owner == owner, NotificationRow.status == "sending")
                .values(status="pending", lease_owner=None, lease_until=None))
            return int(getattr(result, "rowcount", 0))

    def retry(self, ids: Sequence[int] | None = None, *, dead: bool = False) -> int:
        """Put dead (or the given) rows back to pending for another round of attempts."""
        now = self.store.clock()
        with self.store.write() as session:
            query = update(NotificationRow).where(NotificationRow.status.in_(("dead", "pending")))
            if ids is not None:
                query = query.where(NotificationRow.id.in_(list(ids)))
            elif dead:
                query = query.where(NotificationRow.status == "dead")
            else:
                return 0
            result = session.execute(query.values(status="pending", next_attempt_at=now,
                                                  created_at=now))
            return int(getattr(result, "rowcount", 0))

    def list(self, status: str | None = None, limit: int = 200) -> list[NotificationInfo]:
        query = (select(NotificationRow, ArticleRow.title)
                 .join(HitRow, NotificationRow.hit_id == HitRow.id)
                 .join(ArticleRow, HitRow.article_id == ArticleRow.id)
                 .order_by(NotificationRow.id.desc()).limit(limit))
        if status == "failed":  # pending again after at least one failed attempt
            query = query.where(NotificationRow.status == "pending", NotificationRow.attempts > 0)
        elif status is not None:
            query = query.where(NotificationRow.status == status)
        with self.store.read() as session:
            return [
                NotificationInfo(
                    id=n.id, status=n.status, channel=n.channel, destination=n.destination,
                    rule_id=n.rule_id, title=title, attempts=n.attempts,
                    created_at=n.created_at, next_attempt_at=n.next_attempt_at,
                    sent_at=n.sent_at, last_error=n.last_error,
                )
                for n, title in session.execute(query)
            ]

    def counts(self) -> dict[str, int]:
        with self.store.read() as session:
            rows = session.execute(select(NotificationRow.status, NotificationRow.id))
            out = dict.fromkeys(STATUSES, 0)
            for status, _ in rows:
                out[status] = out.get(status, 0) + 1
            return out
