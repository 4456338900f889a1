"""Backtests and searches: what rules match in the stored archive. Sends nothing.

Both read the store's text index first when it has one (:class:`monitor.store.TextIndex`):
each rule becomes an index query (FTS5 on SQLite, a tsquery on PostgreSQL) that finds a
superset of what it can match
(:func:`monitor.rules.candidates.candidate_query`), and only those articles go through the
matcher, which decides exactly as it does for new articles. Without an index, or for a rule
the index cannot narrow, every stored article is read. Reports keep counts and article ids,
never article texts, so memory stays flat however many articles match (and the words a
bounded sample of matches took in through stems and prefixes: :mod:`monitor.rules.forms`).
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from monitor.models import Document, RuleHit
from monitor.rules.candidates import candidate_query
from monitor.rules.forms import Form, WrittenForms
from monitor.rules.matcher import Matcher
from monitor.rules.model import Rule, RuleBook
from monitor.rules.stem import article_stems
from monitor.rules.unicode61 import tokenize
from monitor.store import Store, StoredArticle, TextIndex, asks_for_stems


@dataclass(frozen=True)
class BacktestMatch:
    """One (article, rule) match, handed to ``on_match`` as it is found (not kept)."""

    article: StoredArticle
    hit: RuleHit


@dataclass
class BacktestReport:
    articles: int = 0  # articles the matcher read
    matches: int = 0
    per_rule: Counter[str] = field(default_factory=Counter)
    per_day: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule, YYYY-MM-DD)
    # (8 bytes a match: a backtest of 10,000 common-word rules over 200,000 articles matches
    # about 6 million times, 210 MB as lists of ints)
    matched_ids: dict[str, array[int]] = field(
        default_factory=lambda: defaultdict(lambda: array("q")))
    indexed: bool = False  # the candidates came from the text index
    # Per rule, the words its terms matched that no alias or term writes (according, for
    # accord: what stems and prefixes took in), each counted once per article, over the
    # rule's first FORM_SAMPLE matches (when a WrittenForms is given).
    forms: dict[str, Counter[Form]] = field(default_factory=lambda: defaultdict(Counter))


# Matches per rule whose evidence is read for the forms. Counting needs no evidence, so a
# backtest matches those articles twice: bounded per rule, and for all rules together.
FORM_SAMPLE = 200
FORM_ARTICLES = 5_000


def backtest(matcher: Matcher, articles: Iterable[StoredArticle],
             progress: Callable[[int], None] | None = None,
             on_match: Callable[[BacktestMatch], None] | None = None,
             report: BacktestReport | None = None,
             written: WrittenForms | None = None) -> BacktestReport:
    """Match every article; count hits per rule and per (rule, day of publication); with
    ``written``, the words each rule matched through a stem or prefix (``report.forms``)."""
    report = report or BacktestReport()
    sampled = 0  # articles matched again for their evidence
    for article in articles:
        report.articles += 1
        document = article.document()
        day = (article.published or article.fetched_at).date().isoformat()
        hits: list[RuleHit] = []
        if on_match is None:  # counts only: no evidence to build, but for a sample of forms
            rule_ids = matcher.matching(document)
            if (written is not None and sampled < FORM_ARTICLES
                    and any(report.per_rule[r] < FORM_SAMPLE for r in rule_ids)):
                sampled += 1
                hits = matcher.match(document)
        else:
            hits = matcher.match(document)
            rule_ids = [hit.rule_id for hit in hits]
            for hit in hits:
                on_match(BacktestMatch(article, hit))
        if written is not None:
            for hit in hits:
                if report.per_rule[hit.rule_id] < FORM_SAMPLE:
                    report.forms[hit.rule_id].update(set(written.unwritten(hit)))
        for rule_id in rule_ids:
            report.matches += 1
            report.per_rule[rule_id] += 1
            report.per_day[(rule_id, day)] += 1
            report.matched_ids[rule_id].append(article.id)
        if progress is not None:
            progress(1)
    return report


def candidate_articles(store: Store, rules: Iterable[Rule], book: RuleBook,
                       since: datetime | None = None) -> tuple[Iterator[StoredArticle], bool]:
    """The stored articles ``rules`` can match (all of them without a usable index), oldest
    first, and whether the index narrowed them."""
    index, ids = _candidate_ids(store, rules, book, since)
    if ids is None:
        return iter(store.articles(since)), False
    return index.articles(ids), True


def _candidate_ids(store: Store, rules: Iterable[Rule], book: RuleBook,
                   since: datetime | None,
                   newest: int | None = None) -> tuple[TextIndex, list[int] | None]:
    """The text index, and the ids of the articles it finds for ``rules`` (ascending; the
    ``newest`` that many only), or None: no index, or a rule it cannot narrow."""
    index = TextIndex(store)
    queries = [candidate_query(rule, book, index.dialect) for rule in rules]
    if any(q is not None and asks_for_stems(q, index.dialect) for q in queries):
        index.catch_up_stems(article_stems)  # the stems of articles stored without them
    index.catch_up(tokenize)  # PostgreSQL: lexemes for the articles stored without them
    wanted: set[int] = set()
    for query in queries:
        ids = index.candidate_ids(query, since, newest)
        if ids is None:
            return index, None
        wanted.update(ids)
    return index, sorted(wanted)[-newest:] if newest is not None else sorted(wanted)


def backtest_store(store: Store, book: RuleBook, matcher: Matcher, since: datetime | None,
                   progress: Callable[[int], None] | None = None,
                   on_match: Callable[[BacktestMatch], None] | None = None) -> BacktestReport:
    """A backtest of ``book``'s rules over the store, through the text index when it can,
    with the words each rule's stems and prefixes took in (``forms``) unless ``on_match``
    takes each match's evidence itself."""
    articles, indexed = candidate_articles(store, book.rules, book, since)
    return backtest(matcher, articles, progress, on_match, BacktestReport(indexed=indexed),
                    WrittenForms(book) if on_match is None else None)


@dataclass
class SearchOutcome:
    """What a search found: the newest ``limit`` matches shown, and how many there were (or
    at least, when ``complete`` is false: the search stopped before the oldest candidate)."""

    shown: list[tuple[StoredArticle, RuleHit]] = field(default_factory=list)
    total: int = 0
    scanned: int = 0
    indexed: bool = False
    refused: bool = False  # full_scan=False, and the index cannot narrow the query
    complete: bool = True


def search_articles(store: Store, matcher: Matcher, rule: Rule, book: RuleBook, *,
                    limit: int = 100, since: datetime | None = None,
                    full_scan: bool = True, budget: int | None = None) -> SearchOutcome:
    """Every stored article ``matcher`` (compiled from ``rule``) matches, newest first; at
    most ``limit`` are kept with their texts, the rest only counted.

    ``full_scan=False``: a query the store's index cannot narrow (too many terms once
    entities and stems are expanded, too deep for FTS5's parser) is ``refused``, not answered
    by reading every article, which any visitor of the web view could otherwise start. A
    store without an index is still read in full: every query is, there.

    ``budget``: read the newest ``budget`` of the index's candidates only, newest first
    (``complete`` is false when there were more, and ``total`` counts the matches among
    those). A query of a word most articles have ("dan", "said") narrowed nothing and had
    the matcher read them all: 3 s at 50,000 articles, a minute at a million, per visitor.
    """
    newest = budget + 1 if budget is not None else None  # one more: were there more?
    index, ids = _candidate_ids(store, [rule], book, since, newest)
    if ids is None and not full_scan and index.available:
        return SearchOutcome(refused=True)
    outcome = SearchOutcome(indexed=ids is not None)
    newest_first = ids is not None and budget is not None
    if ids is not None and budget is not None:
        outcome.complete = len(ids) <= budget
        ids = ids[::-1][:budget]
    articles = store.articles(since) if ids is None else index.articles(ids)
    kept: deque[tuple[StoredArticle, Document]] = deque(maxlen=limit)
    for article in articles:
        outcome.scanned += 1
        document = article.document()
        if matcher.matching(document):  # the matcher has one rule
            outcome.total += 1
            if not newest_first or len(kept) < limit:  # the newest `limit`, either way
                kept.append((article, document))
    found = list(kept) if newest_first else list(reversed(kept))
    # Evidence (the highlights) only for the articles shown.
    outcome.shown = [(article, hit) for article, document in found
                     for hit in matcher.match(document)]
    return outcome
