"""Every benchmark runs to its table at a small size, so none breaks unnoticed.

`make bench` is not part of the suite (it takes many minutes and its figures need an idle
machine), and benchmarks broke silently before: one queried a column its older schema lacks,
one took the daemon's per-cycle entry cap for missing pages, one refused the `--shared`
argument `run_all.py` passes to every benchmark. Each runs here as `run_all.py` runs it (its
own process, from the repository root, with `--shared`), on a workload small enough for the
suite. Where the target is a quality (F1, recall, precision) it must hold: exit 0. Elsewhere
the exit code may be 1 (a speed target missed at that size, on a busy machine, means
nothing), but not a crash.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# A small workload for each benchmark; a new one must be given one here.
SMALL: dict[str, list[str]] = {
    "bench_cli.py": ["--rounds", "1"],
    "bench_cycle.py": ["--feeds", "8", "--rounds", "1"],
    "bench_extract.py": [],
    "bench_growth.py": ["--articles", "100"],
    "bench_hits.py": ["--hits", "300", "--rounds", "2"],
    "bench_match.py": ["--rules", "200"],
    "bench_pipeline_f1.py": [],
    "bench_rules.py": ["--rules", "200", "--rounds", "1"],
    "bench_rules_quality.py": ["--rules", "200"],
    "bench_stem.py": ["--rules", "200"],
    "bench_stories.py": ["--rounds", "2"],
    "bench_web.py": ["--articles", "500", "--hits", "200", "--rounds", "1"],
}
# Quality targets, which hold at any size and load (or a report with no target at all).
MUST_PASS = {"bench_extract.py", "bench_growth.py", "bench_pipeline_f1.py",
             "bench_rules_quality.py"}


def test_every_benchmark_has_a_small_workload() -> None:
    assert sorted(p.name for p in HERE.glob("bench_*.py")) == sorted(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_benchmark_runs(name: str, shared_dir: Path, repo_root: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / name), "--shared", str(shared_dir), *SMALL[name]],
        cwd=repo_root, capture_output=True, text=True, timeout=240, check=False)
    allowed = (0,) if name in MUST_PASS else (0, 1)
    assert done.returncode in allowed and "Traceback" not in done.stderr, (
        f"{name} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    assert done.stdout.strip(), f"{name} printed nothing"
