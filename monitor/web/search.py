"""Search: an ad-hoc query in the rule language, run by the rules' own matcher.

The query is parsed by the rule parser and compiled into a one-rule matcher, so a search
finds exactly what a rule with that query would match. Candidates come from the store's
article index when it has one (:class:`monitor.store.TextIndex`), which only
narrows the articles the matcher reads; the matcher decides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from monitor.errors import QuerySyntaxError, RuleError
from monitor.language_codes import language_problem, normalize_language
from monitor.models import RuleHit
from monitor.rules import (
    Rule,
    RuleBook,
    compile_rules,
    query_notes,
    rule_yaml,
    search_articles,
)
from monitor.store import StoredArticle
from monitor.text import clean_text
from monitor.web.context import Web

SHOWN = 100


@dataclass(frozen=True)
class SearchResult:
    query: str
    found: tuple[tuple[StoredArticle, RuleHit], ...]
    total: int
    scanned: int
    seconds: float
    error: str | None = None
    indexed: bool = False
    notes: tuple[str, ...] = ()  # e.g. a lower-case "and", searched as a word


def run_search(web: Web, query: str, *, language: str | None = None,
               limit: int = SHOWN) -> SearchResult:
    """The stored articles that match ``query`` (newest first), at most ``limit`` of them."""
    started = time.perf_counter()
    if language and (problem := language_problem(language)) is not None:
        # a rule file refuses it: searched, it would silently match nothing
        return SearchResult(query, (), 0, 0, 0.0, error=f"language: {problem}")
    book = web.rules()
    try:
        rule = Rule.from_query("search", query, languages=_languages(language))
        matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
        outcome = search_articles(web.store, matcher, rule, book, limit=limit)
    except QuerySyntaxError as exc:
        return SearchResult(query, (), 0, 0, 0.0, error=str(exc))
    except RuleError as exc:  # e.g. an @entity no rule file defines
        return SearchResult(query, (), 0, 0, 0.0,
                            error="; ".join(p.message for p in exc.problems))
    return SearchResult(query, tuple(outcome.shown), outcome.total, outcome.scanned,
                        time.perf_counter() - started, indexed=outcome.indexed,
                        notes=tuple(query_notes(rule.expr)))


def search_query(text: str) -> str:
    """The query typed or pasted, cleaned as stored article text is (a soft hyphen copied
    from a page, a bidi mark: none is left in the articles it is matched against)."""
    return clean_text(text).strip()


def _languages(language: str | None) -> tuple[str, ...]:
    """The rule's ``languages`` for the language box, read as a rule file reads them
    (``ID``, ``id-ID``, ``ind`` and ``in`` are ``id``)."""
    code = normalize_language(language) if language else None
    return (code,) if code else ()


def saved_rule_yaml(query: str, language: str | None) -> str:
    """The YAML of a rule with this query, to paste into a file under the rules directory."""
    return rule_yaml(Rule.from_query("my-search", query, name="My search",
                                     languages=_languages(language)))
