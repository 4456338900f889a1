"""Command-line start-up benchmark: ``monitor --help`` against ``python -c pass``.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_cli.py [--rounds 15]

Both commands run as fresh processes of the same interpreter, in alternating rounds (so both
see the same load on the machine), and the table gives best-of, median, mean and p99 wall time
of each. ``python -c pass`` is the floor any Python command pays; ``monitor --help`` adds
Typer, click and the command modules, but no stage (the CLI imports a stage only when a
command runs). Target: ``monitor --help`` under 0.3 s at the median. Exits 1 when missed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 0.3


def _time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def _row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"{name:<22} {min(samples) * 1000:8.0f} {statistics.median(samples) * 1000:8.0f} "
            f"{statistics.fmean(samples) * 1000:8.0f} {p99 * 1000:8.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--shared", help="ignored; accepted like the other benchmarks")
    args = parser.parse_args(argv)
    commands = {
        "python -c pass (peer)": [sys.executable, "-c", "pass"],
        "monitor --help": [sys.executable, "-m", "monitor", "--help"],
    }
    for argv_ in commands.values():  # warm the file cache and the bytecode once
        _time(argv_)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv_ in commands.items():
            samples[name].append(_time(argv_))
    print(f"{'command':<22} {'best ms':>8} {'med ms':>8} {'mean ms':>8} {'p99 ms':>8}")
    for name, values in samples.items():
        print(_row(name, values))
    ours = statistics.median(samples["monitor --help"])
    floor = statistics.median(samples["python -c pass (peer)"])
    verdict = "PASS" if ours < TARGET_SECONDS else "FAIL"
    print(f"monitor --help median {ours:.3f} s ({ours - floor:.3f} s over the interpreter's "
          f"start); target < {TARGET_SECONDS} s: {verdict}")
    return 0 if ours < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
