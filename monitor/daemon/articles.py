"""An entry's article as it is stored and matched: the page's text or the feed's, its title,
outlet, language and identity. Pure: the page was fetched and extracted before, the matching
and saving come after (:mod:`monitor.daemon.poller`)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from monitor.daemon.pages import publisher_identity
from monitor.extract import fallback_text, fuller_feed_text
from monitor.language import article_language
from monitor.models import Article, ExtractedText, FeedEntry
from monitor.net import shown_url
from monitor.store import FeedState
from monitor.text import clean_prose, clean_prose_line


def declared_language(feed: FeedState, entry: FeedEntry, feed_language: str | None
                      ) -> str | None:
    """The language an article is declared in before its page is read: its entry's, else
    the one configured for the feed, else the feed's own (its page's comes next)."""
    return entry.language or feed.language or feed_language


def compose_article(feed: FeedState, entry: FeedEntry, url: str,
                    extracted: ExtractedText | None, error: str | None,
                    feed_language: str | None, *, min_text_chars: int
                    ) -> tuple[Article, ExtractedText | None]:
    """The article of ``entry`` (stored under ``url``, or under the publisher's URL its page
    came from), and the text it was made from: the page's, or the feed's when the page gave
    none or less (``min_text_chars``), or only a teaser of what the feed carries."""
    url = publisher_identity(url, extracted)
    if extracted is None or len(extracted.text) < min_text_chars:
        fallback = fallback_text(entry.content, entry.summary)
        if fallback is not None and (extracted is None
                                     or len(fallback.text) > len(extracted.text)):
            extracted = fallback
    elif entry.content:  # a paywalled or teaser page: the feed may carry the whole text
        extracted = fuller_feed_text(entry.content, extracted.text) or extracted
    # Cleaned here, as the store keeps them: the matcher's offsets and stems are then those
    # of the stored text.
    text = clean_prose(extracted.text) if extracted else ""
    title = clean_prose_line(entry.title or (extracted.title if extracted and extracted.title
                                             else url))
    # The entry's or feed's, else the page's own (its lang attribute, as written: "en-us",
    # "ua", "zz"), as a code the rules and the web view's filter share; none that names no
    # language, nor one the text cannot be in (a CMS's default "en-US" on a Russian or an
    # Indonesian page): that article's language is detected.
    language, detected = article_language(entry.title, text,
                                          declared_language(feed, entry, feed_language),
                                          extracted.language if extracted else None)
    article = Article(
        url=url, title=title,
        # The outlet the entry names as its origin (an aggregator's item: Google News names
        # the publisher; trafilatura's site name may be only the page's host), else the
        # page's site name, else the feed's name (its URL when none was given: masked, as
        # a private feed's token must not reach alerts and pages).
        text=text, source_name=entry.source or (
            extracted.site_name if extracted and extracted.site_name
            and extracted.source == "page" else shown_url(feed.name)),
        feed_url=feed.url, entry_key=entry.key,
        text_source=extracted.source if extracted else "feed_summary",
        language=language, language_detected=detected and language is not None,
        published=entry.published or (
            extracted.published if extracted else None),
        author=entry.author or (extracted.author if extracted else None),
        content_hash=hashlib.sha256(f"{entry.title}\n{text}".encode()).hexdigest(),
        error=error,
    )
    return article, extracted


def recent_enough(article: Article, max_age: float | None, now: datetime) -> bool:
    """Whether the article may alert: published within ``max_age`` seconds before ``now``
    (``delivery.max_article_age``; None: any date), or undated."""
    published = article.published
    if max_age is None or published is None:
        return True
    if published.tzinfo is None:  # feed dates without an offset are UTC by convention
        published = published.replace(tzinfo=UTC)
    return now - published <= timedelta(seconds=max_age)
