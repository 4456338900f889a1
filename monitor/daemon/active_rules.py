"""The rules in force in the daemon, swapped whole when the rule files change.

A broken edit never leaves the daemon without rules: rules that load are used, and a rule
whose file now has a problem keeps its last good version until the file is fixed.

A rule whose ``notify:`` names a channel monitor.yaml does not define is such a problem too,
reported as ``path:line: message`` on every reload as ``monitor check`` reports it. Its last
good version stays in force; a rule that has none (new, or at start-up) is used as written:
its hits are stored and printed on the console, and when an edit fixes its channels the hits
it matched meanwhile are handed back by :meth:`ActiveRules.take_fixed` to be queued for the
channels it now names.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import RuleProblem
from monitor.models import RulePolicy
from monitor.rules import (
    Matcher,
    Rule,
    RuleBook,
    channel_problems,
    compile_rules,
    load_rules,
    rule_warnings,
)

log = logging.getLogger(__name__)


class ActiveRules:
    """Holds the compiled matcher; ``reload()`` is safe while other threads match."""

    def __init__(self, path: Path, channels: Collection[str] | None = None) -> None:
        """``channels``: the configured channel names ``notify:`` may use (None: unchecked)."""
        self.path = path
        self.channels = None if channels is None else frozenset(channels)
        self._lock = threading.Lock()
        self._book: RuleBook | None = None
        self._matcher: Matcher | None = None
        # Rules in force that name no deliverable channel, and since when (UTC).
        self._misrouted: dict[str, datetime] = {}
        self._fixed: list[tuple[Rule, datetime]] = []

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
        if self.channels is not None:
            book = self._check_channels(book, previous)
        if previous is not None and book.problems:
            book = _keep_last_good(previous, book)
        matcher = compile_rules(book)
        with self._lock:
            self._book = book
            self._matcher = matcher
            self._track_routes(book)
        for problem in book.problems:
            log.error("rule problem: %s", problem)
        for warning in rule_warnings(book):  # valid, but rarely what was meant
            log.warning("rule warning: %s", warning)
        rules, problems = len(book.rules), len(book.problems)
        log.info("rules loaded: %d rule%s from %s (%d problem%s)", rules,
                 "" if rules == 1 else "s", self.path, problems, "" if problems == 1 else "s")
        return list(book.problems)


    def take_fixed(self) -> list[tuple[Rule, datetime]]:
        """Rules whose channels an edit fixed, each with the time since when their hits had
        no channel to go to (those hits are to be queued now); cleared by the call."""
        with self._lock:
            fixed, self._fixed = self._fixed, []
            return fixed

    def _unknown(self, rule: Rule) -> bool:
        return self.channels is not None and any(n not in self.channels for n in rule.notify)

    def _check_channels(self, book: RuleBook, previous: RuleBook | None) -> RuleBook:
        """Add unknown ``notify:`` channels to the problems; a rule with a last good version
        is withdrawn so that version stays (see :func:`_keep_last_good`)."""
        assert self.channels is not None
        problems = channel_problems(book, self.channels)
        if not problems:
            return book
        bad = {p.rule_id for p in problems}
        good_before = {r.id for r in previous.rules if not self._unknown(r)} if previous else set()
        rules = tuple(r for r in book.rules if not (r.id in bad and r.id in good_before))
        return dataclasses.replace(book, rules=rules, problems=(*book.problems, *problems))

    def _track_routes(self, book: RuleBook) -> None:
        """Note rules that start or stop naming no deliverable channel (under the lock)."""
        now = datetime.now(UTC)
        in_force = {r.id: r for r in book.rules}
        for rule in in_force.values():
            if self._unknown(rule):
                self._misrouted.setdefault(rule.id, now)
        for rule_id, since in list(self._misrouted.items()):
            now_in_force = in_force.get(rule_id)
            if now_in_force is None or not self._unknown(now_in_force):
                del self._misrouted[rule_id]
                if now_in_force is not None:
                    self._fixed.append((now_in_force, since))


def _keep_last_good(previous: RuleBook, new: RuleBook) -> RuleBook:
    # A problem with a folder (the rules folder gone for a moment while a deploy replaces
    # it) covers every rule under it: dropping them all would match nothing meanwhile.
    broken_paths = {Path(p.path) for p in new.problems}
    broken_ids = {p.rule_id for p in new.problems if p.rule_id}
    have = {r.id for r in new.rules}
    kept = [r for r in previous.rules if r.id not in have
            and (r.id in broken_ids or _under(Path(r.path), broken_paths))]
    if not kept:
        return new
    entity_ids = {e.id for e in new.entities}
    entities = (*new.entities, *(e for e in previous.entities if e.id not in entity_ids))
    for rule in kept:
        log.warning("rule %s: keeping its last good version until %s is fixed", rule.id,
                    rule.path)
    return dataclasses.replace(new, rules=(*new.rules, *kept), entities=entities)


def _under(path: Path, broken: set[Path]) -> bool:
    return path in broken or any(parent in broken for parent in path.parents)
