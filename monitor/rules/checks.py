"""Checks ``monitor check`` runs beyond loading: rule test examples and channel names."""

from __future__ import annotations

from collections.abc import Collection

from monitor.errors import RuleProblem
from monitor.rules.matcher import Matcher
from monitor.rules.model import RuleBook


def run_rule_tests(book: RuleBook, matcher: Matcher) -> list[RuleProblem]:
    """Run every rule's ``tests:`` examples; one problem per example that does not hold.

    An example without ``lang`` is checked against the query (and regex conditions) only:
    the ``languages`` filter is applied when the example declares its language.
    """
    problems = []
    for rule in book.rules:
        for expected, examples in ((True, rule.tests.match), (False, rule.tests.no_match)):
            for n, example in enumerate(examples, 1):
                hit = matcher.match_rule(rule.id, example.document(),
                                         check_languages=example.language is not None)
                if expected and hit is None:
                    message = f"rule {rule.id}: match example {n} {example.label()} does not match"
                elif not expected and hit is not None:
                    terms = ", ".join(dict.fromkeys(e.term for e in hit.evidence))
                    message = (f"rule {rule.id}: no_match example {n} {example.label()} matches "
                               f"(on {terms})")
                else:
                    continue
                problems.append(RuleProblem(rule.path, example.line, message, rule.id))
    return problems


def channel_problems(book: RuleBook, channels: Collection[str]) -> list[RuleProblem]:
    """Rules whose ``notify:`` names a channel the configuration does not define."""
    known = ", ".join(sorted(channels)) or "none"
    return [RuleProblem(rule.path, rule.line,
                        f"rule {rule.id}: notify: unknown channel {name!r} (configured: {known})",
                        rule.id)
            for rule in book.rules for name in rule.notify if name not in channels]
