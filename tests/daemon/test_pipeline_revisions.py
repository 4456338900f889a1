"""Revised entries through the real stages: a story that develops under the same URL and feed
id is fetched and matched again when the feed shows it changed, within the bounds
(``polling.revise_within``, ``polling.max_revisions``), and alerts only for rules new to it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from monitor.config import PollingConfig
from monitor.models import FetchedBody
from monitor.store.schema import FeedEntryRow
from tests.daemon.test_pipeline import World, page, served_world

QATAR_RULE = """
rules:
  - id: qatar
    name: Qatar
    query: qatar
"""


def atom(updated: str, title: str, link: str, summary: str = "Talks") -> str:
    return ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            f'<id>urn:feed</id><updated>{updated}</updated><entry><id>urn:story</id>'
            f'<title>{title}</title><link href="{link}"/>'
            f"<published>2026-01-01T08:00:00Z</published><updated>{updated}</updated>"
            f"<summary>{summary}</summary></entry></feed>")


class Fetches:
    """Counts the article pages the world's fetcher fetched, by path."""

    def __init__(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: Counter[str] = Counter()
        fetch = world.fetcher.fetch_page

        def counted(url: str, *args: Any, **kwargs: Any) -> FetchedBody:
            self.paths[url.rsplit("/", 1)[-1]] += 1
            return fetch(url, *args, **kwargs)

        monkeypatch.setattr(world.fetcher, "fetch_page", counted)


def _world(tmp_path: Path, database_url: str, **polling: Any) -> Iterator[World]:
    with served_world(tmp_path, database_url, ("a.xml", "Feed A")) as w:
        (tmp_path / "rules" / "qatar.yaml").write_text(QATAR_RULE)
        w.pipeline.poller.rules.reload()
        w.pipeline.poller.reviser.polling = PollingConfig(
            default_interval=60, **{"revise_every": 0, **polling})
        yield w


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    yield from _world(tmp_path, database_url)


def _cycle(w: World, updated: str, words: str, title: str = "Talks resume") -> Any:
    w.write("story.html", page(title, words))
    w.write("a.xml", atom(updated, title, f"{w.base}/story.html"))
    w.clock.advance(61)
    # Last-Modified from the fake clock: each cycle's feed is newer than the last (the
    # real clock may not have moved a second), so no conditional GET answers 304.
    stamp = w.clock.now.timestamp()
    os.utime(w.site / "a.xml", (stamp, stamp))
    w.store.refresh_feeds()  # due now, whatever interval the polls so far gave it
    return w.pipeline.run_cycle()


def _entry(w: World) -> FeedEntryRow:
    with w.store.read() as session:
        return session.scalars(select(FeedEntryRow)).one()


def test_a_revision_that_now_names_qatar_alerts_once(world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fetches = Fetches(world, monkeypatch)
    first = _cycle(world, "2026-01-01T08:00:00Z", "Delegations discussed the agenda.")
    assert first.articles == 1 and world.store.hits() == []
    assert world.store.count("notifications") == 0
    second = _cycle(world, "2026-01-01T09:00:00Z",
                    "Delegations discussed the agenda. Qatar offered to host the next round.")
    assert second.revised == 1 and second.hits == 1 and second.notifications == 1
    assert [h.rule_id for h in world.store.hits()] == ["qatar"]
    assert world.store.count("notifications") == 1 and world.store.count("articles") == 1
    (stored,) = world.store.articles()
    assert "Qatar offered" in stored.text
    assert fetches.paths["story.html"] == 2
    # The feed lists the entry unchanged (served again in full): nothing is fetched.
    third = _cycle(world, "2026-01-01T09:00:00Z",
                   "Delegations discussed the agenda. Qatar offered to host the next round.")
    assert third.revised == 0 and fetches.paths["story.html"] == 2
    assert world.store.count("notifications") == 1 and world.store.count("hits") == 1


def test_an_entry_changing_at_every_poll_is_revisited_max_revisions_times(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for w in _world(tmp_path, sqlite_url, max_revisions=2):
        fetches = Fetches(w, monkeypatch)
        for hour in range(8, 14):
            _cycle(w, f"2026-01-01T{hour:02d}:00:00Z", "Delegations discussed the agenda.")
        assert fetches.paths["story.html"] == 3  # the first fetch and two revisions
        entry = _entry(w)
        assert entry.revisions == 2
        # Out of bounds, the feed's latest state is still recorded (no fetch).
        assert entry.fingerprint == _listed_fingerprint(w)


def _listed_fingerprint(w: World) -> str:
    from monitor.feeds import parse_feed

    (listed,) = parse_feed((w.site / "a.xml").read_bytes(), url=f"{w.base}/a.xml").entries
    return listed.fingerprint()


def test_an_entry_older_than_revise_within_is_not_revisited(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for w in _world(tmp_path, sqlite_url, revise_within="1h"):
        fetches = Fetches(w, monkeypatch)
        _cycle(w, "2026-01-01T08:00:00Z", "Delegations discussed the agenda.")
        w.clock.advance(1800)
        _cycle(w, "2026-01-01T08:30:00Z", "Delegations met.")  # within the hour: revisited
        assert fetches.paths["story.html"] == 2
        w.clock.advance(3600)
        report = _cycle(w, "2026-01-01T10:00:00Z", "Qatar offered to host the next round.")
        assert report.revised == 0 and fetches.paths["story.html"] == 2
        assert w.store.hits() == [] and _entry(w).fingerprint == _listed_fingerprint(w)


def test_a_revision_does_not_alert_again_for_a_rule_that_alerted(
        tmp_path: Path, sqlite_url: str) -> None:
    for w in _world(tmp_path, sqlite_url):
        _cycle(w, "2026-01-01T08:00:00Z", "Qatar offered to host the talks.")
        assert w.store.count("notifications") == 1
        report = _cycle(w, "2026-01-01T09:00:00Z",
                        "Qatar offered to host the talks. The harbour of Doha was closed.")
        assert report.revised == 1 and report.hits == 1 and report.notifications == 1
        assert sorted(h.rule_id for h in w.store.hits()) == ["harbour", "qatar"]
        assert w.store.count("notifications") == 2  # harbour's; none more for qatar


def test_max_revisions_0_turns_revisions_off(tmp_path: Path, sqlite_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for w in _world(tmp_path, sqlite_url, max_revisions=0):
        fetches = Fetches(w, monkeypatch)
        _cycle(w, "2026-01-01T08:00:00Z", "Delegations discussed the agenda.")
        report = _cycle(w, "2026-01-01T09:00:00Z", "Qatar offered to host the next round.")
        assert report.revised == 0 and fetches.paths["story.html"] == 1
        assert w.store.hits() == [] and w.store.count("notifications") == 0


def test_an_entry_seen_before_fingerprints_is_not_revisited_at_the_first_poll_after(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for w in _world(tmp_path, sqlite_url):
        fetches = Fetches(w, monkeypatch)
        _cycle(w, "2026-01-01T08:00:00Z", "Delegations discussed the agenda.")
        with w.store.write() as session:  # as migration 0016 leaves an entry seen before it
            session.execute(update(FeedEntryRow).values(fingerprint=None))
        report = _cycle(w, "2026-01-01T09:00:00Z", "Qatar offered to host the next round.")
        assert report.revised == 0 and fetches.paths["story.html"] == 1
        assert _entry(w).fingerprint == _listed_fingerprint(w) and w.store.hits() == []
        report = _cycle(w, "2026-01-01T10:00:00Z", "Qatar offered to host the next round.")
        assert report.revised == 1 and fetches.paths["story.html"] == 2
        assert [h.rule_id for h in w.store.hits()] == ["qatar"]


def test_a_change_seen_too_soon_after_a_revision_is_taken_later(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for w in _world(tmp_path, sqlite_url, revise_every=3600):
        fetches = Fetches(w, monkeypatch)
        _cycle(w, "2026-01-01T08:00:00Z", "Delegations discussed the agenda.")
        assert _cycle(w, "2026-01-01T08:01:00Z", "The agenda again.").revised == 1  # at once
        soon = _cycle(w, "2026-01-01T08:02:00Z", "Qatar offered to host the next round.")
        assert soon.revised == 0 and fetches.paths["story.html"] == 2
        assert w.store.count("hits") == 0
        w.clock.advance(3600)
        later = _cycle(w, "2026-01-01T08:02:00Z", "Qatar offered to host the next round.")
        assert later.revised == 1 and [h.rule_id for h in w.store.hits()] == ["qatar"]
