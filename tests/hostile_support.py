"""Hostile feeds of issue 10, built in the test (no corpus file): each is well under the 10 MiB
feed cap, and each once held the daemon's cycle for minutes or drove it past a gigabyte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

_HEAD = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Storm</title>'
         "<link>http://storm.example/</link><description>d</description>")


def attribute_storm(attributes: int = 300_000) -> bytes:
    """One element with ``attributes`` attributes (300,000: 3.4 MB; >4 min in feedparser)."""
    attrs = " ".join(f'a{i}="x"' for i in range(attributes))
    return (f"{_HEAD}<item><title {attrs}>Storm</title><guid>s1</guid></item>"
            "</channel></rss>").encode()


def tag_storm(tags: int = 2_000_000) -> bytes:
    """``tags`` unclosed tags in one item (2 million: 6 MB; 74 s and 1.4 GB in feedparser)."""
    return f"{_HEAD}<item><title>Storm</title><description>{'<b>' * tags}".encode()


def many_entries(base: str, count: int = 50_000) -> bytes:
    """A JSON Feed listing ``count`` entries, oldest first, each linking a page under ``base``."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items = [{"id": f"e{i}", "url": f"{base}/gone/{i}.html", "title": f"Entry {i}",
              "content_text": f"Entry {i} summary",
              "date_published": (start + timedelta(minutes=i)).isoformat()}
             for i in range(count)]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Big",
                       "items": items}).encode()
