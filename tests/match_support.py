"""A brute-force reference for rule matching: the query tree evaluated directly on tokens.

No automaton, no presearch, no caching: phrases by scanning every position, NEAR by trying
every combination of occurrences. Tests compare the real matcher with it.
"""

from __future__ import annotations

from itertools import product

from monitor.language import document_language, language_matches, short_text_guesses
from monitor.models import Document
from monitor.rules import Rule, RuleBook
from monitor.rules.expr import (
    FIELDS,
    And,
    EntityRef,
    Expr,
    Filter,
    Near,
    Not,
    Or,
    Phrase,
    Sentence,
)
from monitor.rules.regex import Regex
from monitor.rules.sentences import sentence_ids
from monitor.rules.stem import stem_tokens, stemmer_for, stemmers_for
from monitor.rules.unicode61 import case_key, split_tokens, token_spans, tokenize

Occ = tuple[int, int]  # (start, length)


class RefDoc:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.texts = (doc.title, doc.body)
        self.tokens = [tokenize(t) for t in self.texts]
        self.spans = [token_spans(t) for t in self.texts]
        # The language decision itself is tests/test_language.py's: taken as the matcher's.
        self.language, self.detected = document_language(doc.title, doc.body, doc.language,
                                                         doc.language_detected)

        self.stemmers: tuple[str, ...] = ()  # the rule's stemmers, set by reference_match

    def stems(self, field: int) -> list[str] | None:
        stemmer = stemmer_for(self.language)
        if stemmer is None or stemmer not in self.stemmers:
            return None
        return stem_tokens(self.tokens[field], stemmer)


def _phrase_occ(words: list[tuple[str, bool]], doc: RefDoc, field: int, stem: bool,
                caret: bool, case: tuple[str, ...] | None, case_prefix: bool = False
                ) -> list[Occ]:
    tokens = doc.tokens[field]
    stems = doc.stems(field) if stem and case is None else None
    stemmer = stemmer_for(doc.language)
    out = []
    n = len(words)
    for p in range(len(tokens) - n + 1):
        ok = True
        for k, (word, prefix) in enumerate(words):
            tok = tokens[p + k]
            if prefix:
                ok = tok.startswith(word)
            elif stems is not None and stemmer is not None:
                ok = stems[p + k] == stem_tokens([word], stemmer)[0]
            else:
                ok = tok == word
            if not ok:
                break
        if ok and caret and p != 0:
            ok = False
        if ok and case is not None:
            text, spans = doc.texts[field], doc.spans[field]
            written = [case_key(text[a:b]) for a, b in spans[p:p + n]]
            if case_prefix:
                ok = written[:-1] == list(case[:-1]) and written[-1].startswith(case[-1])
            else:
                ok = tuple(written) == case
        if ok:
            out.append((p, n))
    return out


def _item_occ(item: Phrase | EntityRef, book: RuleBook, doc: RefDoc, field: int,
              stem: bool) -> list[Occ]:
    if isinstance(item, Phrase):
        return _phrase_occ([(t.text, t.prefix) for t in item.tokens], doc, field, stem,
                           item.caret, None)
    entity = book.entity(item.entity)
    assert entity is not None
    out: list[Occ] = []
    for alias in entity.aliases:
        case = alias.case_tokens if alias.case_sensitive else None
        own = alias.stem if alias.stem is not None else entity.stem
        out += _phrase_occ(alias.pattern_tokens, doc, field, stem if own is None else own,
                           item.caret, case, alias.prefix)
    return out


def _near(slots: list[list[Occ]], distance: int) -> bool:
    for combo in product(*slots):
        last = max(p for p, _ in combo)
        if all(p + n + distance >= last for p, n in combo):
            return True
    return False


def evaluate(expr: Expr, book: RuleBook, doc: RefDoc, fields: frozenset[str],
             stem: bool) -> bool:
    """Whether ``expr`` matches, searching only ``fields``."""
    idx = [i for i, name in enumerate(FIELDS) if name in fields]
    if isinstance(expr, Phrase | EntityRef):
        return any(_item_occ(expr, book, doc, f, stem) for f in idx)
    if isinstance(expr, Sentence):
        for f in idx:
            ids = sentence_ids(split_tokens(doc.texts[f]))
            per_item = [{ids[p] for p, n in _item_occ(item, book, doc, f, stem)
                         if ids[p] == ids[p + n - 1]} for item in expr.items]
            if set.intersection(*per_item):
                return True
        return False
    if isinstance(expr, Near):
        return any(_near([_item_occ(item, book, doc, f, stem) for item in expr.items],
                         expr.distance) for f in idx)
    if isinstance(expr, Filter):
        return evaluate(expr.child, book, doc, fields & expr.columns, stem)
    if isinstance(expr, And):
        return all(evaluate(c, book, doc, fields, stem) for c in expr.children)
    if isinstance(expr, Or):
        return any(evaluate(c, book, doc, fields, stem) for c in expr.children)
    assert isinstance(expr, Not)
    return (evaluate(expr.left, book, doc, fields, stem)
            and not evaluate(expr.right, book, doc, fields, stem))


def reference_match(rule: Rule, book: RuleBook, doc: Document) -> bool:
    """Whether ``rule`` matches ``doc``, by brute force."""
    ref = RefDoc(doc)
    ref.stemmers = stemmers_for(rule.languages)
    if not evaluate(rule.expr, book, ref, frozenset(FIELDS), rule.stem):
        return False
    if rule.languages and not language_matches(
            frozenset(rule.languages), ref.language, detected=ref.detected,
            guesses=short_text_guesses(doc.title or "", doc.body or "")):
        return False
    return all(any(Regex(p).search(t) is not None for t in ref.texts) for p in rule.regex)
