"""What a rule file holds once loaded: entities with aliases, rules, and their test examples."""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from monitor.errors import RuleProblem
from monitor.models import Document
from monitor.rules.expr import Expr, entity_refs
from monitor.rules.query import parse_query
from monitor.rules.unicode61 import case_key, token_spans, tokenize
from monitor.text import clean_prose, clean_prose_line


@dataclass(frozen=True)
class Alias:
    """One name of an entity, searched as a phrase.

    ``case_sensitive`` aliases compare their exact case (still without diacritics), so
    ``AS`` (Indonesian for the USA) does not match the English word "as". An alias ending in
    ``*`` (``Путин*``) is a prefix: its last token matches any token starting with it.
    ``stem`` (None: as its entity says, else as the rule says) compares words by their stem;
    ``proclitics`` (the same default) also finds an Arabic or Hebrew alias with a proclitic
    joined to its first word (``بغزة`` for ``غزة``, see :mod:`monitor.rules.proclitics`).
    """

    text: str
    case_sensitive: bool = False
    line: int = 0
    stem: bool | None = None
    proclitics: bool | None = None

    def __post_init__(self) -> None:
        # As an article's text is cleaned (monitor.text): an alias written with Arabic vowel
        # marks or a tatweel (مُحَمَّد), decomposed, pasted with a soft hyphen or a
        # zero-width space inside a word, or typed with a Latin letter in a Cyrillic word
        # (Пyтин), finds the word as articles are stored (محمد, Путин).
        object.__setattr__(self, "text", clean_prose(self.text))

    @functools.cached_property  # read by the loader's check, then by compile
    def tokens(self) -> tuple[str, ...]:
        """The folded tokens, as the document side is folded."""
        return tuple(tokenize(self.text))

    @property
    def prefix(self) -> bool:
        """Whether the alias ends in ``*``: a prefix, as ``Путин*`` in a query."""
        return self.text.rstrip().endswith("*")

    @property
    def pattern_tokens(self) -> list[tuple[str, bool]]:
        """(folded token, is a prefix) pairs, as a query phrase is compiled: a word written
        with ``*`` right after it is a prefix (``мирн* план*``)."""
        text = self.text
        return [(t, text[b:b + 1] == "*")
                for t, (_a, b) in zip(self.tokens, token_spans(text), strict=True)]

    def star_problem(self) -> str | None:
        """Why a ``*`` in the alias is misplaced (it could never match as meant), or None."""
        if "*" not in self.text:  # nearly every alias (the country files hold 33,000)
            return None
        text = self.text.rstrip()
        ends = {b for _a, b in token_spans(text)}
        for i, ch in enumerate(text):
            if ch == "*" and (i not in ends or (i + 1 < len(text) and not text[i + 1].isspace())):
                return "'*' makes a prefix only right after a word (Путин*, мирн* план*)"
        if self.case_sensitive and "*" in text[:-1]:
            return "a case-sensitive alias may end in '*' but have no other '*'"
        return None

    @property
    def case_tokens(self) -> tuple[str, ...]:
        """Each token as written, without diacritics: what a case-sensitive alias requires."""
        return tuple(case_key(self.text[a:b]) for a, b in token_spans(self.text))


@dataclass(frozen=True)
class Entity:
    """A person, organisation, country... that queries name as ``@id``.

    A group (``includes: [russia, putin]``) also matches its members' aliases: the loader
    appends them to ``aliases`` after the entity's own ``written`` ones, each stemmed as its
    member says (its ``stem:``, else the member's, else the group's or the rule's).
    """

    id: str
    aliases: tuple[Alias, ...]
    type: str | None = None
    path: str = "<memory>"
    line: int = 0
    stem: bool | None = None  # the aliases' default (None: as the rule says)
    proclitics: bool | None = None  # the same
    includes: tuple[str, ...] = ()  # the member entities' ids, as written
    own: int | None = None  # how many of ``aliases`` this entity writes (None: all)

    @property
    def written(self) -> tuple[Alias, ...]:
        """The aliases written in this entity's own definition (checks read these: a
        member's aliases are checked, and their problems reported, at the member)."""
        return self.aliases if self.own is None else self.aliases[:self.own]


def alias_stem(alias: Alias, entity: Entity, *, rule: bool) -> bool:
    """Whether ``alias``'s words are compared by their stems: as it says, else as its entity
    says, else as the rule naming it says; never for a case-sensitive alias (which compares
    the tokens as written)."""
    return not alias.case_sensitive and _said(alias.stem, entity.stem, rule)


def alias_proclitics(alias: Alias, entity: Entity, *, rule: bool) -> bool:
    """Whether ``alias`` is also searched with proclitics joined, decided as
    :func:`alias_stem` decides stemming."""
    return not alias.case_sensitive and _said(alias.proclitics, entity.proclitics, rule)


def _said(alias: bool | None, entity: bool | None, rule: bool) -> bool:
    """The first of an alias's, its entity's and the rule's settings that is said."""
    return alias if alias is not None else entity if entity is not None else rule


@dataclass(frozen=True)
class Example:
    """A ``tests:`` example: a plain string is a title with no body and no language."""

    title: str
    body: str = ""
    language: str | None = None
    line: int = 0

    def document(self) -> Document:
        """The example as the document the matcher reads: cleaned as the daemon cleans an
        article (soft hyphens, controls, Arabic vowel marks, words of two alphabets; composed),
        so an example holds exactly when such an article would match."""
        return Document(title=clean_prose_line(self.title), body=clean_prose(self.body),
                        language=self.language)

    def label(self) -> str:
        """A short quoted excerpt that names the example in a problem message."""
        text = " ".join(f"{self.title} {self.body}".split())
        return repr(text if len(text) <= 60 else text[:57] + "...")


@dataclass(frozen=True)
class RuleTests:
    """Examples ``monitor check`` verifies: each ``match`` must match, no ``no_match`` may."""

    match: tuple[Example, ...] = ()
    no_match: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A watch rule: a query over title and body, plus options.

    ``languages`` are normalized primary codes (``id``, ``en``); empty means any language.
    ``regex`` patterns (RE2 syntax) must each also match the title or the body.
    ``stem`` and ``proclitics`` apply to the rule's terms, and to the aliases of the entities
    it names unless the entity or alias says otherwise.
    """

    id: str
    name: str
    query: str
    expr: Expr
    notify: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    stem: bool = False
    regex: tuple[str, ...] = ()
    tests: RuleTests = RuleTests()
    path: str = "<memory>"
    line: int = 0
    # Delivery options: None defers to the channel's (monitor.delivery.policy.RulePolicy).
    # A new per-rule option goes here and in the loader's RULE_FIELDS.
    delivery: str | None = None  # "immediate" or "digest"
    max_per_hour: int | None = None  # per destination; the overflow waits for the digest
    proclitics: bool = False

    @classmethod
    def from_query(cls, rule_id: str, query: str, *, name: str | None = None,
                   notify: tuple[str, ...] = (), languages: tuple[str, ...] = (),
                   stem: bool = False, regex: tuple[str, ...] = (),
                   tests: RuleTests = RuleTests(), proclitics: bool = False) -> Rule:
        """A rule built in code (tests, tools): parses ``query``, raises QuerySyntaxError."""
        return cls(id=rule_id, name=name or rule_id, query=query, expr=parse_query(query),
                   notify=notify, languages=languages, stem=stem, regex=regex, tests=tests,
                   proclitics=proclitics)


@dataclass(frozen=True)
class RuleBook:
    """Everything loaded from the rules directory: good rules, entities, and the problems."""

    rules: tuple[Rule, ...] = ()
    entities: tuple[Entity, ...] = ()
    problems: tuple[RuleProblem, ...] = field(default=())
    warnings: tuple[RuleProblem, ...] = ()  # found loading, valid but rarely meant (an empty file)

    def entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, if loaded."""
        return next((e for e in self.entities if e.id == entity_id), None)

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if loaded."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def used_entities(self) -> list[Entity]:
        """The entities some rule names, and every member of a group among them (at any
        depth): those whose aliases the checks read."""
        by_id = {e.id: e for e in self.entities}
        found: dict[str, None] = {}
        todo = [ref.entity for rule in self.rules for ref in entity_refs(rule.expr)]
        while todo:
            entity_id = todo.pop()
            if entity_id not in found and entity_id in by_id:
                found[entity_id] = None
                todo += by_id[entity_id].includes
        return [e for e in self.entities if e.id in found]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a rule set is loaded or compiled.

    Both build some 10^5 long-lived objects and create no garbage cycles: every collection
    the allocations would trigger walks all of them again, which was half the time of
    loading and compiling 10,000 rules. At the end they go straight to the oldest generation
    (``gc.freeze`` then ``gc.unfreeze``): otherwise the first collection after the pause
    walks all of them once more, and again on their way up (0.4 CPU-s at 10,000 rules). Not
    left frozen: cycles that become garbage later must still be collected. Skipped in a
    process that froze objects on purpose (the extraction workers).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()
