"""The stories stage: grouping syndicated and near-duplicate copies of an article into one story.

Owns the MinHash text signatures (shingles hashed once, compact bytes), the LSH band index of
the recent window, and the registry that decides, as an article is saved, which story it
joins. One story alerts once, however many outlets carry it.

Must not import: net, feeds, extract, rules, delivery, daemon or cli. Uses the store.
"""

from __future__ import annotations

from monitor.stories.registry import StoryRegistry

__all__ = ["StoryRegistry"]
