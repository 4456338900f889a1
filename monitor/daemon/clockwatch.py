"""Noticing when the system clock is stepped, so that the scheduler does not sleep through it.

APScheduler 3.x plans its jobs in wall-clock time but sleeps on a monotonic timer. When the
clock steps back (NTP correcting a VM that resumed fast, an operator's ``date -s``) by an
hour, every job's next run lies an hour ahead: the daemon stops cycling, heartbeating and
pinging systemd's watchdog for that hour. A step forward is harmless: each job runs once at
its next wake-up (missed runs coalesce) and feeds whose next check has passed are polled
once. :class:`ClockWatch` compares the two clocks; the daemon moves its jobs back by any
backward step it reports (reliability case G12).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

# Smaller differences are NTP slewing, or a busy machine reading the two clocks apart.
STEP_SECONDS = 2.0


class ClockWatch:
    """How far the wall clock moved beyond the monotonic clock between two :meth:`step` calls."""

    def __init__(self, wall: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic,
                 threshold: float = STEP_SECONDS) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._threshold = threshold
        self._last = (wall(), monotonic())

    def step(self) -> float:
        """Seconds the wall clock was stepped since the last call (negative: back), or 0.0
        when it kept pace with the monotonic clock within the threshold."""
        wall, mono = self._wall(), self._monotonic()
        last_wall, last_mono = self._last
        self._last = (wall, mono)
        drift = (wall - last_wall).total_seconds() - (mono - last_mono)
        return drift if abs(drift) >= self._threshold else 0.0
