"""Stemming for rules with ``stem: true`` (Snowball, Indonesian and English).

A document's stemmer follows its language: ``id`` (and ``ms``, which language detection
confuses with it and which shares its morphology) uses the Indonesian stemmer, ``en`` the
English one; other languages are not stemmed. Snowball stemmers keep state while stemming,
so each thread has its own; results are cached because news vocabulary repeats.
"""

from __future__ import annotations

import threading
from typing import Any

import snowballstemmer

_ALGORITHMS = {"en": "english", "id": "indonesian"}
_BY_LANGUAGE = {"en": "en", "id": "id", "ms": "id"}
_CACHE_LIMIT = 200_000

STEM_LANGUAGES: tuple[str, ...] = tuple(_ALGORITHMS)

_local = threading.local()
_caches: dict[str, dict[str, str]] = {lang: {} for lang in _ALGORITHMS}


def stemmer_for(language: str | None) -> str | None:
    """The stemmer (``en`` or ``id``) for a document language, or None for no stemming."""
    return _BY_LANGUAGE.get(language or "")


def _stemmer(stemmer: str) -> Any:
    stemmers: dict[str, Any] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if stemmer not in stemmers:
        stemmers[stemmer] = snowballstemmer.stemmer(_ALGORITHMS[stemmer])
    return stemmers[stemmer]


def stem_tokens(tokens: list[str], stemmer: str) -> list[str]:
    """The stem of each folded token (a token never stems to nothing)."""
    cache = _caches[stemmer]
    if len(cache) > _CACHE_LIMIT:
        cache.clear()  # crude bound; a miss only costs a re-stem
    out = []
    for token in tokens:
        stem = cache.get(token)
        if stem is None:
            stem = cache[token] = _stemmer(stemmer).stemWord(token) or token
        out.append(stem)
    return out
