"""Tokens as SQLite FTS5's ``unicode61 remove_diacritics 2`` tokenizer makes them, with five
departures: ``ё`` folds to ``е``, Arabic-Indic and Persian digits to ASCII ones, a last
Arabic ``ى`` (alef maqsura) to ``ي`` (yeh), an alef with a hamza or madda (``أ إ آ``) to
a bare alef (``ا``), and an apostrophe inside a Ukrainian or Belarusian word (``'``, ``’``,
``‘`` or a backtick, after a Cyrillic letter and before ``я ю є ї е ё і``) continues the word,
folded to the letter ``ʼ`` (U+02BC) as texts also write it: ``перемир'я`` is one token,
``перемирʼя``, where SQLite reads two (``перемир`` ``я``).

A token is a maximal run of token characters (SQLite's own table: letters, digits and
private-use characters as its Unicode tables classify them); a combining mark such as U+0301
continues a token but never starts one, and is dropped. Tokens fold to lower case without
diacritics (Erdoğan -> erdogan, ПУТИН -> путин). The tables in :mod:`unicode61_data` are
probed from SQLite itself, because its Unicode version and folds differ from Python's
``unicodedata`` (Cyrillic й stays й, unassigned code points count as letters).

Tokens are found on the original text (a mark continues a token, as in SQLite) and then
folded; a token character (or a token's apostrophe) always folds to one token character, so
the folded tokens are one for one with :func:`token_spans`.

The departures (:data:`monitor.text.LETTER_FOLD`, :func:`departed`): Russian writes ``ё`` as
``е`` in most texts and as ``ё`` in some (names too: ``Пётр``, ``Горбачёв``); Arabic and
Persian texts write 28 as ``28``, ``٢٨`` or ``۲۸``; Egyptian print writes a word's last ``ي``
as ``ى`` (``الأمريكى``); many Arabic texts leave out the hamza on alef and the madda
(``اسرائيل`` for ``إسرائيل``, ``الان`` for ``الآن``); Ukrainian texts write the apostrophe
``'``, ``’`` or ``ʼ`` (and while a word was cut at it, its other cases were out of stemming's
reach: ``перемир'ю``, ``перемир'ям``). A rule that wrote one spelling
silently missed the articles that write the other; search engines take them as one, and so
does the matcher (a ``ى`` inside a word stays: a letter of its own in Uyghur). SQLite's
index keeps them apart: the index queries ask it for each spelling
(:mod:`monitor.rules.candidates`).
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate

from monitor.rules.unicode61_data import DIACRITICS, FOLDS, TOKEN_RANGES
from monitor.text import (
    ALEF_MAQSURA,
    APOSTROPHE,
    APOSTROPHES,
    IN_WORD_APOSTROPHE,
    LETTER_FOLD,
    YEH,
    apostrophes_folded,
)


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


def _token_pattern(ranges: list[tuple[int, int]], *, apostrophes: bool = False
                   ) -> re.Pattern[str]:
    """A token, captured, so that ``split`` keeps separators and tokens alternately; with
    ``apostrophes``, an apostrophe inside a Ukrainian or Belarusian word continues it (see
    the departures)."""
    token = _char_class(ranges)
    rest = f"[{token}{_char_class([(cp, cp) for cp in DIACRITICS])}]*"
    if not apostrophes:
        return re.compile(f"([{token}]{rest})")
    return re.compile(f"([{token}]{rest}(?:{IN_WORD_APOSTROPHE}{rest})*)")


# Python's re checks a character against a class's astral ranges one by one, which made the
# full pattern four times slower on every separator; most texts have no astral character, so
# they get a pattern without those ranges. The apostrophe's group costs a fifth more on every
# token: only texts with an apostrophe get it (most Russian and Arabic texts have none).
_ASCII_TOKEN = re.compile("([A-Za-z0-9]+)")
_BMP_RANGES = [(a, min(b, 0xFFFF)) for a, b in TOKEN_RANGES if a <= 0xFFFF]
_BMP_TOKEN = _token_pattern(_BMP_RANGES)
_ANY_TOKEN = _token_pattern(list(TOKEN_RANGES))
_BMP_TOKEN_APOSTROPHES = _token_pattern(_BMP_RANGES, apostrophes=True)
_ANY_TOKEN_APOSTROPHES = _token_pattern(list(TOKEN_RANGES), apostrophes=True)
_FOLD_TABLE: dict[int, str | None] = {cp: chr(to) for cp, to in FOLDS.items()}
_FOLD_TABLE.update(dict.fromkeys(DIACRITICS))
_FOLD_TABLE.update({cp: chr(to) for cp, to in LETTER_FOLD.items()})  # ё, digits, alefs
# An apostrophe is in a token only inside a Ukrainian or Belarusian word: the letter ʼ there.
_FOLD_TABLE.update(dict.fromkeys(map(ord, APOSTROPHES), APOSTROPHE))
# The other: ى last in a token (marks, which a fold drops, may follow it) is ي.
_MARKS = _char_class([(cp, cp) for cp in DIACRITICS])
_LAST_ALEF_MAQSURA = re.compile(
    f"{ALEF_MAQSURA}(?=[{_MARKS}]*(?![{_char_class(list(TOKEN_RANGES))}{_MARKS}]))")


def _pattern(text: str) -> re.Pattern[str]:
    if text.isascii():
        return _ASCII_TOKEN
    # No surrogate pairs: BMP only. (A lone surrogate, which only uncleaned text holds, is
    # passed as two bytes: a separator to the tokenizer, not an encoding error.)
    bmp = len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text)
    if any(apostrophe in text for apostrophe in APOSTROPHES):  # (a scan of each: cheap)
        return _BMP_TOKEN_APOSTROPHES if bmp else _ANY_TOKEN_APOSTROPHES
    return _BMP_TOKEN if bmp else _ANY_TOKEN


def fold(text: str) -> str:
    """Lower-case ``text`` and remove diacritics as unicode61 does (marks are dropped)."""
    if text.isascii():
        return text.lower()
    folded = text.translate(_FOLD_TABLE)
    return _LAST_ALEF_MAQSURA.sub(YEH, folded) if ALEF_MAQSURA in folded else folded


def departed(text: str) -> str:
    """``text`` with the letters the matcher folds apart from SQLite written as it folds
    them: SQLite's tokenizer gives the matcher's tokens of ``text`` for it (the tests that
    compare the two give SQLite this)."""
    text = apostrophes_folded(text.translate(LETTER_FOLD))
    return _LAST_ALEF_MAQSURA.sub(YEH, text) if ALEF_MAQSURA in text else text


def split_tokens(text: str) -> list[str]:
    """``text`` cut into separators and raw tokens alternately: ``[sep, tok, sep, ... sep]``.

    One regex pass gives both the tokens and, summing lengths, every token's offsets.
    """
    return _pattern(text).split(text)


# Folded forms of the non-ASCII tokens seen, for the whole process: ``str.translate`` with a
# dict costs ~60 ns a character (3 ms for a long Russian article), a lookup per token a
# tenth of that, and news vocabulary repeats.
_FOLDED: dict[str, str] = {}
_FOLDED_LIMIT = 100_000


def stream_of(parts: list[str]) -> str:
    """The folded tokens of :func:`split_tokens` output joined by single spaces.

    Folding the joined tokens rather than the text keeps the common case fast: once the
    punctuation is gone, most text is ASCII. Other text is folded token by token, each
    distinct token once per process (a token folds alone as it does in the text: folding
    maps a character to at most one, never to a separator).
    """
    joined = " ".join(parts[1::2])
    if joined.isascii():
        return joined.lower()
    tokens = parts[1::2]
    folded = _FOLDED
    try:
        return " ".join(map(folded.__getitem__, tokens))  # the usual case: a C-level loop
    except KeyError:
        pass
    if len(folded) > _FOLDED_LIMIT:
        folded.clear()  # crude bound; a miss only costs a fold
    folded.update({token: fold(token) for token in set(tokens).difference(folded)})
    try:
        return " ".join(map(folded.__getitem__, tokens))
    except KeyError:  # another thread cleared the table meanwhile
        return fold(joined)


def spans_of(parts: list[str]) -> list[tuple[int, int]]:
    """Character offsets of each token of :func:`split_tokens` output."""
    ends = list(accumulate(map(len, parts)))  # ends[2i] = start of token i, ends[2i+1] = end
    return list(zip(ends[0::2], ends[1::2], strict=False))


def token_stream(text: str) -> str:
    """The folded tokens of ``text`` joined by single spaces ("" when there is none)."""
    return stream_of(split_tokens(text))


def tokenize(text: str) -> list[str]:
    """The folded tokens of ``text``, in order."""
    stream = token_stream(text)
    return stream.split(" ") if stream else []


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets ``(start, end)`` in ``text`` of each token :func:`tokenize` returns."""
    return spans_of(split_tokens(text))


def fold_token(token: str) -> str:
    """The folded form of one token as written (an alias or a query word)."""
    return fold(token)


def case_key(text: str) -> str:
    """``text`` without diacritics but with its case: how case-sensitive aliases compare."""
    decomposed = unicodedata.normalize("NFD", apostrophes_folded(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
