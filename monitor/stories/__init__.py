"""The stories stage: grouping syndicated and near-duplicate copies of an article into one story.

Owns the MinHash text signatures (shingles hashed once, compact bytes), the LSH banding, and
the registry that decides, as an article is saved, which story it joins, against the band
index in the database that every daemon shares. One story alerts once, however many outlets
carry it, and however many daemons poll them.

:func:`text_signature` is pure and importing it does not load the store (the registry is
imported on first use), so it can run in extraction worker processes.

Must not import: net, feeds, extract, rules, delivery, daemon or cli. Uses the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.stories.signatures import StorySignature, text_signature, worker_signature

if TYPE_CHECKING:
    from monitor.stories.registry import StoryRegistry

__all__ = ["StoryRegistry", "StorySignature", "text_signature", "worker_signature"]


def __getattr__(name: str) -> Any:
    if name == "StoryRegistry":
        from monitor.stories.registry import StoryRegistry

        return StoryRegistry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
