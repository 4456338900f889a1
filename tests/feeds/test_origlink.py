"""Feeds still served through FeedBurner: each ``<link>`` is a feedproxy.google.com redirect
that no longer resolves reliably, and ``<feedburner:origLink>`` carries the publisher's URL.
The entry's URL (the page fetched) and its link key come from origLink; the link stays the
fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.feeds.parse import parse_feed
from tests.daemon.test_pipeline import World, page, served_world

FEED_URL = "http://feeds.feedburner.com/HarbourTimes"
PROXY = "http://feedproxy.google.com/~r/HarbourTimes/~3"


def feedburner_rss(items: str) -> str:
    """A WordPress feed as FeedBurner re-serves it (stylesheets, atom10 self link, info)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<?xml-stylesheet type="text/xsl" media="screen" href="/~d/styles/rss2full.xsl"?>'
        '<?xml-stylesheet type="text/css" media="screen" '
        'href="http://feeds.feedburner.com/~d/styles/itemcontent.css"?>\n'
        '<rss xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
        'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0" version="2.0">\n'
        "<channel>\n<title>Harbour Times</title>\n<link>https://harbour.example/</link>\n"
        "<description>News from the port</description>\n<language>en-US</language>\n"
        '<atom10:link xmlns:atom10="http://www.w3.org/2005/Atom" rel="self" '
        'type="application/rss+xml" href="http://feeds.feedburner.com/HarbourTimes" />'
        '<feedburner:info uri="harbourtimes" />'
        f"{items}\n</channel>\n</rss>\n"
    )


def feedburner_item(title: str, proxy_id: str, orig: str | None, guid: str | None,
                    description: str = "Negotiators met again on Sunday.") -> str:
    pixel = (f'&lt;img src="http://feeds.feedburner.com/~r/HarbourTimes/~4/{proxy_id}" '
             'height="1" width="1" alt=""/&gt;')
    return (
        f"\n<item>\n<title>{title}</title>\n<link>{PROXY}/{proxy_id}/</link>\n"
        "<pubDate>Mon, 03 Jun 2024 08:15:00 +0000</pubDate>\n"
        "<dc:creator><![CDATA[Ana Reporter]]></dc:creator>\n"
        + (f'<guid isPermaLink="false">{guid}</guid>\n' if guid else "")
        + f"<description>{description} {pixel}</description>\n"
        + (f"<feedburner:origLink>{orig}</feedburner:origLink>\n" if orig else "")
        + "</item>"
    )


def test_origlink_is_the_entry_url_and_its_link_key() -> None:
    body = feedburner_rss(
        feedburner_item("Ceasefire talks resume", "xYz12AbC",
                        "https://harbour.example/2024/06/ceasefire-talks/",
                        "https://harbour.example/?p=4812")
        + feedburner_item("Harbour reopens", "Qw3rTy9",
                          " https://harbour.example/2024/06/harbour-reopens/\n", None)
    ).encode()
    feed = parse_feed(body, url=FEED_URL, content_type="text/xml; charset=UTF-8")
    assert feed.warnings == ()
    talks, harbour = feed.entries
    assert talks.url == "https://harbour.example/2024/06/ceasefire-talks/"
    assert talks.key == "guid:https://harbour.example/?p=4812"  # a GUID still wins
    assert harbour.url == "https://harbour.example/2024/06/harbour-reopens/"
    assert harbour.key == "link:https://harbour.example/2024/06/harbour-reopens/"


@pytest.mark.parametrize("orig", [
    None,  # an item FeedBurner did not annotate
    "",
    "/2024/06/relative/",  # origLink is always absolute; anything else is not one
    "javascript:alert(1)",
    "http://[::1",  # unparseable
    "https://",
])
def test_without_a_usable_origlink_the_link_is_kept(orig: str | None) -> None:
    item = feedburner_item("Harbour reopens", "Qw3rTy9", None, None)
    if orig is not None:
        item = item.replace("</item>", f"<feedburner:origLink>{orig}</feedburner:origLink>"
                                       "</item>")
    feed = parse_feed(feedburner_rss(item).encode(), url=FEED_URL)
    (entry,) = feed.entries
    assert entry.url == f"{PROXY}/Qw3rTy9/"
    assert entry.key == f"link:{PROXY}/Qw3rTy9/"


def test_an_entry_of_an_ordinary_feed_is_unchanged() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>W</title>'
        b"<link>https://news.example/</link><item><title>Talks</title>"
        b"<link>/2024/talks</link></item></channel></rss>"
    )
    (entry,) = parse_feed(body, url="https://news.example/feed.xml").entries
    assert (entry.url, entry.key) == ("https://news.example/2024/talks",
                                      "link:https://news.example/2024/talks")


def test_origlink_under_another_prefix_and_in_atom() -> None:
    """feedparser keys FeedBurner's element by its namespace, whatever the prefix."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:fb="http://rssnamespace.org/feedburner/ext/1.0"><title>Harbour Times</title>'
        '<entry><id>tag:harbour.example,2024:4812</id><title>Talks</title>'
        f'<link rel="alternate" href="{PROXY}/xYz12AbC/"/>'
        "<updated>2024-06-03T08:15:00Z</updated>"
        "<fb:origLink>https://harbour.example/2024/06/ceasefire-talks/</fb:origLink>"
        "</entry></feed>"
    ).encode()
    (entry,) = parse_feed(body, url=FEED_URL).entries
    assert entry.url == "https://harbour.example/2024/06/ceasefire-talks/"


def test_pheedo_origlink_is_used_the_same_way() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        b'xmlns:pheedo="http://www.pheedo.com/namespace/pheedo"><channel><title>W</title>'
        b"<item><title>Talks</title><link>http://ads.pheedo.com/click.phdo?i=abc123</link>"
        b"<pheedo:origLink>https://news.example/2012/talks.html</pheedo:origLink></item>"
        b"</channel></rss>"
    )
    (entry,) = parse_feed(body, url="https://news.example/feed.xml").entries
    assert entry.url == "https://news.example/2012/talks.html"


# --- the page fetched -------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str) -> Iterator[World]:
    with served_world(tmp_path, sqlite_url, ("HarbourTimes.xml", "Harbour Times")) as w:
        yield w


def test_the_page_fetched_is_the_origlink_one(world: World) -> None:
    """The feedproxy link answers with a page of its own (here a 'feed gone' notice) or not at
    all; the article stored, with its text and hit, is the publisher's page."""
    w = world
    for folder in ("2024/06", "proxy/~r/HarbourTimes/~3/xYz12AbC"):
        (w.site / folder).mkdir(parents=True)
    w.write("2024/06/ceasefire-talks.html",
            page("Ceasefire talks resume", "A ceasefire was discussed."))
    w.write("proxy/~r/HarbourTimes/~3/xYz12AbC/index.html",
            page("This feed has moved", "The harbour notice of FeedBurner."))
    item = feedburner_item("Ceasefire talks resume", "xYz12AbC",
                           f"{w.base}/2024/06/ceasefire-talks.html",
                           "https://harbour.example/?p=4812", description="Talks resume.")
    w.write("HarbourTimes.xml",
            feedburner_rss(item.replace(PROXY, f"{w.base}/proxy/~r/HarbourTimes/~3")))
    report = w.pipeline.run_cycle()
    assert report.failed == 0 and report.articles == 1
    (stored,) = w.store.articles()
    assert stored.url == f"{w.base}/2024/06/ceasefire-talks.html"
    assert "A ceasefire was discussed." in stored.text and "FeedBurner" not in stored.text
    assert {h.rule_id for h in w.store.hits()} == {"ceasefire"}
