"""RE2 conditions: what is refused at load, the input cap, character offsets."""

from __future__ import annotations

import pytest

from monitor.errors import RuleError
from monitor.rules.regex import MAX_INPUT_BYTES, MAX_PATTERN_BYTES, Regex, cap_input, regex_problem


@pytest.mark.parametrize(("pattern", "problem"), [
    (r"(a)\1", "invalid escape sequence"),
    ("(?=x)", "invalid perl operator"),
    ("(?<!x)", "invalid perl operator"),
    ("a{1001}", "invalid repetition size"),
    ("(", "missing )"),
    ("", "is empty"),
    ("é" * (MAX_PATTERN_BYTES // 2 + 1), f"the limit is {MAX_PATTERN_BYTES}"),  # bytes, not chars
])
def test_patterns_re2_cannot_run_are_refused(pattern: str, problem: str) -> None:
    found = regex_problem(pattern)
    assert found is not None and problem in found
    with pytest.raises(RuleError):
        Regex(pattern)


def test_accepted_patterns_run_on_re2_with_character_offsets() -> None:
    assert regex_problem(r"^(a+)+$") is None and regex_problem("a{1000}") is None
    regex = Regex(r"(?i)qatar")
    assert regex.engine == "re2"
    assert regex.search("Doha, Катар — QATAR") == (14, 19)
    assert regex.search("Doha") is None


def test_input_is_capped_at_whole_characters() -> None:
    short = "é" * 10
    assert cap_input(short) is short
    capped = cap_input("é" * MAX_INPUT_BYTES)  # 2 bytes each
    assert len(capped) == MAX_INPUT_BYTES // 2
    assert len(cap_input("a" * (MAX_INPUT_BYTES + 1))) == MAX_INPUT_BYTES
    odd = cap_input("a" + "é" * MAX_INPUT_BYTES)  # the cut falls inside a character
    assert len(odd.encode()) == MAX_INPUT_BYTES - 1
