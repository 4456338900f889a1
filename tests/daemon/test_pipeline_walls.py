"""A site that serves its consent wall for every article (tests/extract/test_walls.py holds
the wall check itself): each article is stored from its own summary and alerts, not merged
into one story by the identical wall text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.store.schema import ArticleRow
from tests.daemon.test_pipeline import World, served_world
from tests.daemon_support import REPO

WALLS = REPO / "tests" / "extract" / "data" / "walls"


@pytest.fixture
def site_world(tmp_path: Path, sqlite_url: str) -> Iterator[World]:
    with served_world(tmp_path, sqlite_url, ("feed.xml", "Site")) as w:
        yield w


def test_two_articles_behind_one_consent_wall_are_two_stories_and_both_alert(
        site_world: World, caplog: pytest.LogCaptureFixture) -> None:
    """The site serves its consent wall for every article: the identical wall text would
    make them one story (only the first alerting). Each is stored from its own summary."""
    world = site_world
    wall = (WALLS / "en_yahoo_consent.html").read_text(encoding="utf-8")
    entries = {
        "doha.html": ("Ceasefire talks resume in Doha",
                      "Negotiators met in Doha on Sunday to discuss a ceasefire in Gaza and "
                      "the release of hostages."),
        "border.html": ("Ceasefire holds along the northern border",
                        "A ceasefire between the army and rebel groups held for a third day "
                        "on Tuesday, residents of border towns said."),
    }
    items = ""
    for name, (title, summary) in entries.items():
        world.write(name, wall)
        items += (f"<item><title>{title}</title><link>{world.base}/{name}</link>"
                  f"<guid>{name}</guid><description>{summary}</description></item>")
    world.write("feed.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>Site'
                "</title><link>http://x/</link><description>d</description>"
                f"{items}</channel></rss>")
    caplog.set_level(logging.INFO)
    report = world.pipeline.run_cycle()
    assert report.articles == 2 and report.failed == 0
    assert world.store.count("stories") == 2
    assert world.store.count("notifications") == 2  # both alert
    with world.store.read() as session:
        rows = {row.title: row for row in session.scalars(select(ArticleRow))}
    for title, summary in entries.values():  # matched on its own words, not the wall's
        assert rows[title].text == summary and rows[title].text_source == "feed_summary"
        assert rows[title].error == "consent_wall"  # why the page's text is missing
    logged = [r.getMessage() for r in caplog.records if "consent_wall" in r.getMessage()]
    assert len(logged) == 2
    for name in entries:  # operators see which site walls the fetcher off
        assert any(f"{world.base}/{name}" in line for line in logged)
