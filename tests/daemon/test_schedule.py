"""The cycle's summary line (logged, and systemd's STATUS)."""

from __future__ import annotations

from monitor.daemon.pipeline import CycleReport
from monitor.daemon.schedule import cycle_summary


def test_the_summary_reads_as_the_readme_shows_and_names_revisions_only_when_there_are() -> None:
    report = CycleReport(feeds=12, failed=1, new_entries=40, articles=10, hits=2,
                         notifications=2)
    assert cycle_summary(report, 3.24, "3") == (
        "cycle: 12 feeds polled (1 failed) in 3.2 s, 40 new entries, 10 articles, 2 hits, "
        "2 alerts queued; outbox 3 open")
    report.revised = 3
    assert "40 new entries, 3 revised, 10 articles" in cycle_summary(report, 3.24, "3")
