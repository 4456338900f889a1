"""The feeds stage: turning fetched bytes into entries, and deciding when a feed is next due.

Owns RSS, Atom, RDF and CDF parsing (through feedparser, behind an XML safety pass), JSON Feed,
feed autodiscovery in HTML pages, entry identity that survives an edited headline, OPML
import and export, and adaptive polling intervals within bounds. Pure logic on bytes and
records: fetching is the net stage's work.

Must not import: net, extract, rules, stories, delivery, daemon or cli. May use the store's
records (polling reads a feed's state).
"""

from __future__ import annotations

from monitor.feeds.discover import FeedLink, discover_feeds
from monitor.feeds.opml import OpmlFeed, read_opml, write_opml
from monitor.feeds.parse import parse_feed
from monitor.feeds.polling import after_failure, after_success

__all__ = [
    "FeedLink",
    "OpmlFeed",
    "after_failure",
    "after_success",
    "discover_feeds",
    "parse_feed",
    "read_opml",
    "write_opml",
]
