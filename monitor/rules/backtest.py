"""Backtests: what a rule set would have matched in the stored archive. Sends nothing."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from monitor.models import Document, RuleHit
from monitor.rules.matcher import Matcher
from monitor.rules.model import Rule

if TYPE_CHECKING:  # the records only: matching itself needs no database
    from monitor.store import StoredArticle


@dataclass(frozen=True)
class BacktestMatch:
    article: StoredArticle
    hit: RuleHit


@dataclass
class BacktestReport:
    articles: int = 0
    matches: list[BacktestMatch] = field(default_factory=list)
    per_rule: Counter[str] = field(default_factory=Counter)
    per_day: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule, YYYY-MM-DD)


def backtest(matcher: Matcher, articles: Iterable[StoredArticle],
             progress: Callable[[int], None] | None = None) -> BacktestReport:
    """Match every article; count hits per rule and per (rule, day of publication)."""
    report = BacktestReport()
    for article in articles:
        report.articles += 1
        document = Document(title=article.title, body=article.text, language=article.language)
        day = (article.published or article.fetched_at).date().isoformat()
        for hit in matcher.match(document):
            report.matches.append(BacktestMatch(article, hit))
            report.per_rule[hit.rule_id] += 1
            report.per_day[(hit.rule_id, day)] += 1
        if progress is not None:
            progress(1)
    return report


@dataclass
class SearchOutcome:
    """What a search found: the newest ``limit`` matches shown, and how many there were."""

    shown: list[tuple[StoredArticle, RuleHit]] = field(default_factory=list)
    total: int = 0
    scanned: int = 0


class ArticleSource(Protocol):
    def articles(self, since: datetime | None = None,
                 batch: int = 500) -> Iterable[StoredArticle]: ...


def search_articles(store: ArticleSource, matcher: Matcher, rule: Rule, *,
                    limit: int = 100, since: datetime | None = None) -> SearchOutcome:
    """Every stored article ``matcher`` matches, newest first, at most ``limit`` kept.

    Articles come from the store's index candidates when it offers them (a superset of
    what the rule can match), else every stored article; the matcher decides either way.
    """
    outcome = SearchOutcome()
    kept: deque[tuple[StoredArticle, RuleHit]] = deque(maxlen=limit)
    candidates = getattr(store, "candidate_articles", None)
    source = (candidates(rule.expr, since=since) if candidates is not None
              else store.articles(since))
    if source is None:
        source = store.articles(since)
    for article in source:
        outcome.scanned += 1
        document = Document(title=article.title, body=article.text, language=article.language)
        for hit in matcher.match(document):
            outcome.total += 1
            kept.append((article, hit))
    outcome.shown = list(reversed(kept))
    return outcome
