"""The rules in force in the daemon, swapped whole when the rule files change.

A broken edit never leaves the daemon without rules: rules that load are used, and a rule
whose file now has a problem keeps its last good version until the file is fixed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

from monitor.errors import RuleProblem
from monitor.models import RulePolicy
from monitor.rules import Matcher, RuleBook, compile_rules, load_rules

log = logging.getLogger(__name__)


class ActiveRules:
    """Holds the compiled matcher; ``reload()`` is safe while other threads match."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._book: RuleBook | None = None
        self._matcher: Matcher | None = None

    def matcher(self) -> Matcher:
        with self._lock:
            if self._matcher is None:
                raise RuntimeError("rules were not loaded; call reload() first")
            return self._matcher

    def book(self) -> RuleBook | None:
        with self._lock:
            return self._book

    def delivery(self, rule_id: str) -> RulePolicy:
        """The rule's own delivery settings (the channel's apply where it has none)."""
        book = self.book()
        rule = book.rule(rule_id) if book is not None else None
        if rule is None:
            return RulePolicy()
        return RulePolicy(delivery=rule.delivery, max_per_hour=rule.max_per_hour)

    def reload(self) -> list[RuleProblem]:
        """Load the rule files, keep last good versions of broken rules, swap the matcher.

        Returns the problems found (each ``path:line: message``), which are also logged.
        """
        book = load_rules(self.path)
        previous = self.book()
        if previous is not None and book.problems:
            book = _keep_last_good(previous, book)
        matcher = compile_rules(book)
        with self._lock:
            self._book = book
            self._matcher = matcher
        for problem in book.problems:
            log.error("rule problem: %s", problem)
        log.info("rules loaded: %d rules from %s (%d problems)", len(book.rules), self.path,
                 len(book.problems))
        return list(book.problems)


def _keep_last_good(previous: RuleBook, new: RuleBook) -> RuleBook:
    broken_files = {p.path for p in new.problems}
    broken_ids = {p.rule_id for p in new.problems if p.rule_id}
    have = {r.id for r in new.rules}
    kept = [r for r in previous.rules if r.id not in have
            and (r.id in broken_ids or str(r.path) in broken_files)]
    if not kept:
        return new
    entity_ids = {e.id for e in new.entities}
    entities = (*new.entities, *(e for e in previous.entities if e.id not in entity_ids))
    for rule in kept:
        log.warning("rule %s: keeping its last good version until %s is fixed", rule.id,
                    rule.path)
    return dataclasses.replace(new, rules=(*new.rules, *kept), entities=entities)
