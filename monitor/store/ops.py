"""What operators look at: outbox and feed statistics for metrics, instance heartbeats, a ping.

Several daemons share one PostgreSQL: each one upserts its row in ``instances`` every tick
(:func:`heartbeat`) and records its last cycle's summary; ``monitor status`` lists the rows
whose heartbeat is recent (:func:`live_instances`). A daemon that stops cleanly deletes its row;
one that was killed simply stops beating and drops out of the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update

from monitor.store.schema import FeedRow, InstanceRow, NotificationRow
from monitor.store.store import Store

OPEN_STATUSES = ("pending", "held", "digest")  # not yet sent nor dead: the outbox's depth


@dataclass(frozen=True)
class OutboxStats:
    by_status_channel: dict[tuple[str, str], int]  # (status, channel) -> rows
    depth: int  # rows not yet sent or dead
    oldest_pending_at: datetime | None  # created_at of the oldest row still open

    def open_by_status(self) -> dict[str, int]:
        """The rows counted in :attr:`depth`, per status (every channel)."""
        return {state: sum(n for (status, _), n in self.by_status_channel.items()
                           if status == state) for state in OPEN_STATUSES}


@dataclass(frozen=True)
class Instance:
    id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    last_cycle_at: datetime | None
    last_cycle: str | None
    restart_pending: tuple[str, ...] = ()  # settings it applies only after a restart


def ping(store: Store) -> None:
    """One round trip to the database (StoreError when it is unreachable)."""
    with store.read() as session:
        session.execute(text("SELECT 1"))


def outbox_stats(store: Store) -> OutboxStats:
    with store.read() as session:
        rows = session.execute(
            select(NotificationRow.status, NotificationRow.channel, func.count())
            .group_by(NotificationRow.status, NotificationRow.channel))
        counts = {(status, channel): n for status, channel, n in rows}
        oldest = session.scalar(select(func.min(NotificationRow.created_at))
                                .where(NotificationRow.status.in_(OPEN_STATUSES)))
    depth = sum(n for (status, _), n in counts.items() if status in OPEN_STATUSES)
    return OutboxStats(counts, depth, oldest)


def feed_status_counts(store: Store) -> dict[str, int]:
    """Active feeds by health status (ok, failing, degraded, disabled, never polled)."""
    counts: dict[str, int] = {}
    for health in store.active_feeds():
        counts[health.status] = counts.get(health.status, 0) + 1
    return counts


def paused_feeds(store: Store) -> int:
    now = store.clock()
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(FeedRow)
                              .where(FeedRow.paused_until > now)) or 0


def heartbeat(store: Store, instance_id: str, *, hostname: str, pid: int, version: str,
              started_at: datetime, last_cycle: str | None = None,
              restart_pending: Sequence[str] = ()) -> None:
    """Record that ``instance_id`` is alive now (and its last cycle's summary, if given, and
    the settings it applies only after a restart)."""
    now = store.clock()
    pending = ",".join(restart_pending)[:2000] or None
    with store.write() as session:
        values: dict[str, object] = {"heartbeat_at": now, "restart_pending": pending}
        if last_cycle is not None:
            values.update(last_cycle=last_cycle[:2000], last_cycle_at=now)
        updated = session.execute(update(InstanceRow).where(InstanceRow.id == instance_id)
                                  .values(**values))
        if not getattr(updated, "rowcount", 0):
            session.add(InstanceRow(id=instance_id, hostname=hostname[:255], pid=pid,
                                    version=version[:32], started_at=started_at,
                                    heartbeat_at=now,
                                    last_cycle_at=now if last_cycle is not None else None,
                                    last_cycle=last_cycle, restart_pending=pending))


def clock_offset(store: Store) -> float | None:
    """Seconds this host's clock is ahead of the database server's (negative: behind), or
    None where no server clock is shared (SQLite: one host). Daemons on several hosts compare
    leases, heartbeats and check times across hosts, so their clocks must agree."""
    if store.engine.dialect.name != "postgresql":
        return None
    with store.read() as session:
        before = store.clock()
        server: datetime = session.scalar(text("SELECT clock_timestamp()"))
        after = store.clock()
    return ((before + (after - before) / 2) - server).total_seconds()


def forget_instance(store: Store, instance_id: str) -> None:
    """A clean stop: the instance leaves the list at once."""
    with store.write() as session:
        session.execute(delete(InstanceRow).where(InstanceRow.id == instance_id))


def live_instances(store: Store, within: timedelta) -> list[Instance]:
    """Instances whose heartbeat is more recent than ``within``; rows older than a day are
    deleted on the way (killed daemons never delete their own)."""
    now = store.clock()
    with store.write() as session:
        session.execute(delete(InstanceRow)
                        .where(InstanceRow.heartbeat_at < now - max(within, timedelta(days=1))))
        rows = session.scalars(select(InstanceRow).where(InstanceRow.heartbeat_at >= now - within)
                               .order_by(InstanceRow.started_at))
        return [Instance(id=r.id, hostname=r.hostname, pid=r.pid, version=r.version,
                         started_at=r.started_at, heartbeat_at=r.heartbeat_at,
                         last_cycle_at=r.last_cycle_at, last_cycle=r.last_cycle,
                         restart_pending=tuple(filter(None, (r.restart_pending or "").split(","))))
                for r in rows]


def release_dead_leases(store: Store, within: timedelta, feed_lease: timedelta,
                        outbox_lease: timedelta, send_timeout: timedelta) -> tuple[int, int]:
    """Give back the feed and outbox leases of daemons that stopped heartbeating (killed):
    their work is taken up within a few ticks instead of when the leases run out.

    A lease counts only when it was taken more than ``within`` ago (its expiry minus the lease
    length), so a daemon that has just started and not yet written its first heartbeat keeps
    its leases; a feed's lease, only once twice the feed's interval has passed since the claim;
    a notification's, only once a whole ``send_timeout`` more has passed since it was last
    renewed (just before its send): a daemon whose heartbeat is late but which is still
    alive has then finished or abandoned that send, so nobody sends it a second time.
    Returns (feeds, notifications) released.
    """
    now = store.clock()
    live = select(InstanceRow.id).where(InstanceRow.heartbeat_at >= now - within)
    with store.write() as session:
        if session.scalar(select(func.count()).select_from(InstanceRow)) == 0:
            return 0, 0  # no daemon heartbeats here (an older version): leave leases alone
        # A feed is taken back no sooner than twice its interval after the dead daemon claimed
        # it: that daemon's request may have left well after the claim (its host's politeness
        # queue), and the next poll must still come a whole interval after that request.
        candidates = session.execute(
            select(FeedRow.id, FeedRow.lease_until, FeedRow.interval_seconds)
            .where(FeedRow.lease_owner.is_not(None), FeedRow.lease_owner.not_in(live),
                   FeedRow.lease_until < now + feed_lease - within)).all()
        ids = [fid for fid, until, interval in candidates
               if until is not None
               and until - feed_lease + timedelta(seconds=2 * interval) <= now]
        released = 0
        if ids:
            released = int(getattr(session.execute(
                update(FeedRow).where(FeedRow.id.in_(ids), FeedRow.lease_owner.not_in(live))
                .values(lease_owner=None, lease_until=None)), "rowcount", 0) or 0)
        notes = session.execute(
            update(NotificationRow)
            .where(NotificationRow.lease_owner.is_not(None),
                   NotificationRow.lease_owner.not_in(live),
                   NotificationRow.lease_until < now + outbox_lease - within - send_timeout)
            .values(lease_owner=None, lease_until=None))
        return released, int(getattr(notes, "rowcount", 0) or 0)
