"""Every case of the reliability and security catalogue (``../shared/docs/reliability-cases.md``)
has a test that names it: ``test_sec_<id>_...`` or ``test_<id>_...``, several ids joined by
``_`` (``test_sec_B6_F10_...``), as case H2 asks (changedetection.io names its advisory tests
the same way). A case added to the catalogue fails here until a test covers it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).parent
CASE_ROW = re.compile(r"^\| ([A-Z]\d+) \|", re.MULTILINE)
NAMED = re.compile(r"test_(?:sec_)?((?:[A-Z]\d+_)+)")


def named_cases() -> dict[str, list[str]]:
    """Case id -> the tests (``file::name``) whose names carry it."""
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                named = NAMED.match(node.name)
                if named:
                    for case in named.group(1).rstrip("_").split("_"):
                        found.setdefault(case, []).append(
                            f"{path.relative_to(TESTS)}::{node.name}")
    return found


def test_sec_H2_every_catalogue_case_has_a_named_test(shared_dir: Path) -> None:
    catalogue = (shared_dir / "docs" / "reliability-cases.md").read_text(encoding="utf-8")
    cases = CASE_ROW.findall(catalogue)
    assert len(cases) >= 60  # the table format is what this reads: fail if it changed
    named = named_cases()
    assert [case for case in cases if case not in named] == []
    # And no test names a case the catalogue does not have (a typo in an id).
    assert sorted(set(named) - set(cases)) == []
