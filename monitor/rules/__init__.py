"""Watch rules: the query language, entities with aliases, and loading rule files.

``load_rules(path)`` reads every rule file under a directory into a :class:`RuleBook` (good
rules, entities and the problems found); :func:`monitor.match.compile_rules` compiles it.
The language is documented with examples in ``rules/README.md``.
"""

from __future__ import annotations

from monitor.rules.loader import load_rules
from monitor.rules.model import Alias, Entity, Example, Rule, RuleBook, RuleTests
from monitor.rules.query import Expr, parse_query
from monitor.rules.unicode61 import token_spans, tokenize

__all__ = [
    "Alias",
    "Entity",
    "Example",
    "Expr",
    "Rule",
    "RuleBook",
    "RuleTests",
    "load_rules",
    "parse_query",
    "token_spans",
    "tokenize",
]
