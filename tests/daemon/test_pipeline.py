"""The polling cycle with real stages: a real HTTP server on loopback, real extraction, SQLite."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from monitor.config import Config, DeliveryConfig, ExtractConfig, HttpConfig, PollingConfig
from monitor.daemon.active_rules import ActiveRules
from monitor.daemon.pipeline import Pipeline, feed_lease
from monitor.daemon.poller import FeedPoller
from monitor.delivery.channels import ChannelDirectory
from monitor.errors import StoreError
from monitor.extract.extractor import Extractor
from monitor.net.fetch import Fetcher
from monitor.rules import analyze_text
from monitor.store import Outbox, Store, TextIndex
from monitor.store.schema import ArticleRow, FeedRow, ItemFailureRow
from monitor.stories.registry import StoryRegistry
from tests.daemon_support import REPO, serve_directory, wait_for
from tests.fetch_support import Handler, LocalServer, NetworkGuard
from tests.store_support import FakeClock, open_store

RULES = """
rules:
  - id: ceasefire
    name: Ceasefire
    query: ceasefire OR "gencatan senjata"
  - id: harbour
    name: Harbour
    query: harbour
"""

PARAGRAPH = ("Negotiators met again on Sunday in a closed session that lasted most of the day, "
             "and officials from both delegations described the atmosphere as serious. ")


def page(title: str, words: str) -> str:
    body = "".join(f"<p>{PARAGRAPH}{words}</p>" for _ in range(4))
    return (f"<html><head><title>{title}</title></head><body><nav>Home | World</nav>"
            f"<article><h1>{title}</h1>{body}</article><footer>(c) News</footer></body></html>")


def rss(items: list[tuple[str, str, str]], extra: str = "") -> str:
    rendered = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description>{t}</description></item>" for guid, t, link in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
            f"<link>http://x/</link><description>d</description>{extra}{rendered}"
            "</channel></rss>")


@dataclass
class World:
    site: Path
    base: str
    store: Store
    clock: FakeClock
    pipeline: Pipeline
    fetcher: Fetcher
    extractor: Extractor
    config: Config

    def write(self, name: str, text: str) -> None:
        path = self.site / name
        existed = path.exists()
        path.write_text(text, encoding="utf-8")
        if existed:  # the test server's Last-Modified has one-second resolution
            stat = path.stat()
            os.utime(path, (stat.st_atime, stat.st_mtime + 10))


@contextmanager
def build_world(tmp_path: Path, sqlite_url: str, site: Path, base: str,
                feeds: list[dict[str, object]], **http: object) -> Iterator[World]:
    """Every real stage on ``feeds``; the rules are this module's RULES."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir(exist_ok=True)
    (rules_dir / "rules.yaml").write_text(RULES)
    config = Config(
        base_dir=tmp_path, rules_dir=rules_dir, feeds=feeds,
        http=HttpConfig(allow_private_networks=["127.0.0.1/32"], respect_robots_txt=False,
                        **http),
        extract=ExtractConfig(workers=1, min_text_chars=100),
        polling=PollingConfig(default_interval=60),
    )
    clock = FakeClock()
    store = open_store(sqlite_url, clock)
    store.sync_feeds(config.feed_sources())
    rules = ActiveRules(rules_dir)
    rules.reload()
    fetcher = Fetcher(config.http)
    extractor = Extractor(config.extract, analyzer=analyze_text)  # as the daemon
    poller = FeedPoller(config, store, fetcher, extractor, rules, ChannelDirectory(config),
                        StoryRegistry(store))
    try:
        yield World(site, base, store, clock, Pipeline(config, store, poller, "test"),
                    fetcher, extractor, config)
    finally:
        extractor.close()
        fetcher.close()
        store.close()


@contextmanager
def served_world(tmp_path: Path, database_url: str, *feeds: tuple[str, str]) -> Iterator[World]:
    """A world whose feeds, each (its file under ``tmp_path/site``, its name), are served
    over HTTP on loopback from that folder."""
    site = tmp_path / "site"
    site.mkdir()
    with serve_directory(site) as base, build_world(
            tmp_path, database_url, site, base,
            [{"url": f"{base}/{path}", "name": name} for path, name in feeds]) as w:
        yield w


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str) -> Iterator[World]:
    with served_world(tmp_path, sqlite_url, ("a.xml", "Feed A"), ("b.xml", "Feed B")) as w:
        yield w


def test_the_workers_analyze_each_page_in_the_language_its_feed_declares(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[str | None] = []
    submit = world.extractor.submit

    def spy(*args: object, **kwargs: object) -> object:
        told.append(kwargs.get("language"))  # type: ignore[arg-type]
        return submit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.extractor, "submit", spy)
    russian = ("Переговорщики снова встретились в воскресенье на закрытой сессии, которая "
               "длилась большую часть дня. Переговоры о перемирии продолжились. ")
    world.write("one.html", page("Переговоры", "").replace(PARAGRAPH, russian))
    world.write("a.xml", rss([("1", "Переговоры", f"{world.base}/one.html")],
                             extra="<language>ru</language>"))
    world.write("b.xml", rss([]))
    world.pipeline.run_cycle()
    assert told == ["ru"]  # the feed's <language>; the page declares none
    with world.store.read() as session:
        row = session.scalars(select(ArticleRow)).one()
    assert row.language == "ru" and row.stems is not None
    assert "переговор" in row.stems.split()  # stemmed in Russian (by the worker)


def test_new_entries_are_fetched_extracted_matched_and_stored(world: World) -> None:
    world.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    world.write("two.html", page("Port news", "The harbour reopened after repairs."))
    world.write("a.xml", rss([("1", "Talks resume", f"{world.base}/one.html"),
                              ("2", "Port news", f"{world.base}/two.html")]))
    world.write("b.xml", rss([]))
    report = world.pipeline.run_cycle()
    assert report.feeds == 2 and report.failed == 0
    assert report.articles == 2 and report.hits == 2
    hits = {h.rule_id: h for h in world.store.hits()}
    assert set(hits) == {"ceasefire", "harbour"}
    assert hits["ceasefire"].evidence[0].field == "body"
    assert world.store.count("notifications") == 2  # console route for each hit


def test_memory_is_returned_after_a_cycle_that_polled_not_on_idle_ticks(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full collection costs a large daemon a tenth of a second: after a cycle's work, not
    on each tick (every 15 s) that finds no feed due."""
    from monitor.daemon import pipeline

    calls: list[int] = []
    monkeypatch.setattr(pipeline, "release_free_memory", lambda: calls.append(1))
    world.write("a.xml", rss([]))
    world.write("b.xml", rss([]))
    assert world.pipeline.run_cycle().feeds == 2
    assert len(calls) == 1
    assert world.pipeline.run_cycle().feeds == 0  # nothing due again within the interval
    assert len(calls) == 1


def test_shortcut_never_loses_a_hit(world: World) -> None:
    """Skipping known entries and known URLs gives exactly the hits of processing everything."""
    world.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    world.write("two.html", page("Port news", "The harbour reopened after repairs."))
    world.write("three.html", page("Late news", "Another ceasefire proposal at the harbour."))
    world.write("a.xml", rss([("1", "Talks resume", f"{world.base}/one.html")]))
    world.write("b.xml", rss([("x", "Talks resume", f"{world.base}/one.html?utm_source=rss"),
                              ("y", "Port news", f"{world.base}/two.html")]))
    world.pipeline.run_cycle()
    # Feed A grows: an old entry, a new one, and one Feed B already carried.
    world.write("a.xml", rss([("1", "Talks resume", f"{world.base}/one.html"),
                              ("3", "Late news", f"{world.base}/three.html"),
                              ("2b", "Port news", f"{world.base}/two.html")]))
    world.clock.advance(61)
    report = world.pipeline.run_cycle()
    assert report.articles == 1  # only three.html was new; two.html was linked, not refetched
    with_shortcut = {(h.url, h.rule_id) for h in world.store.hits()}

    # Brute force: every entry of every feed, fetched, extracted and matched from scratch.
    matcher = world.pipeline.poller.rules.matcher()
    from monitor.net.urls import canonical_url

    brute = set()
    for name in ("one", "two", "three"):
        body = world.fetcher.fetch_page(f"{world.base}/{name}.html")
        text = world.extractor.extract(body.content, body.url)
        assert text is not None
        from monitor.models import Document

        for hit in matcher.match(Document(title=text.title or "", body=text.text)):
            brute.add((canonical_url(f"{world.base}/{name}.html"), hit.rule_id))
    assert with_shortcut == brute
    assert world.store.count("articles") == 3


def test_an_edited_headline_is_not_a_new_article(world: World) -> None:
    world.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    world.write("a.xml", rss([("1", "Talks resume", f"{world.base}/one.html")]))
    world.write("b.xml", rss([]))
    world.pipeline.run_cycle()
    world.write("a.xml", rss([("1", "Talks resume after a pause", f"{world.base}/one.html")]))
    world.clock.advance(61)
    report = world.pipeline.run_cycle()
    assert report.new_entries == 0 and report.articles == 0
    assert world.store.count("notifications") == 1


def test_feed_errors_are_recorded_in_health_and_other_feeds_proceed(world: World) -> None:
    world.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    world.write("b.xml", rss([("1", "Talks resume", f"{world.base}/one.html")]))
    # a.xml is missing: 404
    report = world.pipeline.run_cycle()
    assert report.failed == 1 and report.articles == 1
    health = {h.name: h for h in world.store.feed_health()}
    assert health["Feed A"].status == "failing"
    assert health["Feed A"].last_error_code == "http_status"
    assert health["Feed B"].status == "ok"


def test_an_unfetchable_page_falls_back_to_the_feed_summary(world: World) -> None:
    world.write("a.xml", rss([("1", "Ceasefire talks resume", f"{world.base}/missing.html")]))
    world.write("b.xml", rss([]))
    world.pipeline.run_cycle()
    (hit,) = world.store.hits()
    assert hit.rule_id == "ceasefire"
    (article,) = list(world.store.articles())
    assert article.title == "Ceasefire talks resume"


def test_one_wire_item_in_two_feeds_whose_pages_give_no_text_alerts_once(world: World) -> None:
    """Two feeds carry the same wire item under two URLs; neither page gives a usable text (a
    404, a consent stub), so each article's text is the feed's short teaser (under 200
    characters). Same title and teaser, give or take case and punctuation: one story, one
    alert."""
    def item(guid: str, title: str, link: str, teaser: str) -> str:
        return (f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
                f"<description>{teaser}</description></item>")

    def channel(items: str) -> str:
        return ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
                f"<link>http://x/</link><description>d</description>{items}</channel></rss>")

    world.write("stub.html", "<html><body><p>Please accept cookies.</p></body></html>")
    teaser = "Mediators in Doha said the ceasefire talks would resume on Monday."
    world.write("a.xml", channel(item("a1", "Ceasefire talks to resume",
                                      f"{world.base}/missing.html", teaser)))
    world.write("b.xml", channel(item("b1", "Ceasefire talks to resume.",
                                      f"{world.base}/stub.html",
                                      "MEDIATORS in Doha said the ceasefire talks would "
                                      "resume on Monday")))
    report = world.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 2
    rows = _article_rows(world.store)
    assert [r.text_source for r in rows] == ["feed_summary", "feed_summary"]
    assert all(len(r.text) < 200 for r in rows)
    assert rows[0].story_id == rows[1].story_id
    assert {h.rule_id for h in world.store.hits()} == {"ceasefire"}
    assert world.store.count("notifications") == 1  # one story: one alert for the rule


def test_a_teaser_page_gives_way_to_the_feeds_full_text(world: World) -> None:
    """A paywalled page extracts to a few paragraphs, past min_text_chars; the feed's
    content:encoded has the whole article, whose later words must still be matched."""
    teaser = (f"<html><head><title>Talks</title></head><body><article><h1>Talks</h1>"
              f"<p>{PARAGRAPH * 3}</p><p>Subscribe to read the rest.</p></article></body></html>")
    world.write("teaser.html", teaser)
    full = "".join(f"<p>{PARAGRAPH}</p>" for _ in range(6)) + "<p>The harbour reopened.</p>"
    item = (f"<item><title>Talks</title><link>{world.base}/teaser.html</link><guid>t1</guid>"
            f"<description>Talks</description><content:encoded><![CDATA[{full}]]>"
            "</content:encoded></item>")
    world.write("a.xml", '<?xml version="1.0"?><rss version="2.0" xmlns:content='
                '"http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
                f"<link>http://x/</link><description>d</description>{item}</channel></rss>")
    world.write("b.xml", rss([]))
    world.pipeline.run_cycle()
    assert [h.rule_id for h in world.store.hits()] == ["harbour"]
    (article,) = list(world.store.articles())
    assert "The harbour reopened." in article.text


def test_the_seed_feed_as_a_local_file(tmp_path: Path, sqlite_url: str) -> None:
    """A feed configured as a path reads its article pages from beside it."""
    seeds = tmp_path / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    config = Config(base_dir=tmp_path, rules_dir=REPO / "rules",
                    feeds=[{"url": str(seeds / "feed.xml"), "name": "Seeds"}],
                    extract=ExtractConfig(workers=1))
    store = open_store(sqlite_url)
    store.sync_feeds(config.feed_sources())
    rules = ActiveRules(config.rules_path)
    rules.reload()
    fetcher, extractor = Fetcher(config.http), Extractor(config.extract)
    try:
        poller = FeedPoller(config, store, fetcher, extractor, rules, ChannelDirectory(config),
                            StoryRegistry(store))
        report = Pipeline(config, store, poller, "t").run_cycle()
        assert report.articles == 2 and report.failed == 0
        articles = {a.title[:20]: a for a in store.articles()}
        assert all(a.url.startswith("file://") for a in articles.values())
        texts = " ".join(a.text for a in articles.values())
        assert "Baca Juga" not in texts and "(Foto: Reuters)" not in texts
        assert {h.rule_id for h in store.hits()} == {"gaza-ceasefire", "ukraine-peace-plan"}
    finally:
        extractor.close()
        fetcher.close()
        store.close()


def _article_rows(store: Store) -> list[ArticleRow]:
    with store.read() as session:
        return list(session.scalars(select(ArticleRow).order_by(ArticleRow.id)))


def _cycle_after(world: World, seconds: float) -> None:
    world.clock.advance(seconds)
    world.pipeline.run_cycle()


def test_sec_A1_a_metadata_link_is_refused_stored_with_its_error_and_matched_on_the_summary(
        world: World) -> None:
    metadata = "http://169.254.169.254/latest/meta-data/"
    world.write("a.xml", rss([("1", "Ceasefire talks resume", metadata)]))
    world.write("b.xml", rss([]))
    with NetworkGuard() as guard:
        report = world.pipeline.run_cycle()
    assert report.articles == 1 and report.failed == 0
    assert all(host == "127.0.0.1" for host, _ in guard.connects)  # 0 to the metadata host
    (row,) = _article_rows(world.store)
    assert row.error == "blocked_address"
    assert row.text_source == "feed_summary" and row.text == "Ceasefire talks resume"
    (hit,) = world.store.hits()
    assert hit.rule_id == "ceasefire" and hit.evidence[0].matched == "Ceasefire"
    assert world.store.count("notifications") == 1


def test_D6_a_relisted_item_whose_article_was_pruned_alerts_no_more(world: World) -> None:
    world.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    world.write("a.xml", rss([("1", "Talks resume", f"{world.base}/one.html")]))
    world.write("b.xml", rss([]))
    world.pipeline.run_cycle()
    assert world.store.count("notifications") == 1
    with world.store.write() as session:  # retention: the article, its hits and alerts go
        session.execute(delete(ArticleRow))
    assert world.store.count("notifications") == 0 and world.store.count("feed_entries") == 1
    world.write("a.xml", rss([("1", "Talks resume (updated)", f"{world.base}/one.html")]))
    _cycle_after(world, 61)
    assert world.store.count("notifications") == 0 and world.store.count("articles") == 0


def test_D1_a_feed_that_is_no_feed_is_disabled_exactly_at_the_third_failure(
        world: World) -> None:
    world.write("a.xml", "<!doctype html><html><head><title>Home</title></head><body>"
                "<p>Welcome to our site.</p></body></html>")  # b.xml stays missing: 404
    states = []
    for _ in range(5):
        world.pipeline.run_cycle()
        health = {h.name: h for h in world.store.feed_health()}
        states.append((health["Feed A"].status, health["Feed B"].status))
        world.clock.advance(10 * 86400)  # past any back-off
    assert [a for a, _ in states] == ["failing", "failing", "disabled", "disabled", "disabled"]
    assert [b for _, b in states] == ["failing"] * 5  # fetch errors back off, never disable
    health = {h.name: h for h in world.store.feed_health()}
    assert health["Feed A"].last_error_code == "not_a_feed"
    assert health["Feed A"].consecutive_failures == 3  # not polled once disabled
    assert health["Feed B"].consecutive_failures == 5
    world.store.enable_feed(f"{world.base}/a.xml")
    world.write("a.xml", rss([]))
    world.pipeline.run_cycle()
    assert {h.name: h.status for h in world.store.feed_health()}["Feed A"] == "ok"


def test_adaptive_polling_state_and_the_feed_ttl_reach_the_store(world: World) -> None:
    world.write("a.xml", rss([], extra="<ttl>180</ttl>"))  # minutes
    world.write("b.xml", rss([]))
    world.pipeline.run_cycle()
    health = {h.name: h for h in world.store.feed_health()}
    assert health["Feed A"].next_check_at - world.clock() == timedelta(hours=3)
    assert health["Feed A"].poll_interval_seconds == 3 * 3600
    _cycle_after(world, 61)
    health = {h.name: h for h in world.store.feed_health()}
    b = health["Feed B"]  # quiet: polled less often than configured, learnt from one poll
    assert b.poll_interval_seconds is not None and b.poll_interval_seconds > 60


def test_a_hanging_feed_delays_no_other_feed(tmp_path: Path, sqlite_url: str) -> None:
    """One feed hangs until the total deadline; the other's article is stored meanwhile."""
    with LocalServer() as server:
        page_fetched_at: list[float] = []

        def article_page(handler: Handler) -> None:
            page_fetched_at.append(time.monotonic())
            handler.reply(200, page("Talks resume", "A ceasefire was discussed.").encode(),
                          {"Content-Type": "text/html"})

        def hang(handler: Handler) -> None:
            handler.stopping.wait(30)  # answers nothing until the test ends

        server.routes["/slow.xml"] = hang
        server.route("/fast.xml", body=rss([("1", "Talks resume", server.url("/one.html"))])
                     .encode(), headers={"Content-Type": "application/rss+xml"})
        server.routes["/one.html"] = article_page
        feeds: list[dict[str, object]] = [{"url": server.url("/slow.xml"), "name": "Slow"},
                                          {"url": server.url("/fast.xml"), "name": "Fast"}]
        # A deadline of 4 s: the fast feed's page must come well before it even on a loaded
        # machine (claim, fetch, parse in the worker, page fetch), so the bound below can't flake.
        with build_world(tmp_path, sqlite_url, tmp_path, server.url(""), feeds,
                         total_timeout=4.0) as world:
            started = time.monotonic()
            report = world.pipeline.run_cycle()
            elapsed = time.monotonic() - started
            health = {h.name: h for h in world.store.feed_health()}
            articles = list(world.store.articles())
    assert report.feeds == 2 and report.failed == 1 and report.articles == 1
    assert health["Slow"].last_error_code == "timeout_total"
    assert health["Fast"].status == "ok" and articles[0].title == "Talks resume"
    assert page_fetched_at[0] - started < 3.5  # before the slow feed's deadline passed
    assert elapsed < 12


def test_G6_a_poll_longer_than_its_lease_keeps_its_feed_from_other_daemons(
        tmp_path: Path, sqlite_url: str) -> None:
    """G6 with several daemons: a live daemon whose poll outlasts the feed lease (a slow host)
    renews the lease, so another daemon never polls the same feed meanwhile."""
    requested, release = threading.Event(), threading.Event()

    def slow(handler: Handler) -> None:
        requested.set()
        release.wait(30)
        handler.reply(200, rss([]).encode(), {"Content-Type": "application/rss+xml"})

    with LocalServer() as server:
        server.routes["/slow.xml"] = slow
        feeds: list[dict[str, object]] = [{"url": server.url("/slow.xml"), "name": "Slow"}]
        with build_world(tmp_path, sqlite_url, tmp_path, server.url(""), feeds,
                         total_timeout=60.0) as world:
            lease = feed_lease(world.config)

            def lease_until() -> datetime | None:
                with world.store.read() as session:
                    return session.scalars(select(FeedRow.lease_until)).one()

            reports: list[object] = []
            cycle = threading.Thread(target=lambda: reports.append(world.pipeline.run_cycle()))
            cycle.start()
            try:
                assert requested.wait(20), "the poll never reached the server"
                first = lease_until()
                assert first is not None
                world.clock.advance(0.9 * lease.total_seconds())  # the store's clock: fake
                wait_for(lambda: (lease_until() or first) > first, 20, "the lease renewed")
                world.clock.advance(0.9 * lease.total_seconds())  # the first lease has ended
                assert world.store.claim_due_feeds("other", lease, 10) == []
            finally:
                release.set()
                cycle.join(30)
            health = world.store.feed_health()
    assert len(reports) == 1 and health[0].status == "ok"
    assert server.hits["/slow.xml"] == 1


def test_a_503_on_one_feed_does_not_delay_another_feed_of_the_same_host(
        tmp_path: Path, sqlite_url: str) -> None:
    """Retry-After by scope: the 503's URL is paused (health shows until when), its
    neighbour on the same host is polled on time, cycle after cycle."""
    with LocalServer() as server:
        server.route("/section.xml", 503, b"maintenance", {"Retry-After": "7200"})
        server.route("/main.xml", body=rss([("1", "Talks resume", server.url("/one.html"))])
                     .encode(), headers={"Content-Type": "application/rss+xml"})
        server.route("/one.html", body=page("Talks resume", "A ceasefire was discussed.")
                     .encode(), headers={"Content-Type": "text/html"})
        feeds: list[dict[str, object]] = [
            {"url": server.url("/section.xml"), "name": "Section"},
            {"url": server.url("/main.xml"), "name": "Main"}]
        with build_world(tmp_path, sqlite_url, tmp_path, server.url(""), feeds) as world:
            report = world.pipeline.run_cycle()
            health = {h.name: h for h in world.store.feed_health()}
            assert report.feeds == 2 and report.failed == 1 and report.articles == 1
            section, main = health["Section"], health["Main"]
            assert section.last_error_code == "rate_limited"
            assert section.paused_until is not None
            paused = (section.paused_until - world.clock()).total_seconds()
            assert 3590 <= paused <= 3600  # capped at one hour on a first 503
            assert section.next_check_at >= section.paused_until
            assert main.paused_until is None
            assert main.next_check_at - world.clock() <= timedelta(seconds=60)
            world.clock.advance(61)
            report = world.pipeline.run_cycle()  # only Main is due: polled, not delayed
            assert report.feeds == 1 and report.failed == 0
    assert server.hits["/main.xml"] == 2 and server.hits["/section.xml"] == 1


def test_G4_an_extraction_stopped_by_shutdown_leaves_its_entry_for_the_next_poll(
        tmp_path: Path, sqlite_url: str) -> None:
    """SIGTERM whose grace ran out while a page was still being extracted: stopping the pool
    fails that extraction, which is not the page's fault. The article must not be stored from
    the feed's summary (its entry seen, the full text never matched again); the entry stays
    unseen for the next poll, and the feed keeps no validators that would make it a 304."""
    runaway = b"<html><body><article>" + b"<p>ab cd</p>" * 100_000 + b"</article></body></html>"
    with LocalServer() as server:
        server.route("/a.xml", body=rss([("1", "Talks resume", server.url("/long.html"))])
                     .encode(), headers={"Content-Type": "application/rss+xml",
                                         "ETag": '"v1"'})
        server.route("/long.html", body=runaway, headers={"Content-Type": "text/html"})
        feeds: list[dict[str, object]] = [{"url": server.url("/a.xml"), "name": "Feed A"}]
        with build_world(tmp_path, sqlite_url, tmp_path, server.url(""), feeds) as world:
            cycle = threading.Thread(target=world.pipeline.run_cycle)
            cycle.start()
            try:
                wait_for(lambda: server.hits["/long.html"], 20, "the page fetched")
                world.extractor.close()  # what the service does when the grace has run out
            finally:
                cycle.join(30)
            assert not cycle.is_alive()
            (feed,) = world.store.feed_health()
            with world.store.read() as session:
                etag = session.scalars(select(FeedRow.etag)).one()
                failures = session.scalars(select(ItemFailureRow)).all()
            assert world.store.count("articles") == 0
            assert world.store.unseen_entry_keys(feed.id, ["1"]) == {"1"}
            assert failures == []  # not the entry's fault: no step toward giving it up
            assert etag is None


def test_G7_feeds_of_a_cycle_the_database_broke_off_are_polled_at_the_next_tick(
        tmp_path: Path, sqlite_url: str) -> None:
    """G7: a write fails mid-cycle (the database locked past the busy timeout, a PostgreSQL
    restart), which ends the cycle. The feeds it had claimed keep their leases (their polls
    were never recorded); once the database is back, the next cycle must poll them, not
    leave them to wait out the lease (4 x http.total_timeout + 60 s: 3 minutes)."""
    requested, release = threading.Event(), threading.Event()

    def gate(handler: Handler) -> None:
        requested.set()
        release.wait(30)
        handler.reply(200, rss([]).encode(), {"Content-Type": "application/rss+xml"})

    with LocalServer() as server:
        server.routes["/a.xml"] = server.routes["/b.xml"] = gate
        feeds: list[dict[str, object]] = [{"url": server.url("/a.xml"), "name": "Feed A"},
                                          {"url": server.url("/b.xml"), "name": "Feed B"}]
        with build_world(tmp_path, sqlite_url, tmp_path, server.url(""), feeds,
                         workers=1) as world:
            failures: list[BaseException] = []

            def cycle() -> None:
                try:
                    world.pipeline.run_cycle()
                except StoreError as exc:
                    failures.append(exc)

            first = threading.Thread(target=cycle)
            first.start()
            assert requested.wait(20), "the first poll never reached the server"
            locker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
            try:
                locker.execute("BEGIN EXCLUSIVE")  # writers wait out the busy timeout
                release.set()
                first.join(60)
            finally:
                locker.rollback()
                locker.close()
            assert not first.is_alive() and failures, "the cycle did not meet the lock"
            world.clock.advance(1)  # the next tick
            report = world.pipeline.run_cycle()
    assert report.feeds == 2 and report.failed == 0


def test_pages_coming_in_are_progress_for_the_liveness_check(
        tmp_path: Path, sqlite_url: str) -> None:
    """A feed's articles are saved 25 at a time, after their pages: with slow pages (a
    tarpitting site, http.per_host_min_interval) a first batch takes minutes. Each page fetched
    and extracted is progress, or /healthz and the systemd watchdog call a working cycle hung
    (and systemd kills it, again at every restart)."""
    release = threading.Event()

    def held(handler: Handler) -> None:
        release.wait(60)  # past the test's deadline: only the pages before it can be progress
        handler.reply(200, page("Held", "The harbour.").encode(), {"Content-Type": "text/html"})

    with LocalServer() as server:
        items = [(str(i), f"Story {i}", server.url(f"/{i}.html")) for i in range(3)]
        server.route("/a.xml", body=rss(items).encode(),
                     headers={"Content-Type": "application/rss+xml"})
        for i in range(2):
            server.route(f"/{i}.html", body=page(f"Story {i}", "A ceasefire.").encode(),
                         headers={"Content-Type": "text/html"})
        server.routes["/2.html"] = held
        feeds: list[dict[str, object]] = [{"url": server.url("/a.xml"), "name": "Feed A"}]
        with build_world(tmp_path, sqlite_url, tmp_path, server.url(""), feeds,
                         read_timeout=60.0, total_timeout=60.0) as world:
            moves: list[int] = []
            world.pipeline.poller.progress = lambda: moves.append(1)
            cycle = threading.Thread(target=world.pipeline.run_cycle)
            cycle.start()
            try:
                # Two pages fetched and extracted, the third held: nothing saved yet.
                wait_for(lambda: len(moves) >= 4, 20, "progress from the pages that came in")
                assert world.store.count("articles") == 0
            finally:
                release.set()
                cycle.join(30)
            assert world.store.count("articles") == 3


def test_the_text_index_takes_a_cycles_articles_in_batches_and_leaves_none_waiting(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's FTS5 index gets the new articles every ``index_every`` saved, and the rest
    at the cycle's end: a search after the cycle reads only the index's candidates."""
    calls: list[int | None] = []
    index_pending = world.pipeline.text_index.index_pending

    def spy(limit: int | None = None) -> int:
        calls.append(limit)
        return index_pending(limit=limit)

    monkeypatch.setattr(world.pipeline.text_index, "index_pending", spy)
    world.pipeline.index_every = 2
    for name in ("a", "b"):
        words = "A ceasefire was discussed." if name == "a" else "The harbour reopened."
        world.write(f"{name}.xml", rss([(f"{name}{i}", f"{name} story {i}: {words}",
                                         f"{world.base}/{name}{i}.html") for i in range(3)]))
        for i in range(3):
            world.write(f"{name}{i}.html", page(f"{name} story {i}", words))
    report = world.pipeline.run_cycle()
    assert report.articles == 6
    assert any(limit is not None for limit in calls)  # during the cycle: 3 saved per feed
    assert calls[-1] is None  # the end of the cycle: whatever still waits
    index = TextIndex(world.store)
    assert index.pending()[1] == 0
    with world.store.read() as session:
        ceasefire = sorted(session.scalars(select(ArticleRow.id).where(
            ArticleRow.text.contains("ceasefire"))))
    assert len(ceasefire) == 3
    assert index.candidate_ids('"ceasefire"') == ceasefire


def test_a_text_index_the_database_refuses_costs_no_poll(
        world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Indexing is work that can wait: a lock held past the busy timeout leaves the articles
    waiting (candidates of every query), and the cycle's polls are all recorded."""
    def refused(limit: int | None = None) -> int:
        raise StoreError("database unavailable: database is locked")

    monkeypatch.setattr(world.pipeline.text_index, "index_pending", refused)
    world.pipeline.index_every = 1
    world.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    world.write("a.xml", rss([("1", "Talks resume", f"{world.base}/one.html")]))
    world.write("b.xml", rss([]))
    report = world.pipeline.run_cycle()
    assert report.feeds == 2 and report.failed == 0 and report.articles == 1
    assert "text index not brought up to date this time" in caplog.text
    index = TextIndex(world.store)
    assert index.pending()[1] == 1
    (only,) = [a.id for a in world.store.articles()]
    assert index.candidate_ids('"harbour"') == [only]  # waiting: a candidate of any query


def test_an_article_older_than_max_article_age_is_stored_and_matched_but_alerts_no_one(
        world: World) -> None:
    """A feed added with weeks of items (or one relisting its archive): the old ones are
    stored with their hits, for the web view and backtests, and only the recent and the
    undated ones alert."""
    delivery = DeliveryConfig(max_article_age=2 * 86400)
    world.pipeline.poller.config = world.config.model_copy(update={"delivery": delivery})
    items = [("old", "Thu, 11 Dec 2025 12:00:00 GMT"), ("new", "Wed, 31 Dec 2025 12:00:00 GMT"),
             ("undated", None)]
    rendered = ""
    for name, date in items:  # the clock reads 2026-01-01 12:00 UTC
        world.write(f"{name}.html", page(f"Talks {name}", "A ceasefire was discussed."))
        rendered += (f"<item><title>Talks {name}</title><link>{world.base}/{name}.html</link>"
                     f"<guid>{name}</guid>" + (f"<pubDate>{date}</pubDate>" if date else "")
                     + "</item>")
    world.write("a.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
                         f"<link>http://x/</link><description>d</description>{rendered}"
                         "</channel></rss>")
    world.write("b.xml", rss([]))
    report = world.pipeline.run_cycle()
    assert report.articles == 3 and report.hits == 3
    assert report.notifications == 2
    alerted = {n.title for n in Outbox(world.store).list()}
    assert alerted == {"Talks new", "Talks undated"}
    assert {h.title for h in world.store.hits()} == {"Talks old", "Talks new", "Talks undated"}
