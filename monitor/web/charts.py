"""Hits per day as a server-rendered SVG bar chart (numbers only: nothing from articles)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 360, 60


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Chart:
    days: int
    bars: tuple[Bar, ...]
    peak: int
    total: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def summary(self) -> str:
        return f"{self.total} hits in the last {self.days} days, at most {self.peak} a day"


def chart(per_day: dict[date, int], today: date, days: int) -> Chart:
    """One bar per day, oldest left, scaled to the busiest day."""
    counts = [(today - timedelta(days=days - 1 - i), 0) for i in range(days)]
    counts = [(d, per_day.get(d, 0)) for d, _ in counts]
    peak = max((n for _, n in counts), default=0)
    step = WIDTH / days
    bars = []
    for i, (d, n) in enumerate(counts):
        h = 0.0 if peak == 0 else max(1.0, (HEIGHT - 2) * n / peak) if n else 0.0
        bars.append(Bar(round(i * step, 2), round(HEIGHT - h, 2), round(max(step - 1, 1), 2),
                        round(h, 2), f"{d.isoformat()}: {n}"))
    return Chart(days, tuple(bars), peak, sum(n for _, n in counts))
