"""The transactional outbox: rows written with their hits (or as service notices), then sent.

Statuses: ``pending`` (send on its own when due), ``held`` (waiting for the channel's next
digest: digest delivery, quiet hours, or over the rate cap), ``digest`` (released into a
digest, sent together with the channel's other released rows), ``sent``, ``dead``, and
``unknown`` (the request went out and no answer came, to a destination that cannot drop a
repeat: not retried on its own, since a retry could be a duplicate). A row being sent carries
a lease (owner and expiry) and keeps its status until settled; the dispatcher renews the
lease just before each send (:meth:`Outbox.renew`) and sends only rows it still holds. A lease
that expires (the dispatcher crashed) makes the row claimable again, so nothing is lost. The
duplicate windows: a crash after the destination accepted a message and before
:meth:`Outbox.record_sent` committed, and the retry of an "outcome unknown" send to a
webhook, which carries the same idempotency key.

A digest's rows and message are recorded before it is first sent (:meth:`Outbox.seal_digest`):
from then on the rows are claimed together or not at all, and every later attempt sends that
message under that key, whatever alerts joined the channel's digest since (they go in the
next one). Otherwise a retry would carry another set of rows, so another key, and the receiver
could not tell that it holds the first rows already.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.models import Alert
from monitor.store.records import (
    ClaimedNotification,
    Notice,
    NotificationInfo,
    Route,
    evidence_from_json,
)
from monitor.store.saving import enqueue_once
from monitor.store.schema import (
    MAX_ROW_ID,
    ArticleRow,
    DeliveryAttemptRow,
    DigestStateRow,
    HitRow,
    NotificationRow,
)
from monitor.store.store import Store, in_batches, story_outlets
from monitor.text import clean_text

STATUSES = ("pending", "held", "digest", "sent", "dead", "unknown")
SENDABLE = ("pending", "digest")
RETRYABLE = ("dead", "unknown", "pending", "held", "digest")


def _leased_to(ids: Sequence[int] | set[int], owner: str) -> tuple[ColumnElement[bool], ...]:
    """Which of ``ids`` ``owner`` still holds: leased to it and not settled (a row whose lease
    ran out and that another daemon took over, or that was settled, is not)."""
    return (NotificationRow.id.in_(list(ids)), NotificationRow.lease_owner == owner,
            NotificationRow.status.in_(SENDABLE))


class Outbox:
    """Claiming and settling outbox rows on top of a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- claiming ------------------------------------------------------------------------

    def claim(self, owner: str, lease: timedelta, limit: int = 50) -> list[ClaimedNotification]:
        """Lease up to ``limit`` due rows to ``owner`` (never a row another owner holds); a
        sealed digest's rows all or none, past ``limit`` if need be."""
        now = self.store.clock()
        claimable = (NotificationRow.status.in_(SENDABLE), NotificationRow.next_attempt_at <= now,
                     or_(NotificationRow.lease_until.is_(None), NotificationRow.lease_until < now))
        with self.store.write() as session:
            due = (
                select(NotificationRow.id, NotificationRow.digest_key)
                .where(*claimable)
                .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            picked = session.execute(due).all()
            ids = {i for i, key in picked if key is None}
            keys = {key for _i, key in picked if key is not None}
            if keys:
                ids |= self._whole_digests(session, keys, claimable)
            if not ids:
                return []
            session.execute(update(NotificationRow).where(NotificationRow.id.in_(ids))
                            .values(lease_owner=owner, lease_until=now + lease))
            rows = session.execute(
                select(NotificationRow, HitRow, ArticleRow)
                .outerjoin(HitRow, NotificationRow.hit_id == HitRow.id)
                .outerjoin(ArticleRow, HitRow.article_id == ArticleRow.id)
                .where(NotificationRow.id.in_(ids))
                .order_by(NotificationRow.id)
            ).all()
            return [self._claimed(session, note, hit, article) for note, hit, article in rows]

    @staticmethod
    def _whole_digests(session: Session, keys: set[str],
                       claimable: Sequence[ColumnElement[bool]]) -> set[int]:
        """The rows of the sealed digests ``keys`` whose every row can be claimed now. Part of
        one is never claimed: sent alone under the digest's key, it would be dropped as a
        repeat by a receiver that never got the rest. One another daemon is claiming (some
        rows locked) is left to it."""
        members = session.execute(
            select(NotificationRow.id, NotificationRow.digest_key)
            .where(NotificationRow.digest_key.in_(keys), *claimable)
            .with_for_update(skip_locked=True)).all()
        whole = {key: count for key, count in session.execute(
            select(NotificationRow.digest_key, func.count())
            .where(NotificationRow.digest_key.in_(keys), NotificationRow.status.in_(SENDABLE))
            .group_by(NotificationRow.digest_key))}
        found = Counter(key for _i, key in members)
        return {i for i, key in members if key is not None and found[key] == whole.get(key)}

    @staticmethod
    def _claimed(session: Session, note: NotificationRow, hit: HitRow | None,
                 article: ArticleRow | None) -> ClaimedNotification:
        alert = notice = None
        if hit is not None and article is not None:
            outlets = story_outlets(session, hit.story_id)
            alert = Alert(
                notification_id=note.id, channel=note.channel, rule_id=hit.rule_id,
                rule_name=hit.rule_name, title=article.title, url=article.canonical_url,
                source=article.source_name, published=article.published_at,
                language=article.language, evidence=evidence_from_json(hit.evidence),
                story_size=max(1, len(outlets)),
                also_reported_by=tuple(o for o in outlets if o != article.source_name),
                story_id=hit.story_id, hit_id=hit.id,
            )
        else:
            notice = Notice(subject=note.subject or "", body=note.body or "")
        return ClaimedNotification(
            id=note.id, kind=note.kind, channel=note.channel,
            destination_key=note.destination_key, destination=note.destination,
            rule_id=note.rule_id, attempts=note.attempts, created_at=note.created_at,
            batched=note.status == "digest", alert=alert, notice=notice,
            dedupe_key=note.dedupe_key, digest_key=note.digest_key,
            digest_message=note.digest_message)

    def renew(self, ids: Sequence[int], owner: str, lease: timedelta) -> list[int]:
        """Extend ``owner``'s lease on ``ids`` to ``lease`` from now; returns the ids it still
        holds (a row whose lease ran out and was claimed by another owner, or settled, is
        lost). Called just before each send, so a row is only sent under a live lease."""
        if not ids:
            return []
        now = self.store.clock()
        mine = _leased_to(ids, owner)
        with self.store.write() as session:
            session.execute(update(NotificationRow).where(*mine)
                            .values(lease_until=now + lease))
            return sorted(session.scalars(select(NotificationRow.id).where(*mine)))

    def seal_digest(self, ids: Sequence[int], owner: str, key: str, message: str) -> bool:
        """Record, before it is first sent, that one digest message (``key``, ``message``)
        carries the rows ``ids``; the message is kept on the lowest row. False, and nothing
        recorded, when ``owner`` no longer holds every one of them."""
        wanted = set(ids)
        with self.store.write() as session:
            mine = set(session.scalars(
                select(NotificationRow.id).where(*_leased_to(wanted, owner)).with_for_update()))
            if mine != wanted:
                return False
            session.execute(update(NotificationRow).where(NotificationRow.id.in_(wanted))
                            .values(digest_key=key, digest_message=None))
            session.execute(update(NotificationRow).where(NotificationRow.id == min(wanted))
                            .values(digest_message=message))
            return True

    # -- settling ------------------------------------------------------------------------

    def record_sent(self, notification_id: int, owner: str) -> bool:
        """Settle a successful send; False when the lease was lost meanwhile."""
        return self.record_sent_many([notification_id], owner) == 1

    def record_sent_many(self, ids: Sequence[int], owner: str) -> int:
        """Settle rows sent together (a digest); returns how many this owner still held.

        A row whose lease ran out and that another daemon took over is that daemon's to settle
        and count: it gets neither the status nor an attempt from this one."""
        now = self.store.clock()
        with self.store.write() as session:
            held = list(session.scalars(
                update(NotificationRow)
                .where(*_leased_to(ids, owner))
                .values(status="sent", sent_at=now, lease_owner=None, lease_until=None,
                        attempts=NotificationRow.attempts + 1, last_error=None,
                        digest_message=None)  # never sent again: no retry needs it
                .returning(NotificationRow.id)))
            session.add_all(DeliveryAttemptRow(notification_id=i, attempted_at=now,
                                               outcome="sent", error=None) for i in held)
            return len(held)

    def record_failure(self, notification_id: int, owner: str, error: str,
                       retry_at: datetime | None) -> None:
        """Record a failed attempt: retry at ``retry_at``, or dead when it is None."""
        self.record_failure_many([notification_id], owner, error, retry_at)

    def record_failure_many(self, ids: Sequence[int], owner: str, error: str,
                            retry_at: datetime | None, *, unknown: bool = False) -> int:
        """Record a failed attempt of rows sent together; returns how many ``owner`` still
        held. ``unknown``: the request went out and no answer came; retried (``retry_at``)
        only where the receiver can drop a repeat, otherwise the rows become ``unknown``
        instead of dead."""
        now = self.store.clock()
        error = clean_text(error)[:2000]
        values: dict[str, object] = {
            "lease_owner": None, "lease_until": None, "last_error": error,
            "attempts": NotificationRow.attempts + 1, "next_attempt_at": retry_at or now}
        if retry_at is None:
            values["status"] = "unknown" if unknown else "dead"
        outcome = "unknown" if unknown else "retry" if retry_at else "dead"
        with self.store.write() as session:
            held = list(session.scalars(update(NotificationRow)
                                        .where(*_leased_to(ids, owner))
                                        .values(**values)
                                        .returning(NotificationRow.id)))
            # As in record_sent_many: rows taken over by another daemon are not counted here.
            session.add_all(DeliveryAttemptRow(
                notification_id=i, attempted_at=now, outcome=outcome, error=error)
                for i in held)
            return len(held)

    def hold(self, notification_id: int, owner: str) -> None:
        """Keep a claimed row for the channel's next digest instead of sending it now."""
        with self.store.write() as session:
            session.execute(update(NotificationRow)
                            .where(NotificationRow.id == notification_id,
                                   NotificationRow.lease_owner == owner)
                            .values(status="held", lease_owner=None, lease_until=None))

    def give_back(self, ids: Sequence[int], owner: str) -> None:
        """Return claimed rows to the queue untouched (status, due time and attempts kept), so
        the next claim takes them: a digest's alerts that did not fit its message."""
        if not ids:
            return
        with self.store.write() as session:
            session.execute(update(NotificationRow)
                            .where(NotificationRow.id.in_(ids),
                                   NotificationRow.lease_owner == owner)
                            .values(lease_owner=None, lease_until=None))

    def release(self, owner: str) -> int:
        """Give back every unsettled row leased by ``owner`` (graceful shutdown)."""
        with self.store.write() as session:
            result = session.execute(
                update(NotificationRow)
                .where(NotificationRow.lease_owner == owner)
                .values(lease_owner=None, lease_until=None))
            return int(getattr(result, "rowcount", 0))

    # -- digests and rate caps -----------------------------------------------------------

    def release_held(self, channel: str) -> int:
        """Move the channel's held rows into a digest due now, and remember when."""
        now = self.store.clock()
        with self.store.write() as session:
            result = session.execute(
                update(NotificationRow)
                .where(NotificationRow.channel == channel, NotificationRow.status == "held")
                .values(status="digest", next_attempt_at=now, in_digest=True))
            state = session.get(DigestStateRow, channel)
            if state is None:
                session.add(DigestStateRow(channel=channel, last_release_at=now))
            else:
                state.last_release_at = now
            return int(getattr(result, "rowcount", 0))

    def last_release(self, channel: str) -> datetime | None:
        with self.store.read() as session:
            state = session.get(DigestStateRow, channel)
            return state.last_release_at if state else None

    def held_channels(self) -> list[str]:
        """The channels with alerts waiting for a digest (configured or not)."""
        with self.store.read() as session:
            return sorted(session.scalars(select(NotificationRow.channel).distinct().where(
                NotificationRow.status == "held")))

    def oldest_held(self, channel: str) -> datetime | None:
        """When the channel's oldest alert waiting for a digest was queued (None: none)."""
        with self.store.read() as session:
            return session.scalar(select(func.min(NotificationRow.created_at)).where(
                NotificationRow.channel == channel, NotificationRow.status == "held"))

    def sent_recently(self, rule_id: str, channel: str, destination_key: str,
                      window: timedelta) -> int:
        """Alerts of a rule sent on their own to one destination within ``window`` (a digest's
        are one message, sent when the channel chose; they would hold the next hour's alerts)."""
        since = self.store.clock() - window
        with self.store.read() as session:
            return session.scalar(select(func.count()).select_from(NotificationRow).where(
                NotificationRow.rule_id == rule_id, NotificationRow.channel == channel,
                NotificationRow.destination_key == destination_key,
                NotificationRow.kind == "alert", NotificationRow.status == "sent",
                NotificationRow.in_digest.is_(False), NotificationRow.sent_at >= since)) or 0

    # -- notices -------------------------------------------------------------------------

    def enqueue_notice(self, key: str, subject: str, body: str,
                       routes: Sequence[Route]) -> int:
        """Queue a service notice once per ``key`` and destination; returns rows added."""
        with self.store.write() as session:
            return enqueue_notice_rows(session, key, subject, body, routes, self.store.clock())

    # -- operator views ------------------------------------------------------------------

    def retry(self, ids: Sequence[int] | None = None, *, dead: bool = False) -> int:
        """Put dead (or the given unsent) rows back to pending for another round: a whole
        one, attempts counted and the retry deadline timed afresh (a dead row keeps its
        ``max_attempts`` otherwise, and would be given up again at its first failure).

        A row a sealed digest carried goes again with that digest, whole (the same message
        under the same key: its receiver may have it already), not alone under a key of its
        own. Returns how many of the rows asked for (given, or dead) were queued; the other
        rows of their digests go with them uncounted (the CLI compares it with the ids given).
        """
        if not ids and not dead:
            return 0
        if ids:
            ids = [i for i in ids if 0 < i <= MAX_ROW_ID]  # the others name no row
            if not ids:
                return 0
        now = self.store.clock()
        retryable = NotificationRow.status.in_(RETRYABLE)
        with self.store.write() as session:
            query = select(NotificationRow.id, NotificationRow.digest_key).where(retryable)
            if ids:
                query = query.where(NotificationRow.id.in_(list(ids)))
            else:
                query = query.where(NotificationRow.status == "dead")
            chosen = session.execute(query).all()
            alone = [i for i, key in chosen if key is None]
            keys = {key for _i, key in chosen if key is not None}
            again = {"next_attempt_at": now, "created_at": now, "attempts": 0}
            if alone:
                session.execute(update(NotificationRow).where(NotificationRow.id.in_(alone))
                                .values(status="pending", **again))
            if keys:
                session.execute(update(NotificationRow)
                                .where(NotificationRow.digest_key.in_(keys), retryable)
                                .values(status="digest", **again))
            return len(chosen)

    def list(self, status: str | None = None, limit: int = 200,
             before: int | None = None) -> list[NotificationInfo]:
        """Rows newest first, older than id ``before`` when given. ``failed``: unsent after a
        failed attempt; ``sending``: leased."""
        query = (select(NotificationRow, ArticleRow.title)
                 .outerjoin(HitRow, NotificationRow.hit_id == HitRow.id)
                 .outerjoin(ArticleRow, HitRow.article_id == ArticleRow.id)
                 .order_by(NotificationRow.id.desc()).limit(limit))
        if before is not None:
            query = query.where(NotificationRow.id < before)
        if status == "failed":
            query = query.where(NotificationRow.status.in_(SENDABLE),
                                NotificationRow.attempts > 0)
        elif status == "sending":
            query = query.where(NotificationRow.lease_owner.is_not(None),
                                NotificationRow.status.in_(SENDABLE))
        elif status is not None:
            query = query.where(NotificationRow.status == status)
        with self.store.read() as session:
            return [
                NotificationInfo(
                    id=n.id, status=n.status, channel=n.channel, destination=n.destination,
                    rule_id=n.rule_id, title=title or n.subject or "", attempts=n.attempts,
                    created_at=n.created_at, next_attempt_at=n.next_attempt_at,
                    sent_at=n.sent_at, last_error=n.last_error,
                )
                for n, title in session.execute(query)
            ]

    def iter_list(self, status: str | None = None, limit: int | None = None,
                  batch: int = 1000) -> Iterator[NotificationInfo]:
        """:meth:`list`, ``batch`` at a time (an export of the whole outbox holds one)."""
        return in_batches(lambda wanted, before: self.list(status, wanted, before),
                          lambda note: note.id, limit, batch)

    def counts(self) -> dict[str, int]:
        with self.store.read() as session:
            out = dict.fromkeys(STATUSES, 0)
            for status, count in session.execute(
                    select(NotificationRow.status, func.count()).group_by(NotificationRow.status)):
                out[status] = count
            return out

    def leased(self) -> int:
        with self.store.read() as session:
            return session.scalar(select(func.count()).select_from(NotificationRow).where(
                and_(NotificationRow.lease_owner.is_not(None),
                     NotificationRow.status.in_(SENDABLE)))) or 0


def enqueue_notice_rows(session: Session, key: str, subject: str, body: str,
                        routes: Sequence[Route], now: datetime) -> int:
    """Add a notice's outbox rows inside the caller's transaction, once per key and route."""
    added = 0
    for route in routes:
        added += enqueue_once(session.connection(), {
            "kind": "notice", "dedupe_key": f"notice:{key}"[:255], "rule_id": "(service)",
            "subject": clean_text(subject)[:500], "body": clean_text(body)[:4000],
            "channel": route.channel, "destination_key": route.destination_key,
            "destination": route.destination, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now})
    return added
