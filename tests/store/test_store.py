"""The store on SQLite and on a real PostgreSQL: idempotence, leases, health, hygiene."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from monitor.store import Outbox, PollOutcome, Route, Store, current_revision, head_revision
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store


def _feed_id(store: Store) -> int:
    store.sync_feeds([feed()])
    return store.feed_health()[0].id


def test_migrations_reach_head_and_are_idempotent(store: Store) -> None:
    from monitor.store import upgrade

    upgrade(store.engine)
    assert current_revision(store.engine) == head_revision()


def test_hits_list_newest_first_per_rule_from_their_indexes(store: Store,
                                                           clock: FakeClock) -> None:
    from sqlalchemy import inspect

    fid = _feed_id(store)
    for n in range(4):
        clock.advance(60)
        store.save_article(fid, article(url=f"https://news.example/a/{n}", key=f"guid:{n}",
                                        title=f"Title {n}"),
                           [hit("gaza"), hit(f"other{n % 2}")], console_route)
    newest = store.hits(rule_id="gaza", limit=2)
    assert [h.title for h in newest] == ["Title 3", "Title 2"]
    assert all(h.rule_id == "gaza" and h.evidence for h in newest)
    assert [h.title for h in store.hits(limit=3)] == ["Title 3", "Title 3", "Title 2"]
    assert len(store.hits()) == 8
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("hits")}
    assert indexes["ix_hits_rule_matched"] == ["rule_id", "matched_at", "id"]
    assert indexes["ix_hits_matched"] == ["matched_at", "id"]


def test_hits_come_a_batch_at_a_time_each_once_in_order(store: Store,
                                                       clock: FakeClock) -> None:
    """``monitor hits`` streams (an export of a million hits held 2 GB): batches by
    ``(matched_at, id)``, so hits saved in the same instant are neither lost nor repeated
    at a batch's edge."""
    fid = _feed_id(store)
    for n in range(5):
        clock.advance(60 * (n % 2))  # pairs of articles saved in the same instant
        store.save_article(fid, article(url=f"https://news.example/a/{n}", key=f"guid:{n}"),
                           [hit("gaza"), hit("qatar"), hit("ceasefire")], console_route)
    every = [h.id for h in store.hits()]
    assert len(every) == 15
    for batch in (1, 2, 4, 15, 100):
        assert [h.id for h in store.iter_hits(batch=batch)] == every
        assert [h.id for h in store.iter_hits(batch=batch, limit=7)] == every[:7]
        assert [h.id for h in store.iter_hits(rule_id="qatar", batch=batch)] == [
            h.id for h in store.hits(rule_id="qatar")]


def test_article_hits_and_outbox_are_stored_once(store: Store) -> None:
    fid = _feed_id(store)
    first = store.save_article(fid, article(), [hit()], console_route)
    again = store.save_article(fid, article(key="guid:other"), [hit()], console_route)
    assert first.created and first.new_hits == 1 and first.new_notifications == 1
    assert not again.created and again.article_id == first.article_id
    assert store.count("articles") == 1
    assert store.count("hits") == 1
    assert store.count("notifications") == 1
    assert store.unseen_entry_keys(fid, ["guid:1", "guid:other", "guid:new"]) == {"guid:new"}


def test_G11_three_rules_on_one_article_are_three_alerts_however_often_it_is_saved(
        store: Store) -> None:
    """G11: an article three rules match gives one alert per rule for the destination (the
    documented choice; a digest channel combines them when it sends), and saving it again,
    under another entry key or as a copy from another outlet, adds none."""
    fid = _feed_id(store)
    hits = [hit("gaza"), hit("qatar"), hit("ceasefire")]
    first = store.save_article(fid, article(), hits, console_route)
    assert first.new_hits == 3 and first.new_notifications == 3
    again = store.save_article(fid, article(key="guid:relisted"), hits, console_route)
    copy = store.save_article(
        fid, article(url="https://other.example/copy", source="Other Outlet", key="guid:2"),
        hits, console_route, story_id=first.story_id)
    assert again.new_notifications == 0 and copy.new_notifications == 0
    assert store.count("notifications") == 3
    assert sorted(n.rule_id for n in Outbox(store).list(None, 10)) == [
        "ceasefire", "gaza", "qatar"]


def test_a_second_copy_of_a_story_is_a_hit_but_not_a_second_alert(store: Store) -> None:
    fid = _feed_id(store)
    first = store.save_article(fid, article(), [hit()], console_route)
    copy = store.save_article(
        fid, article(url="https://other.example/copy", source="Other Outlet", key="guid:2"),
        [hit()], console_route, story_id=first.story_id)
    assert copy.created and copy.story_id == first.story_id
    assert store.count("hits") == 2
    assert store.count("notifications") == 1
    assert store.story_sources(first.story_id) == ["Example News", "Other Outlet"]


def test_control_characters_are_removed_identically_on_every_backend(store: Store) -> None:
    fid = _feed_id(store)
    dirty = article(title="Ti\x00tle\x01 with \x1b[31m esc \u202e rlo")
    store.save_article(fid, dirty, [hit()], console_route)
    (stored,) = store.hits()
    assert stored.title == "Title with [31m esc  rlo"


def test_G1_due_feeds_are_leased_to_one_owner_at_a_time(store: Store, clock: FakeClock) -> None:
    _feed_id(store)
    lease = timedelta(seconds=120)
    assert len(store.claim_due_feeds("a", lease, 10)) == 1
    assert store.claim_due_feeds("b", lease, 10) == []
    clock.advance(121)  # the lease expired: a crashed owner's feed is picked up again
    assert len(store.claim_due_feeds("b", lease, 10)) == 1


def test_a_running_poll_renews_its_own_lease_only(store: Store, clock: FakeClock) -> None:
    fid = _feed_id(store)
    lease = timedelta(seconds=120)
    store.claim_due_feeds("a", lease, 10)
    clock.advance(100)
    assert store.renew_feed_leases("b", [fid], lease) == 0  # not b's: nothing changes
    assert store.renew_feed_leases("a", [fid], lease) == 1
    clock.advance(100)  # 200 s after the claim, 100 after the renewal: still a's
    assert store.claim_due_feeds("b", lease, 10) == []
    clock.advance(21)
    assert len(store.claim_due_feeds("b", lease, 10)) == 1
    assert store.renew_feed_leases("a", [fid], lease) == 0  # a lost it: no renewal steals it


def test_poll_outcomes_update_health(store: Store, clock: FakeClock) -> None:
    fid = _feed_id(store)
    store.claim_due_feeds("a", timedelta(seconds=60), 10)
    store.record_poll(fid, "a", PollOutcome(ok=False, next_check_at=clock() + timedelta(60),
                                            error_code="timeout_total", error_message="slow"))
    (health,) = store.feed_health()
    assert health.status == "failing" and health.consecutive_failures == 1
    assert health.last_error_code == "timeout_total"
    store.record_poll(fid, "a", PollOutcome(ok=True, next_check_at=clock(), etag='"v1"',
                                            new_entries=3))
    (health,) = store.feed_health()
    assert health.status == "ok" and health.consecutive_failures == 0
    assert health.entries_seen == 3
    assert store.claim_due_feeds("b", timedelta(seconds=60), 10)[0].etag == '"v1"'


def _feed_row(store: Store, fid: int) -> dict[str, object]:
    from sqlalchemy import select

    from monitor.store.schema import FeedRow

    with store.read() as session:
        row = session.scalars(select(FeedRow).where(FeedRow.id == fid)).one()
        return {col.key: getattr(row, col.key) for col in FeedRow.__table__.c}


def test_record_poll_writes_what_the_poll_did_and_keeps_the_rest(store: Store,
                                                                 clock: FakeClock) -> None:
    """The one prepared UPDATE: a column the poll did not touch keeps its value (NULL
    parameters leave it), counters add, and only the lease holder's lease is released."""
    fid = _feed_id(store)
    lease = timedelta(seconds=60)
    store.claim_due_feeds("a", lease, 10)
    first = clock()
    store.record_poll(fid, "a", PollOutcome(
        ok=True, next_check_at=first + timedelta(seconds=600), etag='"e1"', last_modified="lm1",
        full_fetch=True, new_entries=4, warning="w1", entry_rate=0.5,
        poll_interval_seconds=600, replaces_page_note=True, page_warning="p1"))
    row = _feed_row(store, fid)
    assert (row["last_success_at"], row["last_full_fetch_at"], row["last_new_entry_at"]) == (
        first, first, first)
    assert (row["entries_seen"], row["entry_rate"], row["poll_interval_seconds"]) == (4, 0.5, 600)
    assert (row["etag"], row["last_modified"], row["last_warning"]) == ('"e1"', "lm1", "w1")
    assert row["page_warning"] == "p1"
    assert row["lease_owner"] is None and row["lease_until"] is None
    assert row["next_check_at"] == first + timedelta(seconds=600)

    clock.advance(700)
    store.claim_due_feeds("a", lease, 10)
    store.record_poll(fid, "a", PollOutcome(
        ok=False, next_check_at=clock() + timedelta(seconds=60), error_code="not_a_feed",
        error_message="html\x00page", parse_failure=True, disable=True,
        paused_until=clock() + timedelta(seconds=30)))
    row = _feed_row(store, fid)
    assert (row["consecutive_failures"], row["parse_failures"]) == (1, 1)
    assert (row["last_error_code"], row["last_error_message"]) == ("not_a_feed", "htmlpage")
    assert row["disabled_at"] == clock() and row["paused_until"] == clock() + timedelta(seconds=30)
    assert (row["last_success_at"], row["etag"], row["entries_seen"]) == (first, '"e1"', 4)
    assert row["lease_owner"] is None

    clock.advance(60)
    store.record_poll(fid, "a", PollOutcome(ok=False, next_check_at=clock(),
                                            error_code="timeout_total"))
    row = _feed_row(store, fid)  # a fetch error neither counts as nor resets a parse failure
    assert (row["consecutive_failures"], row["parse_failures"]) == (2, 1)
    assert row["disabled_at"] == first + timedelta(seconds=700)

    # Another daemon holds the lease now: recording a (late) poll leaves its lease alone.
    with store.write() as session:
        session.execute(text("UPDATE feeds SET disabled_at = NULL, next_check_at = :t"),
                        {"t": clock() - timedelta(seconds=1)})
    clock.advance(60)
    assert len(store.claim_due_feeds("b", lease, 10)) == 1
    store.record_poll(fid, "a", PollOutcome(ok=True, next_check_at=clock(), new_entries=0))
    row = _feed_row(store, fid)
    assert row["lease_owner"] == "b" and row["lease_until"] == clock() + lease
    # Not a full fetch, nothing new, no rate computed: those keep their values.
    assert (row["last_full_fetch_at"], row["last_new_entry_at"]) == (first, first)
    assert (row["entries_seen"], row["entry_rate"], row["poll_interval_seconds"]) == (4, 0.5, 600)
    assert (row["consecutive_failures"], row["parse_failures"], row["last_error_code"]) == (
        0, 0, None)
    assert row["last_warning"] is None and row["etag"] is None
    # It fetched no article page: the page note of the last poll that did stays.
    assert row["page_warning"] == "p1"
    health = next(h for h in store.feed_health() if h.id == fid)
    assert (health.status, health.warning) == ("degraded", "p1")
    store.claim_due_feeds("b", lease, 10)
    store.record_poll(fid, "b", PollOutcome(ok=True, next_check_at=clock(), warning="w2",
                                            replaces_page_note=True))
    health = next(h for h in store.feed_health() if h.id == fid)
    assert (health.page_warning, health.warning) == (None, "w2")


def test_sec_A11_a_permanent_redirect_moves_a_cli_feed_and_flags_a_configured_one(
        store: Store, clock: FakeClock) -> None:
    store.sync_feeds([feed()])
    store.add_feed(feed("https://cli.example/old.xml", "Cli"))
    store.add_feed(feed("https://cli.example/taken.xml", "Taken"))
    ids = {h.url: h.id for h in store.feed_health()}
    store.claim_due_feeds("a", timedelta(seconds=60), 10)
    moves = {"https://news.example/feed.xml": "https://news.example/new.xml",
             "https://cli.example/old.xml": "https://cli.example/new.xml",
             "https://cli.example/taken.xml": "https://news.example/feed.xml"}
    for old, new in moves.items():
        store.record_poll(ids[old], "a", PollOutcome(ok=True, next_check_at=clock(), new_url=new))
    health = {h.id: h for h in store.feed_health()}
    # From the command line: follows the redirect (the address policy passed it already).
    assert health[ids["https://cli.example/old.xml"]].url == "https://cli.example/new.xml"
    assert health[ids["https://cli.example/old.xml"]].last_warning is None
    # From monitor.yaml: the file stays the truth; health says what to change.
    configured = health[ids["https://news.example/feed.xml"]]
    assert configured.url == "https://news.example/feed.xml"
    assert configured.status == "degraded" and "https://news.example/new.xml" in (
        configured.last_warning or "")
    # Onto a URL another feed has: unchanged (feed URLs are unique), and said so.
    taken = health[ids["https://cli.example/taken.xml"]]
    assert taken.url == "https://cli.example/taken.xml" and "already" in (taken.last_warning or "")


def test_unconfigured_feeds_stop_being_polled(store: Store) -> None:
    store.sync_feeds([feed(), feed("https://two.example/rss", "Two")])
    store.sync_feeds([feed()])
    claimed = store.claim_due_feeds("a", timedelta(seconds=60), 10)
    assert [f.url for f in claimed] == ["https://news.example/feed.xml"]


def test_outbox_claim_send_retry_dead(store: Store, clock: FakeClock) -> None:
    fid = _feed_id(store)
    routes = lambda _h: [Route("console", "console", "console"),  # noqa: E731
                         Route("chat", "k1", "json://127.0.0.1/***")]
    store.save_article(fid, article(), [hit()], routes)
    outbox = Outbox(store)
    lease = timedelta(seconds=120)
    claimed = outbox.claim("w1", lease)
    assert {c.channel for c in claimed} == {"console", "chat"}
    assert outbox.claim("w2", lease) == []
    console = next(c for c in claimed if c.channel == "console")
    chat = next(c for c in claimed if c.channel == "chat")
    assert console.alert is not None and console.alert.title == "Gencatan senjata di Gaza"
    assert outbox.record_sent(console.id, "w1")
    outbox.record_failure(chat.id, "w1", "HTTP 500", retry_at=clock() + timedelta(seconds=30))
    assert outbox.claim("w1", lease) == []  # not due yet
    clock.advance(31)
    (again,) = outbox.claim("w1", lease)
    assert again.id == chat.id and again.attempts == 1
    outbox.record_failure(chat.id, "w1", "HTTP 401", retry_at=None)
    assert outbox.counts() == {"pending": 0, "held": 0, "digest": 0, "sent": 1, "dead": 1,
                               "unknown": 0}
    assert outbox.retry(dead=True) == 1
    assert outbox.counts()["pending"] == 1
    (revived,) = outbox.claim("w1", lease)
    assert revived.id == chat.id and revived.attempts == 0  # a whole retry schedule again


def test_expired_outbox_lease_is_reclaimed_after_a_crash(store: Store, clock: FakeClock) -> None:
    fid = _feed_id(store)
    store.save_article(fid, article(), [hit()], console_route)
    outbox = Outbox(store)
    (claimed,) = outbox.claim("crashed", timedelta(seconds=2))
    clock.advance(3)
    (reclaimed,) = outbox.claim("survivor", timedelta(seconds=2))
    assert reclaimed.id == claimed.id
    assert not outbox.record_sent(claimed.id, "crashed")  # the lost lease cannot settle it
    assert outbox.record_sent(claimed.id, "survivor")


def test_a_lease_is_renewed_only_by_its_holder(store: Store, clock: FakeClock) -> None:
    fid = _feed_id(store)
    store.save_article(fid, article(), [hit()], console_route)
    outbox = Outbox(store)
    lease = timedelta(seconds=10)
    (row,) = outbox.claim("first", lease)
    clock.advance(8)
    assert outbox.renew([row.id], "first", lease) == [row.id]  # live: extended to t=18
    clock.advance(8)
    assert outbox.claim("second", lease) == []  # the renewed lease still holds at t=16
    clock.advance(3)
    assert [r.id for r in outbox.claim("second", lease)] == [row.id]  # ran out: taken
    assert outbox.renew([row.id], "first", lease) == []  # lost: the first must not send it
    assert outbox.record_sent(row.id, "second")
    assert outbox.renew([row.id], "second", lease) == []  # settled rows are not renewed


def test_release_returns_leased_rows_to_pending(store: Store) -> None:
    fid = _feed_id(store)
    store.save_article(fid, article(), [hit()], console_route)
    outbox = Outbox(store)
    outbox.claim("w", timedelta(seconds=60))
    assert outbox.release("w") == 1
    assert outbox.counts()["pending"] == 1


def test_concurrent_claims_never_hand_out_a_row_twice(database_url: str) -> None:
    store = open_store(database_url)
    fid = _feed_id(store)
    for i in range(60):
        store.save_article(fid, article(url=f"https://n.example/{i}", key=f"g{i}"), [hit()],
                           console_route)
    outbox = Outbox(store)
    got: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while batch := outbox.claim(name, timedelta(seconds=300), limit=3):
            with lock:
                got.extend(c.id for c in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(got) == sorted(set(got)) and len(got) == 60
    store.close()


def test_G5_sqlite_writers_do_not_fail_with_database_locked(sqlite_url: str) -> None:
    """G5: four threads of read-modify-write transactions all commit."""
    store = open_store(sqlite_url)
    _feed_id(store)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(100):
                with store.write() as session:
                    value = session.execute(text("SELECT entries_seen FROM feeds")).scalar_one()
                    session.execute(text("UPDATE feeds SET entries_seen = :v"), {"v": value + 1})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert store.feed_health()[0].entries_seen == 400
    store.close()


def test_database_errors_never_show_bound_parameters(sqlite_url: str) -> None:
    """F8: an IntegrityError carrying a secret destination does not print it."""
    from sqlalchemy.exc import IntegrityError

    store = open_store(sqlite_url)
    secret = "json://user:s3cr3t-token@hooks.example/x"
    with pytest.raises(IntegrityError) as info, store.write() as session:
        session.execute(text("INSERT INTO stories (id, created_at) VALUES (1, :t)"),
                        {"t": "2026-01-01"})
        session.execute(text("INSERT INTO stories (id, created_at) VALUES (1, :t)"), {"t": secret})
    assert "s3cr3t" not in str(info.value)
    store.close()


def test_an_interval_changed_during_a_poll_starts_the_feed_afresh(database_url: str) -> None:
    """monitor.yaml changed the interval (1 h -> 5 min) while the feed was being polled: the
    poll, timed by the old interval, must not put its next check an hour away again."""
    clock = FakeClock()
    store = open_store(database_url, clock)
    hourly = dataclasses.replace(feed(), interval_seconds=3600)
    store.sync_feeds([hourly])
    (claimed,) = store.claim_due_feeds("w", timedelta(minutes=5), limit=5)
    store.sync_feeds([dataclasses.replace(hourly, interval_seconds=300)])  # during the poll
    store.record_poll(claimed.id, "w", PollOutcome(
        ok=True, next_check_at=clock() + timedelta(hours=1), poll_interval_seconds=3600,
        entry_rate=0.5), claimed.interval_seconds)
    (health,) = store.feed_health()
    assert health.next_check_at <= clock() + timedelta(minutes=5)
    assert health.poll_interval_seconds is None and health.last_success_at is not None
    # The next poll, made with the new interval, is recorded in full.
    clock.advance(300)
    (claimed,) = store.claim_due_feeds("w", timedelta(minutes=5), limit=5)
    assert claimed.interval_seconds == 300
    store.record_poll(claimed.id, "w", PollOutcome(
        ok=True, next_check_at=clock() + timedelta(minutes=7), poll_interval_seconds=420),
        claimed.interval_seconds)
    (health,) = store.feed_health()
    assert health.poll_interval_seconds == 420
    store.close()
