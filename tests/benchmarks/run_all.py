"""``make bench``: every ``tests/benchmarks/bench_*.py``, one after another, each in its own
process (so one benchmark's memory, worker pools and imports never colour the next).

Each benchmark prints its own table, with the peer baseline measured in the same run, and
exits 1 when it misses a target. This runner streams their output, then prints one summary
line per benchmark; it exits 1 if any benchmark failed. Extra arguments (for example
``--shared PATH``) are passed to every benchmark. The load average before the first
benchmark is printed first, with a warning when the machine is busy: alternating rounds keep
ratios fair between ours and the peer, but absolute times and cache effects still move with
the load. (Later, the benchmarks' own load shows in it.)

    .venv/bin/python tests/benchmarks/run_all.py [--shared ../shared]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUSY = 0.5  # load average per core above which the figures are not the machine's own


def load_line() -> str:
    """The 1-minute load average, and a warning when other work competes for the cores."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    warning = (f" -- BUSY (over {BUSY:g} per core): times below are not this machine's idle "
               "figures" if load > BUSY * cores else "")
    return f"load average {load:.2f} on {cores} cores{warning}"


def main(argv: list[str] | None = None) -> int:
    """Run each benchmark in turn; 0 when all met their targets."""
    extra = list(sys.argv[1:] if argv is None else argv)
    benchmarks = sorted(HERE.glob("bench_*.py"))
    outcomes: list[tuple[str, int, float]] = []
    before = load_line()
    print(f"before the benchmarks: {before}", flush=True)
    for path in benchmarks:
        print(f"\n=== {path.name} ===", flush=True)
        started = time.perf_counter()
        # The repository root as working directory: the benchmarks find ../shared from there.
        code = subprocess.call([sys.executable, str(path), *extra], cwd=HERE.parents[1])
        outcomes.append((path.name, code, time.perf_counter() - started))
    print(f"\n=== summary === (before the benchmarks: {before})")
    for name, code, seconds in outcomes:
        verdict = "PASS" if code == 0 else f"FAIL (exit {code})"
        print(f"{name:<28} {verdict:<16} {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
