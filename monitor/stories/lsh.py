"""Locality-sensitive hashing over story signatures: the banding, and an in-memory index.

- :func:`banding` chooses how a signature's values are cut into bands for a threshold.
- :class:`StoryIndex` holds recent signatures in memory: :meth:`StoryIndex.find` returns the
  story of the most similar article published within the time window (default 7 days) whose
  *estimated* Jaccard similarity reaches the threshold (default 0.5; LSH only proposes
  candidates, each is verified). :meth:`StoryIndex.prune` drops old entries. The daemon keeps
  its index in the database instead (:mod:`monitor.stories.registry`), with the same banding,
  where copies cut short join too (their leads' bands); this one compares whole texts only
  and serves tests and benchmarks as the reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.stories.signatures import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    NUM_PERM,
    StorySignature,
    aware,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    story_key: str
    signature: StorySignature
    published: datetime


def _candidate_probability(similarity: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - similarity**rows) ** bands


@functools.cache
def banding(threshold: float, num_perm: int) -> tuple[int, int]:
    """The (bands, rows) split of ``num_perm`` values that makes a pair a candidate about
    when its similarity passes ``threshold``: least false-positive plus false-negative area
    under the candidate-probability curve (datasketch's criterion, weights equal)."""
    steps = 100
    below = [threshold * (i + 0.5) / steps for i in range(steps)]
    above = [threshold + (1.0 - threshold) * (i + 0.5) / steps for i in range(steps)]
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_pos = sum(_candidate_probability(s, bands, rows) for s in below) * threshold
            false_neg = sum(1 - _candidate_probability(s, bands, rows)
                            for s in above) * (1.0 - threshold)
            error = (false_pos + false_neg) / steps
            if best is None or error < best[0]:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


class StoryIndex:
    """In-memory LSH index of recent articles' signatures, keyed by article.

    Each signature is cut into bands; two articles become candidates when any band is equal,
    and each candidate is verified by its estimated similarity. One dict per band maps the
    band's hash to the article keys holding it: about 1.5 KB per article with its signature
    (datasketch's MinHashLSH, a bytes key and a set per band, took 9.5 KB: 47 MB against 7 MB
    for 5,000 articles, and a 7-day window of a busy installation holds tens of thousands).

    Not thread-safe: the caller serialises find-then-add (the story registry holds a lock).
    """

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        window: timedelta = DEFAULT_WINDOW,
        num_perm: int = NUM_PERM,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self.window = window
        self.num_perm = num_perm
        self._bands, self._rows = banding(threshold, num_perm)
        # band hash -> one article key, or a list of them when several share the band
        self._buckets: list[dict[int, str | list[str]]] = [{} for _ in range(self._bands)]
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_key: object) -> bool:
        return article_key in self._entries

    def add(
        self, story_key: str, article_key: str, sig: StorySignature, published: datetime
    ) -> None:
        """Index one article's signature under its story; re-adding a key replaces it.

        Empty signatures are not indexed (they would never be found anyway).
        """
        if article_key in self._entries:
            self.remove(article_key)
        if sig.empty:
            return
        if sig.num_perm != self.num_perm:
            raise ValueError(f"signature has {sig.num_perm} permutations, "
                             f"the index expects {self.num_perm}")
        for bucket, key in zip(self._buckets, sig.band_keys(self._bands, self._rows),
                               strict=True):
            held = bucket.get(key)
            if held is None:
                bucket[key] = article_key
            elif isinstance(held, list):
                held.append(article_key)
            else:
                bucket[key] = [held, article_key]
        self._entries[article_key] = _Entry(story_key, sig, aware(published))

    def remove(self, article_key: str) -> None:
        """Forget one article (no error if it is not indexed)."""
        entry = self._entries.pop(article_key, None)
        if entry is None:
            return
        for bucket, key in zip(self._buckets,
                               entry.signature.band_keys(self._bands, self._rows), strict=True):
            held = bucket.get(key)
            if isinstance(held, list):
                held.remove(article_key)
                if len(held) == 1:
                    bucket[key] = held[0]
            elif held is not None:
                del bucket[key]

    def _candidates(self, sig: StorySignature) -> set[str]:
        found: set[str] = set()
        for bucket, key in zip(self._buckets, sig.band_keys(self._bands, self._rows),
                               strict=True):
            held = bucket.get(key)
            if isinstance(held, list):
                found.update(held)
            elif held is not None:
                found.add(held)
        return found

    def find(self, sig: StorySignature, published: datetime) -> str | None:
        """The story of the most similar indexed article within the window, or None.

        Candidates proposed by LSH are kept only when their estimated Jaccard similarity is at
        least the threshold and their publication time is within ``window`` of ``published``
        (either side: feeds deliver late). Ties go to the most recently published.
        """
        if sig.empty or not self._entries or sig.num_perm != self.num_perm:
            return None
        moment = aware(published)
        best: tuple[float, datetime, str] | None = None
        for key in self._candidates(sig):
            entry = self._entries[key]
            if abs(entry.published - moment) > self.window:
                continue
            score = sig.similarity(entry.signature)
            if score < self.threshold:
                continue
            candidate = (score, entry.published, entry.story_key)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        return best[2] if best else None

    def prune(self, before: datetime) -> int:
        """Drop articles published before ``before``; returns how many were dropped."""
        cutoff = aware(before)
        old = [key for key, entry in self._entries.items() if entry.published < cutoff]
        for key in old:
            self.remove(key)
        return len(old)
