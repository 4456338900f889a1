"""The value types settings share: durations (``90s``, ``1h30m``), sizes (``5MiB``), whole
numbers that true and false are not, and quiet hours (``22:00-07:00``). Read by
:mod:`monitor.config.settings`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# A duration: a number of seconds, or numbers each with a unit (`90s`, `1.5h`, `1h30m`, `1 h`:
# `monitor feeds` shows `1h30m`, and a fraction or a space is as clear).
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([^\W\d_]*)\s*")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "kib": 2**10, "mb": 10**6, "mib": 2**20, "gb": 10**9,
               "gib": 2**30, None: 1}
_QUIET = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


MAX_DURATION = 100 * 365 * 86400.0  # 100 years: beyond it a date would leave the calendar


def parse_duration(value: Any) -> float:
    """Seconds from a number of seconds (``90``, ``0.5``, also as a text) or numbers each with
    a unit: ``500ms``, ``90s``, ``15m``, ``1.5h``, ``1h30m``, ``1d``, ``1w``; a finite number
    from 0 to 100 years (ValueError otherwise)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 15m, 2h or 1d")
    try:
        seconds = (float(value) if isinstance(value, int | float)
                   else _duration_seconds(str(value).strip(), value))
    except OverflowError:
        seconds = math.inf
    if math.isnan(seconds):
        raise ValueError("expected a duration such as 90s, 15m, 2h or 1d, not NaN")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative ({value!r})")
    if seconds > MAX_DURATION:
        raise ValueError("a duration can be at most 100 years (36500d)")
    return seconds


def _duration_seconds(text: str, value: Any) -> float:
    if text[:1] == "-" and text[1:2].isdigit():
        raise ValueError(f"a duration cannot be negative ({value!r})")
    parts, end = [], 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != end:
            break
        parts.append(match.groups())
        end = match.end()
    if not parts or end != len(text) or (len(parts) > 1 and not all(u for _, u in parts)):
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 1.5h, 1h30m, 1d)")
    unknown = next((unit for _, unit in parts if unit and unit not in _DURATION_UNITS), None)
    if unknown is not None:
        raise ValueError(f"{value!r}: unknown unit {unknown!r} (the units are ms, s, m, h, d "
                         "and w, in lower case)")
    return sum(float(count) * _DURATION_UNITS.get(unit, 1) for count, unit in parts)


MAX_SIZE = 2**50  # 1,048,576 GiB: beyond any memory or download, and what setrlimit takes


def parse_size(value: Any) -> int:
    """Bytes from ``1048576``, ``"10MiB"``, ``"500 kB"``: from 1 byte to :data:`MAX_SIZE`
    (ValueError otherwise: a cap of 0 or -1 bytes would refuse every feed)."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10MiB")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a size (use e.g. 512KiB, 10MiB)")
        unit = match.group(2).lower() if match.group(2) else None
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size < 1:
        raise ValueError("a size must be at least 1 byte (use e.g. 512KiB, 10MiB)")
    if size > MAX_SIZE:
        raise ValueError(f"a size can be at most {MAX_SIZE // 2**30}GiB")
    return size


def _whole_number(value: Any) -> Any:
    """Refuse true and false where a number is wanted: pydantic would read them as 1 and 0
    (YAML's ``workers: yes``, or ``max_failures_before_disable: no`` meaning "never")."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number, not true or false")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
# A duration where 0 makes no sense (a tick, an interval, a timeout, a lifetime).
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
Size = Annotated[int, BeforeValidator(parse_size)]
# A count: an integer that true or false is not.
Whole = Annotated[int, BeforeValidator(_whole_number)]


@dataclass(frozen=True)
class QuietHours:
    """A daily local time range such as 22:00-07:00 (it may wrap past midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        match = _QUIET.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a time range such as 22:00-07:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if (h1, m1) == (h2, m2):  # an empty range: quiet never, surely not what was meant
            raise ValueError(f"{text!r} starts and ends at the same time, so it is never quiet")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, local: datetime) -> bool:
        moment = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def last_end(self, local: datetime) -> datetime:
        """The most recent end of a quiet period at or before ``local``."""
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                            microsecond=0)
        return end if end <= local else end - timedelta(days=1)


class Section(BaseModel):
    """A section of the configuration file: unknown settings are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
