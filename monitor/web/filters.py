"""Jinja2 filters: dates, percentages, links that can only point at http(s) pages, and URLs
shown with their secrets masked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from monitor.net import shown_url


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "–"


def href(url: str | None) -> str:
    """An article's link, only if it is http(s): never ``javascript:`` or ``data:``."""
    if not url:
        return "#"
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return "#"
    return url if scheme in {"http", "https"} else "#"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


FILTERS: dict[str, Callable[..., Any]] = {"when": when, "href": href, "percent": percent,
                                          "masked": shown_url}
