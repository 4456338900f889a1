"""A Google News feed with ``http.resolve_google_news``: each current-format link is resolved
by asking Google (here a loopback server answering as its two endpoints do), the publisher's
page is fetched and matched on its full text, and the article keeps the link it was listed
under. Unit tests of the resolver are in tests/net/test_google_news.py."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select

from monitor.config import PollingConfig
from monitor.daemon.metrics import Metrics
from monitor.daemon.pages import PageStarter, publisher_identity
from monitor.errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    RateLimitedError,
)
from monitor.extract import Extractor
from monitor.models import ExtractedText
from monitor.net import Fetcher
from monitor.store.schema import ArticleRow, FeedEntryRow, HitRow
from tests.daemon.test_pipeline import World, build_world, page, rss
from tests.daemon_support import serve_directory
from tests.fetch_support import FakeGoogleNews, LocalServer, NetworkGuard, google_news_id

HEADLINE = "Delegations meet again in Doha - ANTARA News"


def _google_feed(links: list[str]) -> str:
    """What Google News's search feed lists: the headline with the outlet's name, a link only
    Google can resolve, and a description that is the headline again."""
    items = "".join(
        f"<item><title>{HEADLINE} {n}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{link.rsplit("/", 1)[1].split("?")[0]}</guid>'
        f'<description>&lt;a href="{link}"&gt;{HEADLINE} {n}&lt;/a&gt;</description>'
        f'<source url="https://www.antaranews.com">ANTARA News</source></item>'
        for n, link in enumerate(links))
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>"gaza" - Google News'
            f"</title><link>https://news.google.com</link><description>d</description>{items}"
            "</channel></rss>")


@pytest.fixture
def google() -> Iterator[FakeGoogleNews]:
    with LocalServer() as server:
        yield FakeGoogleNews(server)


@pytest.fixture
def google_world(tmp_path: Path, sqlite_url: str, google: FakeGoogleNews) -> Iterator[World]:
    site = tmp_path / "site"
    site.mkdir()
    with serve_directory(site) as base, build_world(
            tmp_path, sqlite_url, site, base, [{"url": f"{base}/news.xml", "name": "GN"}],
            resolve_google_news=True, google_news_url=google.server.url("")) as world:
        yield world


def test_a_google_news_entry_is_matched_on_its_publishers_full_text(
        google_world: World, google: FakeGoogleNews, caplog: pytest.LogCaptureFixture) -> None:
    world = google_world
    article = google_news_id(7)
    link = f"https://news.google.com/rss/articles/{article}?oc=5&hl=en-US&gl=US&ceid=US:en"
    # The word the rule wants is only in the publisher's text, never in the headline.
    world.write("doha.html", page("Delegations meet again in Doha",
                                  "Both sides said a ceasefire could be agreed within days."))
    google.add(article, f"{world.base}/doha.html")
    world.write("news.xml", _google_feed([link]))
    caplog.set_level(logging.INFO)
    with NetworkGuard() as guard:
        report = world.pipeline.run_cycle()
    assert report.articles == 1 and report.failed == 0
    # news.google.com itself was never dialled: only loopback (the fake and the publisher).
    assert {host for host, _port in guard.connects} == {"127.0.0.1"}
    with world.store.read() as session:
        stored = session.scalars(select(ArticleRow)).one()
        hits = session.scalars(select(HitRow.rule_id)).all()
    # Stored under the publisher's URL: its own feed finds it stored (below).
    assert stored.canonical_url == f"{world.base}/doha.html"
    assert stored.text_source == "page" and "ceasefire could be agreed" in stored.text
    assert stored.source_name == "ANTARA News"  # the page names no site: the entry's outlet
    assert hits == ["ceasefire"]
    assert [call[2] for call in google.calls] == [article]
    # The publisher's own feed lists the article: linked to the stored one, not fetched or
    # alerted again.
    world.write("news.xml", rss([("doha", "Delegations meet again in Doha",
                                  f"{world.base}/doha.html")]))
    fetched = world.pipeline.poller.metrics.pages.labels(stage="fetch", outcome="ok")
    before = world.store.count("notifications"), fetched._value.get()
    world.clock.advance(61)
    report = world.pipeline.run_cycle()
    assert report.feeds == 1 and report.new_entries == 1 and report.articles == 0
    assert (world.store.count("notifications"), fetched._value.get()) == before
    with world.store.read() as session:
        linked = session.scalars(select(FeedEntryRow.article_id)).all()
    assert linked == [stored.id, stored.id]  # both entries name the one article


def test_a_link_google_does_not_resolve_is_fetched_as_it_is(
        google_world: World, google: FakeGoogleNews, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Google's page gives no signature (a consent page): the resolution failed, logged and
    counted, and the link is fetched as without the setting; its page has no text, so the
    article is stored from its entry."""
    world = google_world
    article = google_news_id(8)
    google.server.route(f"/rss/articles/{article}", body=b"<html><body>Before you continue"
                        b"</body></html>")
    link = f"https://news.google.com/rss/articles/{article}"
    world.write("news.xml", _google_feed([link]))
    fetcher = world.pipeline.poller.pages.fetcher
    fetch_page, asked = fetcher.fetch_page, []

    def loopback_only(url: str, **options: bool) -> object:
        asked.append(url)  # the fake stands in for news.google.com: the test stays on loopback
        body = fetch_page(url.replace("https://news.google.com", google.server.url("")),
                          **options)
        return dataclasses.replace(body, url=url)  # as if fetched from there

    monkeypatch.setattr(fetcher, "fetch_page", loopback_only)
    caplog.set_level(logging.INFO)
    report = world.pipeline.run_cycle()
    assert report.articles == 1 and report.failed == 0
    with world.store.read() as session:
        stored = session.scalars(select(ArticleRow)).one()
    assert stored.canonical_url == link and stored.text_source == "feed_summary"
    assert stored.source_name == "ANTARA News"  # the outlet the entry names, not the feed
    assert "gave no signature" in caplog.text
    assert [url.split("?")[0] for url in asked] == [
        google.server.url(f"/rss/articles/{article}"), link]  # asked, then fetched as is
    assert google.calls == []  # nothing to call Google with
    assert world.pipeline.poller.metrics.pages.labels(
        stage="resolve", outcome="unresolved")._value.get() == 1


@pytest.mark.parametrize("failure", [
    HTTPStatusError("HTTP 404", status=404), BlockedAddressError("refused"),
    RateLimitedError("HTTP 429", status=429), FetchTimeoutError("timed out"),
    RecursionError("a bug"), KeyError("a bug")])
def test_a_failed_resolution_never_costs_the_article(failure: Exception,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Whatever the resolver raises, the article is not lost; the failure is counted. A
    lasting failure (or a bug) has the link fetched as it is; a transient one (Google's rate
    limit, a timeout) is the page's error, so a later poll tries again (no request to Google's
    own page, which has no article text)."""
    def resolve(_link: str) -> str | None:
        raise failure

    caplog.set_level(logging.INFO)
    metrics = Metrics()
    starter = PageStarter(cast(Fetcher, None), cast(Extractor, None), metrics, lambda: None,
                          resolve)
    link = f"https://news.google.com/rss/articles/{google_news_id(10)}"
    if isinstance(failure, FetchError) and failure.transient:
        with pytest.raises(type(failure)):
            starter._publisher(link)
    else:
        assert starter._publisher(link) == link
    assert starter._publisher("https://www.antaranews.com/berita/1") == (
        "https://www.antaranews.com/berita/1")  # not asked: nothing to resolve
    outcome = failure.code if isinstance(failure, FetchError) else "internal_error"
    assert metrics.pages.labels(stage="resolve", outcome=outcome)._value.get() == 1
    assert "Google News link not resolved" in caplog.text


def test_a_resolution_google_refused_for_now_is_tried_again_by_a_later_poll(
        google_world: World, google: FakeGoogleNews) -> None:
    """Google answers 503 for the article's page: the entry is stored from the feed at once
    (nothing fetched from Google's page), and the next poll resolves the link, fetches the
    publisher's page and alerts for the rule its text matches."""
    world = google_world
    world.pipeline.poller.reviser.polling = PollingConfig(default_interval=60)
    article = google_news_id(11)
    link = f"https://news.google.com/rss/articles/{article}?oc=5"
    world.write("doha.html", page("Delegations meet again in Doha",
                                  "Both sides said a ceasefire could be agreed within days."))
    google.server.route(f"/rss/articles/{article}", 503, b"busy")
    world.write("news.xml", _google_feed([link]))
    assert world.pipeline.run_cycle().articles == 1
    with world.store.read() as session:
        stored = session.scalars(select(ArticleRow)).one()
    assert (stored.text_source, stored.error) == ("feed_summary", "server_error")
    assert world.store.hits() == [] and google.calls == []
    google.add(article, f"{world.base}/doha.html")  # Google answers again
    world.clock.advance(61)
    world.store.refresh_feeds()
    report = world.pipeline.run_cycle()
    assert (report.revised, report.hits, report.notifications) == (1, 1, 1)
    with world.store.read() as session:
        stored = session.scalars(select(ArticleRow)).one()
    assert (stored.text_source, stored.error) == ("page", None)
    assert "ceasefire could be agreed" in stored.text
    # The article keeps the row (and link) it was stored under: a revision moves nothing.
    assert stored.canonical_url == link
    assert [h.rule_id for h in world.store.hits()] == ["ceasefire"]


def test_only_a_resolved_google_news_link_is_stored_under_its_publishers_url() -> None:
    link = f"https://news.google.com/rss/articles/{google_news_id(12)}?oc=5"
    publisher = "https://www.antaranews.com/berita/1"

    def page(url: str | None, source: str = "page") -> ExtractedText:
        return ExtractedText(text="text", source=source, url=url)  # type: ignore[arg-type]

    assert publisher_identity(link, page(publisher + "?utm_source=gn")) == publisher
    for not_resolved in (None, page(None), page(publisher, "feed_summary"),
                         page(link), page("https://consent.google.com/ml?continue=x"),
                         page("https://www.google.co.id/url?q=x"),
                         page(publisher + "?" + "x" * 3000)):
        assert publisher_identity(link, not_resolved) == link
    other = "https://www.antaranews.com/berita/2"  # not a Google News link: kept as listed
    assert publisher_identity(other, page(publisher)) == other
