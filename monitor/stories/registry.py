"""Stories across outlets: finds the story a new article belongs to and stores it with it.

The story is decided in the database, in the transaction that stores the article, so every
daemon on one database puts a syndicated copy into the same story:

- The index is shared: table ``story_bands`` holds the LSH band keys
  (:meth:`StorySignature.band_keys`, stable across processes) of each story's
  *representatives*. A new article's candidates are the representatives holding any of its
  band keys and published within the window; the most similar one at or above the threshold
  gives the story (ties to the most recent), as the in-memory :class:`StoryIndex` does.
- Concurrent decisions are serialised by the database, not by a lock in this process:
  on PostgreSQL, advisory locks on the article's band keys, taken at the start of the
  transaction (two copies of one story share a band key, so one waits for the other and
  then sees it); on SQLite, the ``BEGIN IMMEDIATE`` every write transaction takes (and, in one
  process, a lock, so threads queue here rather than in SQLite's polling busy handler). Advisory
  locks rather than unique band rows because a unique row per band would let one story own
  each bucket, and a copy racing its original would have to undo a decision already made;
  the lock keeps the single-process logic exactly (details in ``monitor.store.story_index``).
- Constant work per article whatever the size of the story: a story's first article
  represents it, and a later member becomes a representative only while the story has fewer
  than :data:`MAX_REPRESENTATIVES` and only if it adds something: its best match scored below
  :data:`NOVELTY` (a drifted copy), or was published more than half a window earlier (so a
  story that runs for weeks stays findable). A new article is therefore compared with at most
  that many members of each candidate story, not with its hundreds or thousands of copies.

An item with no text to compare (title-only, or a short text signed exactly) has the keys of
its headline (:func:`title_keys`) in the index too, as does every representative: it joins,
and is joined by, an article with the same headline published within :data:`EXACT_WINDOW`.
Two articles that both have text are decided by their texts alone.

At start :meth:`StoryRegistry.load` indexes recent stored articles of stories that have no
representatives yet (after the upgrade that added the table, or when a database was used by
an older version); :meth:`StoryRegistry.prune` drops representatives older than the window.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from monitor.models import Article, RuleHit
from monitor.store import (
    NewArticle,
    Route,
    SavedArticle,
    Store,
    StoryCandidate,
    StoryChoice,
    StoryLookup,
    StoryMember,
)
from monitor.stories.lsh import banding
from monitor.stories.signatures import (
    DEFAULT_THRESHOLD,
    NUM_PERM,
    StorySignature,
    aware,
    exact_signature,
    same_story,
    text_signature,
    title_keys,
    too_short_to_sign,
)

log = logging.getLogger(__name__)

MAX_REPRESENTATIVES = 8  # per story: bounds the comparisons a new article costs
NOVELTY = 0.8  # a member whose best match scores below this represents its story too
# An exact copy of a short text (see exact_signature) joins a story published this close to
# it, not a whole window apart: wire copies land within hours, while a recurring item with the
# same title and teaser (a daily briefing whose page gave no text) is a new story each time.
EXACT_WINDOW = timedelta(hours=12)


class StoryRegistry:
    def __init__(self, store: Store, window: timedelta = timedelta(days=7), *,
                 threshold: float = DEFAULT_THRESHOLD,
                 max_representatives: int = MAX_REPRESENTATIVES) -> None:
        self.store = store
        self.window = window
        self.threshold = threshold
        self.max_representatives = max_representatives
        self._bands, self._rows = banding(threshold, NUM_PERM)
        # SQLite serialises writers anyway, but a waiting connection polls in its busy handler
        # and gives up after the busy timeout: the daemon's poll threads take turns here, as
        # they did before the index moved into the database.
        self._turns: AbstractContextManager[object] = (
            threading.Lock() if store.dialect == "sqlite" else nullcontext())

    def band_keys(self, signature: StorySignature) -> list[int]:
        """The text's band keys, then its lead's (a copy cut short shares those)."""
        return signature.band_keys(self._bands, self._rows) + signature.lead_band_keys()

    def load(self) -> int:
        """Index recent articles of stories that have no representatives; returns how many.

        Signatures this version cannot read (an older format, or damaged) are skipped: those
        articles are not offered as earlier copies of a story, nothing else changes. Safe to
        run in several daemons at once (rows already there are kept).
        """
        members = self.store.unindexed_story_members(self.store.clock() - self.window)
        chosen: list[tuple[StoryMember, Sequence[int]]] = []
        kept: dict[int, list[tuple[StorySignature, datetime]]] = defaultdict(list)
        unreadable = 0
        for member in members:
            try:
                signature = StorySignature.from_bytes(member.signature)
            except ValueError:
                unreadable += 1
                continue
            if signature.empty or signature.num_perm != NUM_PERM:
                continue
            reps = kept[member.story_id]
            if len(reps) >= self.max_representatives:
                continue
            moment = aware(member.published)
            if reps and not self._adds_to(signature, moment, reps):
                continue
            reps.append((signature, moment))
            chosen.append((member, self.band_keys(signature)))
        if unreadable:
            log.info("story index: skipped %d stored signatures in an unreadable format",
                     unreadable)
        return self.store.index_story_members(chosen) if chosen else 0

    def _adds_to(self, signature: StorySignature, moment: datetime,
                 reps: Sequence[tuple[StorySignature, datetime]]) -> bool:
        score, published = max((signature.similarity(s), p) for s, p in reps)
        return score < NOVELTY or abs(moment - published) > self.window / 2

    def prune(self) -> None:
        """Forget representatives older than the window, so the index stays bounded."""
        self.store.prune_story_index(self.store.clock() - self.window)

    def save(self, feed_id: int, article: Article, hits: Sequence[RuleHit],
             routes: Callable[[RuleHit], Sequence[Route]], *,
             signature: StorySignature | None = None) -> SavedArticle:
        """Store ``article`` in its story (an existing near-duplicate's, or a new one).

        ``signature`` is the text's :func:`text_signature` when it was computed already (for
        example where the text was extracted); otherwise it is computed here (for a short
        text, its :func:`exact_signature`).
        """
        if signature is None:
            signature = article_signature(article)
        with self._turns:
            return self.store.save_article(
                feed_id, article, hits, routes, story=self._lookup(signature, article),
                signature=signature.to_bytes() if signature is not None else None)

    def save_all(self, items: Sequence[NewArticle],
                 routes: Callable[[RuleHit], Sequence[Route]]) -> list[SavedArticle | Exception]:
        """:meth:`save` for several articles (a feed's new ones) in one transaction: one
        result per item, what it saved or the exception that kept it out (see
        :meth:`Store.save_articles`). An item's ``signature`` is its text's, signed where it
        was extracted; an item without one (a short text is not signed there) gets it
        computed here."""
        ready = [self.keyed(item) for item in items]
        with self._turns:
            return self.store.save_articles(ready, routes)

    def keyed(self, item: NewArticle) -> NewArticle:
        """``item`` with its signature and how the store finds its story (the keys it is
        indexed by). A new article's story is decided by them (:meth:`save_all`); a revised
        entry's only re-indexes an article whose page came on a later try
        (:mod:`monitor.store.revising`): any other revision keeps its story and signature."""
        signature = _signature_of(item)
        return replace(item, story=self._lookup(signature, item.article),
                       signature=signature.to_bytes() if signature is not None else None)

    def _lookup(self, signature: StorySignature | None, article: Article) -> StoryLookup | None:
        """How the store decides the article's story, or None (no comparable signature and a
        headline too short to key)."""
        if signature is not None and (signature.empty or signature.num_perm != NUM_PERM):
            signature = None
        titles = title_keys(article.title)
        if signature is None and not titles:
            return None
        moment = aware(article.published or self.store.clock())
        window = (min(self.window, EXACT_WINDOW) if too_short_to_sign(article.text)
                  else self.window)
        keys = self.band_keys(signature) if signature is not None else []
        return StoryLookup(band_keys=keys + titles, published=moment,
                           window=window, max_representatives=self.max_representatives,
                           choose=partial(self._choose, signature, frozenset(titles), moment,
                                          window))

    def _choose(self, signature: StorySignature | None, titles: frozenset[int],
                moment: datetime, window: timedelta,
                candidates: Sequence[StoryCandidate]) -> StoryChoice:
        """The story of the most similar candidate at or above the threshold (ties to the
        most recently published) within ``window``, else of one this text is a cut of or cut
        from (:func:`same_story`), else of one with the same headline if either has no text
        to compare (:func:`_same_headline`), else a new story; and whether this article
        represents it (a cut copy does: a later one may share only its part; a title-only
        item joining by its headline does not: it adds nothing to find the story by)."""
        best: tuple[float, datetime, int] | None = None
        for candidate in candidates:
            published = aware(candidate.published)
            if abs(published - moment) > window:
                continue
            try:
                other = (None if candidate.signature is None
                         else StorySignature.from_bytes(candidate.signature))
            except ValueError:
                continue
            score = (same_story(signature, other, self.threshold)
                     if signature is not None and other is not None else None)
            if score is None and _same_headline(signature, titles, other, candidate.title,
                                                abs(published - moment)):
                score = BY_HEADLINE
            if score is not None and (best is None or (score, published) > best[:2]):
                best = (score, published, candidate.story_id)
        if best is None:
            return StoryChoice(None, represent=True)
        score, published, story_id = best
        if score == BY_HEADLINE:
            return StoryChoice(story_id, represent=not _textless(signature))
        return StoryChoice(story_id, represent=(score < NOVELTY
                                                or abs(moment - published) > window / 2))


BY_HEADLINE = -1.0  # the score of a join by headline: below any by text


def _textless(signature: StorySignature | None) -> bool:
    """No text to compare by shingles: a title-only item (None), or a short text's
    :func:`exact_signature` (it has no lead)."""
    return signature is None or signature.lead is None


def _same_headline(signature: StorySignature | None, titles: frozenset[int],
                   other: StorySignature | None, other_title: str, apart: timedelta) -> bool:
    """Whether two articles are one story by their headlines alone: one has no text to
    compare (an aggregator's title-only entry whose page gave nothing: a Google News link
    in the current format), they share a :func:`title_keys` key (the same headline, an
    outlet suffix aside), and they came out within :data:`EXACT_WINDOW` of each other (a
    recurring headline is a new story the next day)."""
    return ((_textless(signature) or _textless(other)) and apart <= EXACT_WINDOW
            and not titles.isdisjoint(title_keys(other_title)))


def article_signature(article: Article) -> StorySignature | None:
    """The article's story signature: its text's :func:`text_signature`, or for a text
    shorter than :data:`MIN_STORY_TEXT_CHARS` the :func:`exact_signature` of its title and
    text (it joins exact copies only); None for a title-only article."""
    if too_short_to_sign(article.text):
        return exact_signature(article.title, article.text)
    return text_signature(article.text)


def _signature_of(item: NewArticle) -> StorySignature | None:
    """The item's signature as given (signed where the text was extracted), else computed;
    None for a title-only item."""
    if item.signature is not None:
        try:
            return StorySignature.from_bytes(item.signature)
        except ValueError:  # not one this version reads: sign the text again
            pass
    return article_signature(item.article)
