"""Delivery policy with a controllable clock: digests, quiet hours and rate caps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.config import ChannelConfig, Config, QuietHours
from monitor.delivery.channels import ChannelDirectory
from monitor.delivery.dispatch import Dispatcher
from monitor.delivery.policy import DeliveryPolicies, DigestSchedule, schedule_problem
from monitor.errors import ConfigError
from monitor.models import RulePolicy
from tests.delivery.test_dispatch import Setup, make_setup
from tests.notify_support import Receiver

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_quiet_hours_wrap_past_midnight() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet.contains(T0.replace(hour=23))
    assert quiet.contains(T0.replace(hour=3))
    assert not quiet.contains(T0.replace(hour=7))
    assert quiet.last_end(T0.replace(hour=6)) == (T0 - timedelta(days=1)).replace(hour=7)
    assert quiet.last_end(T0.replace(hour=8)) == T0.replace(hour=7)


@pytest.mark.parametrize(("text", "problem"), [
    ("24:00-07:00", "is not a time range such as 22:00-07:00"),
    ("22:00–07:00", "is not a time range"),  # an en dash
    ("07:00-7:00", "starts and ends at the same time, so it is never quiet"),
])
def test_quiet_hours_that_cannot_be_meant_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        QuietHours.parse(text)


def test_cron_schedules_follow_the_channel_time_zone() -> None:
    schedule = DigestSchedule("0 8 * * *", "Asia/Jakarta")  # 08:00 WIB = 01:00 UTC
    assert schedule.next_after(T0) == datetime(2026, 1, 2, 1, 0, tzinfo=UTC)
    assert DigestSchedule("30m").next_after(T0) == T0 + timedelta(minutes=30)


def _fires(schedule: DigestSchedule, start: datetime, count: int) -> list[datetime]:
    fires = [schedule.next_after(start)]
    while len(fires) < count:
        fires.append(schedule.next_after(fires[-1]))
    return fires


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("spec", "zone", "start", "expected"), [
    # 02:30 does not exist on 29 March: it fires as the clock jumps (01:00 UTC)
    ("30 2 * * *", "Europe/Berlin", _utc(2026, 3, 28, 12),
     [_utc(2026, 3, 29, 1), _utc(2026, 3, 30, 0, 30)]),
    # 02:30 happens twice on 25 October: once (APScheduler fired at both)
    ("30 2 * * *", "Europe/Berlin", _utc(2026, 10, 24, 12),
     [_utc(2026, 10, 25, 0, 30), _utc(2026, 10, 26, 1, 30)]),
    # midnight is skipped on 6 September: that day's digest at the jump (APScheduler: none)
    ("30 0 * * *", "America/Santiago", _utc(2026, 9, 5, 12),
     [_utc(2026, 9, 6, 4), _utc(2026, 9, 7, 3, 30)]),
    ("0 0 * * *", "America/Havana", _utc(2026, 3, 7, 12),
     [_utc(2026, 3, 8, 5), _utc(2026, 3, 9, 4)]),
    # a half-hour change of clocks (Lord Howe Island): 01:30 happens twice, fires once
    ("30 1 * * *", "Australia/Lord_Howe", _utc(2026, 4, 4, 0),
     [_utc(2026, 4, 4, 14, 30), _utc(2026, 4, 5, 15)]),
])
def test_cron_digests_fire_once_a_day_across_clock_changes(
        spec: str, zone: str, start: datetime, expected: list[datetime]) -> None:
    assert _fires(DigestSchedule(spec, zone), start, len(expected)) == expected


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe",
                                  "America/New_York", "Asia/Tehran", "UTC"])
@pytest.mark.parametrize("spec", ["0 0 * * *", "30 2 * * *", "0 8 * * mon-fri", "0 1 1 * *"])
def test_a_daily_digest_fires_on_each_day_it_names_once_a_year_round(spec: str,
                                                                     zone: str) -> None:
    """A local day it names gets one digest, and every moment's next digest is after it."""
    schedule = DigestSchedule(spec, zone)
    fires = _fires(schedule, _utc(2026, 1, 1), 400)
    days = [fire.astimezone(ZoneInfo(zone)).date() for fire in fires]
    assert len(set(days)) == len(days), "a day with two digests"
    weekdays_only = "mon-fri" in spec
    monthly = spec.endswith("1 * *")
    first, last = days[0], days[-1]
    named = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    named = [d for d in named if (not weekdays_only or d.weekday() < 5)
             and (not monthly or d.day == 1)]
    assert days == named, "a day without its digest"
    for fire in fires[:60]:
        for moment in (fire - timedelta(microseconds=1), fire - timedelta(seconds=59.5)):
            assert schedule.next_after(moment) == fire


def test_quiet_hours_whose_end_the_clock_skips_end_as_it_jumps() -> None:
    """Quiet until 02:30 in Berlin, on the night summer time starts (02:00 -> 03:00): held
    alerts went out at 03:30, half an hour after new ones had started to."""
    policy = _policies(quiet_hours="22:00-02:30", timezone="Europe/Berlin",
                       digest_schedule="0 12 * * *").channels["c"]
    since = _utc(2026, 3, 28, 22)  # held at 23:00 local
    at_jump = _utc(2026, 3, 29, 1)  # 03:00 CEST
    assert not policy.in_quiet_hours(at_jump + timedelta(minutes=5))
    assert not policy.release_due(since, at_jump - timedelta(seconds=1))
    assert policy.release_due(since, at_jump + timedelta(minutes=5))


def _policies(**channel: object) -> DeliveryPolicies:
    config = Config(channels={"c": ChannelConfig(urls=["json://x"], **channel)})
    return DeliveryPolicies(config, lambda rule: RulePolicy(
        delivery="digest" if rule == "slow" else None,
        max_per_hour=1 if rule == "capped" else None))


@pytest.mark.parametrize(("spec", "problem"), [
    ("1h", None), ("0 8 * * mon-fri", None),
    ("0s", "'0s' must be longer than zero"), ("1.5h", None),
    ("-5m", "a duration cannot be negative ('-5m')"),
    ("5min", "'5min': unknown unit 'min' (the units are ms, s, m, h, d and w, in lower case)"),
    ("0 25 * * *", "'0 25 * * *' is neither an interval such as 1h nor a cron expression such "
     "as '0 8 * * *': Error validating expression '25': the last value (25) is higher than "
     "the maximum value (23)"),
    ("0 0 30 2 *", "'0 0 30 2 *' never fires: no such day (a February 30th, an April 31st...), "
     "so the digest would never be sent"),
    ("0 0 31 4,6,9,11 *", "'0 0 31 4,6,9,11 *' never fires: no such day (a February 30th, an "
     "April 31st...), so the digest would never be sent"),
    ("0 0 29 2 mon", None),  # a Monday February 29th: 2044, then every 28 years or so
])
def test_schedule_problems_in_words(spec: str, problem: str | None) -> None:
    assert schedule_problem(spec) == problem


def test_a_cron_line_separated_by_tabs_is_still_a_cron_line() -> None:
    """A crontab separates its fields with tabs as often as spaces; a quoted YAML value keeps
    them, and CronTrigger.from_crontab reads them (it did before 1h30m durations)."""
    assert schedule_problem("0\t8\t*\t*\t*") is None


def test_a_bad_schedule_names_its_channel_when_the_policies_are_built() -> None:
    with pytest.raises(ConfigError, match=r"^channels\.c\.digest_schedule: 'hourly' is neither"):
        _policies(digest_schedule="hourly")


def test_hold_decisions() -> None:
    policies = _policies(quiet_hours="22:00-07:00", timezone="UTC")
    assert not policies.should_hold("c", "r", T0, lambda: 0)
    assert policies.should_hold("c", "r", T0.replace(hour=23), lambda: 0)  # quiet
    assert policies.should_hold("c", "slow", T0, lambda: 0)  # the rule asks for digests
    assert not policies.should_hold("c", "capped", T0, lambda: 0)
    assert policies.should_hold("c", "capped", T0, lambda: 1)  # over the cap
    assert not policies.should_hold("console", "slow", T0, lambda: 0)  # console: always now


def test_release_waits_for_the_schedule_and_never_runs_in_quiet_hours() -> None:
    policy = _policies(digest_schedule="1h", quiet_hours="22:00-07:00").channels["c"]
    assert not policy.release_due(T0, T0 + timedelta(minutes=59))
    assert policy.release_due(T0, T0 + timedelta(hours=1))
    night = T0.replace(hour=21, minute=30)
    assert not policy.release_due(night, night + timedelta(hours=2))  # 23:30: quiet
    assert policy.release_due(night, T0.replace(hour=7) + timedelta(days=1))  # quiet over


@pytest.fixture
def digest_setup(tmp_path: Path, receiver: Receiver) -> Setup:
    return make_setup(tmp_path, receiver)


def _with_channel(s: Setup, receiver: Receiver, **channel: object) -> Dispatcher:
    config = s.dispatcher.config.model_copy(update={"channels": {"hook": ChannelConfig(
        urls=[f"json://127.0.0.1:{receiver.port}/hook"], **channel)}})
    s.channels = ChannelDirectory(config)
    s.dispatcher = Dispatcher(config, s.outbox, s.channels, s.dispatcher.console, "w",
                              policies=DeliveryPolicies(config), jitter=lambda: 1.0)
    return s.dispatcher


def _bodies(receiver: Receiver) -> list[str]:
    # json:// receives the structured event: one alert, or a digest's "alerts"
    payloads = [h.json() for h in receiver.hits_for("/hook")]
    assert all(p["schema"] == "newsmonitor.alert/1" for p in payloads)
    return [json.dumps(p, ensure_ascii=False) for p in payloads]


def test_digest_bundles_every_hit_since_the_last_digest(digest_setup: Setup,
                                                        receiver: Receiver) -> None:
    s = digest_setup
    dispatcher = _with_channel(s, receiver, delivery="digest", digest_schedule="1h")
    for n in range(3):
        s.save(n)
        report = dispatcher.dispatch_due()
        assert report.held == 1 and receiver.hits_for("/hook") == []
        s.clock.advance(600)
    s.clock.advance(1800)  # an hour after the first release check
    report = dispatcher.dispatch_due()
    assert report.digests == 1 and report.sent == 3
    (digest,) = _bodies(receiver)
    for n in range(3):
        assert f"Gencatan senjata di Gaza {n}" in digest
    assert s.outbox.counts()["held"] == 0
    s.save(9)
    dispatcher.dispatch_due()
    s.clock.advance(3600)
    dispatcher.dispatch_due()
    assert len(receiver.hits_for("/hook")) == 2
    assert "Gaza 9" in _bodies(receiver)[1] and "Gaza 0" not in _bodies(receiver)[1]


def test_quiet_hours_hold_alerts_until_they_end(digest_setup: Setup,
                                                receiver: Receiver) -> None:
    s = digest_setup
    dispatcher = _with_channel(s, receiver, quiet_hours="22:00-07:00",
                               digest_schedule="0 12 * * *")
    s.clock.now = T0.replace(hour=23)
    s.save(1)
    s.save(2)
    assert dispatcher.dispatch_due().held == 2
    s.clock.advance(3 * 3600)  # 02:00, still quiet
    assert dispatcher.dispatch_due().attempted == 0
    s.clock.now = T0.replace(hour=7, minute=1) + timedelta(days=1)
    report = dispatcher.dispatch_due()
    assert report.digests == 1 and report.sent == 2
    (digest,) = _bodies(receiver)
    assert "Gaza 1" in digest and "Gaza 2" in digest


def test_rate_cap_overflow_goes_to_the_next_digest_never_dropped(digest_setup: Setup,
                                                                 receiver: Receiver) -> None:
    s = digest_setup
    dispatcher = _with_channel(s, receiver, max_per_hour=2, digest_schedule="1h")
    for n in range(5):
        s.save(n)
    report = dispatcher.dispatch_due()
    assert report.sent == 2 + 5 and report.held == 3  # 2 alone + console 5; 3 held
    s.clock.advance(3600)
    report = dispatcher.dispatch_due()
    assert report.digests == 1 and report.sent == 3
    bodies = _bodies(receiver)
    assert len(bodies) == 3
    for n in range(5):
        assert sum(f"Gaza {n}" in b for b in bodies) == 1


def test_a_digest_does_not_count_against_the_rate_cap(digest_setup: Setup,
                                                       receiver: Receiver) -> None:
    # The night's alerts go out in one digest when quiet hours end; they are not alerts the
    # rule sent on their own, so the first alert of the morning is not held for an hour.
    s = digest_setup
    dispatcher = _with_channel(s, receiver, quiet_hours="22:00-07:00", max_per_hour=2,
                               digest_schedule="0 12 * * *")
    s.clock.now = T0.replace(hour=23)
    for n in range(5):
        s.save(n)
    assert dispatcher.dispatch_due().held == 5
    s.clock.now = T0.replace(hour=7, minute=1) + timedelta(days=1)
    assert dispatcher.dispatch_due().digests == 1
    s.clock.advance(600)
    for n in (5, 6, 7):
        s.save(n)
    report = dispatcher.dispatch_due()
    assert report.held == 1  # the cap still counts the alerts sent on their own: 2 of 3
    bodies = _bodies(receiver)
    assert len(bodies) == 3 and "Gaza 5" in bodies[1] and "Gaza 6" in bodies[2]


def test_a_digest_too_long_for_one_message_goes_on_in_the_next(tmp_path: Path,
                                                              receiver: Receiver) -> None:
    """What does not fit one message is sent in the next: no alert ends as an unseen
    "and N more" line while its row says sent."""
    s = make_setup(tmp_path, receiver, max_message_chars=1500)
    # apprise's {"title", "message"} form: the rendered text, as a mail or chat gets it.
    dispatcher = _with_channel(s, receiver, delivery="digest", digest_schedule="1h",
                               webhook="apprise", format="text")
    for n in range(40):
        s.save(n)
    dispatcher.dispatch_due()
    s.clock.advance(3600)
    report = dispatcher.dispatch_due()
    assert report.sent == 40 and s.outbox.counts()["sent"] == 40 + 40  # + the console's
    bodies = [h.json()["message"] for h in receiver.hits_for("/hook")]
    assert len(bodies) == report.digests > 1
    assert all(len(b) <= 1500 and " more" not in b for b in bodies)
    for n in range(40):
        assert sum(f"Gencatan senjata di Gaza {n}\n" in b for b in bodies) == 1, n


def test_a_failed_digest_is_retried_whole(digest_setup: Setup, receiver: Receiver) -> None:
    s = digest_setup
    dispatcher = _with_channel(s, receiver, delivery="digest", digest_schedule="1h")
    s.save(1)
    s.save(2)
    dispatcher.dispatch_due()
    receiver.statuses = [500]
    s.clock.advance(3600)
    assert dispatcher.dispatch_due().retried == 2
    s.clock.advance(30)
    report = dispatcher.dispatch_due()
    assert report.digests == 1 and report.sent == 2
    assert len(receiver.hits_for("/hook")) == 2  # the failed attempt and the digest


def test_alerts_held_for_a_channel_removed_from_the_config_go_dead_and_are_announced(
        digest_setup: Setup, receiver: Receiver) -> None:
    """No schedule releases a removed channel's held alerts: they go dead like its other
    rows (the admin told, `monitor notifications retry` possible), never held forever."""
    s = digest_setup
    dispatcher = _with_channel(s, receiver, delivery="digest", digest_schedule="1h")
    s.save(1)
    assert dispatcher.dispatch_due().held == 1
    gone = s.dispatcher.config.model_copy(update={"channels": {}})
    dispatcher = Dispatcher(gone, s.outbox, ChannelDirectory(gone), s.dispatcher.console,
                            "w2", policies=DeliveryPolicies(gone))
    report = dispatcher.dispatch_due()
    assert report.dead == 1 and s.outbox.counts()["held"] == 0
    (dead,) = s.outbox.list("dead")
    assert dead.last_error == "destination no longer configured"
    assert "Alert could not be delivered to hook" in s.console.getvalue()
    assert receiver.hits_for("/hook") == []


def test_a_dead_digest_is_one_notice_to_the_admin(digest_setup: Setup,
                                                  receiver: Receiver) -> None:
    """A digest of many alerts that goes dead tells the admin once, naming them, not once per
    alert (200 messages for a dead 200-alert digest)."""
    s = digest_setup
    dispatcher = _with_channel(s, receiver, delivery="digest", digest_schedule="1h")
    for n in range(30):
        s.save(n)
    dispatcher.dispatch_due()
    receiver.statuses = [400]  # permanent: dead at once
    s.clock.advance(3600)
    report = dispatcher.dispatch_due()
    assert report.dead == 30
    console = s.console.getvalue()
    assert console.count("could not be delivered to hook") == 1
    assert "30 alerts could not be delivered to hook" in console
    dead_ids = " ".join(str(n.id) for n in sorted(s.outbox.list("dead"), key=lambda n: n.id))
    assert f"monitor notifications retry {dead_ids}" in console
