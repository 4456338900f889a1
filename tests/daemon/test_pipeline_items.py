"""One feed entry never costs the others: items are cleaned at the parse boundary, and an item
that still cannot be stored is recorded as that item's failure (issue 10, item 3; case G15)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.rules import Rule, RuleBook, compile_rules, search_articles
from monitor.store import NewArticle, TextIndex, saving
from tests.daemon.test_pipeline import World, page, served_world


def _one_feed_world(tmp_path: Path, database_url: str, path: str, name: str) -> Iterator[World]:
    """A world whose one feed is ``site/<path>``, served on loopback."""
    with served_world(tmp_path, database_url, (path, name)) as w:
        yield w


@pytest.fixture
def json_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    yield from _one_feed_world(tmp_path, database_url, "feed.json", "JSON")


def _json_feed(items: list[dict[str, str]]) -> str:
    # ensure_ascii (the default) writes a lone surrogate as the escape "\ud83d", as JSON allows.
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J",
                       "items": items})


def test_G15_a_lone_surrogate_and_a_nul_cost_no_item(json_world: World) -> None:
    w = json_world
    for name in ("one", "two", "three"):
        w.write(f"{name}.html", page(f"Story {name}", "A ceasefire was discussed."))
    text = _json_feed([
        {"id": "1", "url": f"{w.base}/one.html", "title": "Ceasefire \ud83d talks"},
        {"id": "2", "url": f"{w.base}/two.html", "title": "Harbour\x00 reopens",
         "content_text": "nul\x00byte and \udfff low half"},
        {"id": "3", "url": f"{w.base}/three.html", "title": "Plain title"},
    ])
    assert "\\ud83d" in text
    w.write("feed.json", text)
    report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 3
    titles = sorted(a.title for a in w.store.articles())
    assert titles == ["Ceasefire \ufffd talks", "Harbour reopens", "Plain title"]
    (health,) = w.store.feed_health()
    assert health.status == "ok" and w.store.item_failures() == []


def test_an_item_the_store_refuses_is_recorded_and_the_others_are_stored(
        json_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal of one article (here forced) is that item's failure, with its reason in the
    feed's health; retried on later polls and given up after three."""
    w = json_world
    for name in ("one", "two", "three"):
        w.write(f"{name}.html", page(f"Story {name}", "A ceasefire was discussed."))
    w.write("feed.json", _json_feed([
        {"id": str(i), "url": f"{w.base}/{name}.html", "title": f"Story {name}"}
        for i, name in enumerate(("one", "two", "three"), 1)]))
    real_insert = saving._insert

    def insert(conn: Any, item: NewArticle, *args: Any) -> Any:
        if item.article.url.endswith("/two.html"):  # inside the feed's transaction
            raise ValueError("value too long for type character varying(2048)")
        return real_insert(conn, item, *args)

    monkeypatch.setattr(saving, "_insert", insert)
    report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 2
    (health,) = w.store.feed_health()
    assert health.status == "degraded"
    assert health.last_warning is not None and "1 entry not stored" in health.last_warning
    assert "value too long" in health.last_warning
    (failure,) = w.store.item_failures()
    assert failure.entry_key == "guid:2" and failure.attempts == 1
    assert failure.reason.startswith("ValueError: value too long")
    for attempt in (2, 3, 4):
        w.clock.advance(3600)
        w.pipeline.run_cycle()
        (failure,) = w.store.item_failures()
        assert failure.attempts == min(attempt, 3)  # given up after the third failure
    assert w.store.count("articles") == 2


def test_an_oversized_url_is_skipped_with_a_warning_alike_on_both_backends(
        json_world: World) -> None:
    """PostgreSQL would refuse a 3,000-character canonical URL and SQLite store it: both skip
    the entry, once, with a warning naming it; the feed's other entries are stored."""
    w = json_world
    w.write("one.html", page("Story one", "A ceasefire was discussed."))
    w.write("two.html", page("Story two", "A ceasefire was discussed."))
    long_link = f"{w.base}/{'x' * 3000}/two.html"
    w.write("feed.json", _json_feed([
        {"id": "1", "url": f"{w.base}/one.html", "title": "Story one"},
        {"id": "2", "url": long_link, "title": "Story two"}]))
    report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 1
    assert w.store.item_failures() == []  # not a failure to retry: it can never be stored
    (health,) = w.store.feed_health()
    assert health.status == "degraded" and health.last_warning is not None
    assert "1 entry skipped: guid:2 ('Story two'): link longer than 2048 characters" in (
        health.last_warning)
    assert w.store.unseen_entry_keys(health.id, ["guid:1", "guid:2"]) == set()


@pytest.fixture
def rss_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    yield from _one_feed_world(tmp_path, database_url, "feed.xml", "RSS")


def _rss(items: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>R</title>'
            f"<link>http://x/</link><description>d</description>{items}</channel></rss>")


@pytest.mark.parametrize("stamp", ["Fri, 31 Dec 9999 23:59:59 GMT",
                                   "Mon, 01 Jan 0001 00:00:00 GMT"])
def test_an_article_dated_year_1_or_9999_is_stored_and_alerts(rss_world: World,
                                                              stamp: str) -> None:
    """Go's zero time (Hugo's undated posts) and 9999 are read as no date: the article is
    stored in its story like an undated one (a long page text, so it is signed) and alerts."""
    w = rss_world
    paragraphs = "".join(
        f"<p>Day {n}: mediators in Doha and Cairo reported progress on the ceasefire, the "
        f"exchange of hostages and the reopening of crossing number {n} for aid convoys.</p>"
        for n in range(1, 5))
    w.write("one.html", f"<html><head><title>Talks resume</title></head><body><article>"
                        f"<h1>Talks resume</h1>{paragraphs}</article></body></html>")
    w.write("feed.xml", _rss(f"<item><title>Talks resume</title><link>{w.base}/one.html</link>"
                             f"<guid>g1</guid><pubDate>{stamp}</pubDate></item>"))
    report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 1 and report.hits == 1
    assert w.store.item_failures() == []
    (stored,) = w.store.articles()
    assert stored.published is None and len(stored.text) >= 200
    assert w.store.count("story_bands") > 0 and w.store.count("notifications") == 1


def test_D4_entries_without_a_usable_link_are_skipped_with_a_warning(
        rss_world: World, caplog: pytest.LogCaptureFixture) -> None:
    """No link and no GUID, a non-permalink GUID only, an unparseable link: each is named in
    the log and the feed's warning (credentials masked), once; the linked entry is stored."""
    w = rss_world
    w.write("one.html", page("Talks resume", "A ceasefire was discussed."))
    items = (
        f"<item><title>Talks resume</title><link>{w.base}/one.html</link><guid>g1</guid></item>"
        "<item><title>Ceasefire holds</title><description>no link at all</description></item>"
        '<item><title>Only an id</title><guid isPermaLink="false">id-77</guid></item>'
        "<item><title>Broken</title><link>http://[::1</link><guid>g3</guid></item>"
        '<item><title>Secret</title><guid isPermaLink="false">'
        "https://user:hunter2pw@[::1/x</guid></item>")
    w.write("feed.xml", _rss(items))
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.poller"):
        report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 1
    (health,) = w.store.feed_health()
    assert health.status == "degraded" and health.last_warning is not None
    assert "4 entries skipped: " in health.last_warning
    assert "guid:id-77 ('Only an id'): no usable link" in health.last_warning
    logged = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(logged) == 4 and all(m.startswith("feed RSS: entry ") for m in logged)
    assert any("'Ceasefire holds'" in m for m in logged)
    assert any("guid:g3 ('Broken')" in m for m in logged)
    assert any("user:****@" in m for m in logged)
    assert "hunter2pw" not in caplog.text + health.last_warning
    # Remembered as seen: the next poll neither warns again nor stores anything.
    caplog.clear()
    w.clock.advance(3600)
    report = w.pipeline.run_cycle()
    assert report.new_entries == 0 and not any("skipped" in r.getMessage()
                                               for r in caplog.records)
    assert w.store.count("articles") == 1


def test_a_word_typed_with_letters_of_two_alphabets_is_stored_matched_and_found_as_printed(
        json_world: World) -> None:
    """A Ukrainian page typed on a Russian layout (a Latin i in Вiткофф) and an English title
    with a Cyrillic а and е: stored in one alphabet, so the rules match and the text index
    finds the words as printed, on SQLite and PostgreSQL."""
    w = json_world
    w.write("one.html", page("Вiткофф у Києві", "Вiткофф обговорив перемирʼя. "
                             "Gаza cеasefire talks resumed."))
    w.write("feed.json", _json_feed([
        {"id": "1", "url": f"{w.base}/one.html", "title": "Gаza cеasefire: Вiткофф"}]))
    report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 1
    (stored,) = w.store.articles()
    assert stored.title == "Gaza ceasefire: Віткофф"
    assert "Віткофф обговорив" in stored.text and "Gaza ceasefire talks" in stored.text
    assert [h.rule_id for h in w.store.hits()] == ["ceasefire"]
    TextIndex(w.store).index_pending()
    book = RuleBook(rules=(Rule.from_query("w", "Віткофф AND ceasefire"),))
    outcome = search_articles(w.store, compile_rules(book), book.rules[0], book,
                              full_scan=False)
    assert (outcome.indexed, outcome.total) == (True, 1)
