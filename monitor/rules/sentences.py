"""Sentence boundaries over a field's tokens, for ``SENTENCE(a b ...)``.

A small rule-based splitter, written here rather than taken from a library: pysbd, the usual
choice, has no Indonesian rules, has not been released since 2021, and would split the text
a second time where this works on the token separators the matcher already has
(``split_tokens``: ``[sep, token, sep, token, ..., sep]``). A sentence ends after a token when
the separator that follows it

- holds a line break (``\n``, ``\r``, U+2028, U+2029...: paragraphs, and a title's end), or
- holds a sentence terminator (``. ! ? …``, Arabic ``؟`` and ``۔``, CJK ``。！？``), then only
  closing quotes or brackets, then whitespace (so ``3.5``, ``U.S.A`` and ``gaza.com`` never
  split, and ``"Stop." He left`` does),

unless

- the next token starts with a lower-case letter (``e.g. the``, ``"Go!" he said``),
- the terminator is a full stop after a single letter (initials and letter abbreviations:
  ``U.S.``, ``H.E.``, ``В. В. Путин``, Arabic ``د.``), or after a title (``Dr.``, ``Prof.``,
  ``Jend.``, ``ген.``: :data:`TITLES`), or after another abbreviation (:data:`ABBREVIATIONS`:
  ``No. 5``, ``Rp. 5``, ``млн.``) followed by a digit or lower case.

Scripts without case (Arabic, Hebrew, CJK) rely on the terminators alone.
"""

from __future__ import annotations

from monitor.rules.unicode61 import fold

TERMINATORS = frozenset(".!?…؟۔。！？")
CLOSERS = frozenset("\"'”’»›)]}」』")
# Every character str.splitlines() breaks a line at.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words after which a full stop never ends the sentence: a name follows.
TITLES = _words("""
mr mrs ms dr prof gen col lt capt cpt sgt maj adm sen rep gov pres rev st hon amb
jend letjen mayjen brigjen kol kapt bpk ir drs dra hj kh pak sdr yth
ген проф акад г гг им ул пл пр др тов
""")
# Abbreviations that end a sentence only before an upper-case word.
ABBREVIATIONS = _words("""
no nos vs etc approx inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec pp vol
dll dsb tsb dkk rp tgl jl kab kec
млн млрд тыс руб долл стр рис см т е н э
""")


def _ends_sentence(sep: str) -> bool:
    """A terminator, then only closers, then whitespace (or a line break anywhere)."""
    if not LINE_BREAKS.isdisjoint(sep):
        return True
    for i, ch in enumerate(sep):
        if ch in TERMINATORS:
            j = i + 1
            while j < len(sep) and (sep[j] in CLOSERS or sep[j] in TERMINATORS):
                j += 1
            if j < len(sep) and sep[j].isspace():
                return True
    return False


def sentence_ids(parts: list[str]) -> list[int]:
    """The sentence number of each token of ``parts`` (``split_tokens`` of a text)."""
    count = (len(parts) - 1) // 2
    ids = [0] * count
    sentence = 0
    for i in range(count):
        ids[i] = sentence
        if i + 1 == count:
            break
        sep = parts[2 * i + 2]
        if not LINE_BREAKS.isdisjoint(sep) or (sep.strip() and _ends_sentence(sep)
                            and _boundary(parts[2 * i + 1], sep, parts[2 * i + 3])):
            sentence += 1
    return ids


def _boundary(token: str, sep: str, following: str) -> bool:
    first = following[:1]
    if first.islower():
        return False
    if sep.lstrip()[:1] != ".":  # ! ? … and the others: the sentence ends
        return True
    word = token.lower()
    if len(fold(token)) == 1 and token[0].isalpha():  # fold: "É" may be E + a combining mark
        return False
    if word in TITLES:
        return False
    return not (word in ABBREVIATIONS and (first.isdigit() or not first.isupper()))
