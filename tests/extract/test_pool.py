"""The extraction stage's worker pool: runaway pages killed, memory capped (E1, E2)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import ExtractConfig
from monitor.errors import ExtractError, ExtractTimeoutError
from monitor.extract.extractor import Extractor, extract_html
from monitor.extract.pool import KillablePool
from monitor.models import TextAnalysis
from tests.extract.test_extractor import seed_page

SMALL_PAGE = (b"<html><body><article><h1>Judul</h1><p>Paragraf pertama tentang gencatan "
              b"senjata di Gaza yang dibahas di New York oleh utusan tiga negara.</p>"
              b"</article></body></html>")


def _parent_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def test_extractor_gives_the_same_result_as_extract_html(shared_dir: Path) -> None:
    page = seed_page(shared_dir)
    with Extractor(ExtractConfig(workers=2)) as extractor:
        assert extractor.workers == 2
        assert extractor.extract(page, "https://www.ntvnews.id/a") == extract_html(
            page, "https://www.ntvnews.id/a")
        with pytest.raises(ExtractError) as caught:
            extractor.extract(b"%PDF-1.5\n...", "https://example.org/doc.pdf")
        assert caught.value.code == "binary_content"


def test_the_workers_sign_the_text_they_extract(shared_dir: Path) -> None:
    from monitor.stories import text_signature, worker_signature

    page = seed_page(shared_dir)
    with Extractor(ExtractConfig(workers=1), signer=worker_signature) as extractor:
        extracted = extractor.extract(page, "https://www.ntvnews.id/a")
        short = extractor.extract(SMALL_PAGE, "https://example.org/a")
    assert extracted is not None and len(extracted.text) >= 200
    assert extracted.signature == text_signature(extracted.text).to_bytes()
    assert short is not None and short.signature is None  # too short to compare


def test_the_workers_analyze_the_text_for_the_matcher_in_the_declared_language(
        shared_dir: Path) -> None:
    from monitor.rules import analyze_text

    page = seed_page(shared_dir)  # <html lang="id">
    url = "https://www.ntvnews.id/a"
    with Extractor(ExtractConfig(workers=1), analyzer=analyze_text) as extractor:
        from_page = extractor.submit(page, url).result()
        declared = extractor.submit(page, url, language="en").result()
    assert from_page is not None and declared is not None
    assert from_page.language == "id"
    # The page's language unless the entry or feed declares one: the daemon's order.
    assert from_page.analysis == analyze_text(from_page.text, "id")
    assert declared.analysis == analyze_text(declared.text, "en")
    assert from_page.analysis.stemmer == "id" and from_page.analysis.stems
    with Extractor(ExtractConfig(workers=1)) as extractor:  # no analyzer: nothing computed
        plain = extractor.submit(page, url, language="en").result()
    assert plain is not None and plain.analysis is None


def _failing_analyzer(text: str, language: str | None) -> TextAnalysis:
    raise ValueError("a bug in the analyzer")


def test_a_failing_analyzer_costs_the_page_nothing(shared_dir: Path) -> None:
    page = seed_page(shared_dir)
    extracted = extract_html(page, "https://www.ntvnews.id/a", analyzer=_failing_analyzer)
    assert extracted is not None and len(extracted.text) >= 200
    assert extracted.analysis is None  # the daemon's process does the work instead


def test_extractor_uses_every_core_by_default() -> None:
    extractor = Extractor(ExtractConfig())
    try:
        assert extractor.workers == len(os.sched_getaffinity(0))
    finally:
        extractor.close()


def test_sec_E1_runaway_page_is_killed_at_the_limit_and_the_next_one_is_fast() -> None:
    # 100k tiny paragraphs: 25 s of trafilatura unprotected (measured). One worker, so the
    # next page can only be fast if the killed worker is replaced at once.
    runaway = b"<html><body><article>" + b"<p>ab cd</p>" * 100_000 + b"</article></body></html>"
    limit = 2.0
    with Extractor(ExtractConfig(workers=1, timeout=limit)) as extractor:
        extractor.extract(SMALL_PAGE, "https://example.org/warm-up")
        start = time.monotonic()
        with pytest.raises(ExtractTimeoutError) as caught:
            extractor.extract(runaway, "https://example.org/runaway")
        assert time.monotonic() - start < limit + 3
        assert caught.value.code == "extract_timeout"

        start = time.monotonic()
        result = extractor.extract(SMALL_PAGE, "https://example.org/next")
        assert time.monotonic() - start < 1.0
        assert result is not None and "gencatan senjata" in result.text


def test_sec_E1_a_runaway_page_does_not_hold_up_the_others() -> None:
    runaway = b"<html><body><article>" + b"<p>ab cd</p>" * 100_000 + b"</article></body></html>"
    with Extractor(ExtractConfig(workers=2, timeout=20.0)) as extractor:
        extractor.extract(SMALL_PAGE, "https://example.org/warm-up")
        slow = extractor.submit(runaway, "https://example.org/runaway")
        start = time.monotonic()
        assert extractor.extract(SMALL_PAGE, "https://example.org/next") is not None
        assert time.monotonic() - start < 1.0
        quick = [extractor.submit(SMALL_PAGE, f"https://example.org/{i}") for i in range(5)]
        assert all(f.result() is not None for f in quick)
        assert not slow.done()  # all served by the other worker while the runaway still runs
        slow.cancel()  # kills its worker rather than waiting for the limit


def test_sec_E2_huge_table_is_stopped_and_the_parent_stays_small() -> None:
    # 100k-row table: 475 MB RSS in trafilatura unprotected (measured); the default 512 MiB
    # address-space cap stops it in the worker.
    rows = b"".join(b"<tr><td>%d</td><td>x</td></tr>" % i for i in range(100_000))
    table = b"<html><body><table>" + rows + b"</table></body></html>"
    # The cap bites within seconds, or trafilatura grinds on under it: 6 s ends either way
    # (the memory path itself is tested on its own below).
    with Extractor(ExtractConfig(workers=1, timeout=6.0)) as extractor:
        extractor.extract(SMALL_PAGE, "https://example.org/warm-up")
        before = _parent_peak_rss_mib()
        with pytest.raises(ExtractError) as caught:
            extractor.extract(table, "https://example.org/table")
        # Where the address-space cap bites decides the code: a MemoryError, a dead worker, or
        # libxml2 failing an allocation mid-XPath (lxml reports it as an XPathEvalError).
        assert caught.value.code in {"memory_limit", "worker_died", "extract_timeout",
                                     "extract_failed"}
        assert _parent_peak_rss_mib() - before < 50
        assert extractor.extract(SMALL_PAGE, "https://example.org/next") is not None


def test_worker_deaths_and_memory_errors_become_extract_errors() -> None:
    pool = KillablePool(workers=1, timeout=10, memory_limit=256 * 2**20, max_tasks=0)
    try:
        with pytest.raises(ExtractError) as caught:
            pool.submit(bytearray, 1024 * 2**20).result()  # over the address-space cap
        assert caught.value.code == "memory_limit"
        with pytest.raises(ExtractError) as caught:
            pool.submit(os._exit, 3).result()  # the worker vanishes mid-task
        assert caught.value.code == "worker_died"
        with pytest.raises(ExtractError) as caught:
            pool.submit(int, "not a number").result()
        assert caught.value.code == "extract_failed"
        assert pool.submit(len, b"still serving").result() == 13
    finally:
        pool.close()


def _fail_holding(mib: int) -> None:
    """A task that fails while one of its frames holds ``mib`` MiB (a parse tree, say)."""
    ballast = bytearray(mib * 2**20)
    raise ValueError(f"failed holding {len(ballast)} bytes")


def _fail_with_a_cause(mib: int) -> None:
    try:
        _fail_holding(mib)
    except ValueError as exc:
        raise ExtractError.coded("wrapped", "extract_failed") from exc


@pytest.mark.parametrize("failing", [_fail_holding, _fail_with_a_cause, bytearray])
def test_a_failed_task_leaves_no_memory_behind_for_the_next(
        failing: Callable[[int], object]) -> None:
    # pebble holds each task's outcome until the next one ends: a failure's traceback kept the
    # failed task's frames (the parse tree that hit the cap) and failed the next page as well.
    # The cap leaves room for one 200 MiB allocation above a fresh worker, not for two.
    probe = KillablePool(workers=1, timeout=20, memory_limit=0, max_tasks=0)
    try:
        start = probe.submit(_address_space).result()
    finally:
        probe.close()
    pool = KillablePool(workers=1, timeout=20, memory_limit=start + 300 * 2**20, max_tasks=0)
    try:
        size = 200 if failing is not bytearray else 2**30  # bytearray: a MemoryError itself
        for _ in range(2):
            with pytest.raises(ExtractError):
                pool.submit(failing, size).result()
            assert pool.submit(_allocate, 200).result() == 200 * 2**20
    finally:
        pool.close()


def _allocate(mib: int) -> int:
    return len(bytearray(mib * 2**20))


def _address_space() -> int:
    """This worker's address-space size in bytes (what ``RLIMIT_AS`` caps)."""
    return int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def test_closed_extractor_refuses_with_an_extract_error() -> None:
    extractor = Extractor(ExtractConfig(workers=1))
    extractor.close()
    with pytest.raises(ExtractError) as caught:
        extractor.extract(SMALL_PAGE, "https://example.org/late")
    assert caught.value.code == "pool_closed"


def test_closing_the_extractor_fails_running_work_with_pool_closed() -> None:
    runaway = b"<html><body><article>" + b"<p>ab cd</p>" * 100_000 + b"</article></body></html>"
    extractor = Extractor(ExtractConfig(workers=1, timeout=30.0))
    running = extractor.submit(runaway, "https://example.org/runaway")
    queued = extractor.submit(runaway, "https://example.org/queued")
    start = time.monotonic()
    extractor.close()
    for future in (running, queued):
        error = future.exception(timeout=5)
        assert isinstance(error, ExtractError) and error.code == "pool_closed"
    assert time.monotonic() - start < 5
