"""An article's language: a declared language is trusted, otherwise py3langid guesses it.

Measured on the seed articles' sentences (tests/test_language.py): whole articles are
recognised; on single short sentences py3langid takes a fair share of Indonesian for Malay
(``ms``). The two are close enough that a rule asking for ``id`` also accepts a *detected*
``ms`` and the other way round (:func:`language_matches`); declared languages match exactly.
"""

from __future__ import annotations

import threading
from array import array

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Enough text to be sure, little enough to stay well under a millisecond.
_SAMPLE_CHARS = 2000
# Pairs the detector confuses on short texts: a detected code may be either.
_CONFUSED = {"id": frozenset({"id", "ms"}), "ms": frozenset({"id", "ms"})}

_loaded: dict[str, LanguageIdentifier] = {}
_lock = threading.Lock()


def _get_identifier() -> LanguageIdentifier:
    with _lock:  # the model takes a second to load: once, on first use
        if "model" not in _loaded:
            _loaded["model"] = _compact(LanguageIdentifier.from_model_file(MODEL_FILE))
        return _loaded["model"]


def _compact(identifier: LanguageIdentifier) -> LanguageIdentifier:
    """The model's DFA output table and row offsets (104,583 entries each) as typed arrays:
    py3langid keeps them as lists of Python ints, ~5 MB more of the daemon's memory for the
    same values, indexed as fast (tests/test_language.py checks the classifications)."""
    for name, code in (("tk_output", "i"), ("_rowbase", "q")):
        values = getattr(identifier, name, None)
        if isinstance(values, list):
            setattr(identifier, name, array(code, values))
    return identifier


def load_model() -> None:
    """Load the detection model now (it reads a file), not during the first detection."""
    _get_identifier()


def normalize_language(code: str | None) -> str | None:
    """``en-US``, ``EN``, ``en_gb`` -> ``en``; empty -> None."""
    if not code:
        return None
    primary = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary or None


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code py3langid finds most likely, or None for text without letters."""
    sample = text[:_SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None
    language, _score = _get_identifier().classify(sample)
    return str(language)


def language_matches(wanted: frozenset[str], language: str | None, *, detected: bool) -> bool:
    """Whether a document in ``language`` passes a rule's ``languages`` filter.

    An empty ``wanted`` accepts everything; an unknown language passes no filter.
    """
    if not wanted:
        return True
    if language is None:
        return False
    if detected:
        return not wanted.isdisjoint(_CONFUSED.get(language, (language,)))
    return language in wanted
