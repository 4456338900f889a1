"""Security floors of dependencies (reliability cases B6 and F10): declared in
``pyproject.toml`` so that no install can pick an older release, and met by the one installed.

- lxml >= 6.1.0 (CVE-2026-41066): trafilatura parses every article page with it;
- Jinja2 >= 3.1.6: the sandbox that renders feed text in notifications and pages (earlier
  3.1 releases let a template escape the sandbox).
"""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

# distribution -> (the floor, the release just below it, which must be excluded)
FLOORS = {"lxml": ("6.1.0", "6.0.4"), "jinja2": ("3.1.6", "3.1.5")}


def _declared(repo_root: Path) -> dict[str, Requirement]:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [Requirement(r) for r in project["project"]["dependencies"]]
    return {r.name.lower(): r for r in requirements}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_sec_B6_F10_the_floor_is_declared_and_installed(repo_root: Path, name: str) -> None:
    floor, below = FLOORS[name]
    requirement = _declared(repo_root).get(name)
    assert requirement is not None, f"{name} is not a declared dependency"
    assert requirement.specifier.contains(floor)
    assert not requirement.specifier.contains(below), f"{requirement} admits {below}"
    assert Version(version(name)) >= Version(floor)
