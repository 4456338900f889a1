"""The layout: one package per stage, layers that point down, public names between packages.

``lint-imports`` (import-linter, configured in ``pyproject.toml``) checks the layers, the
independence of the stage packages and the absence of import cycles; these tests run it on the
tree, prove it catches a wrong import, and check what import-linter cannot: which modules may
stay at the root and that packages use each other only through their ``__init__`` names.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
STAGES = ("net", "feeds", "extract", "rules", "stories", "store", "delivery", "daemon", "web",
          "cli")
ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py", "models.py", "text.py",
                "language.py", "language_codes.py",
                "yamldoc.py"}
FOUNDATION_PACKAGES = {"config"}  # foundation too, in two modules (settings, loading)


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_import_contracts_hold() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("store/__init__.py", "import monitor.daemon", "Layers point down"),
    ("rules/checks.py", "import monitor.delivery", "do not import each other"),
    ("rules/matcher.py", "import monitor.rules.checks", "No import cycles"),
])
def test_a_wrong_import_breaks_a_named_contract(tmp_path: Path, module: str, line: str,
                                                contract: str) -> None:
    shutil.copytree(REPO / "monitor", tmp_path / "monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "monitor" / module).open("a") as out:
        out.write(f"\n{line}  # the wrong import\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert line.rsplit(maxsplit=1)[-1].removeprefix("monitor.").split(".")[-1] in broken


def test_only_the_foundation_stays_at_the_root() -> None:
    root = REPO / "monitor"
    modules = {p.name for p in root.glob("*.py")}
    assert modules <= ROOT_MODULES, f"move {sorted(modules - ROOT_MODULES)} into a stage package"
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(STAGES) | FOUNDATION_PACKAGES


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return (parts[1] if len(parts) > 1 and parts[1] in (*STAGES, *FOUNDATION_PACKAGES)
            else None)


def test_packages_use_each_other_only_through_public_names() -> None:
    offenders = []
    for path in (REPO / "monitor").rglob("*.py"):
        own = _stage_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("monitor.")):
                continue
            stage = _stage_of(node.module)
            if stage is None or stage == own:
                continue
            if node.module != f"monitor.{stage}":
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.module}")
                continue
            public = set(importlib.import_module(node.module).__all__)
            offenders += [f"{path.relative_to(REPO)}:{node.lineno}: {alias.name} is not in "
                          f"monitor.{stage}.__all__"
                          for alias in node.names if alias.name not in public]
    assert offenders == []


@pytest.mark.parametrize("stage", STAGES)
def test_each_package_says_what_it_owns_and_must_not_import(stage: str) -> None:
    init = REPO / "monitor" / stage / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text())) or ""
    assert "Must not import" in doc or stage == "cli", f"{init}: say what it must not import"
    assert len(doc.split()) >= 20, f"{init}: say what the stage owns"
    module = importlib.import_module(f"monitor.{stage}")
    assert module.__all__, f"monitor.{stage} names its public surface in __all__"


def test_the_command_line_loads_no_stage_until_a_command_runs() -> None:
    # What keeps `monitor --help` fast (timed in tests/benchmarks/bench_cli.py): no heavy library.
    heavy = ["sqlalchemy", "alembic", "trafilatura", "apprise", "httpx2", "feedparser", "pydantic",
             "ahocorasick", "numpy", "rich", "jinja2", "apscheduler"]
    code = ("import sys, monitor.cli; "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.split() == []


# Each third-party library is imported in one module, so that a swap touches one file; a
# framework a whole package is built on (the database toolkit in store/, the command-line and
# web frameworks) in that one package. The libraries used in more than one place, and why:
LIBRARY_PACKAGES = {
    "sqlalchemy": "store", "alembic": "store", "typer": "cli", "rich": "cli",
    "starlette": "web", "httpx2": "net", "httpcore2": "net", "pydantic": "config",
    "apprise": "delivery/notify",
}
LIBRARY_SPREAD = {
    # arrays for three unrelated jobs (the language model's weights, the presearch bitsets,
    # the stories' MinHash): a module of its own would only rename numpy
    "numpy": {"language.py", "rules/presearch.py", "stories/minhash.py"},
    # the alerts' sandboxed templates and the web view's page templates: two environments
    # with nothing in common but the engine
    "jinja2": {"delivery/render/__init__.py", "delivery/render/sandbox.py", "web/context.py"},
    # the daemon's job scheduler, and the cron expressions of digest schedules
    "apscheduler": {"daemon/schedule.py", "delivery/policy.py"},
}


def _third_party_importers() -> dict[str, set[str]]:
    """Library -> the modules of monitor/ that import it (paths relative to monitor/)."""
    root = REPO / "monitor"
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top not in ("monitor", "__future__") and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(root)))
    return found


def test_each_library_is_imported_in_one_place() -> None:
    importers = _third_party_importers()
    assert "yaml" in importers and "feedparser" in importers  # the walk sees imports
    for library, modules in sorted(importers.items()):
        if library in LIBRARY_SPREAD:
            assert modules == LIBRARY_SPREAD[library], library
        elif library in LIBRARY_PACKAGES:
            package = LIBRARY_PACKAGES[library] + "/"
            assert all(m.startswith(package) for m in modules), (library, sorted(modules))
        else:
            assert len(modules) == 1, f"{library} is imported in {sorted(modules)}: one module"
