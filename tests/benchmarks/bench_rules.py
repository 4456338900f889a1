"""Rule-loading benchmark: 10,000 rules read from YAML and compiled, ours against the peer.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_rules.py [--shared ../shared] [--rules 10000]

The rule set is the matching benchmark's (``bench_match.generate``: 10,000 rules of every
shape, 1,000 entities with 3 aliases each), written as one YAML file. Ours is
``load_rules`` (PyYAML on libyaml's C parser, ``yaml.CSafeLoader``) plus ``compile_rules``.
The peer does exactly the same work, in the same process, with PyYAML's pure-Python parser
(``yaml.SafeLoader``, what the loader used before): same file, same validation, same
compile. The two alternate for ``--rounds`` rounds (the first one swapped each round) and
each is reported as best-of and median, in CPU seconds of this single-threaded process (its
wall time on an idle core; CPU time is what other load on a shared machine disturbs least).
Target: our load + compile <= 1.5 s, best of the rounds. Exits 1 when it is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

import yaml  # noqa: E402

from monitor import yamldoc  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.rules.matcher import compile_rules  # noqa: E402
from tests.benchmarks.bench_match import generate, load_bodies  # noqa: E402
from tests.benchmarks.fair import Stats, alternate, print_rows  # noqa: E402

TARGET_S = 1.5


def write_rules(path: Path, bodies: list[str], n_rules: int) -> None:
    generated = generate(bodies, n_rules)
    lines = ["entities:"]
    for entity in generated.entities:
        aliases = ", ".join(json.dumps(a.text) for a in entity.aliases)
        lines += [f"  - id: {entity.id}", "    type: concept", f"    aliases: [{aliases}]"]
    lines.append("rules:")
    for rule in generated.rules:
        lines += [f"  - id: {rule.id}", f"    name: Rule {rule.id}",
                  f"    query: {json.dumps(rule.query)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_and_compile(rules_dir: Path, parser: Any, n_rules: int) -> float:
    saved = yamldoc.Loader
    yamldoc.Loader = parser
    try:
        started = time.process_time()
        book = load_rules(rules_dir)
        compile_rules(book)
        seconds = time.process_time() - started
    finally:
        yamldoc.Loader = saved
    assert len(book.rules) == n_rules and not book.problems, book.problems[:3]
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Print the table; 1 if the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not hasattr(yaml, "CSafeLoader"):
        print("bench_rules: FAIL: PyYAML here has no libyaml (yaml.CSafeLoader)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp)
        write_rules(rules_dir / "rules.yaml", load_bodies(args.shared), args.rules)
        ours, peer = alternate(
            lambda: load_and_compile(rules_dir, yaml.CSafeLoader, args.rules),
            lambda: load_and_compile(rules_dir, yaml.SafeLoader, args.rules), args.rounds)
    mine, theirs = Stats.of(ours), Stats.of(peer)
    print(f"{args.rules} rules, 1,000 entities x 3 aliases, one YAML file; {args.rounds} "
          "alternating rounds in this process; peer = the same load + compile on PyYAML's "
          "pure-Python parser")
    return 1 if print_rows([
        ("ours (libyaml): load + compile, best CPU s", f"{mine.best:.2f}", f"<= {TARGET_S}",
         mine.best <= TARGET_S),
        ("ours (libyaml): load + compile, median CPU s", f"{mine.median:.2f}", "-", None),
        ("peer (pure-Python YAML): load + compile, best CPU s", f"{theirs.best:.2f}", "-", None),
        ("peer (pure-Python YAML): load + compile, median CPU s", f"{theirs.median:.2f}", "-",
         None),
        ("peer / ours (median)", f"{theirs.median / mine.median:.2f}x", "-", None),
    ]) else 0


if __name__ == "__main__":
    sys.exit(main())
