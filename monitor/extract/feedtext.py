"""An article's text from its feed entry: the fallback when the page gives too little, and
the entry's own full text when it is much longer than the page's (a paywall, a teaser).

Pure functions of the entry's content and summary; the daemon calls them in its own process
(no page to parse).
"""

from __future__ import annotations

import re

from monitor.extract.noise import html_to_text, remove_noise
from monitor.models import ExtractedText
from monitor.text import clean_text


def fallback_text(content: str, summary: str) -> ExtractedText | None:
    """Article text from the feed entry itself, for when the page gives too little.

    ``content`` (the entry's full text, HTML or plain) is preferred; ``summary`` is used when
    it is longer, since some feeds put a stub in one and the text in the other. Returns None
    when neither has any text.
    """
    from_content, from_summary = _feed_text(content), _feed_text(summary)
    if from_content and len(from_content) >= len(from_summary):
        return ExtractedText(text=from_content, source="feed_content")
    if from_summary:
        return ExtractedText(text=from_summary, source="feed_summary")
    return None


# How much longer than the page's text the entry's own full text must be to replace it.
FULLER_RATIO = 1.5
_TAG = re.compile(r"<[^>]*>")


def fuller_feed_text(content: str, page_text: str) -> ExtractedText | None:
    """The entry's own full text (``content:encoded``, Atom content) when it is much longer
    than the text extracted from the page, else None.

    A page behind a paywall, or one that shows a teaser and loads the rest by script, gives
    a few paragraphs, which pass ``min_text_chars``; the feed may carry the whole article,
    and words further down must still be matched. A tag-stripping length estimate comes
    first, so an entry whose content is no longer than the page's text (the usual case) costs
    no HTML parse.
    """
    wanted = FULLER_RATIO * len(page_text)
    if len(content) <= wanted or len(_TAG.sub("", content)) <= wanted:
        return None
    text = _feed_text(content)
    return ExtractedText(text=text, source="feed_content") if len(text) > wanted else None


def _feed_text(markup: str) -> str:
    """The text of a feed entry's content or summary (HTML or plain), without its noise."""
    return remove_noise(html_to_text(clean_text(markup)))
