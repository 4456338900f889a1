"""An article's language: a declared language is trusted if the text could be in it,
otherwise py3langid guesses it.

A CMS left at its default declares ``en-US`` on every page, a Russian outlet's English
template included; an article in Cyrillic or Arabic declared English would be filtered and
stemmed as English, and missed silently. So a declaration is checked against the text's
script (:func:`written_in`, a few microseconds, against 0.5-0.9 ms for a detection), and an
English one against English's commonest words too (an Indonesian page declared ``en``):
an article that fails is detected instead (:func:`plausible`). Other languages of one script
are not told apart (a Malay page declared ``id``).

Measured on the seed articles' sentences (tests/test_language.py): whole articles are
recognised; on single short sentences py3langid takes a fair share of Indonesian for Malay
(``ms``). The two are close enough that a rule asking for ``id`` also accepts a *detected*
``ms`` and the other way round (:func:`language_matches`); declared languages match exactly.

Language codes themselves (normalising, checking) are :mod:`monitor.language_codes`'s.
"""

from __future__ import annotations

import io
import logging
import lzma
import re
import threading
from array import array
from collections import Counter
from typing import Any

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import _to_array  # its loader's own conversion (a private name)

from monitor.language_codes import normalize_language
from monitor.text import SCRIPT_RANGES

log = logging.getLogger(__name__)

# Enough text to be sure, and no more: detection costs per byte (a DFA walk in Python, then
# a score per distinct feature), and runs for every article with no declared language. On
# the 181 benchmark pages and the seeds, samples of 600 to 2,000 characters gave the same
# language for every text; 1,000 halves the cost of 2,000 (about 0.9 ms an article).
_SAMPLE_CHARS = 1000
# Pairs the detector confuses on short texts: a detected code may be either.
_CONFUSED = {"id": frozenset({"id", "ms"}), "ms": frozenset({"id", "ms"})}
# Under this many letters (a title alone) a detected language is a guess, and its close
# runners-up (GUESS_MARGIN) count too:
# with their bodies, the quality set's 163 texts were all detected right; their titles alone
# (40-80 letters) 7 wrong, 3 of them beyond Indonesian/Malay.
SHORT_TEXT_LETTERS = 100
# How far below its best guess (log-probability) a language still counts as a guess of a
# short text: "Qatar pushes Gaza truce" has English 7.6 below Hausa, "Zelensky: plan Trump"
# 8.5 below Slovak; an English headline has Indonesian 17 or more below English.
GUESS_MARGIN = 10.0

_BLOCK = 64  # the byte DFA's 256 columns in 4 blocks; each block's distinct rows kept once


class _CompactIdentifier(LanguageIdentifier):  # type: ignore[misc]  # py3langid is untyped
    """py3langid's identifier with its byte DFA stored compactly, same results.

    py3langid keeps the DFA as 38,346 distinct rows of 256 next states (39 MB) and the
    output table and row offsets as lists of Python ints (~7 MB). Cut into four blocks of
    64 columns, the rows have far fewer distinct values per block: 12 MB in all, plus one
    offset per state and block (1.7 MB). The walk costs one more index per byte.
    tests/test_language.py checks it against py3langid's own.
    """

    __slots__ = ("_bases", "_table")
    _table: array[int]
    _bases: list[array[int]]

    def _raw_score(self, text: bytes) -> Any:
        visits = _visit_counts(self._table, self._bases, self.tk_output, text)
        if visits:
            return self._sparse_score(visits, self.nb_ptc)
        return super()._raw_score(b"")  # no features: py3langid's own answer for that


def _visit_counts(table: array[int], bases: list[array[int]], output: array[int],
                  text: bytes) -> Counter[int] | None:
    """py3langid's ``visit_counts`` on the compact DFA: how often each feature is reached."""
    state, features = 0, list[int]()
    append = features.append
    for byte in text:
        state = table[bases[byte >> 6][state] + byte]
        feature = output[state]
        if feature >= 0:
            append(feature)
    return Counter(features) if features else None


def _compact(identifier: Any) -> None:
    """Build the compact DFA of a :class:`_CompactIdentifier` and drop py3langid's own."""
    nextmove = np.frombuffer(identifier.tk_nextmove, dtype=np.uint32).reshape(-1, 256)
    rows = np.asarray(identifier._rowbase, dtype=np.int64) >> 8
    parts: list[np.ndarray] = []
    bases: list[array[int]] = []
    offset = 0
    for block in range(256 // _BLOCK):
        columns = np.ascontiguousarray(nextmove[:, block * _BLOCK:(block + 1) * _BLOCK])
        distinct, inverse = np.unique(
            columns.view(np.dtype((np.void, 4 * _BLOCK))).ravel(), return_inverse=True)
        parts.append(distinct.view(np.uint32))
        base = offset - block * _BLOCK + inverse.reshape(-1).astype(np.int64) * _BLOCK
        bases.append(array("i", base[rows].astype(np.int32).tobytes()))
        offset += distinct.size * _BLOCK
    identifier._table = array("I", np.concatenate(parts).astype(np.uint32).tobytes())
    identifier._bases = bases
    identifier.tk_output = array("i", identifier.tk_output)
    identifier.tk_nextmove = array("I")
    identifier._rowbase = array("i")


_loaded: dict[str, LanguageIdentifier] = {}
_lock = threading.Lock()


def _get_identifier() -> LanguageIdentifier:
    with _lock:  # the model takes a second to load: once, on first use
        if "model" not in _loaded:
            _loaded["model"] = _read_identifier()
        return _loaded["model"]


def _read_identifier() -> _CompactIdentifier:
    try:
        identifier: _CompactIdentifier = _CompactIdentifier.from_model_file(MODEL_FILE)
    except OSError as exc:
        # py3langid unpacks its model (68 MB) into a temporary file; with the temporary
        # directory full or read-only that fails, and every command using it with it.
        log.warning("the language model could not be unpacked in the temporary directory "
                    "(%s); unpacked in memory instead", exc)
        identifier = _unpacked_in_memory()
    _compact(identifier)
    return identifier


def _unpacked_in_memory() -> _CompactIdentifier:
    """py3langid's model read as its ``modelio.load_model`` reads it, without a file."""
    with lzma.open(MODEL_DIR / MODEL_FILE) as packed:
        unpacked = io.BytesIO(packed.read())
    with np.load(unpacked, allow_pickle=False) as data:
        identifier: _CompactIdentifier = _CompactIdentifier(
            np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
            _to_array(data["nextmove"]), data["out_feat"].tolist(),
            tk_row=_to_array(data["nextmove_row"]))
    return identifier


def load_model() -> None:
    """Load the detection model now (it reads a file), not during the first detection."""
    _get_identifier()


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code py3langid finds most likely, or None for text without letters."""
    sample = text[:_SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None
    language, _score = _get_identifier().classify(sample)
    return str(language)


# The script of each language written in one script only (Serbian, Azerbaijani, Kazakh,
# Kurdish and others written in two are trusted as declared).
_SCRIPT_OF = {code: script for script, codes in {
    "latin": "af ca cs cy da de en es et eu fi fr ga gl hr hu id is it lt lv ms mt nb nl nn "
             "no pl pt ro sk sl sq sv sw tl tr vi",
    "cyrillic": "be bg mk ru uk",
    "arabic": "ar fa ps ur",
    "greek": "el",
    "hebrew": "he yi",
    "han": "ja zh",
    "hangul": "ko",
    "thai": "th",
    "devanagari": "hi mr ne",
    "armenian": "hy",
    "georgian": "ka",
}.items() for code in codes.split()}
# Per script: what is left of a text without that script's letters and without non-letters
# (the other scripts' letters), and runs of that script's letters. Both match long runs of
# the usual text, so a text in its declared script costs a few microseconds.
_OTHER_LETTERS = {script: re.compile(f"[{ranges}\\W\\d_]+")
                  for script, ranges in SCRIPT_RANGES.items()}
_OWN_LETTERS = {script: re.compile(f"[{ranges}]+") for script, ranges in SCRIPT_RANGES.items()}
_MIN_LETTERS = 20  # fewer letters than this say too little to doubt a declaration


def written_in(code: str, text: str) -> bool:
    """Whether ``text`` (its first 1,000 characters, as detection reads) could be in the
    language ``code``: at least half of its letters in that language's script, or too few
    letters to say, or a language of several scripts (or one not listed here)."""
    script = _SCRIPT_OF.get(code)
    if script is None:
        return True
    sample = text[:_SAMPLE_CHARS]
    if script == "latin" and sample.isascii():  # the commonest case, in one C pass
        return True
    other = len(_OTHER_LETTERS[script].sub("", sample))
    if not other:
        return True
    own = len(sample) - len(_OWN_LETTERS[script].sub("", sample))
    return own >= other or own + other < _MIN_LETTERS


# English is what a CMS declares when nobody set the site's language, so an English
# declaration is also checked against English's commonest words: in the first 1,000
# characters of the 161 English texts of the extraction benchmark they are 7-31 % of the words
# (one list-like page: 0.7 %), of the Indonesian, German, Italian and Portuguese ones 0-1.3 %.
_ENGLISH_WORDS = (" the ", " of ", " and ", " to ", " is ", " that ", " for ", " with ",
                  " was ", " said ")
_ENGLISH_SHARE = 0.04  # under this share of the words: not English, detected instead
_MIN_WORDS = 40  # a headline or a teaser says too little (headlines drop "the")


def _unlike_english(sample: str) -> bool:
    """Whether a Latin-script ``sample`` declared English has too few of English's
    commonest words to be English (one C-level count per word)."""
    words = sample.count(" ")
    if words < _MIN_WORDS:
        return False
    lowered = sample.lower()
    return sum(map(lowered.count, _ENGLISH_WORDS)) < _ENGLISH_SHARE * words


def plausible(code: str, text: str) -> bool:
    """Whether ``text`` (its first 1,000 characters) could be in the declared language
    ``code``: it is written in the language's script (:func:`written_in`), and if the
    language is English, has English's commonest words (see :data:`_ENGLISH_WORDS`)."""
    if not written_in(code, text):
        return False
    return code != "en" or not _unlike_english(text[:_SAMPLE_CHARS])


def trusted_language(text: str, *declared: str | None) -> str | None:
    """The first of the ``declared`` languages (the entry's or feed's, the page's...) that
    names a language the text could be in (:func:`plausible`), as a normalised code; None
    when there is none (the language is then to be detected)."""
    for candidate in declared:
        code = normalize_language(candidate)
        if code is not None and plausible(code, text):
            return code
    return None


def article_language(title: str, text: str, *declared: str | None
                     ) -> tuple[str | None, bool]:
    """The language rules take an article to be in, and whether it was detected: the first
    declared one the text could be in (:func:`trusted_language`), else the one detected from
    its title and text. The matcher and the stems it keeps in the text index must agree on
    it."""
    sample = f"{title}\n{text[:_SAMPLE_CHARS]}"
    code = trusted_language(sample, *declared)
    if code is not None:
        return code, False
    return detect_language(sample), True


def document_language(title: str, body: str, language: str | None, detected: bool | None
                      ) -> tuple[str | None, bool]:
    """A document's language and whether it was detected, as ``Document.language_detected``
    says: settled already (False: declared and checked, True: detected), or, for None or no
    language, found now by :func:`article_language`."""
    if detected is None or language is None:
        return article_language(title, body, language)
    return normalize_language(language), detected


def language_matches(wanted: frozenset[str], language: str | None, *, detected: bool,
                     guesses: frozenset[str] | None = None) -> bool:
    """Whether a document in ``language`` passes a rule's ``languages`` filter.

    An empty ``wanted`` accepts everything; an unknown language passes no filter. A detected
    language of a short text is a guess: ``guesses`` (:func:`short_text_guesses`) are the
    languages the detector ranks close to it, and any of them passes. On titles alone
    py3langid took "Qatar pushes Gaza truce" for Hausa and "Переговори у Женеві" for
    Serbian, and a rule for English or Ukrainian skipped them.
    """
    if not wanted:
        return True
    if language is None:
        return False
    if detected:
        if not wanted.isdisjoint(_CONFUSED.get(language, (language,))):
            return True
        return guesses is not None and not wanted.isdisjoint(guesses)
    return language in wanted


def short_text_guesses(title: str, body: str) -> frozenset[str] | None:
    """For a title and body of fewer than :data:`SHORT_TEXT_LETTERS` letters together (a
    title alone), the languages py3langid ranks within :data:`GUESS_MARGIN` of its best
    guess; None for a longer text, whose detection is trusted."""
    letters = 0
    for text in (title, body):
        for ch in text:
            if ch.isalpha():
                letters += 1
                if letters >= SHORT_TEXT_LETTERS:
                    return None
    if not letters:
        return None
    ranked = _get_identifier().rank(f"{title}\n{body}")
    best = ranked[0][1]
    return frozenset(str(code) for code, score in ranked if score >= best - GUESS_MARGIN)
