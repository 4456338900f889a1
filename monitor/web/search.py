"""Search: an ad-hoc query in the rule language, run by the rules' own matcher.

The query is parsed by the rule parser and compiled into a one-rule matcher, so a search
finds exactly what a rule with that query would match. Candidates come from the store's
article index when it has one (:class:`monitor.store.TextIndex`), which only
narrows the articles the matcher reads; the matcher decides.

Any visitor may type a query, so none may make the search read every stored article (tens of
seconds on a large archive): a query over :data:`MAX_TERMS` terms or :data:`MAX_DEPTH` levels
is refused before it runs (FTS5's parser refuses brackets about 33 deep, and the index query
stops narrowing past 10,000 terms), and so is any query the index cannot narrow. The
candidates are read newest first, :data:`READ_BUDGET` at most: a word most articles have
narrows nothing. Rule files keep the parser's own, larger limits.
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
    inflection_note,
    leaves,
    query_depth,
    query_notes,
    rule_yaml,
    search_articles,
)
from monitor.store import StoredArticle, TextIndex
from monitor.text import clean_prose
from monitor.web.context import Web

SHOWN = 100
# Far above real queries (the bundled rules hold 20 terms, 5 levels) and within what the
# index answers whatever a query's @entities and stems expand to (see the module's doc).
MAX_TERMS = 500
MAX_DEPTH = 20
# The most articles one search reads, newest first (about 0.6 s): it stops there and says
# how far it got.
READ_BUDGET = 10_000
# A stemmed search first computes the stems of the articles stored without them (normally
# none: the daemon stores them, `monitor db upgrade` computes the rest; 0.4 ms each). The
# count offered beside an unstemmed search is skipped when more than this many wait.
STEMS_TO_COMPUTE = 2_000


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
    complete: bool = True  # False: stopped before the oldest candidate (total is "at least")
    stemmed_total: int | None = None  # more matches with stemming (offered when it was off)
    stemmed_complete: bool = True


def run_search(web: Web, query: str, *, language: str | None = None, stem: bool = False,
               limit: int = SHOWN, proclitics: bool = False) -> SearchResult:
    """The stored articles that match ``query`` (newest first), at most ``limit`` of them;
    ``stem`` compares words by their stems, as a rule's ``stem: true``, and ``proclitics``
    finds Arabic and Hebrew words with a proclitic joined, as a rule's ``proclitics: true``."""
    started = time.perf_counter()
    if language and (problem := language_problem(language)) is not None:
        # a rule file refuses it: searched, it would silently match nothing
        return SearchResult(query, (), 0, 0, 0.0, error=f"language: {problem}")
    book = web.rules()
    try:
        rule = Rule.from_query("search", query, languages=_languages(language), stem=stem,
                               proclitics=proclitics)
        if (problem := _size_problem(rule)) is not None:
            return SearchResult(query, (), 0, 0, 0.0, error=problem)
        matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
        outcome = search_articles(web.store, matcher, rule, book, limit=limit,
                                  full_scan=False, budget=READ_BUDGET)
        stemmed = None
        if (not stem and not outcome.refused
                and (outcome.total == 0 or inflection_note(rule.expr, rule.languages))
                and TextIndex(web.store).stems_pending() <= STEMS_TO_COMPUTE):
            # Counted only; not while a stemmed search would first compute many stems.
            stemmed = run_search(web, query, language=language, stem=True, limit=0,
                                 proclitics=proclitics)
    except QuerySyntaxError as exc:
        return SearchResult(query, (), 0, 0, 0.0, error=str(exc))
    except RuleError as exc:  # e.g. an @entity no rule file defines
        return SearchResult(query, (), 0, 0, 0.0,
                            error="; ".join(p.message for p in exc.problems))
    if outcome.refused:
        return SearchResult(query, (), 0, 0, time.perf_counter() - started, error=(
            "the text index cannot narrow this query, and a search does not read every "
            "article: use fewer terms (each @entity counts all its aliases; with stemming, "
            "each word its stems in every language searched, which a language narrows; with "
            "the prefixes box, each Arabic or Hebrew word its 12 to 26 written forms)"))
    more = stemmed is not None and stemmed.error is None and stemmed.total > outcome.total
    return SearchResult(query, tuple(outcome.shown), outcome.total, outcome.scanned,
                        time.perf_counter() - started, indexed=outcome.indexed,
                        notes=tuple(query_notes(rule.expr, query)),
                        complete=outcome.complete,
                        stemmed_total=stemmed.total if stemmed and more else None,
                        stemmed_complete=stemmed.complete if stemmed and more else True)


def _size_problem(rule: Rule) -> str | None:
    """Why the query is too large for a search, or None."""
    terms = len(leaves(rule.expr))
    if terms > MAX_TERMS:
        return (f"the query has {terms:,} terms; a search takes at most {MAX_TERMS} "
                "(terms, phrases and @entities)")
    depth = query_depth(rule.expr)
    if depth > MAX_DEPTH:
        return (f"the query is nested {depth} levels deep; a search takes at most {MAX_DEPTH} "
                "(brackets, and NOTs chained)")
    return None


def search_query(text: str) -> str:
    """The query typed or pasted, cleaned as stored article text is (a soft hyphen copied
    from a page, a bidi mark: none is left in the articles it is matched against)."""
    return clean_prose(text).strip()


def _languages(language: str | None) -> tuple[str, ...]:
    """The rule's ``languages`` for the language box, read as a rule file reads them
    (``ID``, ``id-ID``, ``ind`` and ``in`` are ``id``)."""
    code = normalize_language(language) if language else None
    return (code,) if code else ()


def saved_rule_yaml(query: str, language: str | None, stem: bool = False,
                    proclitics: bool = False) -> str:
    """The YAML of a rule with this query, to paste into a file under the rules directory."""
    return rule_yaml(Rule.from_query("my-search", query, name="My search",
                                     languages=_languages(language), stem=stem,
                                     proclitics=proclitics))
