"""Watch rules: the query language, entities with aliases, and loading rule files.

``load_rules(path)`` reads every rule file under a directory into a :class:`RuleBook` (good
rules, entities and the problems found); :func:`compile_rules` compiles it into a
:class:`Matcher`, pure logic with no I/O. :func:`backtest` replays rules over stored articles.
The language is documented with examples in ``rules/README.md``.

Must not import: net, feeds, extract, stories, delivery, daemon or cli. Uses the store (for
backtests) and the foundation's language codes.
"""

from __future__ import annotations

from monitor.rules.backtest import (
    BacktestMatch,
    BacktestReport,
    SearchOutcome,
    backtest,
    backtest_store,
    search_articles,
)
from monitor.rules.candidates import candidate_query
from monitor.rules.checks import (
    alias_problems,
    channel_problems,
    query_notes,
    rule_warnings,
    run_rule_tests,
)
from monitor.rules.expr import Expr, leaves
from monitor.rules.loader import load_rules
from monitor.rules.matcher import Matcher, compile_rules
from monitor.rules.model import Alias, Entity, Example, Rule, RuleBook, RuleTests
from monitor.rules.query import parse_query, query_depth
from monitor.rules.rulefile import rule_yaml
from monitor.rules.stem import article_stems
from monitor.rules.unicode61 import token_spans, tokenize

__all__ = [
    "Alias",
    "BacktestMatch",
    "BacktestReport",
    "Entity",
    "Example",
    "Expr",
    "Matcher",
    "Rule",
    "RuleBook",
    "RuleTests",
    "SearchOutcome",
    "alias_problems",
    "article_stems",
    "backtest",
    "backtest_store",
    "candidate_query",
    "channel_problems",
    "compile_rules",
    "leaves",
    "load_rules",
    "parse_query",
    "query_depth",
    "query_notes",
    "rule_warnings",
    "rule_yaml",
    "run_rule_tests",
    "search_articles",
    "token_spans",
    "tokenize",
]
