"""A rule as an index query: a query that finds every article the rule can match.

The rule language is FTS5's, and the matcher is differential-tested against SQLite FTS5 with
``tokenize='unicode61 remove_diacritics 2'``, so a full-text index with that tokenizer can
narrow the articles a search or a backtest reads. The query built here is a superset: what
FTS5 cannot say the same way is loosened, never tightened (the real matcher decides):

- ``@entity`` becomes an OR of its aliases' phrases (case-sensitive aliases folded);
- a phrase or alias searched with proclitics becomes an OR of its written forms;
- on SQLite, a token with ``е`` asks for its spellings with ``ё`` too, one ending in ``ي`` for
  its spelling with ``ى``, one with digits for its spellings in Arabic-Indic and Persian
  digits, and one with ``ا`` for its spellings with ``أ``, ``إ`` and ``آ`` (the matcher takes
  them as one; SQLite's tokenizer, which the index uses, does not); a token with more than
  :data:`~monitor.text.MAX_SPELLINGS` (five alefs, or 23 ``е``) is not narrowed;
- ``NEAR``/``SENTENCE`` become AND, column filters and ``^`` are dropped, ``a NOT b`` is ``a``;
- an AND keeps the conjuncts that narrow within :data:`MAX_TERMS` (the cheapest first);
- a stemmed word asks for itself or, in the index's ``stems`` (each article's stems in its own
  language, :mod:`monitor.store.textindex`), for its stem in any of the rule's stemmers: the
  matcher compares an article's stems with the word's in the article's language when the rule
  stems in it, and the words as written otherwise.

On PostgreSQL (``dialect="postgresql"``) the same structure becomes a ``tsquery`` over the
lexemes :func:`monitor.store.index_lexemes` stores: the text's tokens folded and cut exactly as
the matcher's tokenizer does (:mod:`monitor.rules.unicode61`), a phrase becomes an AND of its
tokens (the stored lexemes have no positions), a prefix token ``'tok':*``, and a token longer
than the stored lexemes a prefix of its stored cut. Loosened again, never tightened.
"""

from __future__ import annotations

from itertools import product
from math import prod

from monitor.rules.expr import And, EntityRef, Expr, Filter, Near, Not, Or, Phrase, Sentence
from monitor.rules.model import Rule, RuleBook, alias_proclitics, alias_stem
from monitor.rules.proclitics import written_forms
from monitor.rules.stem import stem_tokens, stemmers_for
from monitor.store import MAX_LEXEME, STEM_MARK, STEMS_COLUMN
from monitor.text import index_spellings

# A query longer than this (huge alias lists) is not worth the index. An entity's Arabic
# aliases with their proclitics, each in its spellings with أ, إ and آ, make thousands:
# FTS5 answers 9,300 of them (@country-us with proclitics) over 20,000 articles in 0.1 s.
MAX_TERMS = 10_000
MAX_PHRASE_SPELLINGS = 16  # of one phrase, as an OR of phrases (see _phrase)


class _NoQuery(Exception):
    """The expression has a part FTS5 cannot narrow safely."""


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _phrase(tokens: list[tuple[str, bool]]) -> tuple[str, int]:
    """A phrase as FTS5 says it, and how many terms that is. Each token in each spelling FTS5
    may have indexed it under (:func:`~monitor.text.index_spellings`: the matcher takes ``ё``
    as ``е``, a last ``ى`` as ``ي``, ``٢٨`` as ``28`` and ``أ`` as ``ا``, SQLite's tokenizer
    does not): an OR of phrases, or, past :data:`MAX_PHRASE_SPELLINGS` of them, an AND of
    each token's spellings (a superset: the order is lost)."""
    if not tokens:
        raise _NoQuery
    options = []
    for text, prefix in tokens:
        spellings = index_spellings(text)
        if spellings is None:  # too many to ask for (a word of many е's): no narrowing
            raise _NoQuery
        options.append([_quote(spelling) + ("*" if prefix else "") for spelling in spellings])
    if prod(map(len, options)) > MAX_PHRASE_SPELLINGS:
        return ("(" + " AND ".join("(" + " OR ".join(o) + ")" if len(o) > 1 else o[0]
                                   for o in options) + ")", sum(map(len, options)))
    forms = [parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"
             for parts in product(*options)]
    return forms[0] if len(forms) == 1 else "(" + " OR ".join(forms) + ")", len(forms)


def _lexeme(token: str, prefix: bool) -> str:
    if len(token) > MAX_LEXEME:  # stored cut to MAX_LEXEME characters: match the cut's prefix
        token, prefix = token[:MAX_LEXEME], True
    quoted = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + (":*" if prefix else "")


def _ts_phrase(tokens: list[tuple[str, bool]]) -> tuple[str, int]:
    # The tokens are folded already: the matcher compares these strings with the folded
    # tokens of a text, which are what the index stores.
    parts = [_lexeme(text, prefix) for text, prefix in tokens if text]
    if not parts or len(parts) < len(tokens):
        raise _NoQuery
    unique = list(dict.fromkeys(parts))
    return unique[0] if len(unique) == 1 else "(" + " & ".join(unique) + ")", 1


class _Builder:
    def __init__(self, rule: Rule, book: RuleBook, dialect: str) -> None:
        self.rule = rule
        self.book = book
        self.terms = 0
        self.postgres = dialect == "postgresql"
        self.phrase = _ts_phrase if self.postgres else _phrase
        self.and_, self.or_ = (" & ", " | ") if self.postgres else (" AND ", " OR ")
        self.stemmers = stemmers_for(rule.languages)

    def _count(self, n: int = 1) -> None:
        self.terms += n
        if self.terms > MAX_TERMS:
            raise _NoQuery

    def _stemmed(self, tokens: list[tuple[str, bool]]) -> str:
        """A stemmed phrase: each word, or one of its stems; a prefix stays as written."""
        parts = []
        for text, prefix in tokens:
            if not text:
                raise _NoQuery
            if prefix:
                parts.append(self._counted([(text, True)]))
                continue
            stems = dict.fromkeys(stem_tokens([text], s)[0] for s in self.stemmers)
            self._count(len(stems))
            if self.postgres:
                options = [_lexeme(text, False), *(_lexeme(STEM_MARK + s, False) for s in stems)]
            else:  # (the stems column holds the stems of folded tokens)
                options = [self._counted([(text, False)]),
                           *(f"{STEMS_COLUMN} : {_quote(s)}" for s in stems)]
            parts.append("(" + self.or_.join(dict.fromkeys(options)) + ")")
        return parts[0] if len(parts) == 1 else "(" + self.and_.join(parts) + ")"

    def _form(self, tokens: list[tuple[str, bool]], stemmed: bool) -> str:
        """One written form of a phrase or alias (counted toward MAX_TERMS)."""
        if stemmed:
            self._count()
            return self._stemmed(tokens)
        return self._counted(tokens)

    def _counted(self, tokens: list[tuple[str, bool]]) -> str:
        """A phrase's query, its terms counted toward MAX_TERMS."""
        query, terms = self.phrase(tokens)
        self._count(terms)
        return query

    def _any(self, alternatives: list[str]) -> str:
        unique = list(dict.fromkeys(alternatives))
        return unique[0] if len(unique) == 1 else "(" + self.or_.join(unique) + ")"

    def build(self, expr: Expr) -> str:
        if isinstance(expr, Phrase):
            tokens = [(t.text, t.prefix) for t in expr.tokens]
            return self._any([self._form(form, self.rule.stem)
                              for form in written_forms(tokens, self.rule.proclitics)])
        if isinstance(expr, EntityRef):
            entity = self.book.entity(expr.entity)
            if entity is None or not entity.aliases:
                raise _NoQuery
            alternatives = []
            for alias in entity.aliases:
                stemmed = alias_stem(alias, entity, rule=self.rule.stem)
                forms = written_forms(alias.pattern_tokens,
                                    alias_proclitics(alias, entity, rule=self.rule.proclitics))
                alternatives += [self._form(form, stemmed) for form in forms]
            return self._any(alternatives)
        if isinstance(expr, Near | Sentence):
            return "(" + self.and_.join(self.build(item) for item in expr.items) + ")"
        if isinstance(expr, Filter):
            return self.build(expr.child)
        if isinstance(expr, And):
            return self._conjunction(expr.children)
        if isinstance(expr, Or):
            return "(" + self.or_.join(self.build(c) for c in expr.children) + ")"
        if isinstance(expr, Not):
            return self.build(expr.left)
        raise _NoQuery  # a node this translation does not know: no narrowing

    def _conjunction(self, children: tuple[Expr, ...]) -> str:
        """An AND of the conjuncts that fit: any of them alone is a superset of the AND, so
        one the index cannot narrow is left out, and when all of them would pass
        :data:`MAX_TERMS` the cheapest are kept (the bundled Ukraine rule, stemmed in five
        languages, would otherwise have lost its narrowing to its Russia condition)."""
        before = self.terms
        built: list[tuple[int, int, str]] = []  # (terms, position, query)
        for position, child in enumerate(children):
            try:
                query: str | None = self.build(child)
            except _NoQuery:
                query = None
            cost, self.terms = self.terms - before, before  # counted below if kept
            if query is not None:
                built.append((cost, position, query))
        kept: list[tuple[int, str]] = []
        for cost, position, query in sorted(built):
            if self.terms + cost > MAX_TERMS:
                break
            self.terms += cost
            kept.append((position, query))
        if not kept:
            raise _NoQuery
        queries = [query for _, query in sorted(kept)]
        return queries[0] if len(queries) == 1 else "(" + self.and_.join(queries) + ")"


def candidate_query(rule: Rule, book: RuleBook, dialect: str = "sqlite") -> str | None:
    """An index query matching every article ``rule`` can match, or None (read them all):
    FTS5's query language on SQLite, a ``tsquery`` on PostgreSQL."""
    try:
        return _Builder(rule, book, dialect).build(rule.expr)
    except _NoQuery:
        return None
