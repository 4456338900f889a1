"""One feed entry never costs the others: items are cleaned at the parse boundary, and an item
that still cannot be stored is recorded as that item's failure (issue 10, item 3; case G15)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.store import NewArticle, saving
from tests.daemon.test_pipeline import World, build_world, page
from tests.daemon_support import serve_directory


@pytest.fixture
def json_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    site = tmp_path / "site"
    site.mkdir()
    with serve_directory(site) as base, build_world(
            tmp_path, database_url, site, base,
            [{"url": f"{base}/feed.json", "name": "JSON"}]) as w:
        yield w


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


def test_an_oversized_url_fails_alone_on_postgresql(json_world: World) -> None:
    """A real refusal: PostgreSQL rejects a 3,000-character canonical URL (SQLite stores it)."""
    w = json_world
    w.write("one.html", page("Story one", "A ceasefire was discussed."))
    w.write("two.html", page("Story two", "A ceasefire was discussed."))
    long_link = f"{w.base}/{'x' * 3000}/two.html"  # 404: stored from the summary
    w.write("feed.json", _json_feed([
        {"id": "1", "url": f"{w.base}/one.html", "title": "Story one"},
        {"id": "2", "url": long_link, "title": "Story two"}]))
    report = w.pipeline.run_cycle()
    assert report.failed == 0
    if w.store.dialect == "postgresql":
        assert report.articles == 1
        (failure,) = w.store.item_failures()
        assert failure.entry_key == "guid:2" and "DataError" in failure.reason
    else:
        assert report.articles == 2 and w.store.item_failures() == []
