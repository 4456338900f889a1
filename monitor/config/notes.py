"""What a valid configuration rarely means: notes that ``monitor check`` and the daemon's log
give, while the service still runs as written.

Today one kind: an interval written as a bare number under a minute. A bare number is
seconds (``polling.default_interval: 15`` polls every feed four times a minute), and someone
who meant minutes hammers every site, which may then block the service.
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
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _BARE_NUMBER.fullmatch(value):
        return float(value)
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
