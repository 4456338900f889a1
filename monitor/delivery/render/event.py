"""The structured webhook event: what a ``json://`` destination receives by default.

A program receiving alerts gets fields, not a message to parse. The body is one JSON object,
versioned by ``schema`` (a change that removes or renames a field gets a new version; new
fields may be added within one):

.. code-block:: json

    {"schema": "newsmonitor.alert/1", "event": "alert",
     "alert": {"notification_id": 12, "rule": {"id": "gaza-ceasefire", "name": "..."},
               "title": "...", "url": "https://...", "outlet": "ANTARA",
               "published": "2026-12-01T08:30:00+00:00", "language": "id",
               "story": {"id": 7, "size": 3, "other_outlets": ["BBC", "CNN Indonesia"]},
               "matched": ["Qatar (Doha)", "gencatan senjata"],
               "web_url": "https://news.example.org/monitor/hits/41",
               "evidence": [{"term": "@qatar", "entity": "Qatar", "matched": "Qatar",
                             "field": "body", "start": 10, "end": 15, "snippet": "..."}]}}

A digest is ``{"schema": "newsmonitor.alert/1", "event": "digest", "alerts": [...]}`` with
one object per alert as above. Text fields are plain: controls and bidi overrides removed,
no markup, no escapes, no zero-width characters. ``published`` is ISO 8601 or null; ``url``
is the article's canonical URL; ``web_url`` the hit's page in the web view (null without
``web.public_url``). The top-level keys never collide with the keys of apprise's
own JSON form, which ``channels.<name>.webhook: apprise`` keeps instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from monitor.delivery.render.context import matched_groups, web_page
from monitor.models import Alert
from monitor.text import clean_line

SCHEMA = "newsmonitor.alert/1"


def _plain(text: str | None) -> str:
    return clean_line(text or "").replace("\u200b", "")


def _alert(alert: Alert, web_url: str | None) -> dict[str, Any]:
    published = alert.published
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    others = [_plain(o) for o in alert.also_reported_by]
    return {
        "notification_id": alert.notification_id,
        "rule": {"id": alert.rule_id, "name": _plain(alert.rule_name)},
        "title": _plain(alert.title),
        "url": _plain(alert.url),
        "outlet": _plain(alert.source),
        "published": published.isoformat() if published else None,
        "language": alert.language,
        "story": {"id": alert.story_id, "size": max(alert.story_size, len(others) + 1),
                  "other_outlets": others},
        "matched": [_plain(g) for g in matched_groups(alert, "json")],
        "web_url": web_page(alert, web_url),
        "evidence": [
            {"term": _plain(e.term), "entity": _plain(e.entity) or None,
             "matched": _plain(e.matched), "field": e.field, "start": e.start, "end": e.end,
             "snippet": _plain(e.snippet)}
            for e in alert.evidence
        ],
    }


def alert_event(alert: Alert, web_url: str | None = None) -> dict[str, Any]:
    """The webhook body for one alert (schema above); ``web_url`` is ``web.public_url``."""
    return {"schema": SCHEMA, "event": "alert", "alert": _alert(alert, web_url)}


def digest_event(alerts: Sequence[Alert], web_url: str | None = None) -> dict[str, Any]:
    """The webhook body for a digest of alerts (schema above)."""
    return {"schema": SCHEMA, "event": "digest",
            "alerts": [_alert(a, web_url) for a in alerts]}
