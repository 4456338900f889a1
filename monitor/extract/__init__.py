"""The extract stage: an article page's main text, without the page's noise.

Owns trafilatura (fast mode), the noise filters that drop share bars, related links and
captions trafilatura keeps, and the pool of killable worker processes that bounds each page's
time and memory (generic: the daemon runs the feed parser in one too). A page that cannot be
extracted falls back to the feed's own summary, as does one whose text is a cookie consent wall
or a bot-check page (``walls.py``: every page of such a site reads the same), and one that gives
much less than the feed's own full text (a paywall, a teaser) gives way to it.

Must not import: net, feeds, rules, stories, delivery, daemon, cli or the store.
"""

from __future__ import annotations

from monitor.extract.extractor import Extractor, extract_html
from monitor.extract.feedtext import fallback_text, fuller_feed_text
from monitor.extract.pool import KillablePool, PoolErrors, release_free_memory

__all__ = [
    "Extractor",
    "KillablePool",
    "PoolErrors",
    "extract_html",
    "fallback_text",
    "fuller_feed_text",
    "release_free_memory",
]
