"""Stories across outlets: finds the story a new article belongs to and stores it with it.

The MinHash index lives in memory (rebuilt from recent articles' stored signatures at start)
and a lock makes "find the story, save the article, index it" one step, so two copies of one
story polled at the same moment still join one story in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

from monitor.models import Article, RuleHit
from monitor.store import Route, SavedArticle, Store
from monitor.stories.signatures import StoryIndex, StorySignature, text_signature

log = logging.getLogger(__name__)

MIN_STORY_TEXT_CHARS = 200  # shorter texts (bare summaries) are too thin to compare


class StoryRegistry:
    def __init__(self, store: Store, window: timedelta = timedelta(days=7)) -> None:
        self.store = store
        self.window = window
        self.index = StoryIndex(window=window)
        self._lock = threading.Lock()

    def load(self) -> int:
        """Index the signatures of articles fetched within the window; returns how many.

        Signatures this version cannot read (an older format, or damaged) are skipped: those
        articles are not offered as earlier copies of a story, nothing else changes.
        """
        rows = self.store.recent_signatures(self.store.clock() - self.window)
        loaded = 0
        for story_id, article_id, data, moment in rows:
            try:
                signature = StorySignature.from_bytes(data)
            except ValueError:
                continue
            self.index.add(str(story_id), str(article_id), signature, moment)
            loaded += 1
        if loaded < len(rows):
            log.info("story index: skipped %d stored signatures in an unreadable format",
                     len(rows) - loaded)
        return loaded

    def prune(self) -> None:
        """Forget articles older than the window, so the index stays bounded."""
        with self._lock:
            self.index.prune(self.store.clock() - self.window)

    def save(self, feed_id: int, article: Article, hits: Sequence[RuleHit],
             routes: Callable[[RuleHit], Sequence[Route]]) -> SavedArticle:
        """Store ``article`` in its story (an existing near-duplicate's, or a new one)."""
        signature = (text_signature(article.text)
                     if len(article.text) >= MIN_STORY_TEXT_CHARS else None)
        moment = article.published or self.store.clock()
        with self._lock:
            story_key = self.index.find(signature, moment) if signature is not None else None
            saved = self.store.save_article(
                feed_id, article, hits, routes,
                story_id=int(story_key) if story_key is not None else None,
                signature=signature.to_bytes() if signature is not None else None)
            if saved.created and signature is not None:
                self.index.add(str(saved.story_id), str(saved.article_id), signature, moment)
        return saved
