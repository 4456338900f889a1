"""The rules package's public names, imported on first use (``monitor/rules/__init__.py``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import monitor.rules


def test_every_public_name_resolves_and_none_is_also_a_module_name() -> None:
    for name in monitor.rules.__all__:
        assert getattr(monitor.rules, name) is not None
        # A submodule of the same name would replace the package's attribute once imported
        # (``from monitor.rules import backtest`` would then give the module).
        assert importlib.util.find_spec(f"monitor.rules.{name}") is None, name


def test_the_workers_analyzer_loads_neither_the_store_nor_the_rule_loader() -> None:
    code = ("import sys; from monitor.rules import analyze_text; "
            "print(sorted(m for m in ('sqlalchemy', 'pydantic', 'yaml', 'ahocorasick') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
