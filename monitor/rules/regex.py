"""Rule ``regex:`` conditions, run only with RE2 (google-re2): linear time in the input.

RE2 has no back-references or look-arounds, so patterns using them fail to compile and are
reported when the rules load. Patterns are capped at 1 KB and each field is searched over at
most its first 200 kB, so a condition costs a bounded, small time whatever the article.
"""

from __future__ import annotations

import re2

from monitor.errors import RuleError, RuleProblem

MAX_PATTERN_BYTES = 1024
MAX_INPUT_BYTES = 200_000

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every bad pattern to stderr


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a rule condition, or None when it compiles."""
    size = len(pattern.encode("utf-8"))
    if size > MAX_PATTERN_BYTES:
        return f"is {size} bytes long; the limit is {MAX_PATTERN_BYTES}"
    if not pattern:
        return "is empty"
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return f"is not valid RE2 syntax: {detail}"
    return None


def cap_input(text: str) -> str:
    """The first :data:`MAX_INPUT_BYTES` bytes of ``text`` (whole characters)."""
    if len(text) * 4 <= MAX_INPUT_BYTES:  # cannot be over the cap in UTF-8
        return text
    return text.encode("utf-8")[:MAX_INPUT_BYTES].decode("utf-8", "ignore")


class Regex:
    """A compiled condition; :meth:`search` gives character offsets of the first match."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        problem = regex_problem(pattern)
        if problem is not None:
            raise RuleError([RuleProblem("<regex>", 1, f"regex {pattern!r} {problem}")])
        self.pattern = pattern
        self._compiled = re2.compile(pattern, _OPTIONS)

    @property
    def engine(self) -> str:
        """The engine's module name (``re2``), for tests that prove no backtracking engine."""
        return type(self._compiled).__module__

    def search(self, text: str) -> tuple[int, int] | None:
        """Offsets of the first match within the capped ``text``, or None."""
        found = self._compiled.search(cap_input(text))
        return None if found is None else (found.start(), found.end())
