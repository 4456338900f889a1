"""The outbox with several daemons on one database, on SQLite and on a real PostgreSQL: a row
whose lease another daemon took over is settled by that daemon alone, and a sealed digest is
claimed whole or not at all."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from monitor.store import Outbox, Route, Store
from monitor.store.schema import DeliveryAttemptRow, NotificationRow
from tests.store_support import FakeClock, article, feed, hit, open_store

LEASE = timedelta(seconds=10)
RETRY = timedelta(hours=1)
HOOK = Route("hook", "k1", "json://127.0.0.1/***")


def _queue(store: Store, n: int) -> None:
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article(url=f"https://n.example/{n}", key=f"g{n}"), [hit()],
                       lambda _h: [HOOK])


def _attempts(store: Store, notification_id: int) -> list[str]:
    with store.read() as session:
        return list(session.scalars(select(DeliveryAttemptRow.outcome).where(
            DeliveryAttemptRow.notification_id == notification_id)))


def _row(store: Store, notification_id: int) -> NotificationRow:
    with store.read() as session:
        row = session.get(NotificationRow, notification_id)
        assert row is not None
        return row


def _one_lost(store: Store, clock: FakeClock) -> tuple[Outbox, int, int]:
    """Rows ``a`` and ``b`` claimed by "first" 5 s apart; at t=12 ``a``'s lease has run out
    and "second" has taken it over, while "first" still holds ``b``."""
    outbox = Outbox(store)
    _queue(store, 1)
    (a,) = outbox.claim("first", LEASE)
    clock.advance(5)
    _queue(store, 2)
    (b,) = outbox.claim("first", LEASE)
    clock.advance(7)
    assert [r.id for r in outbox.claim("second", LEASE)] == [a.id]
    return outbox, a.id, b.id


def test_a_send_settled_after_the_lease_was_taken_over_counts_no_attempt(
        store: Store, clock: FakeClock) -> None:
    outbox, a, b = _one_lost(store, clock)
    assert outbox.record_sent_many([a, b], "first") == 1
    assert _attempts(store, b) == ["sent"]
    assert _attempts(store, a) == []  # the row is the second daemon's to send and count
    lost = _row(store, a)
    assert lost.status == "pending" and lost.attempts == 0 and lost.lease_owner == "second"
    assert outbox.record_sent(a, "second")
    assert _attempts(store, a) == ["sent"] and _row(store, a).attempts == 1


def test_a_failure_settled_after_the_lease_was_taken_over_counts_no_attempt(
        store: Store, clock: FakeClock) -> None:
    outbox, a, b = _one_lost(store, clock)
    assert outbox.record_failure_many([a, b], "first", "HTTP 500",
                                      clock() + timedelta(seconds=30)) == 1
    assert _attempts(store, b) == ["retry"]
    assert _attempts(store, a) == []
    lost = _row(store, a)
    assert lost.attempts == 0 and lost.lease_owner == "second" and lost.last_error is None


def _sealed_digests(store: Store, clock: FakeClock, sizes: list[int]) -> list[list[int]]:
    """Digests of ``sizes`` rows to ``hook``, each sealed and its send failed: due again now."""
    outbox = Outbox(store)
    digests = []
    n = 0
    for size in sizes:
        for _ in range(size):
            n += 1
            _queue(store, n)
        for row in outbox.claim("w", LEASE, limit=1000):
            outbox.hold(row.id, "w")
        outbox.release_held("hook")
        ids = [r.id for r in outbox.claim("w", LEASE, limit=1000)]
        assert outbox.seal_digest(ids, "w", f"nm-{ids[0]}", "{}")
        outbox.record_failure_many(ids, "w", "outcome unknown", clock() + RETRY, unknown=True)
        digests.append(ids)
    clock.advance(RETRY.total_seconds())
    return digests


def test_a_sealed_digest_is_claimed_whole_past_the_limit(store: Store, clock: FakeClock) -> None:
    (digest,) = _sealed_digests(store, clock, [3])
    outbox = Outbox(store)
    claimed = outbox.claim("second", LEASE, limit=1)
    assert sorted(r.id for r in claimed) == digest
    assert {r.digest_key for r in claimed} == {f"nm-{digest[0]}"}
    assert [r.digest_message for r in claimed] == ["{}", None, None]  # kept on its first row


def test_a_sealed_digest_part_of_which_another_daemon_holds_is_not_claimed(
        store: Store, clock: FakeClock) -> None:
    (digest,) = _sealed_digests(store, clock, [3])
    with store.write() as session:  # as if another daemon's claim had just taken one row
        session.execute(update(NotificationRow).where(NotificationRow.id == digest[2])
                        .values(lease_owner="other", lease_until=clock() + LEASE))
    assert Outbox(store).claim("second", LEASE) == []


def test_a_digest_is_sealed_only_by_the_daemon_holding_all_its_rows(
        store: Store, clock: FakeClock) -> None:
    outbox, a, b = _one_lost(store, clock)
    assert not outbox.seal_digest([a, b], "first", "nm-x", "{}")
    assert _row(store, b).digest_key is None  # nothing recorded
    assert outbox.seal_digest([a], "second", "nm-y", "{}")


def test_concurrent_claims_never_split_a_sealed_digest(database_url: str) -> None:
    clock = FakeClock()
    store = open_store(database_url, clock)
    digests = _sealed_digests(store, clock, [3] * 12)
    outbox = Outbox(store)
    got: dict[str, list[list[int]]] = {}
    lock = threading.Lock()

    total = sum(len(d) for d in digests)
    deadline = time.monotonic() + 60

    def worker(name: str) -> None:
        # As the dispatcher does, tick after tick: an empty claim is not the end. Two claims
        # that each picked part of the last digest both leave it (neither holds it whole)
        # and both come back empty; the rows stay claimable, and the next claim takes them.
        while time.monotonic() < deadline:
            batch = outbox.claim(name, timedelta(seconds=300), limit=2)
            with lock:
                if batch:
                    got.setdefault(name, []).append(sorted(r.id for r in batch))
                elif sum(len(b) for bs in got.values() for b in bs) >= total:
                    return

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    batches = [set(b) for bs in got.values() for b in bs]
    for digest in digests:  # every digest in exactly one batch, whole
        assert [set(digest) <= b for b in batches].count(True) == 1
    assert sorted(i for b in batches for i in b) == sorted(i for d in digests for i in d)
    store.close()


def test_the_outbox_is_listed_a_batch_at_a_time_each_row_once(store: Store) -> None:
    """``monitor notifications --json`` streams: every row once, newest first, however the
    batches fall, with or without a status and a limit."""
    for n in range(7):
        _queue(store, n)
    outbox = Outbox(store)
    every = [note.id for note in outbox.list(None, 100)]
    assert len(every) == 7
    for batch in (1, 2, 3, 7, 50):
        assert [note.id for note in outbox.iter_list(batch=batch)] == every
        assert [note.id for note in outbox.iter_list(None, 5, batch=batch)] == every[:5]
        assert [note.id for note in outbox.iter_list("pending", batch=batch)] == every
        assert list(outbox.iter_list("dead", batch=batch)) == []
