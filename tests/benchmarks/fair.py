"""Shared by the benchmarks: ours and the peer in alternating rounds, and their statistics.

A benchmark measures ``ours`` and ``peer`` in the same process tree, round after round,
swapping which goes first each round (ours-peer, peer-ours, ...), so a busy stretch of the
shared machine lands on both alike. Each side's samples are summarised as best-of, median,
mean and p99; the ratio compares like with like (best with best, median with median).
"""

from __future__ import annotations

import math
import os
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stats:
    """A summary of samples (seconds, milliseconds or a rate: the caller says which)."""

    best: float
    median: float
    mean: float
    p99: float
    worst: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float], *, higher_is_better: bool = False) -> Stats:
        ordered = sorted(samples)
        if higher_is_better:
            ordered.reverse()
        rank = min(len(ordered) - 1, max(0, math.ceil(0.99 * len(ordered)) - 1))
        return cls(best=ordered[0], median=statistics.median(ordered),
                   mean=statistics.fmean(ordered), p99=ordered[rank], worst=ordered[-1],
                   count=len(ordered))


def alternate(ours: Callable[[], float], peer: Callable[[], float],
              rounds: int) -> tuple[list[float], list[float]]:
    """``rounds`` samples of each; even rounds run ours first, odd rounds the peer first."""
    mine: list[float] = []
    theirs: list[float] = []
    for n in range(rounds):
        if n % 2 == 0:
            mine.append(ours())
            theirs.append(peer())
        else:
            theirs.append(peer())
            mine.append(ours())
    return mine, theirs


def _last_level_cache_bytes() -> int:
    """The largest CPU cache (Linux sysfs), 32 MB when it cannot be read."""
    sizes = [32 << 20]
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = path.read_text().strip()
        if text[:-1].isdigit() and text[-1] in "KM":
            sizes.append(int(text[:-1]) << (10 if text[-1] == "K" else 20))
    return max(sizes)


_evict_buffers: list[bytearray] = []  # made on first use: worker processes that import
# this module (spawned pools re-import the benchmark) must not carry 128 MB each


def evict_caches() -> None:
    """Flush what the CPU caches hold, by writing twice the largest cache's size."""
    if not _evict_buffers:
        size = 2 * _last_level_cache_bytes()
        _evict_buffers.extend((bytearray(size), bytearray(size)))
    target, source = _evict_buffers
    target[:] = source


def print_rows(rows: list[tuple[str, str, str, bool | None]]) -> bool:
    """Print (measure, value, target, ok) rows; True when any target failed."""
    print(f"{'measure':<58} {'value':>12} {'target':>12}  result")
    failed = False
    for name, value, target, ok in rows:
        verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
        failed |= ok is False
        print(f"{name:<58} {value:>12} {target:>12}  {verdict}")
    return failed


# -- memory of a process tree -----------------------------------------------------------------


def children() -> dict[int, list[int]]:
    """Every process's children, from /proc (Linux)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def field_mb(path: str, name: str) -> float:
    """A ``Name: N kB`` field of a /proc file, in MB (0 when the process is gone)."""
    try:
        for line in Path(path).read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith(name):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_pss_mb(root: int | None = None, exclude: frozenset[int] = frozenset()) -> float:
    """Proportional set size of ``root`` (default: this process) and all its descendants:
    pages shared between them (fork server and workers) counted once in all."""
    tree = children()
    total = 0.0
    stack = [os.getpid() if root is None else root]
    while stack:
        pid = stack.pop()
        total += field_mb(f"/proc/{pid}/smaps_rollup", "Pss:")
        stack.extend(c for c in tree.get(pid, []) if c not in exclude)
    return total


class MemorySampler:
    """Peak memory of this process and its descendants (``exclude`` pids and theirs left out).

    ``peak_rss_mb`` sums resident sets, as asked; it counts the pages the extraction workers
    share with their fork server once per process. ``peak_pss_mb`` (proportional set size)
    shares them out, so it is what the processes really occupy together.
    """

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, with_pss: bool = True) -> None:
        # PSS comes from smaps_rollup, which walks every page table of the process: read
        # every 0.25 s it cost 2 % of the machine, charged to the pipeline being measured.
        tree = children()
        rss = pss = 0.0
        stack = [os.getpid()]
        while stack:
            pid = stack.pop()
            rss += field_mb(f"/proc/{pid}/status", "VmRSS:")
            if with_pss:
                pss += field_mb(f"/proc/{pid}/smaps_rollup", "Pss:")
            stack.extend(c for c in tree.get(pid, []) if c not in self.exclude)
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        if with_pss:
            self.peak_pss_mb = max(self.peak_pss_mb, pss)

    def _run(self) -> None:
        samples = 0
        while not self._stop.wait(0.25):
            samples += 1
            self._sample(with_pss=samples % 8 == 0)

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
