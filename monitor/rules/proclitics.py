"""Arabic and Hebrew proclitics: the one-letter words written joined to the word after them.

Arabic writes "and", "so", "with/in", "like" and "for" (و ف ب ك ل) as one word with the next:
``وقطر`` "and Qatar", ``بغزة`` "in Gaza", ``لروسيا`` "for Russia". A conjunction may precede a
preposition (``وبغزة``), and ``ل`` before the article ``ال`` drops the article's alef
(``للدوحة``, not ``لالدوحة``). Hebrew does the same with ו ב כ ל מ ש (``בישראל``,
``וישראל``, ``שבישראל``), and ב, כ, ל take the place of the article ה (``בבית`` for "in the
house"), which a name may also begin with (``הולנד``), so both forms are made. The article
itself (Arabic ``ال``, Hebrew ``ה``) is not joined: a rule writes the word with it where it is
meant.

The tokenizer keeps such a word whole, as SQLite's does, and stemming does not reliably take
the letter off (Snowball never takes ``ل`` off; taking every such letter off on the document
side conflates real words: ``لجنة`` "committee" with ``جنة`` "paradise"). So a rule or entity
that says ``proclitics: true`` searches each of its Arabic or Hebrew phrases also with each
proclitic joined to its first word: the document side is untouched, and a form joins no two
other words. What it can cost is a proclitic form that is a word of its own (``بحماس``,
"enthusiastically", beside ``حماس``); ``monitor match`` shows which form matched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.text import SCRIPT_RANGES

# Conjunctions, prepositions, then a conjunction before a preposition.
_ARABIC = ("و", "ف", "ب", "ك", "ل", "وب", "وك", "ول", "فب", "فك", "فل")
_ARABIC_ARTICLE = "ال"
# "And", the prepositions, "from", "that"; then the common pairs. Not the article ה: as
# Arabic's ال, a rule writes the word with it where it is meant (ההסכם, "the agreement"), and a
# name never takes it (העזה is "daring", not "the Gaza").
_HEBREW = ("ו", "ב", "כ", "ל", "מ", "ש", "וב", "וכ", "ול", "ומ", "וש", "שב", "שכ", "של", "שמ",
           "כש")
_HEBREW_ARTICLE = "ה"
_HEBREW_TAKES_ARTICLE = ("ב", "כ", "ל")  # written in its place: ב + הבית is בבית

_ARABIC_LETTER = re.compile(f"[{SCRIPT_RANGES['arabic']}]")
_HEBREW_LETTER = re.compile(f"[{SCRIPT_RANGES['hebrew']}]")

Tokens = Sequence[tuple[str, bool]]  # a phrase's (folded token, is a prefix) pairs


def joined_forms(word: str) -> list[str]:
    """``word`` (folded) with each proclitic of its script joined to it; [] for a word of
    another script or under two letters."""
    if len(word) < 2:
        return []
    if _ARABIC_LETTER.match(word):
        if word.startswith(_ARABIC_ARTICLE) and len(word) > len(_ARABIC_ARTICLE):
            # ل + ال is written لل: the alef goes (للدوحة); لالدوحة is never written.
            return [p + word if not p.endswith("ل") else p + word[1:] for p in _ARABIC]
        return [p + word for p in _ARABIC]
    if _HEBREW_LETTER.match(word):
        forms = [p + word for p in _HEBREW]
        if word.startswith(_HEBREW_ARTICLE) and len(word) > 2:
            # ב, כ, ל take the article's place (בבית for ב + הבית); or the ה is the word's own
            # (בהולנד, "in Holland"), as above.
            forms += [p + word[1:] for p in _HEBREW if p.endswith(_HEBREW_TAKES_ARTICLE)]
        return forms
    return []


def proclitic_forms(tokens: Tokens) -> list[list[tuple[str, bool]]]:
    """The other ways a phrase is written with a proclitic joined to its first word (the rest
    as they are); [] when its first word is not Arabic or Hebrew."""
    if not tokens:
        return []
    first, prefix = tokens[0]
    return [[(form, prefix), *tokens[1:]] for form in joined_forms(first)]


def written_forms(tokens: Tokens, proclitics: bool) -> list[list[tuple[str, bool]]]:
    """A phrase's (token, prefix) pairs as written, then, with ``proclitics``, its proclitic
    forms: what the matcher and the index query each search for."""
    return [list(tokens), *proclitic_forms(tokens)] if proclitics else [list(tokens)]
