"""EntryReviser.plan: which known entries a poll fetches again, which it only records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.config import PollingConfig
from monitor.daemon.revisions import EntryReviser
from monitor.models import FeedEntry
from monitor.store import KnownEntry

NOW = datetime(2026, 1, 2, 12, tzinfo=UTC)


def _reviser(**polling: Any) -> EntryReviser:
    def unused(*_args: Any) -> Any:
        raise AssertionError("plan fetches nothing")

    store: Any = None  # plan reads only what it is given
    return EntryReviser(PollingConfig(**polling), store, unused, link=unused, submit=unused,
                        prepare=unused)


def _entry(n: int, title: str = "changed") -> FeedEntry:
    return FeedEntry(key=f"k{n}", url=f"https://news.example/{n}", title=title)


def _known(fingerprint: str | None = "old", revisions: int = 0,
           age: timedelta = timedelta(hours=1), article_id: int | None = 1) -> KnownEntry:
    return KnownEntry(fingerprint, revisions, NOW - age, article_id)


def test_changed_entries_past_the_polls_limit_wait_for_a_later_poll() -> None:
    entries = tuple(_entry(n) for n in range(5))
    plan = _reviser().plan(entries, {e.key: _known() for e in entries}, NOW, limit=2)
    assert [e.key for e in plan.revise] == ["k0", "k1"]
    assert plan.record == {}  # the other three keep their old fingerprint: taken later
    assert _reviser().plan(entries, {e.key: _known() for e in entries}, NOW, limit=0).revise == ()


def test_unchanged_unknown_and_out_of_bounds_entries_are_not_fetched() -> None:
    same = _entry(0)
    entries = (same, _entry(1), _entry(2), _entry(3), _entry(4), _entry(4, "again"))
    known = {"k0": _known(fingerprint=same.fingerprint()), "k1": _known(fingerprint=None),
             "k2": _known(revisions=5), "k3": _known(age=timedelta(days=3)), "k4": _known()}
    plan = _reviser(max_revisions=5, revise_within="2d").plan(entries, known, NOW, limit=10)
    assert [e.key for e in plan.revise] == ["k4"]  # listed twice: fetched once
    assert set(plan.record) == {"k1", "k2", "k3"}
    assert _reviser(max_revisions=0).plan(entries, known, NOW, limit=10).revise == ()


def test_a_revision_waits_revise_every_after_the_last_one() -> None:
    entry = _entry(0)
    reviser = _reviser(revise_every="1h")
    seen = NOW - timedelta(hours=3)
    never = KnownEntry("old", 0, seen, 1, revised_at=None)
    recent = KnownEntry("old", 1, seen, 1, revised_at=NOW - timedelta(minutes=20))
    due = KnownEntry("old", 1, seen, 1, revised_at=NOW - timedelta(hours=1))
    assert reviser.plan((entry,), {"k0": never}, NOW, limit=5).revise == (entry,)  # at once
    waiting = reviser.plan((entry,), {"k0": recent}, NOW, limit=5)
    assert waiting.revise == () and waiting.record == {}  # the change is taken later
    assert reviser.plan((entry,), {"k0": due}, NOW, limit=5).revise == (entry,)


def test_each_later_revision_waits_twice_as_long_as_the_one_before() -> None:
    # A CMS that rewrites <updated> at every poll spent the five revisions in the first five
    # hours; a development later that day was never fetched. Doubled: 0, 1, 3, 7 and 15 hours.
    entry = _entry(0)
    reviser = _reviser(revise_every="1h", revise_within="2d")
    seen = NOW - timedelta(hours=20)
    for done, wait in ((1, 1), (2, 2), (3, 4), (4, 8)):
        early = KnownEntry("old", done, seen, 1, revised_at=NOW - timedelta(hours=wait - 0.5))
        due = KnownEntry("old", done, seen, 1, revised_at=NOW - timedelta(hours=wait))
        assert reviser.plan((entry,), {"k0": early}, NOW, limit=5).revise == (), done
        assert reviser.plan((entry,), {"k0": due}, NOW, limit=5).revise == (entry,), done
    # Sixty revisions in (max_revisions allows 100): the wait is held at revise_within, not
    # 2**59 hours (a timedelta that large overflowed).
    many = _reviser(revise_every="1h", revise_within="2d", max_revisions=100)
    late = KnownEntry("old", 60, NOW - timedelta(hours=40), 1,
                      revised_at=NOW - timedelta(hours=30))
    assert many.plan((entry,), {"k0": late}, NOW, limit=5).revise == ()


def test_an_unchanged_entry_whose_page_failed_transiently_is_fetched_again() -> None:
    entries = tuple(_entry(n) for n in range(6))
    codes = {"k0": "server_error", "k1": "timeout_total", "k2": "rate_limited",
             "k3": "fetch_error", "k4": "http_status", "k5": None}
    known = {e.key: KnownEntry(e.fingerprint(), 0, NOW - timedelta(hours=1), 1,
                               page_error=codes[e.key]) for e in entries}
    plan = _reviser().plan(entries, known, NOW, limit=10)
    # A 404 (http_status) or a page that came is not fetched again; the transient ones are.
    assert [e.key for e in plan.revise] == ["k0", "k1", "k2", "k3"]
    assert plan.retries == {"k0", "k1", "k2", "k3"} and plan.retry_pending
    assert plan.record == {}
    quiet = _reviser().plan(entries[4:], known, NOW, limit=10)
    assert quiet.revise == () and not quiet.retry_pending


def test_page_retries_keep_the_revisions_bounds_and_waits() -> None:
    entry = _entry(0)

    def known(revisions: int, revised_ago: timedelta | None,
              age: timedelta = timedelta(hours=3)) -> dict[str, KnownEntry]:
        return {"k0": KnownEntry(entry.fingerprint(), revisions, NOW - age, 1,
                                 revised_at=NOW - revised_ago if revised_ago else None,
                                 page_error="server_error")}

    reviser = _reviser(revise_every="1h", max_revisions=5, revise_within="2d")
    waiting = reviser.plan((entry,), known(1, timedelta(minutes=20)), NOW, limit=5)
    # Too soon after the last try: not fetched, but still pending (no validators kept).
    assert waiting.revise == () and waiting.retry_pending
    assert reviser.plan((entry,), known(1, timedelta(hours=1)), NOW, limit=5).revise == (entry,)
    assert reviser.plan((entry,), known(1, None), NOW, limit=0).revise == ()  # the poll's limit
    spent = reviser.plan((entry,), known(5, timedelta(days=1)), NOW, limit=5)
    old = reviser.plan((entry,), known(0, None, age=timedelta(days=3)), NOW, limit=5)
    for plan in (spent, old):  # out of bounds: given up, the feed's 304s allowed again
        assert plan.revise == () and not plan.retry_pending and plan.record == {}
        assert plan.gave_up == 1  # and the feed's health says so
    assert waiting.gave_up == 0


def test_a_changed_entry_whose_page_failed_is_revised_once_not_twice() -> None:
    entry = _entry(0, "a new headline")
    known = {"k0": KnownEntry("old", 0, NOW - timedelta(hours=1), 1, page_error="server_error")}
    plan = _reviser().plan((entry, entry), known, NOW, limit=5)
    assert plan.revise == (entry,) and plan.retries == frozenset() and plan.retry_pending


def test_unlisted_entries_waiting_for_a_try_are_planned_after_the_listed_ones() -> None:
    from monitor.store import UnlistedRetry

    listed = _entry(0)
    known = {"k0": KnownEntry(listed.fingerprint(), 0, NOW - timedelta(hours=1), 1,
                              page_error="server_error")}

    def gone(n: int, revisions: int = 0, age: timedelta = timedelta(hours=2)) -> UnlistedRetry:
        return UnlistedRetry(f"k{n}", KnownEntry("fp", revisions, NOW - age, n,
                                                 page_error="timeout_total"),
                             f"https://news.example/{n}", f"Story {n}", None)

    unlisted = [gone(1), gone(2), gone(3, revisions=5)]
    plan = _reviser(max_revisions=5, revise_within="2d").plan((listed,), known, NOW, limit=2,
                                                            unlisted=unlisted)
    # The listed entry first, then the unlisted within the poll's limit; k3's are spent.
    assert [e.key for e in plan.revise] == ["k0", "k1"]
    assert plan.revise[1].url == "https://news.example/1" and plan.revise[1].title == "Story 1"
    assert plan.retries == {"k0", "k1"} and plan.unlisted == {"k1"}
    assert plan.waiting == 3 and plan.retry_pending  # k2 waits for the next poll
    assert plan.gave_up == 1  # said in the feed's health
