"""Stemming for ``stem: true``: every language Snowball has (PyStemmer, Snowball's C build),
Sastrawi for Indonesian, and pymorphy3's dictionary for Ukrainian.

A document's stemmer follows its language (declared, else detected): ``ru`` stems with the
Russian algorithm, ``ar`` with the Arabic one, and so on for every code in
:data:`ALGORITHMS`; Malay (``ms``), which language detection confuses with Indonesian and
which shares its morphology, uses the Indonesian one; Norwegian Bokmål and Nynorsk use the
Norwegian one. Ukrainian, which Snowball lacks, gets lemmas (:class:`_Ukrainian`). Another
language Snowball lacks (Belarusian, Hebrew, Chinese...) is not stemmed.

Indonesian: Sastrawi's dictionary stemmer (PySastrawi) replaced Snowball's after both were
scored on a list of 125 inflected news words (``tests/rules/data/indonesian_stems.tsv``,
``tests/rules/test_stem.py``): Sastrawi gives 91 % of them their root's stem, Snowball 77 %
(Snowball does not restore the consonant that ``meN-``/``peN-`` absorb: ``menolak`` ->
``olak``, not ``tolak``).

Arabic: Snowball's stemmer does not stem a word alike with and without its article. It takes
the article off (``الرهائن``, ``بالرهائن``, ``للرهائن``) but not after the conjunction
``و``/``ف`` ("and", "so": ``والرهائن`` kept its own stem), and its suffix rules count the
article's letters, so a plural loses more with it than without (``مفاوضات`` -> ``مفاوضا``,
``المفاوضات`` -> ``مفاوض``): a stemmed term missed the commonest forms of its own word. So
:class:`_Arabic` takes any article off first (``ال``, ``وال``, ``بال``, ``لل``, ``فال``...,
when three letters or more follow), stems what is left both bare and with ``ال`` before it,
and keeps the shorter stem (the bare one when Snowball left that article on). A word then
stems alike with every article: of the 13,207 words of three letters or more without one
among wordfreq's 20,000 commonest Arabic words, Snowball alone stemmed 5,302 differently once
``ال`` was put before them, this none. Over those 20,000 words, 40,023 pairs of words share
a stem against Snowball's 33,475: 7,224 pairs joined and 676 parted, both mostly inflections
of one word, with a few of Snowball's accidents either way (``tests/rules/test_stem.py``).

Ukrainian: Snowball has no stemmer (upstream pull request #277 is open). pymorphy3 with its
Ukrainian dictionary (VESUM, through LanguageTool; a guesser for words it lacks) gives each
word its lemmas: ``переговорів`` and ``переговорах`` are ``переговори``, ``Путіна`` is
``путін``. A word whose readings have different lemmas keeps its own form (``газу`` is "of
gas" or "Gaza" in the accusative: taking either would match the other), so only unambiguous
words are conflated. One kind of ambiguity is only apparent: the dictionary lists an
adjective used as a noun or an adverb apart (``мирне``, "the peaceful"; ``краще``,
"better"), which left most forms of common adjectives (``мирного``, ``мирному``, ``нового``)
as written, so such a reading counts as its adjective's (``мирний``). That also joins an
adverb to an adjective it has drifted from (``дуже`` "very" with ``дужий`` "strong"). For the
words of the quality set's Ukrainian texts, 89 % of the forms their dictionary entries list
get their entry's lemma (88 % before that rule); for 1,500 of wordfreq's 20,000 commonest
Ukrainian words, 91 % (90 %); 263 of those 20,000 words stem otherwise than before.

Stems are cached per language for the whole process (news vocabulary repeats), so each
distinct token of an article is stemmed at most once per language, and mostly not at all.
PyStemmer objects are not thread-safe, so each thread has its own.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Protocol

import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from monitor.language import article_language
from monitor.rules.unicode61 import tokenize
from monitor.text import APOSTROPHE

# ISO 639-1 code -> Snowball algorithm (Indonesian: Sastrawi instead; Ukrainian, which Snowball
# lacks: pymorphy3; see above).
ALGORITHMS: dict[str, str] = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "st": "sesotho", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish", "uk": "ukrainian", "yi": "yiddish",
}
_SAME_AS = {"ms": "id", "nb": "no", "nn": "no"}
_CACHE_LIMIT = 200_000

STEM_LANGUAGES: tuple[str, ...] = tuple(sorted(ALGORITHMS))
# Stemming modes: 0 is "not stemmed"; language STEM_LANGUAGES[i] is mode i + 1.
MODE_PLAIN = 0
MODES: dict[str, int] = {lang: i + 1 for i, lang in enumerate(STEM_LANGUAGES)}
MODE_COUNT = len(STEM_LANGUAGES) + 1

_local = threading.local()
_sastrawi_lock = threading.Lock()
_ukrainian_lock = threading.Lock()
_SASTRAWI_WORD = re.compile("[a-z0-9]+")


class _Stems(Protocol):
    def stemWords(self, words: list[str]) -> list[str]: ...


class _Sastrawi:
    """Sastrawi behind PyStemmer's interface. It loads a 30,000-word dictionary, so one is
    shared, behind a lock (only cache misses get here).

    Sastrawi first replaces every character outside ``[a-z0-9]`` with a space, so a folded
    token such as ``søren`` or ``radosław`` would come back as two words (``s ren``) and
    shift every later stem of the article: such tokens (no Indonesian word has those
    letters) are kept as they are.
    """

    _shared: object | None = None

    def stemWords(self, words: list[str]) -> list[str]:
        with _sastrawi_lock:
            if _Sastrawi._shared is None:
                _Sastrawi._shared = StemmerFactory().create_stemmer()
            stemmer = _Sastrawi._shared
            return [str(stemmer.stem(w))  # type: ignore[attr-defined]
                    if _SASTRAWI_WORD.fullmatch(w) else w for w in words]


class _Arabic:
    """Snowball's Arabic stemmer, made to stem a word alike with and without its article (see
    above): the article off, then the shorter of Snowball's stems of the rest bare and with
    ``ال`` (when Snowball took that one off)."""

    # Any conjunction و/ف, any preposition ب/ك/ل, then ال (ل + ال is written لل), before three
    # letters or more.
    _ARTICLE = re.compile("(?:[\u0648\u0641]?[\u0628\u0643\u0644]?\u0627\u0644|"
                          "[\u0648\u0641]?\u0644\u0644)(?=...)")
    _AL = "\u0627\u0644"

    def __init__(self) -> None:
        self._snowball = Stemmer.Stemmer("arabic", 0)  # we cache

    def stemWords(self, words: list[str]) -> list[str]:
        match, al = self._ARTICLE.match, self._AL
        rests = [w[m.end():] if (m := match(w)) else w for w in words]
        bare = self._snowball.stemWords(rests)
        defined = self._snowball.stemWords([al + rest for rest in rests])
        return [plain if other.startswith(al) or (len(plain), plain) <= (len(other), other)
                else other for plain, other in zip(bare, defined, strict=True)]


class _Ukrainian:
    """pymorphy3's Ukrainian lemmas behind PyStemmer's interface: a word's lemma when all its
    readings share one (an adjective's noun or adverb reading counting as the adjective's),
    else the word itself (see above). The analyzer takes 30 MB and is not safe to share
    between threads unguarded (pymorphy2 issue #37), so one is shared, behind a lock, loaded
    on first use (only cache misses get here), as is the library (18 ms of imports that a
    process with no Ukrainian to stem never pays)."""

    _shared: Any = None

    def stemWords(self, words: list[str]) -> list[str]:
        with _ukrainian_lock:
            if _Ukrainian._shared is None:
                import pymorphy3
                _Ukrainian._shared = pymorphy3.MorphAnalyzer(lang="uk")
            parse = _Ukrainian._shared.parse
            out = []
            for word in words:
                # The dictionary writes the apostrophe ', which the matcher reads as ʼ.
                readings = parse(word.replace(APOSTROPHE, "'"))
                lemmas = {reading.normal_form for reading in readings}
                if len(lemmas) > 1:
                    lemmas = _as_adjectives(readings, lemmas)
                out.append(str(lemmas.pop()).replace("'", APOSTROPHE) if len(lemmas) == 1
                           else word)
            return out


# An adjective's lemma ending -> its neuter singular ending (мирний -> мирне, майбутній ->
# майбутнє): the lemma the dictionary gives the same adjective used as a noun or an adverb.
_NEUTER_ENDINGS = (("ий", "е"), ("ій", "є"))


def _as_adjectives(readings: Any, lemmas: set[str]) -> set[str]:
    """``lemmas`` with each substantivised neuter or adverb read as its adjective: the
    dictionary lists ``мирне`` ("the peaceful") as a noun, so ``мирного`` is of ``мирний`` or
    of ``мирне``, and ``краще`` ("better") as an adverb beside ``кращий``. Two readings of
    one adjective are one lemma; readings of different words stay apart (``газу``)."""
    neuters: dict[str, str] = {}
    for reading in readings:
        if reading.tag.POS == "ADJF":
            lemma = reading.normal_form
            for ending, neuter in _NEUTER_ENDINGS:
                if lemma.endswith(ending):
                    neuters[lemma[:-len(ending)] + neuter] = lemma
    return {neuters.get(lemma, lemma) for lemma in lemmas}


_caches: dict[str, dict[str, str]] = {lang: {} for lang in ALGORITHMS}


def stemmer_for(language: str | None) -> str | None:
    """The stemmer (a key of :data:`ALGORITHMS`) for a language code, or None."""
    code = _SAME_AS.get(language or "", language or "")
    return code if code in ALGORITHMS else None


def stemmers_for(languages: tuple[str, ...] | frozenset[str]) -> tuple[str, ...]:
    """The stemmers a rule with these ``languages`` uses: theirs, or all when none is set."""
    if not languages:
        return STEM_LANGUAGES
    return tuple(sorted({s for s in map(stemmer_for, languages) if s is not None}))


def _stemmer(stemmer: str) -> _Stems:
    stemmers: dict[str, _Stems] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    found = stemmers.get(stemmer)
    if found is None:
        found = stemmers[stemmer] = _new_stemmer(stemmer)
    return found


def _new_stemmer(stemmer: str) -> _Stems:
    if stemmer == "id":
        return _Sastrawi()
    if stemmer == "ar":
        return _Arabic()
    if stemmer == "uk":
        return _Ukrainian()
    return Stemmer.Stemmer(ALGORITHMS[stemmer], 0)  # type: ignore[no-any-return]  # we cache


def cached_stems(tokens: list[str], stemmer: str) -> list[str]:
    """:func:`stem_tokens` for tokens stemmed before (one C-level pass when all are cached)."""
    try:
        return list(map(_caches[stemmer].__getitem__, tokens))
    except KeyError:  # not all seen, or the cache was cleared meanwhile
        return stem_tokens(tokens, stemmer)


def stem_tokens(tokens: list[str], stemmer: str) -> list[str]:
    """The stem of each folded token (a token never stems to nothing). Each distinct token
    is looked up once; only those never seen before are stemmed, in one call."""
    cache = _caches[stemmer]
    if len(tokens) == 1:  # a rule's word, compiled in each of its languages: no set work
        token = tokens[0]
        stem = cache.get(token)
        if stem is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            stem = cache[token] = _one_stem(_stemmer(stemmer).stemWords(tokens)[0], token)
        return [stem]
    missing = set(tokens).difference(cache)
    if missing:
        if len(cache) > _CACHE_LIMIT:
            cache.clear()  # crude bound; a miss only costs a re-stem
        words = list(missing)
        fresh = {w: _one_stem(s, w) for w, s in zip(words, _stemmer(stemmer).stemWords(words),
                                                    strict=True)}
        cache.update(fresh)
        try:
            return list(map(cache.__getitem__, tokens))
        except KeyError:  # another thread cleared the cache meanwhile
            return [fresh.get(t) or cache.get(t) or stem_tokens([t], stemmer)[0]
                    for t in tokens]
    try:
        return list(map(cache.__getitem__, tokens))  # the usual case: all cached, a C loop
    except KeyError:
        return stem_tokens(tokens, stemmer)


def _one_stem(stem: str, token: str) -> str:
    """A stemmer's answer for ``token``, or the token itself when the answer is not one token
    (empty, or several words): the matcher needs exactly one stem per token, in order."""
    return stem if stem and " " not in stem else token


def article_stems(title: str, text: str, language: str | None) -> list[str]:
    """The distinct stems the text index keeps for an article: its tokens stemmed in the
    language the matcher stems it in (declared, else detected, as ``Matcher.index``); none
    when that language has no stemmer."""
    stemmer = stemmer_for(article_language(title, text, language)[0])
    if stemmer is None:
        return []
    return distinct_stems(list(dict.fromkeys([*tokenize(title), *tokenize(text)])), stemmer)


def distinct_stems(tokens: list[str], stemmer: str) -> list[str]:
    """The stems of distinct folded ``tokens``, each once, in order of first appearance."""
    return list(dict.fromkeys(cached_stems(tokens, stemmer)))
