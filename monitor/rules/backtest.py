"""Backtests: what a rule set would have matched in the stored archive. Sends nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.models import Document, RuleHit
from monitor.rules.matcher import Matcher

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
