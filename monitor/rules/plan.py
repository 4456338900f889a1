"""Compiling rules: query trees become nodes over automaton keys, plus presearch clauses.

Every phrase, prefix and alias becomes automaton keys over the joined token stream
(``" gencatan senjata "``; a trailing prefix token has no closing space: ``" negosia"``).
Alongside each rule's node tree goes a necessary condition in clause form: a list of key
sets, each of which must meet the document's found keys for the rule to have any chance
(AND concatenates its children's clauses, OR and entities merge one clause per branch into
one, NOT keeps its left side's). One clause, the one whose keys look rarest, indexes the
rule and the next rarest must also meet the found keys (:mod:`monitor.rules.presearch`);
the candidates are only evaluated when every clause holds (Lucene Monitor's presearcher,
with required terms).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from monitor.errors import RuleError, RuleProblem
from monitor.rules.docindex import PLAIN, STEM, Pattern, Segment
from monitor.rules.evidence import MAX_EVIDENCE
from monitor.rules.expr import (
    ALL_FIELDS,
    FIELDS,
    And,
    EntityRef,
    Expr,
    Filter,
    Not,
    Or,
    Phrase,
    Sentence,
)
from monitor.rules.expr import Near as NearExpr
from monitor.rules.model import Entity, Rule, alias_proclitics, alias_stem
from monitor.rules.nodes import (
    EVIDENCE_PER_TERM,
    AllOf,
    AnyOf,
    Leaf,
    Near,
    Node,
    OneOf,
    SameSentence,
    Without,
)
from monitor.rules.proclitics import written_forms
from monitor.rules.regex import Regex
from monitor.rules.stem import MODE_COUNT, MODES, cached_stems, stemmers_for

Clause = frozenset[int]


@dataclass(frozen=True)
class _Stemming:
    """A rule's stemming: whether its own terms are stemmed (``stem: true``), and in which
    stemmers' modes (its languages', or all); whether they are also searched with proclitics
    joined (``proclitics: true``). Entities and aliases may say otherwise."""

    rule: bool
    stemmers: tuple[str, ...]
    proclitics: bool = False


class KeyTable:
    """The automaton keys: a pattern string per stream, each with a small integer id."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, str], int] = {}
        self.patterns: list[str] = []
        self.streams: list[int] = []
        self._rarity: list[float] = []

    def intern(self, stream: int, pattern: str) -> int:
        """The id of a key, added if new."""
        key = self._ids.get((stream, pattern))
        if key is None:
            key = self._ids[(stream, pattern)] = len(self.patterns)
            self.patterns.append(pattern)
            self.streams.append(stream)
            body = pattern.strip()
            score = len(body) + 4 * body.count(" ")
            self._rarity.append(score - 3 if not pattern.endswith(" ") else score)
        return key

    def rarity(self, key: int) -> float:
        """A guess at how rare a key is: long words and phrases are rare, short prefixes not."""
        return self._rarity[key]


@dataclass(frozen=True, eq=False)
class Program:
    """One rule, compiled: its node tree and its presearch condition."""

    index: int
    rule: Rule
    root: Node
    anchor: Clause  # the rule is looked at only when one of these keys is found
    second: Clause | None  # and then only if one of these is found too (None: no check)
    required: Clause  # keys that must all be found
    clauses: tuple[Clause, ...]  # sets of which at least one key must be found
    languages: frozenset[str]
    regexes: tuple[Regex, ...]
    # When the rule is one simple leaf or an AND of them (distinct terms, no field filter, the
    # same key in every stemming mode) with no languages or regex: those leaves. Then
    # ``required`` found is the whole test and each leaf's evidence is its ``Leaf.shown``
    # (the common shape: Matcher.match runs it inline).
    flat: tuple[Leaf, ...] | None = None


class Compiler:
    """Turns rules into programs, sharing keys and patterns between rules."""

    def __init__(self, entities: Mapping[str, Entity]) -> None:
        self.entities = entities
        self.keys = KeyTable()
        self._patterns: dict[tuple[object, ...], Pattern] = {}
        self.stem_keys: dict[str, set[int]] = {}  # stemmer -> the STEM-stream keys it needs
        self._given: dict[tuple[object, ...], Pattern] = {}
        self._scores: dict[Clause, float] = {}  # entities' clauses recur in many rules
        self._leaves: dict[tuple[object, ...], Leaf] = {}
        self._entity_slots: dict[tuple[object, ...], tuple[Leaf, ...]] = {}

    # -- patterns ----------------------------------------------------------------------------
    def _segments(self, tokens: list[tuple[int, str, bool]]) -> tuple[Segment, ...]:
        """Keys for (stream, text, prefix) tokens: one per same-stream run, cut after prefixes."""
        segments: list[Segment] = []
        start = 0
        for i, (stream, _text, prefix) in enumerate(tokens):
            last = i == len(tokens) - 1
            if prefix or last or tokens[i + 1][0] != stream:
                words = " ".join(text for _, text, _ in tokens[start:i + 1])
                pattern = f" {words}" if prefix else f" {words} "
                segments.append(Segment(self.keys.intern(stream, pattern), start))
                start = i + 1
        return tuple(segments)

    def pattern(self, tokens: list[tuple[str, bool]], *, stem: tuple[str, ...] = (),
                caret: bool = False, case_tokens: tuple[str, ...] | None = None,
                case_prefix: bool = False) -> Pattern:
        """The (shared) pattern for (token, prefix) pairs; stemmed in the ``stem`` stemmers'
        modes (none for a case-sensitive alias, which compares as written)."""
        # Entities' aliases come back once per rule naming them: the same input, the same
        # pattern, without building its segments in every mode again.
        given = (tuple(tokens), stem, caret, case_tokens, case_prefix)
        found = self._given.get(given)
        if found is not None:
            return found
        plain = self._segments([(PLAIN, text, prefix) for text, prefix in tokens])
        modes = [plain] * MODE_COUNT
        words = [t for t, p in tokens if not p]
        stemmed: list[tuple[int, tuple[tuple[int, int], ...]]] = []
        if stem and case_tokens is None and words:
            # Most stemmers leave a word as most others do ("gaza"): segments once per result.
            by_stems: dict[tuple[str, ...], tuple[Segment, ...]] = {}
            for stemmer in stem:
                stems = tuple(cached_stems(words, stemmer))
                mode = by_stems.get(stems)
                if mode is None:
                    it = iter(stems)
                    mode = by_stems[stems] = self._segments(
                        [(PLAIN, t, True) if p else (STEM, next(it), False) for t, p in tokens])
                modes[MODES[stemmer]] = mode
                stemmed.append((MODES[stemmer], tuple((s.key, s.offset) for s in mode)))
                self.stem_keys.setdefault(stemmer, set()).update(
                    s.key for s in mode if self.keys.streams[s.key] == STEM)
        # The modes left plain need not be listed one by one: the signature names the others.
        signature = (tuple((s.key, s.offset) for s in plain), tuple(sorted(stemmed)), caret,
                     case_tokens, case_prefix)
        found = self._patterns.get(signature)
        if found is None:
            simple = (not caret and case_tokens is None and len(plain) == 1
                      and all(len(m) == 1 for _, m in stemmed))
            found = self._patterns[signature] = Pattern(
                len(self._patterns), tuple(modes), len(tokens), caret, case_tokens, simple,
                case_prefix)
        self._given[given] = found
        return found

    # -- nodes -------------------------------------------------------------------------------
    def _leaf(self, pattern: Pattern, fields: tuple[int, ...], term: str,
              entity: str | None = None) -> Leaf:
        """The shared leaf: rules naming the same term share one, so a document remembers
        its evidence once for all of them (``Leaf.shown``)."""
        given = (pattern.pid, fields, term, entity)
        leaf = self._leaves.get(given)
        if leaf is None:
            leaf = self._leaves[given] = Leaf(pattern, fields, term, entity)
        return leaf

    def _slot(self, item: Phrase | EntityRef, fields: tuple[int, ...],
              stem: _Stemming) -> tuple[Leaf, ...]:
        if isinstance(item, Phrase):
            tokens = [(t.text, t.prefix) for t in item.tokens]
            return tuple(self._leaf(self.pattern(form, stem=stem.stemmers if stem.rule else (),
                                                 caret=item.caret), fields, item.written)
                         for form in written_forms(tokens, stem.proclitics))
        # An entity recurs in many rules: its leaves are built once per way of naming it.
        given = (item.entity, item.written, item.caret, fields, stem)
        known = self._entity_slots.get(given)
        if known is not None:
            return known
        entity = self.entities.get(item.entity)
        if entity is None:
            raise RuleError([RuleProblem("<rules>", 0, f"unknown entity @{item.entity}")])
        leaves = []
        for alias in entity.aliases:
            case = alias.case_tokens if alias.case_sensitive else None
            stemmers = stem.stemmers if alias_stem(alias, entity, rule=stem.rule) else ()
            for form in written_forms(alias.pattern_tokens, alias_proclitics(
                    alias, entity, rule=stem.proclitics)):
                pattern = self.pattern(form, stem=stemmers, caret=item.caret,
                                       case_tokens=case, case_prefix=alias.prefix)
                leaves.append(self._leaf(pattern, fields, item.written, entity.id))
        known = self._entity_slots[given] = tuple(leaves)
        return known

    def node(self, expr: Expr, columns: frozenset[str], stem: _Stemming) -> Node:
        """The node for a query tree, with field filters pushed down to the leaves."""
        fields = tuple(i for i, name in enumerate(FIELDS) if name in columns)
        if isinstance(expr, Phrase):
            slot = self._slot(expr, fields, stem)
            return slot[0] if len(slot) == 1 else AnyOf(slot)
        if isinstance(expr, EntityRef):
            return AnyOf(self._slot(expr, fields, stem))
        if isinstance(expr, NearExpr):
            return Near(tuple(self._slot(item, fields, stem) for item in expr.items),
                        expr.distance, fields)
        if isinstance(expr, Sentence):
            return SameSentence(tuple(self._slot(item, fields, stem) for item in expr.items),
                                fields)
        if isinstance(expr, Filter):
            return self.node(expr.child, columns & expr.columns, stem)
        if isinstance(expr, And):
            return AllOf(tuple(self.node(c, columns, stem) for c in expr.children))
        if isinstance(expr, Or):
            return OneOf(tuple(self.node(c, columns, stem) for c in expr.children))
        assert isinstance(expr, Not)
        return Without(self.node(expr.left, columns, stem), self.node(expr.right, columns, stem))

    # -- presearch ---------------------------------------------------------------------------
    def _score(self, clause: Clause) -> float:
        score = self._scores.get(clause)
        if score is None:
            rarity = self.keys.rarity
            score = self._scores[clause] = min(map(rarity, clause)) - math.log2(len(clause))
        return score

    def _best(self, clauses: list[Clause]) -> Clause:
        return max(clauses, key=self._score)

    def clauses(self, node: Node) -> list[Clause]:
        """A necessary condition for ``node``: each clause must meet the found keys."""
        if isinstance(node, Leaf):
            modes = node.pattern.modes
            if modes.count(modes[0]) == len(modes):  # in C: identity first, then equality
                return [frozenset({seg.key}) for seg in modes[0]]
            # Only the document's stemming mode applies: any mode's key will do.
            distinct = {id(m): m for m in modes}.values()
            return [frozenset(max((s.key for s in m), key=self.keys.rarity) for m in distinct)]
        if isinstance(node, AnyOf):
            return [frozenset().union(*(self._best(self.clauses(leaf)) for leaf in node.leaves))]
        if isinstance(node, Near | SameSentence):
            return [frozenset().union(*(self._best(self.clauses(leaf)) for leaf in slot))
                    for slot in node.slots]
        if isinstance(node, AllOf):
            return [c for child in node.children for c in self.clauses(child)]
        if isinstance(node, OneOf):
            return [frozenset().union(*(self._best(self.clauses(c)) for c in node.children))]
        assert isinstance(node, Without)
        return self.clauses(node.left)

    @staticmethod
    def _flat(root: Node, required: Clause) -> tuple[Leaf, ...] | None:
        leaves = root.children if isinstance(root, AllOf) else (root,)
        if not all(isinstance(leaf, Leaf) for leaf in leaves):
            return None
        flat = tuple(leaf for leaf in leaves if isinstance(leaf, Leaf))
        for leaf in flat:
            modes = leaf.pattern.modes
            if (not leaf.pattern.simple or len(leaf.fields) != len(FIELDS)
                    or modes.count(modes[0]) != len(modes) or modes[0][0].key not in required):
                return None
        # Otherwise select() would merge or cut their evidence.
        if (EVIDENCE_PER_TERM != 1 or len(flat) > MAX_EVIDENCE
                or len({leaf.term for leaf in flat}) != len(flat)):
            return None
        return flat

    def program(self, index: int, rule: Rule) -> Program:
        """Compile one rule: node tree, necessary clauses, anchor and second clause."""
        root = self.node(rule.expr, ALL_FIELDS,
                         _Stemming(rule.stem, stemmers_for(rule.languages), rule.proclitics))
        clauses = list(dict.fromkeys(self.clauses(root)))
        required = frozenset(k for c in clauses if len(c) == 1 for k in c)
        anchor = self._best(clauses)
        others = [c for c in clauses if c != anchor]
        return Program(
            index=index, rule=rule, root=root, anchor=anchor,
            second=self._best(others) if others else None, required=required,
            clauses=tuple(c for c in clauses if len(c) > 1 and c.isdisjoint(required)),
            languages=frozenset(rule.languages),
            regexes=tuple(Regex(p) for p in rule.regex),
            flat=None if rule.languages or rule.regex else self._flat(root, required),
        )
