"""The words a rule's terms matched that no alias or term writes: what stems and prefixes took in.

A stemmed term matches every word with its stem, and a prefix every word it begins: English
``accord`` also matches "according", ``deal`` "dealings", Russian ``угод*`` "угодно" ("any").
In a headline the rule's other words keep such a match on topic; in a long article one
"according to" makes a hit. A backtest shows each rule's author these words, counted over
the rule's first matches, to read for the ones that are not meant.
"""

from __future__ import annotations

from collections import Counter

from monitor.models import RuleHit
from monitor.rules.model import RuleBook
from monitor.rules.unicode61 import tokenize

Form = tuple[str, str]  # (the term as the query writes it: 'accord', '@deal'; the word, folded)


class WrittenForms:
    """What each term and entity of a rule book writes, folded as the matcher folds text."""

    def __init__(self, book: RuleBook) -> None:
        self._entities = {entity.id: {alias.tokens for alias in entity.aliases}
                          for entity in book.entities}
        self._terms: dict[str, tuple[str, ...]] = {}

    def unwritten(self, hit: RuleHit) -> list[Form]:
        """The hit's evidence that no alias of its entity, or its term, writes as matched:
        found through a stem, a prefix or an Arabic proclitic. Not a regex's."""
        out: list[Form] = []
        for evidence in hit.evidence:
            if evidence.regex:
                continue
            matched = tuple(tokenize(evidence.matched))
            if evidence.entity is not None:
                written = matched in self._entities.get(evidence.entity, ())
            else:
                term = self._terms.get(evidence.term)
                if term is None:  # '"gencatan senjata"', 'negosia*': its tokens
                    term = self._terms[evidence.term] = tuple(tokenize(evidence.term))
                written = matched == term
            if not written:
                out.append((evidence.term, " ".join(matched)))
        return out


def commonest_forms(forms: Counter[Form], terms: int = 8, per_term: int = 5
                    ) -> list[tuple[str, list[tuple[str, int]]]]:
    """``forms`` grouped by term, the terms with the most matches first: at most ``terms``
    terms, each with its ``per_term`` commonest words and their counts."""
    by_term: dict[str, Counter[str]] = {}
    for (term, word), count in forms.items():
        by_term.setdefault(term, Counter())[word] += count
    ranked = sorted(by_term.items(), key=lambda item: (-item[1].total(), item[0]))
    return [(term, sorted(words.items(), key=lambda wc: (-wc[1], wc[0]))[:per_term])
            for term, words in ranked[:terms]]
