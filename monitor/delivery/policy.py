"""Delivery policy: whether an alert goes out now or waits for its channel's next digest.

An alert is held (for the next digest, never dropped) when its rule or channel asks for
digest delivery, when the channel is in its quiet hours, or when the rule has already sent
``max_per_hour`` alerts to that destination in the last hour. A channel's held alerts are
released into one digest message when its schedule fires, or when its quiet hours end, and
never during quiet hours. All times are computed from the clock given, so tests control it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from monitor.config import Config, QuietHours, parse_duration
from monitor.errors import ConfigError
from monitor.models import RulePolicy


def schedule_problem(spec: str) -> str | None:
    """Why ``spec`` is no digest schedule (an interval such as ``1h``, or a cron expression),
    in words for the configuration check, or None."""
    try:
        DigestSchedule(spec)
    except ConfigError as exc:
        return exc.message
    return None


class DigestSchedule:
    """When a channel's digest is due: an interval ("1h") or a cron expression, in a zone."""

    def __init__(self, spec: str, timezone: str = "UTC") -> None:
        self.spec = spec
        self.zone = ZoneInfo(timezone)
        self._interval: timedelta | None = None
        self._cron: CronTrigger | None = None
        try:
            self._interval = timedelta(seconds=parse_duration(spec))
        except ValueError as problem:
            word = spec.strip()
            if len(word.split()) == 1 and word.lstrip("-")[:1].isdigit():  # cron: 5 fields
                raise ConfigError(str(problem)) from None  # e.g. "-5m", "5min": say why
            try:  # read on the zone's wall clock, labelled UTC: see next_after
                self._cron = CronTrigger.from_crontab(spec, timezone=UTC)
            except ValueError as exc:
                raise ConfigError(f"{spec!r} is neither an interval such as 1h nor a cron "
                                  f"expression such as '0 8 * * *': {exc}") from None
            # A crontab has no year: a line that fires once fires in every 400-year cycle, so
            # one that does not fire after 2000 never does (a February 30th, an April 31st),
            # and its channel's digests would wait for ever.
            if self._cron.get_next_fire_time(None, datetime(2000, 1, 1, tzinfo=UTC)) is None:
                raise ConfigError(f"{spec!r} never fires: no such day (a February 30th, an "
                                  "April 31st...), so the digest would never be sent") from None
        if self._interval is not None and self._interval <= timedelta(0):
            raise ConfigError(f"{spec!r} must be longer than zero")

    def next_after(self, moment: datetime) -> datetime:
        """The first digest time strictly after ``moment`` (UTC).

        A cron line is read on the zone's clock, as cron reads it: a time the clock skips
        when summer time starts fires as it jumps past, and one it repeats when summer time
        ends fires once (so an hourly digest skips the repeated hour). APScheduler's own zone
        handling dropped a day's 00:30 digest where midnight is skipped, as in Santiago, and
        sent a 02:30 one twice where 02:00-03:00 repeats, as in Berlin. Times are whole
        seconds: a moment of 07:59:59.5 is followed by 08:00, not by 08:00 the next day.
        """
        if self._interval is not None:
            return moment + self._interval
        assert self._cron is not None
        # The wall time of the moment maps back to it, or (the second of a repeated hour) to
        # an hour before: the first wall time after it to map past the moment is the answer.
        wall = moment.astimezone(self.zone).replace(tzinfo=UTC)
        while True:
            after = wall.replace(microsecond=0) + timedelta(seconds=1)
            found: datetime | None = self._cron.get_next_fire_time(None, after)
            if found is None:
                return datetime.max.replace(tzinfo=UTC)
            wall = found
            fire = _instant(wall.replace(tzinfo=None), self.zone)
            if fire > moment:
                return fire


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """When ``zone``'s clock shows ``wall`` (UTC): the first time, if it shows it twice; the
    moment it jumps past it, if it never does. Later wall times never map earlier."""
    first = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the offset before a change
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # Skipped: the jump is after `before` (read with the offset after it) and at or before
    # `first`, at a whole second: find it by halving.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) < wall:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _schedule_of(channel: str, spec: str, timezone: str) -> DigestSchedule:
    try:
        return DigestSchedule(spec, timezone)
    except ConfigError as exc:
        raise ConfigError(f"channels.{channel}.digest_schedule: {exc.message}") from None


@dataclass(frozen=True)
class ChannelPolicy:
    name: str
    delivery: str
    schedule: DigestSchedule
    zone: ZoneInfo
    quiet: QuietHours | None
    max_per_hour: int | None

    def in_quiet_hours(self, now: datetime) -> bool:
        return self.quiet is not None and self.quiet.contains(now.astimezone(self.zone))

    def release_due(self, since: datetime, now: datetime) -> bool:
        """Held alerts go out now: the schedule fired, or quiet hours ended, after ``since``
        (the oldest alert waiting, or the last digest if that is later)."""
        if self.in_quiet_hours(now):
            return False
        if self.schedule.next_after(since) <= now:
            return True
        if self.quiet is not None:
            # On the wall clock, as the schedule: an end the clock skips (02:30 when summer
            # time starts at 02:00) is passed as it jumps, not half an hour later.
            ended = self.quiet.last_end(now.astimezone(self.zone))
            return since < _instant(ended.replace(tzinfo=None), self.zone) <= now
        return False


class DeliveryPolicies:
    """Channel policies from the configuration, combined with each rule's own settings."""

    def __init__(self, config: Config,
                 rule_policy: Callable[[str], RulePolicy] = lambda _rule: RulePolicy()) -> None:
        self.rule_policy = rule_policy
        self.channels = {
            name: ChannelPolicy(
                name=name, delivery=ch.delivery,
                schedule=_schedule_of(name, ch.digest_schedule, ch.timezone),
                zone=ZoneInfo(ch.timezone),
                quiet=QuietHours.parse(ch.quiet_hours) if ch.quiet_hours else None,
                max_per_hour=ch.max_per_hour)
            for name, ch in config.channels.items()
        }

    def should_hold(self, channel: str, rule_id: str, now: datetime,
                    sent_last_hour: Callable[[], int]) -> bool:
        """True when this alert must wait for the channel's next digest."""
        policy = self.channels.get(channel)
        if policy is None:
            return False  # the console, or a channel removed from the config
        rule = self.rule_policy(rule_id)
        if (rule.delivery or policy.delivery) == "digest" or policy.in_quiet_hours(now):
            return True
        cap = rule.max_per_hour or policy.max_per_hour
        return cap is not None and sent_last_hour() >= cap
