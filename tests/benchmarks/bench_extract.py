"""Article-extraction benchmark: token F1 and throughput on all 181 benchmark pages.

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_extract.py [--shared ../shared] [--per-page]

Rows:

(a) ``trafilatura.extract`` with default options in one process: the peer baseline;
(b) our :func:`monitor.extract.extractor.extract_html` in one process;
(c) our :class:`monitor.extract.extractor.Extractor` on every core (killable worker processes).

F1 is the scrapinghub article-extraction-benchmark measure: precision and recall over the
multiset of whitespace-separated tokens of the extracted text against ``articleBody``,
averaged over pages. The target for our extractor is a mean F1 of at least 0.95.
Exits 1 when (b) or (c) misses the target.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

# The baseline row needs plain trafilatura; the package itself imports it only in extract.py.
import trafilatura  # noqa: E402

from monitor.config import ExtractConfig  # noqa: E402
from monitor.errors import ExtractError  # noqa: E402
from monitor.extract.extractor import Extractor, extract_html  # noqa: E402

F1_TARGET = 0.95


def token_f1(predicted: str, truth: str) -> float:
    """F1 over the multisets of whitespace-separated tokens (1.0 when both are empty)."""
    pred, true = Counter(predicted.split()), Counter(truth.split())
    if not pred or not true:
        return float(not pred and not true)
    common = sum((pred & true).values())
    if common == 0:
        return 0.0
    precision = common / sum(pred.values())
    recall = common / sum(true.values())
    return 2 * precision * recall / (precision + recall)


def load_corpus(shared: Path) -> list[tuple[str, str, bytes, str]]:
    """(id, url, html bytes, true body) for every page, sorted by id."""
    root = shared / "corpora" / "article-extraction-benchmark"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (page_id, item["url"], gzip.decompress((root / "html" / f"{page_id}.html.gz").read_bytes()),
         item["articleBody"])
        for page_id, item in sorted(truth.items())
    ]


def _run_serial(
    corpus: list[tuple[str, str, bytes, str]], extract: Callable[[bytes, str], str]
) -> tuple[dict[str, float], float]:
    scores: dict[str, float] = {}
    start = time.perf_counter()
    for page_id, url, html, truth in corpus:
        scores[page_id] = token_f1(extract(html, url), truth)
    return scores, time.perf_counter() - start


def _baseline(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def _ours(html: bytes, url: str) -> str:
    try:
        result = extract_html(html, url)
    except ExtractError:
        return ""
    return result.text if result else ""


def _run_pool(corpus: list[tuple[str, str, bytes, str]]) -> tuple[dict[str, float], float, int]:
    extractor = Extractor(ExtractConfig())
    try:
        extractor.extract(b"<html><body><p>warm-up</p></body></html>", "https://example.org/")
        start = time.perf_counter()
        futures = {page_id: extractor.submit(html, url) for page_id, url, html, _ in corpus}
        scores: dict[str, float] = {}
        for page_id, _url, _html, truth in corpus:
            try:
                result = futures[page_id].result()
            except ExtractError:
                result = None
            scores[page_id] = token_f1(result.text if result else "", truth)
        return scores, time.perf_counter() - start, extractor.workers
    finally:
        extractor.close()


def main(argv: list[str] | None = None) -> int:
    """Run the three rows and print the table; 1 if our extractor misses the F1 target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--per-page", action="store_true", help="print each page's F1 for (b)")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.shared)

    rows: list[tuple[str, dict[str, float], float, bool]] = []
    scores, seconds = _run_serial(corpus, _baseline)
    rows.append(("(a) trafilatura.extract defaults, 1 process", scores, seconds, False))
    ours, seconds = _run_serial(corpus, _ours)
    rows.append(("(b) extract_html, 1 process", ours, seconds, True))
    scores, seconds, workers = _run_pool(corpus)
    rows.append((f"(c) Extractor, {workers} worker processes", scores, seconds, True))

    print(f"{len(corpus)} pages, F1 target {F1_TARGET}")
    print(f"{'configuration':<46} {'mean F1':>8} {'pages/s':>8}  target")
    failed = False
    for name, page_scores, secs, gated in rows:
        mean = sum(page_scores.values()) / len(page_scores)
        verdict = "-"
        if gated:
            verdict = "PASS" if mean >= F1_TARGET else "FAIL"
            failed |= mean < F1_TARGET
        print(f"{name:<46} {mean:>8.4f} {len(page_scores) / secs:>8.1f}  {verdict}")
    if args.per_page:
        for page_id, score in sorted(ours.items(), key=lambda item: item[1]):
            print(f"{score:.4f} {page_id}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
