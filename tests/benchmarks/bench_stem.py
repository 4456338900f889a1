"""Stemming benchmark: what ``stem: true`` costs the matcher at 10,000 rules.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_stem.py [--shared ../shared] [--rules 10000]

The *own* workload of ``bench_match.py`` (10,000 rules of every shape, 1,000 entities, over
the 181 article bodies of the article-extraction benchmark) twice: as generated, and with
30 % of the rules (every rule whose index ends in 0, 1 or 2) ``stem: true`` without
``languages:``, so each stems its terms in all 35 languages. Each article carries its
language, detected once before timing, as the daemon stores it: the matcher only stems, it
does not detect. The two sets take turns on each article (best of 3 per article).

Targets (PASS/FAIL): the stemmed set's mean and median per article at most 1.2x the plain
set's (stemming costs at most 20 %); compile of the stemmed set <= 5 s. The table also shows
the hits of each set (stemming finds more: that is its purpose, and part of its cost), and
the ratio of the means as the daemon calls the matcher (``match_with_stems``: the hits and
the article's stems for the text index, which both sets compute; the stemmed set reuses the
stems it found its keys with), and the same given each article's
:func:`~monitor.rules.analyze_text` (what the daemon's extraction workers hand the matcher:
the body's token stream and stems, computed before timing as the workers compute them for
every article, stemmed rules or not).
Exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from monitor.language import detect_language  # noqa: E402
from monitor.models import Document  # noqa: E402
from monitor.rules import Rule, RuleBook, analyze_text  # noqa: E402
from monitor.rules.matcher import compile_rules  # noqa: E402
from tests.benchmarks.bench_match import generate, headline, load_bodies, time_matchers  # noqa: E402
from tests.benchmarks.fair import print_rows  # noqa: E402

TARGET_COST = 1.2
TARGET_COMPILE_S = 5.0
STEMMED_TENTHS = 3


def with_stemming(rules: list[Rule], tenths: int = STEMMED_TENTHS) -> list[Rule]:
    """The same rules, ``tenths`` in ten of them (spread evenly) with ``stem: true``."""
    return [Rule.from_query(r.id, r.query, stem=i % 10 < tenths) for i, r in enumerate(rules)]


def main(argv: list[str] | None = None) -> int:
    """Print the table; 1 if a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--rules", type=int, default=10_000)
    args = parser.parse_args(argv)
    bodies = load_bodies(args.shared)
    # Detected, as the daemon settles an undeclared article's language before it matches.
    docs = [Document(title=headline(b), body=b, language=detect_language(f"{headline(b)}\n{b}"),
                     language_detected=True)
            for b in bodies]
    generated = generate(bodies, args.rules)
    entities = tuple(generated.entities)
    start = time.perf_counter()
    plain = compile_rules(RuleBook(rules=tuple(generated.rules), entities=entities))
    plain_s = time.perf_counter() - start
    start = time.perf_counter()
    stemmed = compile_rules(RuleBook(rules=tuple(with_stemming(generated.rules)),
                                     entities=entities))
    stem_s = time.perf_counter() - start
    time_matchers([plain, stemmed], docs[:20], repeat=1)  # warm up (and learn the vocabulary)
    plain_ms, stem_ms = time_matchers([plain, stemmed], docs)
    daemon_ms = time_matchers([plain, stemmed], docs, with_stems=True)
    daemon_cost = statistics.fmean(daemon_ms[1]) / statistics.fmean(daemon_ms[0])
    # As the daemon calls it since the extraction workers analyze each text (token stream and
    # stems in the article's language, made in the worker, not timed here).
    analyses = [analyze_text(d.body, d.language) for d in docs]
    worker_ms = time_matchers([plain, stemmed], docs, with_stems=True, analyses=analyses)
    worker_cost = statistics.fmean(worker_ms[1]) / statistics.fmean(worker_ms[0])
    hits = [sum(len(m.match(d)) for d in docs) for m in (plain, stemmed)]
    mean_cost = statistics.fmean(stem_ms) / statistics.fmean(plain_ms)
    median_cost = statistics.median(stem_ms) / statistics.median(plain_ms)
    languages = Counter(d.language for d in docs).most_common(4)
    rows: list[tuple[str, str, str, bool | None]] = [
        (f"plain {args.rules} rules: mean / median ms per article",
         f"{statistics.fmean(plain_ms):.3f}/{statistics.median(plain_ms):.3f}", "-", None),
        (f"{STEMMED_TENTHS}0% stemmed: mean / median ms per article",
         f"{statistics.fmean(stem_ms):.3f}/{statistics.median(stem_ms):.3f}", "-", None),
        ("stemming cost, means", f"{mean_cost:.2f}x", f"<= {TARGET_COST}x",
         mean_cost <= TARGET_COST),
        ("stemming cost, medians", f"{median_cost:.2f}x", f"<= {TARGET_COST}x",
         median_cost <= TARGET_COST),
        ("as the daemon calls it (with the stems it stores), means",
         f"{daemon_cost:.2f}x", "-", None),
        ("the same, given the extraction worker's analysis, means",
         f"{worker_cost:.2f}x", "-", None),
        ("hits: plain / stemmed", f"{hits[0]}/{hits[1]}", "-", None),
        ("compile plain / stemmed (s)", f"{plain_s:.2f}/{stem_s:.2f}",
         f"<= {TARGET_COMPILE_S}", stem_s <= TARGET_COMPILE_S),
    ]
    print(f"{len(docs)} articles (languages {languages}), {args.rules} rules")
    return 1 if print_rows(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
