"""Admin notices about feed health: one per episode, one on recovery."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, true

from monitor.net import shown_url
from monitor.store import Outbox, PollOutcome, Route, Store, health
from monitor.store.health import HealthNotice, feed_health_notices
from monitor.store.schema import FeedRow, NotificationRow
from tests.store_support import FakeClock, feed, open_store

ADMIN = [Route("console", "console", "console"), Route("ops", "k", "json://ops/***")]
DAY = timedelta(days=1)


def _notices(store: Store) -> list[HealthNotice]:
    return feed_health_notices(store, ADMIN, DAY, shown=shown_url)


def _poll(store: Store, clock: FakeClock, ok: bool, new: int = 0) -> None:
    fid = store.feed_health()[0].id
    store.record_poll(fid, "w", PollOutcome(
        ok=ok, next_check_at=clock(), new_entries=new,
        error_code=None if ok else "timeout_total", error_message=None if ok else "slow"))


def test_failing_feed_raises_one_notice_then_one_on_recovery(sqlite_url: str) -> None:
    clock = FakeClock()
    store = open_store(sqlite_url, clock)
    store.sync_feeds([feed()])
    outbox = Outbox(store)
    _poll(store, clock, ok=True, new=2)
    assert _notices(store) == []
    _poll(store, clock, ok=False)
    assert _notices(store) == []  # failing, but not for long
    clock.advance(DAY.total_seconds())
    _poll(store, clock, ok=False)
    (notice,) = _notices(store)
    assert notice.kind == "failing" and "timeout_total" in notice.body
    clock.advance(3600)
    _poll(store, clock, ok=False)
    assert _notices(store) == []  # one notice per episode
    _poll(store, clock, ok=True, new=1)
    (recovered,) = _notices(store)
    assert recovered.kind == "recovered"
    subjects = [n.title for n in outbox.list()]
    assert subjects.count("Feed failing: Example News") == 2  # console and ops
    assert subjects.count("Feed recovered: Example News") == 2
    store.close()


def test_silent_feed_raises_a_notice(sqlite_url: str) -> None:
    clock = FakeClock()
    store = open_store(sqlite_url, clock)
    store.sync_feeds([feed()])
    _poll(store, clock, ok=True, new=3)
    clock.advance(2 * DAY.total_seconds())
    _poll(store, clock, ok=True, new=0)
    (notice,) = _notices(store)
    assert notice.kind == "silent"
    assert _notices(store) == []
    store.close()


def test_a_poll_cut_short_is_interrupted_not_ok(database_url: str) -> None:
    """Claimed and released without an outcome (a stop mid-poll): ``interrupted``; while the
    lease runs: ``polling``; a recorded success: ``ok`` (issue 10, item 10)."""
    clock = FakeClock()
    store = open_store(database_url, clock)
    store.sync_feeds([feed()])
    (claimed,) = store.claim_due_feeds("a", timedelta(minutes=5), limit=5)
    assert store.feed_health()[0].status == "polling"
    store.release_feeds("a")
    (health,) = store.feed_health()
    assert health.status == "interrupted" and health.last_success_at is None
    clock.advance(60)
    (claimed,) = store.claim_due_feeds("a", timedelta(minutes=5), limit=5)
    store.record_poll(claimed.id, "a", PollOutcome(ok=True, next_check_at=clock()))
    assert store.feed_health()[0].status == "ok"
    clock.advance(60)
    store.claim_due_feeds("a", timedelta(minutes=5), limit=5)
    clock.advance(600)  # the owner died: its lease ran out without an outcome
    assert store.feed_health()[0].status == "interrupted"
    store.close()


def _one_feed(url: str) -> tuple[Store, FakeClock]:
    clock = FakeClock()
    store = open_store(url, clock)
    store.sync_feeds([feed()])
    return store, clock


def _pages(store: Store, clock: FakeClock, pages: int, unread: int,
           warning: str | None = None) -> None:
    """A poll that fetched ``pages`` new pages, ``unread`` of which gave no text."""
    fid = store.feed_health()[0].id
    store.record_poll(fid, "w", PollOutcome(
        ok=True, next_check_at=clock(), new_entries=pages, replaces_page_note=pages > 0,
        page_warning=warning, new_pages=pages, new_pages_unread=unread))


def test_a_site_refusing_every_page_raises_a_notice_then_one_when_pages_come(
        sqlite_url: str) -> None:
    store, clock = _one_feed(sqlite_url)
    note = "2 of 2 new pages not read (http_status: 2): matched on the feed's text"
    _pages(store, clock, 2, 2, note)
    clock.advance(0.7 * DAY.total_seconds())
    _poll(store, clock, ok=True, new=1)  # an entry already stored: no page, the streak stays
    clock.advance(0.7 * DAY.total_seconds())
    assert _notices(store) == []  # 2 pages: maybe two deleted articles
    _pages(store, clock, 1, 1, note)
    (notice,) = _notices(store)
    assert notice.kind == "unread" and notice.subject == "Feed pages not read: Example News"
    assert "None of the last 3 article pages" in notice.body and "http_status: 2" in notice.body
    assert _notices(store) == []  # one per episode
    _pages(store, clock, 3, 2, "2 of 3 new pages not read (http_status: 2)")  # one came
    (recovered,) = _notices(store)
    assert recovered.kind == "recovered" and "are read again" in recovered.body
    store.close()


def test_unread_pages_for_a_short_while_or_mixed_with_read_ones_raise_nothing(
        sqlite_url: str) -> None:
    store, clock = _one_feed(sqlite_url)
    for _ in range(5):  # many pages, but for less than the notice's wait
        _pages(store, clock, 4, 4, "4 of 4 new pages not read (blocked: 4)")
        clock.advance(3600)
    assert _notices(store) == []
    _pages(store, clock, 4, 3, "3 of 4 new pages not read (blocked: 3)")  # the streak ends
    clock.advance(2 * DAY.total_seconds())
    _pages(store, clock, 1, 0)
    assert _notices(store) == []
    store.close()


def test_a_silent_feed_that_publishes_again_recovers_even_if_its_pages_fail(
        sqlite_url: str) -> None:
    store, clock = _one_feed(sqlite_url)
    _poll(store, clock, ok=True, new=3)
    clock.advance(2 * DAY.total_seconds())
    _poll(store, clock, ok=True, new=0)
    assert [n.kind for n in _notices(store)] == ["silent"]
    _pages(store, clock, 1, 1, "1 of 1 new page not read (http_status: 1)")  # it publishes
    (recovered,) = _notices(store)
    assert recovered.kind == "recovered" and "publishing again" in recovered.body
    store.close()


def test_health_notices_show_a_private_feed_url_masked(sqlite_url: str) -> None:
    """A private feed's token (and, with no name given, its name, which is the URL) went to
    the admin channel and into the outbox as written."""
    clock = FakeClock()
    store = open_store(sqlite_url, clock)
    secret = "https://ana:hunter2@feeds.example/rss?token=S3CRETT0KEN&page=1"
    store.sync_feeds([replace(feed(), url=secret, name=secret)])
    fid = store.feed_health()[0].id

    def poll(ok: bool) -> None:
        store.record_poll(fid, "w", PollOutcome(
            ok=ok, next_check_at=clock(), new_entries=1 if ok else 0,
            error_code=None if ok else "http_error",
            error_message=None if ok else f"HTTP 500 for {secret}"))
        _notices(store)

    poll(True)
    poll(False)
    clock.advance(DAY.total_seconds())
    poll(False)
    poll(True)
    rows = Outbox(store).list()
    assert [r.title for r in rows].count(
        "Feed failing: https://ana:****@feeds.example/rss?token=****&page=1") == 2
    with store.read() as session:
        stored = " ".join(f"{n.subject} {n.body}" for n in session.scalars(
            select(NotificationRow)))
    assert "feeds.example/rss?token=****&page=1" in stored
    assert "hunter2" not in stored and "S3CRETT0KEN" not in stored
    store.close()


_STATE_COLUMNS = ("consecutive_failures", "failing_since", "last_new_entry_at",
                  "last_success_at", "pages_unread_since", "pages_unread_streak",
                  "health_alert", "health_episode")


def test_the_feeds_read_each_cycle_are_every_feed_whose_episode_may_change(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each cycle reads only the feeds :func:`may_change` names (20,000 feeds read took 0.5 s
    in a write transaction): over random feed states, the notices and the feeds' rows come
    out as when every feed is read."""
    clock = FakeClock()
    store = open_store(database_url, clock)
    store.sync_feeds([feed(f"https://f{n}.example/rss") for n in range(12)])
    now = clock()
    times = [None, now - 3 * DAY, now - DAY, now - DAY + timedelta(seconds=1),
             now - timedelta(hours=1)]
    rng = random.Random(7)

    def run(read_all: bool) -> tuple[list[HealthNotice], list[tuple[object, ...]]]:
        if read_all:
            monkeypatch.setattr(health, "may_change", lambda cutoff: true())
        notices = _notices(store)
        monkeypatch.undo()
        with store.read() as session:
            rows = [tuple(getattr(r, c) for c in _STATE_COLUMNS)
                    for r in session.scalars(select(FeedRow).order_by(FeedRow.id))]
        return sorted(notices, key=lambda n: n.feed_url), rows

    def state() -> dict[str, object]:
        new_entry, success = rng.choice(times), rng.choice(times)
        if new_entry is not None and (success is None or success < new_entry):
            success = new_entry  # a poll that found new entries succeeded
        return {"consecutive_failures": rng.choice([0, 0, 1, 4]),
                "failing_since": rng.choice(times), "last_new_entry_at": new_entry,
                "last_success_at": success, "pages_unread_since": rng.choice(times),
                "pages_unread_streak": rng.choice([0, 2, 3, 7]),
                "health_alert": rng.choice([None, None, "failing", "silent", "unread"]),
                "health_episode": 1}

    raised = 0
    for _ in range(150):
        states = [state() for _ in range(12)]
        outcomes = []
        for read_all in (False, True):
            with store.write() as session:
                for row, wanted in zip(session.scalars(select(FeedRow).order_by(FeedRow.id)),
                                       states, strict=True):
                    for column, value in wanted.items():
                        setattr(row, column, value)
            outcomes.append(run(read_all))
        assert outcomes[0] == outcomes[1]
        raised += len(outcomes[0][0])
    assert raised > 150  # the states above do open and close episodes
    store.close()
