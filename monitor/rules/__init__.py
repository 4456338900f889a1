"""Watch rules: the query language, entities with aliases, and loading rule files.

``load_rules(path)`` reads every rule file under a directory into a :class:`RuleBook` (good
rules, entities and the problems found); :func:`compile_rules` compiles it into a
:class:`Matcher`, pure logic with no I/O. :func:`backtest` replays rules over stored articles.
The language is documented with examples in ``rules/README.md``.
:func:`analyze_text` is what the extraction workers run on each text for the matcher.

Names are imported on first use, so the workers import the tokenizer and the stemmers
without the rule loader, the store or pydantic.

Must not import: net, feeds, extract, stories, delivery, daemon or cli. Uses the store (for
backtests) and the foundation's language codes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.rules.analysis import analyze_text
    from monitor.rules.candidates import candidate_query
    from monitor.rules.checks import (
        alias_problems,
        channel_problems,
        query_notes,
        rule_warnings,
        run_rule_tests,
    )
    from monitor.rules.expr import Expr, leaves
    from monitor.rules.forms import commonest_forms
    from monitor.rules.loader import load_rules
    from monitor.rules.matcher import Matcher, compile_rules
    from monitor.rules.model import Alias, Entity, Example, Rule, RuleBook, RuleTests
    from monitor.rules.query import parse_query, query_depth
    from monitor.rules.replay import (
        FORM_SAMPLE,
        BacktestMatch,
        BacktestReport,
        SearchOutcome,
        backtest,
        backtest_store,
        search_articles,
    )
    from monitor.rules.rulefile import rule_yaml
    from monitor.rules.spellings import inflection_note
    from monitor.rules.stem import article_stems
    from monitor.rules.typos import UnseenWord, unseen_words
    from monitor.rules.unicode61 import token_spans, tokenize

# Each public name and the module it lives in.
_MODULES: dict[str, str] = {
    "Alias": "monitor.rules.model",
    "alias_problems": "monitor.rules.checks",
    "analyze_text": "monitor.rules.analysis",
    "article_stems": "monitor.rules.stem",
    "backtest": "monitor.rules.replay",
    "backtest_store": "monitor.rules.replay",
    "BacktestMatch": "monitor.rules.replay",
    "BacktestReport": "monitor.rules.replay",
    "commonest_forms": "monitor.rules.forms",
    "FORM_SAMPLE": "monitor.rules.replay",
    "candidate_query": "monitor.rules.candidates",
    "channel_problems": "monitor.rules.checks",
    "compile_rules": "monitor.rules.matcher",
    "Entity": "monitor.rules.model",
    "Example": "monitor.rules.model",
    "inflection_note": "monitor.rules.spellings",
    "Expr": "monitor.rules.expr",
    "leaves": "monitor.rules.expr",
    "load_rules": "monitor.rules.loader",
    "Matcher": "monitor.rules.matcher",
    "parse_query": "monitor.rules.query",
    "query_depth": "monitor.rules.query",
    "query_notes": "monitor.rules.checks",
    "Rule": "monitor.rules.model",
    "rule_warnings": "monitor.rules.checks",
    "rule_yaml": "monitor.rules.rulefile",
    "RuleBook": "monitor.rules.model",
    "RuleTests": "monitor.rules.model",
    "run_rule_tests": "monitor.rules.checks",
    "search_articles": "monitor.rules.replay",
    "SearchOutcome": "monitor.rules.replay",
    "token_spans": "monitor.rules.unicode61",
    "tokenize": "monitor.rules.unicode61",
    "unseen_words": "monitor.rules.typos",
    "UnseenWord": "monitor.rules.typos",
}

__all__ = [
    "FORM_SAMPLE",
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
    "UnseenWord",
    "alias_problems",
    "analyze_text",
    "article_stems",
    "backtest",
    "backtest_store",
    "candidate_query",
    "channel_problems",
    "commonest_forms",
    "compile_rules",
    "inflection_note",
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
    "unseen_words",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value
