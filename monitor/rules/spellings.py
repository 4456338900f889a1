"""Words a rule writes one way where news texts write two, which the tokenizer (as SQLite's)
keeps apart: a word with a zero-width non-joiner only; and a Cyrillic or Arabic word in a
rule that does not say ``stem:`` (:func:`inflection_note`), a Hebrew one in a rule that does
not say ``proclitics:`` (:func:`proclitic_note`).
``monitor check`` names each query term and alias (of an entity some rule uses) written one
way, beside the spelling to add; :func:`spelling_problems` gives them all. Also where such
notes are placed (:func:`at_rule`, :func:`at_alias`) and the walk over terms and aliases
(:func:`word_problems`), for the other checks of :mod:`monitor.rules.checks` too."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from monitor.errors import RuleProblem
from monitor.rules.expr import Expr, phrases
from monitor.rules.model import Alias, Entity, Rule, RuleBook
from monitor.rules.query import QUOTE_MARKS
from monitor.rules.stem import stemmers_for
from monitor.rules.unicode61 import tokenize
from monitor.text import SCRIPT_RANGES


def at_rule(rule: Rule, note: str) -> RuleProblem:
    """A note on a rule's query, as a problem at the rule's line."""
    return RuleProblem(rule.path, rule.line, f"rule {rule.id}: {note}", rule.id)


def at_alias(entity: Entity, alias: Alias, note: str) -> RuleProblem:
    """A note on an entity's alias, as a problem at the alias's line."""
    return RuleProblem(entity.path, alias.line, f"entity {entity.id}: alias {note}", None)


def _written_beside(spelling: str, siblings: Collection[str]) -> bool:
    """Whether one of ``siblings`` is ``spelling`` as the matcher reads it (same tokens)."""
    return tokenize(spelling) in [tokenize(sibling) for sibling in siblings]


# A zero-width non-joiner (U+200C) inside a Persian word ("سرزمین‌های") separates tokens, as
# SQLite's tokenizer reads it; texts as often leave it out and write one word ("سرزمینهای").
_ZWNJ = "\u200c"


def zwnj_note(text: str, siblings: Collection[str]) -> str | None:
    """A note when ``text`` has a zero-width non-joiner and ``siblings`` lack its spelling
    without one."""
    if _ZWNJ not in text:
        return None
    other = text.replace(_ZWNJ, "")
    if _written_beside(other, siblings):
        return None
    return (f"{text!r} has a zero-width non-joiner, which ends a word: texts that leave it "
            f"out write one word: add {other!r} beside it")


def word_problems(book: RuleBook, note: Callable[[str, Collection[str]], str | None]
                  ) -> list[RuleProblem]:
    """``note`` of each query term (beside the rule's other terms; each note once per rule)
    and of each alias of an entity some rule uses (beside its other aliases): the walk of
    every check of how a word is written, here and in :mod:`monitor.rules.checks`."""
    problems = []
    for rule in book.rules:
        terms = list(phrases(rule.expr))
        written = [p.written for p in terms]
        notes = dict.fromkeys(found for p in terms
                              if (found := note(p.written, written)) is not None)
        problems += [at_rule(rule, found) for found in notes]
    for entity in book.used_entities():
        texts = [alias.text for alias in entity.written]
        problems += [at_alias(entity, alias, found)
                     for alias in entity.written
                     if (found := note(alias.text, texts)) is not None]
    return problems


def zwnj_problems(book: RuleBook) -> list[RuleProblem]:
    """Query terms and aliases (of entities some rule uses) with a zero-width non-joiner and
    without their spelling without it (see :data:`_ZWNJ`)."""
    return word_problems(book, zwnj_note)


def spelling_problems(book: RuleBook) -> list[RuleProblem]:
    """Every query term and alias written one way only."""
    return zwnj_problems(book)


# Scripts whose words take many forms in news text, so that a word written whole matches few
# of its mentions: Russian "переговоры" is not "переговорах", Arabic "هدنة" is not "الهدنة"
# ("the truce"). A word in capitals (США, ХАМАС) is an acronym, which does not inflect.
# Arabic stemming takes the article off but not every particle (بغزة, "in Gaza", keeps its
# own stem): those forms want proclitics: true (monitor.rules.proclitics).
_INFLECTED = (
    (re.compile(f"[{SCRIPT_RANGES['cyrillic']}]"),
     "its inflected forms (переговорах for переговоры)",
     "add stem: true (see rules/README.md, \"Stemming\") or a prefix (word*)"),
    (re.compile(f"[{SCRIPT_RANGES['arabic']}]"),
     "with the article or a particle joined to it (الهدنة for هدنة, بغزة for غزة)",
     "add stem: true (see rules/README.md, \"Stemming\": it takes the article off) and "
     "proclitics: true (for the particles)"),
)


def inflection_note(expr: Expr, languages: tuple[str, ...]) -> str | None:
    """For a rule that does not say ``stem:``: a note naming its first Cyrillic or Arabic term
    that is neither a prefix nor an acronym, else None (also when none of ``languages`` has a
    stemmer: ``stem: true`` would change nothing)."""
    if languages and not stemmers_for(languages):
        return None
    for phrase in phrases(expr):
        written = phrase.written.strip(QUOTE_MARKS)
        if any(token.prefix for token in phrase.tokens) or (
                written == written.upper() and written != written.lower()):
            continue
        for pattern, forms, remedy in _INFLECTED:
            if pattern.search(written):
                return (f"{written!r} matches only as written, not {forms}: {remedy}, or say "
                        "stem: false where the exact words are meant")
    return None


_HEBREW = re.compile(f"[{SCRIPT_RANGES['hebrew']}]")


def proclitic_note(expr: Expr) -> str | None:
    """For a rule that does not say ``proclitics:``: a note naming its first Hebrew term, else
    None. Hebrew joins "in", "for", "and"... to the next word (בישראל), and no stemmer takes
    them off, so such a term misses most of its mentions without a word of warning."""
    for phrase in phrases(expr):
        written = phrase.written.strip(QUOTE_MARKS)
        if _HEBREW.search(written):
            return (f"{written!r} matches only as written, not with a prefix joined to it "
                    "(בישראל for ישראל): add proclitics: true (see rules/README.md, "
                    "\"Arabic and Hebrew proclitics\"), or say proclitics: false where the "
                    "exact words are meant")
    return None
