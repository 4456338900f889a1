"""Cleaning untrusted text before it is stored, matched or shown.

Feed and page text may carry NUL (which PostgreSQL rejects), other C0/C1 control characters
(terminal escapes) and bidi overrides (which disguise text in alerts). They are removed
identically whatever the database, so SQLite and PostgreSQL store the same string. Lone
surrogates (``"\\ud83d"`` is legal in a JSON Feed string but cannot be encoded as UTF-8, so no
database, log or notification can take it) are replaced with U+FFFD. Soft hyphens (U+00AD,
``&shy;``: invisible hyphenation hints, common in German and Dutch pages) are removed too:
left in, they cut a word in two for matching and search (``Waffen\u00adruhe``). So are word
joiners (U+2060) and a zero-width space (U+200B, a line-break hint some sites put in long
words) between two letters, except in the scripts written without spaces (Thai, Lao, Khmer,
Myanmar, Chinese, Japanese...), where it is what marks a word's end. The control
characters that break lines (vertical tab, form feed, NEL) become line feeds, not nothing:
removed, they joined the words on either side (``Gaza\x0cceasefire``). Arabic vowel marks
(harakat: the tanwin, fatha, damma, kasra, shadda and sukun), the superscript alef and the
tatweel (a stretching stroke) are removed for the same reason as soft hyphens: they are
optional in writing, and SQLite's tokenizer, which the matcher follows, ends a word at a
haraka (``مُحَمَّد`` would be four one-letter words) and keeps a tatweel in it (``غــزة`` is
not ``غزة``), so an article that writes them would match no rule. Text is also put in
Unicode's composed form (NFC): an Arabic hamza or madda written as a separate mark (U+0653 to
U+0655, ``ا`` + ``ٔ`` for ``أ``) would also end a word there. A rule's words and aliases
are cleaned the same way (a word pasted from a web page with a soft hyphen in it).

:func:`clean_prose` also writes a word that mixes Latin and Cyrillic letters of the same look
(typed on the other keyboard layout: ``Вiткофф`` with a Latin i) in one alphabet, for what is
read and matched (article texts and titles, rule words, queries); not for URLs and keys.

Also :func:`word_spans`, where the words a rule matched stand in a snippet shown to a user
(alerts and the web view mark the same ones), :func:`closest`, the "did you mean" of every
error message that names a typo, :func:`codec_name`, how feeds, pages and OPML files read
a declared encoding's label, :func:`index_spellings`, the spellings of a word that the
matcher takes as one (``ё`` is ``е``, a last ``ى`` is ``ي``, ``٢٨`` is ``28``, ``أ`` is
``ا``, ``перемир'я`` is ``перемирʼя``) and SQLite's tokenizer does not, and
:func:`apostrophes_folded`, a Ukrainian word's apostrophe written as the matcher reads it.
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import combinations
from math import comb

# The letters of each script, as regex class bodies: which script a language's words are in
# (monitor.language checks a declaration against it; the rules note words of scripts that
# inflect).
SCRIPT_RANGES = {
    "latin": "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff",
    "cyrillic": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "greek": "\u0370-\u03ff\u1f00-\u1fff",
    "hebrew": "\u0590-\u05ff\ufb1d-\ufb4f",
    "han": "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",  # kana too
    "hangul": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "thai": "\u0e00-\u0e7f",
    "devanagari": "\u0900-\u097f",
    "armenian": "\u0530-\u058f",
    "georgian": "\u10a0-\u10ff",
}

# C0 controls except TAB, LF, CR; DEL and C1 controls; soft hyphens; Arabic tatweel, harakat
# and superscript alef; bidi embeddings, overrides and isolates; word joiners, byte-order marks.
_ARABIC_MARKS = "\u0640\u064b-\u0652\u0670"
_REMOVED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad{_ARABIC_MARKS}"
                      "\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
# Scripts written without spaces between words, where a zero-width space marks a word's end:
# Thai, Lao, Tibetan, Myanmar, Khmer, Balinese, kana, Han, Javanese, half-width katakana.
_UNSPACED = ("\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\u1b00-\u1b7f"
             "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\ua980-\ua9df\uf900-\ufaff\uff66-\uff9f")
# A zero-width space between two letters or digits of the other scripts: inside a word.
_ZWSP = "\u200b"
_ZWSP_IN_WORD = re.compile(f"(?<=[^\\W_{_UNSPACED}]){_ZWSP}+(?=[^\\W_{_UNSPACED}])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_CONTROL_BREAKS = str.maketrans("\x0b\x0c\x85", "\n\n\n")  # VT, FF, NEL: lines, not controls
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded str, every surrogate is a lone one
# Any of them: most text has none, and one search is a third of the substitutions.
_ANY = re.compile(f"{_REMOVED.pattern[:-1]}{_ZWSP}{_SURROGATE.pattern[1:]}")


def clean_text(text: str) -> str:
    """Compose (NFC); remove NUL, control, soft-hyphen, word-joiner, Arabic vowel-mark and
    tatweel, and bidi-override characters, and zero-width spaces inside words; replace lone
    surrogates with U+FFFD; keep tabs and line breaks. A rule's words and aliases are cleaned
    so too, so that they read as the article text they are matched with."""
    if _ANY.search(text) is None:
        return _composed(text)
    cleaned = _REMOVED.sub("", _SURROGATE.sub("\ufffd", text.translate(_CONTROL_BREAKS)))
    if _ZWSP in cleaned:  # after the others: a soft hyphen beside it is gone by now
        cleaned = _ZWSP_IN_WORD.sub("", cleaned)
    return _composed(cleaned)


def clean_line(text: str) -> str:
    """Like :func:`clean_text`, and fold line breaks into spaces (titles, mail subjects)."""
    return _LINE_BREAKS.sub(" ", clean_text(text)).strip()


def clean_prose(text: str) -> str:
    """:func:`clean_text`, and each word that mixes Latin and Cyrillic letters of the same
    look written in one alphabet (:func:`unmixed_alphabets`): for what is read and matched
    (article texts and titles, rule words, queries), not for URLs, keys and names."""
    return unmixed_alphabets(clean_text(text))


def clean_prose_line(text: str) -> str:
    """:func:`clean_prose` for one line: line breaks folded into spaces (titles)."""
    return unmixed_alphabets(clean_line(text))


# Latin and Cyrillic letters that look the same (Unicode's confusables.txt pairs them): one
# typed on the other keyboard layout slips into a word unseen. Ukrainian texts typed on a
# Russian layout write a Latin i or ï for і and ї ("Украiна" is Україна, "Вiткофф"); a Latin
# y, a, o, e, p, c or x stands in a Cyrillic word after a layout slip ("Пyтин"), and the
# reverse in a Latin one ("Gаza" with a Cyrillic а). Such a word matched no rule and no
# search, as no reader could see. Only letters identical in print are paired (not s and ѕ,
# j and ј, Y and У, which a Russian or Ukrainian word does not mean).
_TWINS = ("aceiopxyëïABCEHIKMOPTXËÏ", "асеіорхуёїАВСЕНІКМОРТХЁЇ")
_TO_CYRILLIC = str.maketrans(*_TWINS)
_TO_LATIN = str.maketrans(_TWINS[1], _TWINS[0])
_LATIN_LETTER = re.compile(f"[{SCRIPT_RANGES['latin']}]")
_CYRILLIC_LETTER = re.compile(f"[{SCRIPT_RANGES['cyrillic']}]")
# A Latin letter beside a Cyrillic one, found from the Latin letters (few in a Cyrillic text;
# a text without Cyrillic letters is not searched at all).
_MIXED = re.compile(f"[{SCRIPT_RANGES['latin']}](?:(?<=[{SCRIPT_RANGES['cyrillic']}]."
                    f")|(?=[{SCRIPT_RANGES['cyrillic']}]))")


def unmixed_alphabets(text: str) -> str:
    """``text`` with each word that mixes Latin and Cyrillic letters written in one alphabet,
    where the letters of the other all have a twin in it (``Вiткофф`` with a Latin i is
    ``Віткофф``, ``Gаza`` with a Cyrillic а is ``Gaza``); both ways possible, the alphabet of
    more of its letters (a tie, or a letter without a twin on each side, as ``Яndex``: left as
    written). The fold is invisible: only letters identical in print are twins."""
    if _CYRILLIC_LETTER.search(text) is None:
        return text
    found = _MIXED.search(text)
    if found is None:
        return text
    parts: list[str] = []
    done, size = 0, len(text)
    while found is not None:
        start, end = found.start(), found.end()
        while start > done and text[start - 1].isalpha():
            start -= 1
        while end < size and text[end].isalpha():
            end += 1
        parts += (text[done:start], _one_alphabet(text[start:end]))
        done = end
        found = _MIXED.search(text, end)
    parts.append(text[done:])
    return "".join(parts)


# Ukrainian writes ї, not і, after a vowel (Україна, країна): a Latin i there stands for ї.
_I_AFTER_VOWEL = re.compile("(?<=[аеиоуяюєіїaeoyАЕИОУЯЮЄІЇAEOY])[iI]")
_YI = {"i": "ї", "I": "Ї"}


def _one_alphabet(word: str) -> str:
    cyrillic = _I_AFTER_VOWEL.sub(lambda i: _YI[i.group()], word).translate(_TO_CYRILLIC)
    latin = word.translate(_TO_LATIN)
    to_cyrillic = _LATIN_LETTER.search(cyrillic) is None
    to_latin = _CYRILLIC_LETTER.search(latin) is None
    if to_cyrillic and to_latin:  # every letter has a twin: the alphabet of most of them
        more = len(_CYRILLIC_LETTER.findall(word)) - len(_LATIN_LETTER.findall(word))
        return cyrillic if more > 0 else latin if more < 0 else word
    return cyrillic if to_cyrillic else latin if to_latin else word


def _composed(text: str) -> str:
    # The check is a fast scan; most text is composed already.
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def shown_path(path: str | os.PathLike[str]) -> str:
    """A file path as text every output takes (terminal, log, database, web page): bytes of
    its name that are not UTF-8, which Python hands over as lone surrogates, become U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def first_surrogate(text: str) -> int | None:
    """Where ``text``'s first lone surrogate is (a byte that was not UTF-8, as Python hands it
    over from a file name, an argument or the environment; a JSON escape), or None. No
    encoder takes one: not a file, a header, a database or a connection."""
    found = _SURROGATE.search(text)
    return None if found is None else found.start()


def one_line(text: str) -> bool:
    """Whether ``text`` is a name a listing can show and a form can send: not blank, without
    a line break or other control character, without a lone surrogate."""
    return bool(text.strip()) and not any(unicodedata.category(ch) in ("Cc", "Cs")
                                          for ch in text)


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice spelt most like ``word`` (for a "did you mean" hint), or None when none is
    at least ``cutoff`` alike (difflib's ratio: 0.6 catches a typo in a short name; the
    configuration asks 0.75 of its many setting names)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def codec_name(label: str) -> str | None:
    """Python's codec name for an encoding label as a document declares it (``UTF8``,
    `` latin1 ``), or None when Python knows no such encoding."""
    try:
        return codecs.lookup(label.strip()).name
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None


# Letters the matcher takes as another (monitor.rules.unicode61), as search engines do, where
# SQLite's tokenizer, which the text index on SQLite uses, keeps them apart; texts write
# either. Russian writes ё as е in most texts, and some outlets always as ё (Пётр, Петр).
# Arabic and Persian texts write numbers in ASCII digits or in their own: 28 is also ٢٨
# (Arabic-Indic) and ۲۸ (Persian, Urdu). Egyptian print writes a word's last ي
# (yeh) dotless, as ى (alef maqsura): الأمريكى for الأمريكي, زيلينسكى for زيلينسكي (inside a
# word ى is a letter of its own in Uyghur, and stays). Many Arabic texts leave out the hamza
# on alef and the madda (اسرائيل for إسرائيل, الامم for الأمم, الان for الآن), as Arabic
# search engines fold them (Lucene's Arabic normalizer); Persian writes امریکا and آمریکا.
# The index is asked for the spellings.
_ASCII_DIGITS = "0123456789"
_ARABIC_DIGITS = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
_PERSIAN_DIGITS = "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9"
ALEF = "\u0627"
_HAMZA_ALEFS = "\u0623\u0625\u0622"  # alef with hamza above, below, with madda
LETTER_FOLD = str.maketrans("ёЁ" + _ARABIC_DIGITS + _PERSIAN_DIGITS + _HAMZA_ALEFS,
                            "ее" + _ASCII_DIGITS * 2 + ALEF * len(_HAMZA_ALEFS))
_DIGIT_SPELLINGS = [str.maketrans(_ASCII_DIGITS, digits)
                    for digits in (_ARABIC_DIGITS, _PERSIAN_DIGITS)]
YEH, ALEF_MAQSURA = "\u064a", "\u0649"
# The Ukrainian (and Belarusian) apostrophe inside a word: "перемир'я" (ceasefire), "об'єднані",
# "інтерв'ю". Texts write it ' or ’ (separators to SQLite's tokenizer: "перемир" "я"), ` or ‘
# by mistake, or the letter ʼ (U+02BC: one token). The matcher reads each as ʼ, so that the
# word stays one word and stemming reaches its other cases (перемир'ю). Only after a Cyrillic
# letter and before the vowels it stands before (я ю є ї, Belarusian е ё і): Russian names
# such as "О'Нил" and "д'Артаньян" stay two words.
APOSTROPHE = "\u02bc"
APOSTROPHES = "'\u2019\u2018`"  # what texts write for it, besides APOSTROPHE itself
_APOSTROPHE_VOWELS = "яюєїеёіЯЮЄЇЕЁІ"
_CYRILLIC_LETTERS = "\u0400-\u0481\u048a-\u04ff"  # (not ҂ or the combining marks between)
# One such apostrophe, as a regex (the tokenizer's token pattern continues a word over it).
# The apostrophe first, then what stands before it: a search scans for the apostrophe alone,
# three times faster than looking behind at every character.
IN_WORD_APOSTROPHE = (f"[{APOSTROPHES}](?<=[{_CYRILLIC_LETTERS}][{APOSTROPHES}])"
                      f"(?=[{_APOSTROPHE_VOWELS}])")
_IN_WORD_APOSTROPHE = re.compile(IN_WORD_APOSTROPHE)


def apostrophes_folded(text: str) -> str:
    """``text`` with each apostrophe inside a Ukrainian or Belarusian word written as the
    letter ``ʼ`` (U+02BC), as the matcher reads it."""
    return _IN_WORD_APOSTROPHE.sub(APOSTROPHE, text)


MAX_YO = 2  # ё's in one word: ё is stressed, and only a compound has two ("трёхзвёздный")
# Spellings of one word, at most: 4 alefs make 256 (الانتخابات), 22 е's 254. A search is
# anyone's query, and a word of a thousand е's would make half a million spellings of a
# thousand letters each.
MAX_SPELLINGS = 256


def index_spellings(word: str) -> list[str] | None:
    """The spellings of a folded ``word`` (see :data:`LETTER_FOLD`) that fold to it, itself
    first: up to :data:`MAX_YO` of its Cyrillic ``е`` written ``ё``, its last ``ي`` written
    ``ى``, its digits written as Arabic-Indic or Persian digits, each bare alef ``ا``
    written ``أ``, ``إ`` or ``آ``, and its apostrophes ``ʼ`` written as a separator (the
    spelling is then two words, ``перемир я``, which a quoted FTS5 string takes as a phrase).
    None when they would be more than :data:`MAX_SPELLINGS` (counted before any is made)."""
    places = [i for i, ch in enumerate(word) if ch == "е"]
    digits = any(ch in _ASCII_DIGITS for ch in word)
    alefs = [i for i, ch in enumerate(word) if ch == ALEF]
    count = sum(comb(len(places), chosen) for chosen in range(min(MAX_YO, len(places)) + 1))
    apostrophe = APOSTROPHE in word
    if (count * (2 if word.endswith(YEH) else 1) * (3 if digits else 1)
            * (len(_HAMZA_ALEFS) + 1) ** len(alefs) * (2 if apostrophe else 1) > MAX_SPELLINGS):
        return None
    spellings = [word]
    for count in range(1, min(MAX_YO, len(places)) + 1):
        for chosen in combinations(places, count):
            letters = list(word)
            for place in chosen:
                letters[place] = "ё"
            spellings.append("".join(letters))
    if word.endswith(YEH):
        spellings += [spelling[:-1] + ALEF_MAQSURA for spelling in spellings]
    if digits:
        spellings += [spelling.translate(table)
                      for table in _DIGIT_SPELLINGS for spelling in spellings]
    for place in alefs:
        spellings += [spelling[:place] + alef + spelling[place + 1:]
                      for alef in _HAMZA_ALEFS for spelling in spellings]
    if apostrophe and word.strip(APOSTROPHE):  # (a word writes all its apostrophes one way)
        spellings += [spelling.replace(APOSTROPHE, " ").strip() for spelling in spellings]
    return spellings


def refolded(token: str) -> str:
    """A token as SQLite's tokenizer folds it (``пётр``, ``الأمريكى``, ``٢٨``), folded as the
    matcher folds it (``петр``, ``الامريكي``, ``28``): the inverse of
    :func:`index_spellings`."""
    token = token.translate(LETTER_FOLD)
    return token[:-1] + YEH if token.endswith(ALEF_MAQSURA) else token


def fold_with_origins(text: str) -> tuple[str, Sequence[int]]:
    """``text`` case-folded, and for each folded character the index of the one it came
    from: a fold may be longer than its letter (``ß`` is ``ss``, ``İ`` is ``i`` and a dot)."""
    result = text.casefold()
    if len(result) == len(text):  # no letter folded longer (none folds to nothing)
        return result, range(len(text))
    origin: list[int] = []
    parts: list[str] = []
    for i, ch in enumerate(text):
        fold = ch.casefold()
        parts.append(fold)
        origin.extend([i] * len(fold))
    return "".join(parts), origin


def word_spans(text: str, words: Iterable[str],
               parts: Iterable[str] = ()) -> list[tuple[int, int, str]]:
    """Where each of ``words`` (the surface forms a rule matched) stands in ``text`` as a whole
    word, and each of ``parts`` (what a ``regex:`` condition matched, which may be part of a
    word) anywhere: ``(start, end, word)`` in order, none overlapping, the longer first where
    two start together. Case is ignored (``Straße`` is found in ``STRASSE``), except in a
    word written in capitals: ``AS`` (Amerika Serikat) or ``US`` is marked where the text
    writes it so, not in ``membahas``, ``focus`` or "let us". (A substring search marked
    ``as`` inside every Indonesian word that has it.)
    """
    by_fold: dict[str, list[str]] = {}
    inside: set[str] = set()
    for group, anywhere in ((words, False), (parts, True)):
        for word in sorted({w for w in group if w.strip()}, key=len, reverse=True):
            by_fold.setdefault(word.casefold(), []).append(word)
            if anywhere:
                inside.add(word.casefold())
    if not by_fold:
        return []
    # Escaped literals only, so Python's re is linear here.
    pattern = re.compile("|".join(
        re.escape(w) if w in inside else rf"(?<![^\W_]){re.escape(w)}(?![^\W_])"
        for w in sorted(by_fold, key=len, reverse=True)))
    text_folded, origin = fold_with_origins(text)
    spans: list[tuple[int, int, str]] = []
    for found in pattern.finditer(text_folded):
        start, end = origin[found.start()], origin[found.end() - 1] + 1
        written = text[start:end]
        chosen = next((w for w in by_fold[found.group()] if not w.isupper() or written == w),
                      None)
        if chosen is not None:
            spans.append((start, end, chosen))
    return spans
