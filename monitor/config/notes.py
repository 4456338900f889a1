"""What a configuration rarely means: notes that ``monitor check`` and the daemon's log give,
while the service still runs as written, and the slips too costly to run with, refused.

Noted: an interval written as a bare number under a minute. A bare number is seconds
(``polling.default_interval: 15`` polls every feed four times a minute), and someone who meant
minutes hammers every site, which may then block the service.

Refused (:func:`day_scale_problems`): a period counted in days written as a bare number
under a day (0, keep none, is 0 in any unit). ``retention.articles: 365`` is 365 seconds,
and the daily prune would delete every story past the 7-day story window: nothing brings
the archive back. ``delivery.max_article_age: 3`` would let no article alert. So the file
is not accepted; a period under a day written with its unit (``12h``) is taken as meant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_POLLING_INTERVALS = ("default_interval", "min_interval", "max_interval")
_BARE_NUMBER = re.compile(r"\s*\d+(?:\.\d*)?\s*")


def _bare_seconds(value: Any) -> float | None:
    """``value`` as seconds when it is written without a unit, else None."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and _BARE_NUMBER.fullmatch(value):
            return float(value)
    except OverflowError:  # a 400-digit number: the model refuses it (at most 100 years)
        return None
    return None


def interval_notes(data: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Each polling interval written as a bare number under 60, with its key path."""
    written: list[tuple[tuple[Any, ...], Any]] = []
    polling = data.get("polling")
    if isinstance(polling, Mapping):
        written += [(("polling", key), polling[key]) for key in _POLLING_INTERVALS
                    if key in polling]
    feeds = data.get("feeds")
    for index, feed in enumerate(feeds if isinstance(feeds, list) else []):
        if isinstance(feed, Mapping) and "interval" in feed:
            written.append((("feeds", index, "interval"), feed["interval"]))
    notes = []
    for loc, value in written:
        seconds = _bare_seconds(value)
        if seconds is not None and 0 < seconds < 60:
            shown = f"{seconds:g}"
            notes.append((loc, f"{shown} is {shown} seconds (a number without a unit is "
                               f"seconds): write {shown}s if you mean it, {shown}m for minutes"))
    return notes


# Periods counted in days, and what a bare number (seconds) would do.
_DAY_SCALE = {
    ("retention", "article_text"): "pruning would drop the text of what is older",
    ("retention", "articles"): "pruning would delete what is older",
    ("retention", "notifications"): "pruning would delete what is older",
    ("retention", "attempts"): "pruning would delete what is older",
    ("delivery", "max_article_age"): "no article published longer ago would alert",
}
DAY_SECONDS = 86400.0


def day_scale_problems(data: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Each period counted in days (retention, ``delivery.max_article_age``) written as a
    bare number under a day (but not 0), with its key path."""
    problems = []
    for (section, key), effect in _DAY_SCALE.items():
        values = data.get(section)
        seconds = _bare_seconds(values.get(key)) if isinstance(values, Mapping) else None
        if seconds is not None and 0 < seconds < DAY_SECONDS:  # (0 is 0 in any unit)
            shown = f"{seconds:g}"
            keep = "; null keeps everything" if section == "retention" else ""
            problems.append(((section, key), (
                f"{shown} is {shown} seconds (a number without a unit is seconds), and "
                f"{effect}: write {shown}d for days (a period under a day needs its unit, "
                f"such as 12h{keep})")))
    return problems
