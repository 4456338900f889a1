"""Steps of the system clock (reliability case G12), against the real daemon in a thread.

The clock cannot be stepped here, so the daemon and APScheduler read one shifted clock: the
real UTC time plus an offset the test moves. Going back an hour, the scheduler used to wait
that hour before its next cycle; going forward, missed cycles must run once, not in a burst.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import Config, PollingConfig
from monitor.daemon import Daemon
from monitor.daemon.clockwatch import ClockWatch
from tests.daemon_support import REPO, daemon_in_thread, wait_for

TICK = 0.3


class SteppedClock:
    """UTC now plus an offset; ``datetime`` stands in for APScheduler's datetime class."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        clock = self

        class SteppedDatetime(datetime):
            @classmethod
            def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
                return datetime.now(tz) + clock.offset  # type: ignore[arg-type]

        self.datetime = SteppedDatetime

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def stepped(monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
    clock = SteppedClock()
    monkeypatch.setattr("apscheduler.schedulers.base.datetime", clock.datetime)
    return clock


@pytest.fixture
def daemon(tmp_path: Path, stepped: SteppedClock) -> Iterator[Daemon]:
    config = Config(
        base_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'monitor.db'}",
        rules_dir=REPO / "rules",
        feeds=[{"url": str(REPO / "seeds" / "feed.xml"), "name": "Seed", "interval": 60}],
        polling=PollingConfig(tick=TICK, default_interval=60, min_interval=1),
    )
    with daemon_in_thread(config, wall_clock=stepped.now) as running:
        yield running


def _cycles(daemon: Daemon) -> int:
    value = daemon.service.metrics.registry.get_sample_value("newsmonitor_cycles_total")
    return int(value or 0)


def test_sec_G12_the_daemon_keeps_cycling_when_the_clock_steps_back_an_hour(
        daemon: Daemon, stepped: SteppedClock, caplog: pytest.LogCaptureFixture) -> None:
    wait_for(lambda: _cycles(daemon) >= 2, 60, "two cycles before the step")
    stepped.offset = timedelta(hours=-1)
    before = _cycles(daemon)
    # A few ticks, not an hour: the watcher moved the jobs back with the clock.
    wait_for(lambda: _cycles(daemon) >= before + 3, 30, "cycles after the clock went back")
    assert daemon.service.liveness.check().ok
    wait_for(lambda: "the system clock stepped back 3600 s" in caplog.text, 10,
             "the step logged")


def test_sec_G12_a_step_forward_runs_the_missed_cycles_once(
        daemon: Daemon, stepped: SteppedClock, caplog: pytest.LogCaptureFixture) -> None:
    wait_for(lambda: _cycles(daemon) >= 2, 60, "two cycles before the step")
    before = _cycles(daemon)
    stepped.offset = timedelta(hours=1)  # 12,000 ticks skipped
    wait_for(lambda: _cycles(daemon) >= before + 3, 30, "cycles after the clock jumped")
    # The cycle job never runs twice at once and coalesces what it missed: the count grows
    # by the ticks that passed, not by the 12,000 the clock skipped.
    assert _cycles(daemon) < before + 100
    wait_for(lambda: "the system clock stepped forward 3600 s" in caplog.text, 10,
             "the step logged")


@pytest.mark.parametrize(("seconds", "expected"), [(0.0, 0.0), (1.0, 0.0), (-1.5, 0.0),
                                                    (3600.0, 3600.0), (-3600.0, -3600.0)])
def test_clock_watch_reports_steps_beyond_its_threshold(seconds: float,
                                                        expected: float) -> None:
    wall = [datetime(2026, 12, 1, tzinfo=UTC)]
    mono = [100.0]
    watch = ClockWatch(lambda: wall[0], lambda: mono[0])
    mono[0] += 5.0  # five seconds pass on both clocks, and the wall clock is stepped
    wall[0] += timedelta(seconds=5.0 + seconds)
    assert watch.step() == pytest.approx(expected)
    mono[0] += 5.0
    wall[0] += timedelta(seconds=5.0)
    assert watch.step() == 0.0  # a step is reported once
