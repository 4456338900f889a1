"""An article whose page failed in a way a later try may not meet (a 5xx, a timeout, a refused
connection, a rate limit) is stored from its feed entry at once, and later polls fetch its page
again (within the revisions' bounds) until it comes: the article then takes its page's text,
and a rule that matches only that text alerts, once. A page that failed for good (a 404) is
not fetched again. The feed is served with an ETag by a real server on loopback: while a page
waits for another try, the poll keeps no validators, so the next poll is not a 304 listing
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import PollingConfig
from monitor.store.schema import ArticleRow, FeedEntryRow, FeedRow
from tests.daemon.test_pipeline import World, build_world, page, rss
from tests.fetch_support import Handler, LocalServer

ETAG = '"feed-v1"'


class Site:
    """A feed with one entry, served with an ETag (a 304 to a matching If-None-Match), and
    the entry's page, whose answer the test sets."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.feed = rss([("1", "Talks resume", server.url("/story.html"))]).encode()
        self.conditional: list[bool] = []  # per feed request: was it conditional?
        self.etag = ETAG
        server.routes["/feed.xml"] = self._feed
        self.page(500)

    def _feed(self, handler: Handler) -> None:
        asked = handler.headers.get("If-None-Match")
        self.conditional.append(asked is not None)
        if asked == self.etag:
            handler.reply(304, b"", {"ETag": self.etag})
            return
        handler.reply(200, self.feed, {"Content-Type": "application/rss+xml",
                                       "ETag": self.etag})

    def page(self, status: int) -> None:
        # The rule's word (harbour) is in the page's text only, never in the feed's entry.
        body = page("Talks resume", "The delegations met at the harbour.").encode()
        self.server.route("/story.html", status, body if status == 200 else b"down",
                          {"Content-Type": "text/html"})


@pytest.fixture
def site() -> Iterator[Site]:
    with LocalServer() as server:
        yield Site(server)


@pytest.fixture
def world(tmp_path: Path, database_url: str, site: Site) -> Iterator[World]:
    feeds: list[dict[str, object]] = [{"url": site.server.url("/feed.xml"), "name": "Feed"}]
    with build_world(tmp_path, database_url, tmp_path, site.server.url(""), feeds) as w:
        # Revisions (and so page retries) wait revise_every after the first: 1 h here.
        w.pipeline.poller.reviser.polling = PollingConfig(default_interval=60)
        yield w


def _cycle(world: World, seconds: float) -> tuple[int, int]:
    """A cycle after ``seconds``, the feed due whatever interval the polls gave it: its
    (revised entries, hits)."""
    world.clock.advance(seconds)
    world.store.refresh_feeds()
    report = world.pipeline.run_cycle()
    assert report.failed == 0
    return report.revised, report.hits


def _unread_streak(world: World) -> int:
    with world.store.read() as session:
        return session.scalars(select(FeedRow.pages_unread_streak)).one()


def _article_at(world: World, path: str) -> ArticleRow:
    with world.store.read() as session:
        return session.scalars(select(ArticleRow).where(
            ArticleRow.canonical_url.endswith(path))).one()


def _article(world: World) -> ArticleRow:
    with world.store.read() as session:
        return session.scalars(select(ArticleRow)).one()


def test_a_page_that_failed_with_a_5xx_is_fetched_again_and_its_text_alerts_once(
        world: World, site: Site) -> None:
    assert _cycle(world, 0) == (0, 0)
    stored = _article(world)
    assert (stored.text_source, stored.error) == ("feed_summary", "server_error")
    assert world.store.hits() == []
    # Not silent: the feed's health says its page was not read, and what happens next.
    (health,) = world.store.feed_health()
    assert health.status == "degraded"
    assert health.warning == ("1 of 1 new page not read (server_error: 1): matched on "
                                   "the feed's text; 1 tried again by later polls")
    # Still down at the next poll: tried again (the first retry comes at once), counted.
    assert _cycle(world, 61) == (1, 0)
    assert site.server.hits["/story.html"] == 2 and _article(world).error == "server_error"
    site.page(200)
    assert _cycle(world, 61) == (0, 0)  # the next try waits revise_every (1 h)
    assert site.server.hits["/story.html"] == 2
    # No new entry, but the feed's health still says a page waits (not back to "ok").
    (health,) = world.store.feed_health()
    assert (health.status, health.warning) == (
        "degraded", "1 earlier page waits for another try (matched on the feed's text "
        "meanwhile)")
    assert _cycle(world, 3600) == (1, 1)
    assert world.store.feed_health()[0].status == "ok"  # the page came: nothing waits
    stored = _article(world)
    assert (stored.text_source, stored.error) == ("page", None)
    assert "harbour" in stored.text
    assert [h.rule_id for h in world.store.hits()] == ["harbour"]
    assert world.store.count("notifications") == 1 and world.store.count("articles") == 1
    # No validators were kept while the page waited: every poll so far got the whole feed.
    assert site.conditional == [False, False, False, False]
    # Its text in, the page is not fetched again, and the feed's 304s come back.
    assert _cycle(world, 3600 * 8) == (0, 0)
    assert _cycle(world, 3600 * 8) == (0, 0)
    assert site.conditional[-1] and site.server.hits["/story.html"] == 3
    assert world.store.count("notifications") == 1 and world.store.count("hits") == 1


def test_a_page_is_tried_again_after_the_feed_stops_listing_its_entry(
        world: World, site: Site) -> None:
    """A busy feed scrolls an entry off before a site's outage ends: the entry is tried again
    from what the store kept (its URL, title, date), and a try that fails again keeps the
    feed's text it was matched on."""
    assert _cycle(world, 0) == (0, 0)
    feed_text = _article(world).text
    # The next listing has another entry only (its page is read: no hit, no wait of its own).
    site.feed = rss([("2", "Markets open", site.server.url("/other.html"))]).encode()
    site.etag = '"feed-v2"'
    site.server.route("/other.html", 200, page("Markets open", "Shares rose.").encode(),
                      {"Content-Type": "text/html"})
    assert _cycle(world, 61) == (1, 0)  # the first retry comes at once: down still
    stored = _article_at(world, "/story.html")
    assert (stored.text, stored.error) == (feed_text, "server_error")  # kept, counted
    (health,) = world.store.feed_health()
    assert health.page_warning == ("1 earlier page waits for another try (matched on the "
                                   "feed's text meanwhile)")
    site.page(200)
    assert _cycle(world, 3600) == (1, 1)  # revise_every later: the page came
    stored = _article_at(world, "/story.html")
    assert (stored.text_source, stored.error) == ("page", None) and "harbour" in stored.text
    assert [h.rule_id for h in world.store.hits()] == ["harbour"]
    assert world.store.count("notifications") == 1
    assert world.store.feed_health()[0].status == "ok"
    assert _cycle(world, 3600 * 8) == (0, 0)  # in: not tried again
    assert site.server.hits["/story.html"] == 3


def test_an_unlisted_entrys_tries_stop_at_max_revisions(world: World, site: Site) -> None:
    world.pipeline.poller.reviser.polling = PollingConfig(default_interval=60, max_revisions=2,
                                                          revise_every=0)
    _cycle(world, 0)
    site.feed = rss([]).encode()
    site.etag = '"feed-v2"'
    for _ in range(4):
        _cycle(world, 61)
    assert site.server.hits["/story.html"] == 3  # the first fetch and two more tries
    with world.store.read() as session:
        revisions = session.scalars(select(FeedEntryRow.revisions)).one()
    assert revisions == 2 and _article(world).error == "server_error"
    assert site.conditional[-1]  # nothing waits: the feed's 304s allowed again
    (health,) = world.store.feed_health()
    assert health.page_warning == ("1 earlier page not read after every try allowed: matched "
                                   "on the feed's text")


def test_a_page_that_failed_for_good_is_not_fetched_again(world: World, site: Site) -> None:
    site.page(404)
    _cycle(world, 0)
    assert _article(world).error == "http_status"
    (health,) = world.store.feed_health()
    assert health.warning == ("1 of 1 new page not read (http_status: 1): matched on "
                                   "the feed's text")
    site.page(200)
    for _ in range(3):
        assert _cycle(world, 3600) == (0, 0)
    assert site.server.hits["/story.html"] == 1 and world.store.hits() == []
    assert site.conditional == [False, True, True, True]  # validators kept: 304s
    # The 304s fetched no page: the note stays, or a site refusing every page would look
    # healthy between its new entries.
    (health,) = world.store.feed_health()
    assert (health.status, health.warning) == (
        "degraded", "1 of 1 new page not read (http_status: 1): matched on the feed's text")
    assert _unread_streak(world) == 1  # the admin notice's count (monitor.store.health)
    # A later poll whose new page is read clears it.
    site.feed = rss([("2", "Talks go on", site.server.url("/story.html?2")),
                     ("1", "Talks resume", site.server.url("/story.html"))]).encode()
    site.etag = '"feed-v2"'
    _cycle(world, 3600)
    (health,) = world.store.feed_health()
    assert (health.status, health.warning) == ("ok", None)
    assert _unread_streak(world) == 0


def test_page_retries_stop_at_max_revisions(world: World, site: Site) -> None:
    world.pipeline.poller.reviser.polling = PollingConfig(default_interval=60, max_revisions=2,
                                                          revise_every=0)
    for _ in range(5):
        _cycle(world, 61)
    assert site.server.hits["/story.html"] == 3  # the first fetch and two more tries
    assert _article(world).error == "server_error" and world.store.hits() == []
    # Given up: nothing waits, the feed's 304s are allowed again, and the health says the
    # page was never read, through the 304s too.
    assert site.conditional[-1]
    (health,) = world.store.feed_health()
    assert (health.status, health.warning) == (
        "degraded", "1 earlier page not read after every try allowed: matched on the feed's "
        "text")


def test_a_page_that_came_on_a_later_try_is_found_by_later_copies_of_its_text(
        tmp_path: Path, database_url: str) -> None:
    """Outlet A's page failed, so its article was stored (and its story keyed) by the feed's
    headline and summary alone; a later try brought the text. Outlet B then carries the same
    text under another headline: B joins A's story by that text, and the rule that matched
    both alerts once. Without the text's signature and band rows, B would be a new story and
    alert again."""
    with LocalServer() as server:
        story = page("Qatar to host talks", (
            "The delegations met at the harbour. Mediators said the next round would open "
            "on Monday, with the exchange of detainees and the reopening of the crossings "
            "at the top of the agenda, and both sides sending their chief negotiators."
        )).encode()
        html = {"Content-Type": "text/html"}
        server.route("/a.html", 500, b"down")
        server.route("/a.xml", body=rss([("a1", "Qatar to host talks", server.url("/a.html"))])
                     .encode(), headers={"Content-Type": "application/rss+xml"})
        server.route("/b.xml", body=rss([]).encode(),
                     headers={"Content-Type": "application/rss+xml"})
        feeds: list[dict[str, object]] = [{"url": server.url("/a.xml"), "name": "A"},
                                          {"url": server.url("/b.xml"), "name": "B"}]
        with build_world(tmp_path, database_url, tmp_path, server.url(""), feeds) as world:
            world.pipeline.poller.reviser.polling = PollingConfig(default_interval=60)
            _cycle(world, 0)
            assert _article(world).error == "server_error" and world.store.hits() == []
            server.route("/a.html", body=story, headers=html)
            assert _cycle(world, 61) == (1, 1)  # the page came: its text matched
            server.route("/b.html", body=story.replace(b"Qatar to host talks",
                                                       b"Doha will host the next round"),
                         headers=html)
            server.route("/b.xml", body=rss([("b1", "Doha will host the next round",
                                              server.url("/b.html"))]).encode(),
                         headers={"Content-Type": "application/rss+xml"})
            _cycle(world, 61)
            with world.store.read() as session:
                rows = session.scalars(select(ArticleRow).order_by(ArticleRow.id)).all()
                assert [r.text_source for r in rows] == ["page", "page"]
                assert rows[0].story_id == rows[1].story_id
            assert sorted(h.rule_id for h in world.store.hits()) == ["harbour", "harbour"]
            assert world.store.count("notifications") == 1


def test_a_page_that_asked_to_wait_is_not_tried_before_its_wait_is_over(
        world: World, site: Site) -> None:
    """A 503 with Retry-After pauses the page's URL: a poll within the pause does not spend
    one of the entry's tries on a refusal that sends nothing; the first poll after it does
    fetch the page."""
    moment = [1000.0]
    world.fetcher._backoff._clock = lambda: moment[0]  # the fetcher's pauses on a test clock
    site.server.route("/story.html", 503, b"down", {"Retry-After": "1800"})
    _cycle(world, 0)
    assert _article(world).error == "rate_limited"
    assert world.fetcher.paused(site.server.url("/story.html"))
    assert _cycle(world, 61) == (0, 0)  # paused: not requested, not counted
    with world.store.read() as session:
        assert session.scalars(select(FeedEntryRow.revisions)).one() == 0
    assert site.server.hits["/story.html"] == 1
    assert site.conditional == [False, False]  # still waiting: no 304 may hide it
    moment[0] += 1801
    site.page(200)
    assert _cycle(world, 61) == (1, 1)
    assert site.server.hits["/story.html"] == 2 and _article(world).error is None
