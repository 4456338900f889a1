"""Checks ``monitor check`` runs beyond loading: rule test examples, channel names, aliases
that can never match, operators written in lower case, words that mix alphabets or hide an
invisible character, words written one way only where texts write two
(:mod:`monitor.rules.spellings`), queries with no-break or other Unicode spaces, and
``stem: true`` in a rule whose languages have no stemmer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection

from monitor.errors import RuleProblem
from monitor.models import Document
from monitor.rules.expr import And, Expr, Filter, Near, Not, Or, Phrase, phrases
from monitor.rules.matcher import Matcher, compile_rules
from monitor.rules.model import Entity, Rule, RuleBook
from monitor.rules.query import unicode_spaces
from monitor.rules.spellings import at_rule, spelling_problems, word_problems
from monitor.rules.stem import stemmers_for
from monitor.rules.unicode61 import tokenize
from monitor.text import clean_text, unmixed_alphabets


def run_rule_tests(book: RuleBook, matcher: Matcher) -> list[RuleProblem]:
    """Run every rule's ``tests:`` examples; one problem per example that does not hold.

    An example without ``lang`` is checked against the query (and regex conditions) only:
    the ``languages`` filter is applied when the example declares its language.
    """
    problems = []
    for rule in book.rules:
        for expected, examples in ((True, rule.tests.match), (False, rule.tests.no_match)):
            for n, example in enumerate(examples, 1):
                hit = matcher.match_rule(rule.id, example.document(),
                                         check_languages=example.language is not None)
                if expected and hit is None:
                    message = f"rule {rule.id}: match example {n} {example.label()} does not match"
                elif not expected and hit is not None:
                    terms = ", ".join(dict.fromkeys(e.term for e in hit.evidence))
                    message = (f"rule {rule.id}: no_match example {n} {example.label()} matches "
                               f"(on {terms})")
                else:
                    continue
                problems.append(RuleProblem(rule.path, example.line, message, rule.id))
    return problems


def channel_problems(book: RuleBook, channels: Collection[str]) -> list[RuleProblem]:
    """Rules whose ``notify:`` names a channel the configuration does not define."""
    known = ", ".join(sorted(channels)) or "none"
    return [RuleProblem(rule.path, rule.line,
                        f"rule {rule.id}: notify: unknown channel {name!r} (configured: {known})",
                        rule.id)
            for rule in book.rules for name in rule.notify if name not in channels]


def alias_problems(book: RuleBook) -> list[RuleProblem]:
    """Aliases that can never match: each alias of an entity some rule uses, compiled alone,
    must match a text made of the alias itself (in each language the rules stem in)."""
    singles: list[Entity] = []
    rules: list[Rule] = []
    owners: list[tuple[Entity, int]] = []
    for entity in book.used_entities():
        for n, alias in enumerate(entity.written):
            single = Entity(f"a{len(singles)}", (alias,), stem=entity.stem)
            rules.append(Rule.from_query(f"a{len(singles)}", f"@{single.id}",
                                         stem=alias.stem is not False))
            singles.append(single)
            owners.append((entity, n))
    if not rules:
        return []
    matcher = compile_rules(RuleBook(rules=tuple(rules), entities=tuple(singles)))
    problems = []
    for rule, single, (entity, _n) in zip(rules, singles, owners, strict=True):
        alias = single.aliases[0]
        text = alias.text.rstrip().rstrip("*")
        if matcher.match_rule(rule.id, Document(text, "", language="en"),
                              check_languages=False) is None:
            problems.append(RuleProblem(entity.path, alias.line, f"entity {entity.id}: alias "
                                        f"{alias.text!r} can never match", None))
    return problems


OPERATOR_WORDS = ("and", "or", "not", "near")


def operator_word_notes(expr: Expr) -> list[str]:
    """One note per ``and``, ``or``, ``not`` or ``near`` in a query that is neither in capitals
    nor quoted. FTS5, and so the matcher, searches them as words: ``gaza and ceasefire`` needs
    the word "and" in the article and misses every article in another language."""
    words = dict.fromkeys(p.written for p in phrases(expr) if p.written.lower() in OPERATOR_WORDS)
    return [f"{word!r} is searched as a word: NEAR takes its terms in brackets, "
            f"NEAR(a b) or NEAR(a b, 5) (or \"{word}\" in quotes to search the word)"
            if word == "NEAR" else  # written between its terms, as other tools have it
            f"{word!r} is searched as a word, not as the operator {word.upper()}: write "
            f"{word.upper()}, or \"{word}\" in quotes to search the word" for word in words]


# NEAR's distance, written after a comma: ``NEAR(a b, 5)``.
_NEAR_DISTANCE = re.compile(r",\s*\d+\s*\)\s*$")


def near_notes(expr: Expr) -> list[str]:
    """NEARs that rarely mean what they say, as FTS5 reads them: with one term, which is then
    that term anywhere; or with a number last and no comma, which is then a word to find
    (``NEAR(gaza hamas 5)`` needs the word "5" within 10 words of the others)."""
    notes = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack.extend(reversed(node.children))
        elif isinstance(node, Not):
            stack += [node.right, node.left]
        elif isinstance(node, Filter):
            stack.append(node.child)
        elif isinstance(node, Near):
            last = node.items[-1]
            if len(node.items) == 1:
                notes.append(f"{node.written} holds one term, so it matches that term "
                             "anywhere: put two or more terms in it")
            elif (isinstance(last, Phrase) and last.written.isdigit()
                  and not _NEAR_DISTANCE.search(node.written)):
                meant = re.sub(r"\s+(\d+)\s*\)\s*$", r", \1)", node.written)
                notes.append(f"{node.written} searches the word {last.written!r} near the "
                             f"others (within {node.distance} words): for a distance of "
                             f"{last.written}, write {meant}")
    return notes


def operator_word_problems(book: RuleBook) -> list[RuleProblem]:
    """:func:`operator_word_notes` of every rule, as problems at the rule's line."""
    return [at_rule(rule, note)
            for rule in book.rules for note in operator_word_notes(rule.expr)]


# Letters that look alike across the Latin, Cyrillic and Greek alphabets: one typed with the
# wrong keyboard layout slips into a word unseen, and the word never matches as printed. A
# letter of another alphabet that looks different (Chuvash names with a Latin ă, Kabyle ones
# with ε, as CLDR writes them) is taken as meant. A Latin and Cyrillic mix that cleaning
# writes in one alphabet (monitor.text.unmixed_alphabets: "Пyтин" is read as "Путин", in
# rules and articles alike) is not a problem.
_LOOKALIKES = {
    "LATIN": frozenset("aceopxyijsABCEHIJKMOPSTXY"),
    "CYRILLIC": frozenset("асеорхуіјѕАВСЕНІЈКМОРЅТХУ"),
    "GREEK": frozenset("οραικνυτΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"),
}
_ALPHABETS = tuple(_LOOKALIKES)
_WORD = re.compile(r"\w+")


def _alphabets(word: str) -> dict[str, list[str]]:
    """The letters of ``word`` by the alphabet they come from (only the three above)."""
    found: dict[str, list[str]] = {}
    for char in word:
        if char.isalpha():
            name = unicodedata.name(char, "")
            alphabet = next((a for a in _ALPHABETS if name.startswith(a)), None)
            if alphabet is not None:
                found.setdefault(alphabet, []).append(char)
    return found


def mixed_alphabet_note(text: str) -> str | None:
    """A note on the first word of ``text`` that mixes Latin, Cyrillic or Greek letters
    (``Dοha`` with a Greek ο: it can never match the name as printed) and is not written in
    one alphabet by cleaning, or None."""
    for word in _WORD.findall(unmixed_alphabets(text)):
        letters = _alphabets(word)
        if len(letters) < 2:
            continue
        main = max(letters, key=lambda a: len(letters[a]))
        strays = {a: "".join(dict.fromkeys(c for c in chars if c in _LOOKALIKES[a]))
                  for a, chars in letters.items() if a != main}
        if all(strays.values()):
            shown = ", ".join(f"{a.title()} {chars}" for a, chars in strays.items())
            return (f"{word!r} mixes alphabets ({shown} among {main.title()} letters): retype "
                    "it in one")
    return None


def mixed_alphabet_notes(expr: Expr) -> list[str]:
    """:func:`mixed_alphabet_note` of each of the query's terms and phrases, each note once."""
    return _term_notes(expr, mixed_alphabet_note)


# An invisible character inside a word that cleaning keeps (it may be meant: a zero-width
# joiner shapes Indic and Arabic letters) and the tokenizer, as SQLite's, reads as a space:
# "Ga\u200dza" is searched as "ga za", which texts without it never are. A zero-width
# non-joiner has a note of its own (monitor.rules.spellings); a zero-width space left inside
# a word is one of Thai, Chinese..., where it marks a word's end.
_INVISIBLE_IN_WORD = re.compile(r"(?<=[^\W_])[^\w\s\u200b\u200c](?=[^\W_])")


def invisible_note(text: str) -> str | None:
    """A note on the first invisible (format) character inside a word of ``text`` once it
    is cleaned as a rule's words are, or None."""
    cleaned = clean_text(text)
    for found in _INVISIBLE_IN_WORD.finditer(cleaned):
        char = found.group()
        if unicodedata.category(char) == "Cf":
            name = unicodedata.name(char, "format character").lower()
            words = " ".join(tokenize(cleaned))
            return (f"{text!r} has an invisible {name} (U+{ord(char):04X}) inside a word, "
                    f"which splits it (searched as {words!r}): texts without it write one "
                    "word: delete it")
    return None


def invisible_notes(expr: Expr) -> list[str]:
    """:func:`invisible_note` of each of the query's terms and phrases, each note once."""
    return _term_notes(expr, invisible_note)


def _term_notes(expr: Expr, note: Callable[[str], str | None]) -> list[str]:
    return list(dict.fromkeys(found for p in phrases(expr)
                              if (found := note(p.written)) is not None))


def _space_name(ch: str) -> str:
    return unicodedata.name(ch, "").lower() or "next line character"  # U+0085 has no name


_QUOTED = re.compile(r'"[^"]*"')
# What other search tools write, that FTS5 (and so the matcher) reads otherwise: the pattern,
# and the note, given the text matched and its groups.
_MISREAD = (
    # a * inside a word (Zelen*kyy, for Zelensky and Zelenskyy): two terms, both needed
    (re.compile(r"(\w+)\*(\w+)"), "{0!r} is searched as {1}* and {2}: a * makes a prefix "
                                   "only at the end of a word (write {1}*, or each spelling "
                                   "with OR)"),
    # a weight (gaza^2): ^ marks the first word of the title or body
    (re.compile(r"(\w+)\^(\d+(?:\.\d+)?)(?!\w)"), "{0!r} is searched as {1} and a title or "
                                                   "body starting with {2}: ^ marks a field's "
                                                   "first word, not a weight (write {1})"),
)


def misread_notes(query: str) -> list[str]:
    """A note for each way of :data:`_MISREAD` that ``query`` has, outside double quotes."""
    unquoted = _QUOTED.sub(lambda m: " " * len(m.group()), query)
    return [note.format(found.group(), *found.groups()) for pattern, note in _MISREAD
            if (found := pattern.search(unquoted)) is not None]


def unicode_space_note(query: str) -> str | None:
    """A note when ``query`` has no-break or other Unicode spaces between its terms (pasted
    from a web page or a word processor), else None. The parser reads each as a space, where
    FTS5 would read ``gaza\\u00a0AND\\u00a0ceasefire`` as one phrase: the note says where."""
    found = unicode_spaces(query)
    if not found:
        return None
    ch = query[found[0]]
    more = len(found) - 1
    others = f" and {more} more Unicode space{'s' if more > 1 else ''}" if more else ""
    name = _space_name(ch)
    article = "an" if name[0] in "aeiou" else "a"  # an en space, an ideographic space
    return (f"query has {article} {name} (U+{ord(ch):04X}) at column {found[0] + 1}"
            f"{others}: read as {'spaces' if more else 'a space'}")


def query_notes(expr: Expr, query: str | None = None) -> list[str]:
    """What a valid query rarely means: operators in lower case, words mixing alphabets or
    hiding an invisible character and, given the ``query`` as written, Unicode spaces (the
    notes of a rule's query that :func:`rule_warnings` reports; the web's search shows them)."""
    space = unicode_space_note(query) if query is not None else None
    return [*operator_word_notes(expr), *near_notes(expr), *mixed_alphabet_notes(expr),
            *invisible_notes(expr), *([space] if space is not None else []),
            *(misread_notes(query) if query is not None else [])]


def unicode_space_problems(book: RuleBook) -> list[RuleProblem]:
    """:func:`unicode_space_note` and :func:`misread_notes` of every rule's query, as
    problems at the rule's line."""
    return [at_rule(rule, note) for rule in book.rules
            for note in (unicode_space_note(rule.query), *misread_notes(rule.query))
            if note is not None]


def mixed_alphabet_problems(book: RuleBook) -> list[RuleProblem]:
    """Query terms and aliases (of entities some rule uses) with a word that mixes alphabets."""
    return _word_problems(book, mixed_alphabet_note)


def invisible_problems(book: RuleBook) -> list[RuleProblem]:
    """Query terms and aliases (of entities some rule uses) with an invisible character
    inside a word (see :data:`_INVISIBLE_IN_WORD`)."""
    return _word_problems(book, invisible_note)


def _word_problems(book: RuleBook, note: Callable[[str], str | None]) -> list[RuleProblem]:
    """``note`` of each query term and of each alias of an entity some rule uses (a note on
    the word alone: the others beside it do not matter)."""
    return word_problems(book, lambda text, _beside: note(text))


def unstemmed_problems(book: RuleBook) -> list[RuleProblem]:
    """``stem: true`` in a rule none of whose languages has a stemmer (Belarusian, Hebrew,
    Chinese...): it changes nothing, and inflected forms would be missed unnoticed."""
    return [at_rule(rule, f"stem: true does nothing in {', '.join(rule.languages)}: no "
                           "stemmer for " + ("it" if len(rule.languages) == 1 else "them")
                           + " (see rules/README.md, \"Stemming\"); write prefix terms "
                             "(word*) or list the forms"
                           + ("; proclitics: true finds Hebrew words with a prefix joined "
                              "(בישראל)" if "he" in rule.languages else ""))
            for rule in book.rules
            if rule.stem and rule.languages and not stemmers_for(rule.languages)]


def rule_warnings(book: RuleBook) -> list[RuleProblem]:
    """What is valid in the rules but rarely meant: what loading noted (a file that defines
    nothing), lower-case operators, a NEAR of one term or with its distance typed as a word,
    words mixing alphabets or with an invisible character inside, words with a zero-width
    non-joiner only, Unicode spaces, a * inside a word or a ^weight in a query, ``stem:
    true`` where no language of the rule has a stemmer.
    ``monitor check`` reports them; the daemon logs them; the web shows them."""
    return [*book.warnings, *operator_word_problems(book),
            *(at_rule(rule, note) for rule in book.rules for note in near_notes(rule.expr)),
            *mixed_alphabet_problems(book), *invisible_problems(book),
            *spelling_problems(book), *unicode_space_problems(book),
            *unstemmed_problems(book)]
