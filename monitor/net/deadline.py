"""The total deadline of one fetch, per thread: every socket operation under it is bounded
by the time left (:mod:`monitor.net.sockets`), so a server that trickles bytes is cut off."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """A wall-clock limit for one fetch (``time.monotonic`` based)."""

    at: float
    total: float

    def remaining(self) -> float:
        """Seconds left (may be negative)."""
        return self.at - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed (a few ms of slack for clamped waits)."""
        return self.remaining() <= 0.005


_local = threading.local()


@contextmanager
def deadline_scope(total: float) -> Iterator[Deadline]:
    """Set the calling thread's deadline ``total`` seconds from now; an outer one wins."""
    outer: Deadline | None = getattr(_local, "deadline", None)
    if outer is not None:
        yield outer
        return
    _local.deadline = Deadline(time.monotonic() + total, total)
    try:
        yield _local.deadline
    finally:
        _local.deadline = None


def current_deadline() -> Deadline | None:
    """The calling thread's deadline, if a fetch is in progress."""
    return getattr(_local, "deadline", None)
