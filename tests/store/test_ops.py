"""Instance heartbeats and taking back the leases of daemons that died."""

from __future__ import annotations

from datetime import timedelta

from monitor.store import (
    Outbox,
    Store,
    forget_instance,
    heartbeat,
    live_instances,
    release_dead_leases,
)
from tests.store_support import FakeClock, article, console_route, feed, hit

TICK = timedelta(seconds=15)
LEASE = timedelta(seconds=180)
SEND = timedelta(seconds=30)


def _beat(store: Store, name: str, clock: FakeClock, summary: str | None = None) -> None:
    heartbeat(store, name, hostname="h", pid=1, version="0", started_at=clock(),
              last_cycle=summary)


def test_live_instances_and_dead_leases(store: Store, clock: FakeClock) -> None:
    store.sync_feeds([feed(f"https://n{i}.example/f.xml", f"N{i}") for i in range(4)])
    _beat(store, "a", clock)
    _beat(store, "b", clock, "cycle: 2 feeds polled")
    assert store.claim_due_feeds("a", LEASE, limit=2)
    assert store.claim_due_feeds("b", LEASE, limit=2)
    assert [i.id for i in live_instances(store, 3 * TICK)] == ["a", "b"]
    assert release_dead_leases(store, 3 * TICK, LEASE, LEASE, SEND) == (0, 0)
    clock.advance(30)
    _beat(store, "b", clock)  # a was killed: it beats no more
    assert release_dead_leases(store, 3 * TICK, LEASE, LEASE, SEND) == (0, 0)  # not yet 3 ticks
    clock.advance(20)
    _beat(store, "b", clock)
    assert [i.id for i in live_instances(store, 3 * TICK)] == ["b"]
    assert release_dead_leases(store, 3 * TICK, LEASE, LEASE, SEND) == (0, 0)  # interval: 600 s
    clock.advance(560)
    _beat(store, "b", clock)
    assert release_dead_leases(store, 3 * TICK, LEASE, LEASE, SEND) == (0, 0)  # one interval
    clock.advance(600)
    _beat(store, "b", clock)
    assert release_dead_leases(store, 3 * TICK, LEASE, LEASE, SEND) == (2, 0)  # two intervals
    clock.advance(1000)  # all four are due again; b's leases expired, a's were given back
    _beat(store, "c", clock)
    assert len(store.claim_due_feeds("c", LEASE, limit=10)) == 4
    (b,) = [i for i in live_instances(store, timedelta(days=2)) if i.id == "b"]
    assert b.last_cycle == "cycle: 2 feeds polled"
    forget_instance(store, "c")
    assert [i.id for i in live_instances(store, 3 * TICK)] == []


def test_a_daemon_that_just_started_keeps_its_leases(store: Store, clock: FakeClock) -> None:
    store.sync_feeds([feed()])
    _beat(store, "old", clock)
    assert store.claim_due_feeds("new", LEASE, limit=1)  # before its first heartbeat
    assert release_dead_leases(store, 3 * TICK, LEASE, LEASE, SEND) == (0, 0)


def test_a_late_heartbeat_never_takes_back_a_send_in_flight(store: Store, clock: FakeClock) -> None:
    """A daemon whose heartbeat is late (tick 5 s, send timeout 30 s) renewed its lease just
    before sending: the lease stays its own until that send must have ended."""
    tick, send = timedelta(seconds=5), timedelta(seconds=30)
    store.sync_feeds([feed()])
    store.save_article(store.feed_health()[0].id, article(), [hit()], console_route)
    outbox = Outbox(store)
    _beat(store, "slow", clock)
    _beat(store, "other", clock)
    (row,) = outbox.claim("slow", LEASE)
    clock.advance(20)
    assert outbox.renew([row.id], "slow", LEASE) == [row.id]  # about to send (up to 30 s)
    clock.advance(25)  # its heartbeat is 45 s old: 9 ticks, "dead"
    _beat(store, "other", clock)
    assert release_dead_leases(store, 3 * tick, LEASE, LEASE, send) == (0, 0)
    assert outbox.claim("other", LEASE) == []
    clock.advance(21)  # 15 s + 30 s since the renewal: that send has ended one way or another
    _beat(store, "other", clock)
    assert release_dead_leases(store, 3 * tick, LEASE, LEASE, send) == (0, 1)
    assert [r.id for r in outbox.claim("other", LEASE)] == [row.id]


def test_a_heartbeat_carries_the_settings_waiting_for_a_restart(store: Store,
                                                                clock: FakeClock) -> None:
    heartbeat(store, "a", hostname="h", pid=1, version="0", started_at=clock(),
              restart_pending=("channels.hook", "polling.tick"))
    (a,) = live_instances(store, 3 * TICK)
    assert a.restart_pending == ("channels.hook", "polling.tick")
    heartbeat(store, "a", hostname="h", pid=1, version="0", started_at=clock())  # edited back
    (a,) = live_instances(store, 3 * TICK)
    assert a.restart_pending == ()
