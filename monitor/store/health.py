"""Admin notices about feed health: one when a feed has been failing or silent too long, or
its site has refused every article page for as long, one when it recovers. The feed's episode
and its notice commit in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select

from monitor.store.outbox import enqueue_notice_rows
from monitor.store.records import Route
from monitor.store.schema import FeedRow
from monitor.store.store import Store

# New pages in a row that gave no text before a site counts as refusing the fetcher.
UNREAD_PAGES_NOTICE = 3


@dataclass(frozen=True)
class HealthNotice:
    feed_url: str
    kind: str  # failing | silent | unread | recovered
    subject: str
    body: str


def _describe(row: FeedRow, kind: str, now: datetime, shown: Callable[[str], str],
              recovered_from: str | None = None) -> tuple[str, str]:
    # a token or password in the URL (the name, when none was given) never reaches a channel
    # or the outbox
    url, name = shown(row.url), shown(row.name)
    if kind == "failing":
        since = row.failing_since or now
        return (f"Feed failing: {name}",
                f"{name} <{url}> has failed every poll since {since:%Y-%m-%d %H:%M} "
                f"UTC ({row.consecutive_failures} attempts). Last error: "
                f"{row.last_error_code}: {shown(row.last_error_message or '')}")
    if kind == "silent":
        last = row.last_new_entry_at or row.last_success_at
        when = f"{last:%Y-%m-%d %H:%M} UTC" if last else "it was added"
        return (f"Feed silent: {name}",
                f"{name} <{url}> has published nothing new since {when}.")
    if kind == "unread":
        since = row.pages_unread_since or now
        return (f"Feed pages not read: {name}",
                f"None of the last {row.pages_unread_streak} article pages of {name} "
                f"<{url}> could be read, since {since:%Y-%m-%d %H:%M} UTC "
                f"({row.page_warning or 'no text'}). Its articles are matched on the feed's "
                "titles and summaries only: a rule whose words are only in an article's text "
                "misses it.")
    if recovered_from == "unread":
        return (f"Feed recovered: {name}",
                f"The article pages of {name} <{url}> are read again.")
    return (f"Feed recovered: {name}",
            f"{name} <{url}> is publishing again (last success "
            f"{row.last_success_at:%Y-%m-%d %H:%M} UTC).")


def feed_health_notices(store: Store, routes: Sequence[Route], after: timedelta, *,
                        shown: Callable[[str], str]) -> list[HealthNotice]:
    """Open or close health episodes and queue one notice per change to ``routes``; feed
    URLs and errors are written through ``shown`` (the net stage's masking, which this layer
    cannot import)."""
    now = store.clock()
    notices: list[HealthNotice] = []
    with store.write() as session:
        for row in session.scalars(select(FeedRow).where(FeedRow.configured.is_(True),
                                                         may_change(now - after))):
            if row.consecutive_failures and row.failing_since is None:
                row.failing_since = now
            elif not row.consecutive_failures:
                row.failing_since = None
            kind, opened = _state(row, now, after), row.health_alert
            if opened is None and kind in {"failing", "silent", "unread"}:
                row.health_episode += 1
                row.health_alert = kind_to_send = kind
            elif opened is not None and kind == "healthy":
                row.health_alert = None
                kind_to_send = "recovered"
            else:
                continue  # no change, or still in the open episode (one at a time)
            subject, body = _describe(row, kind_to_send, now, shown, opened)
            enqueue_notice_rows(session, f"feed:{row.id}:{row.health_episode}:{kind_to_send}",
                                subject, body, routes, now)
            notices.append(HealthNotice(row.url, kind_to_send, subject, body))
    return notices


def may_change(cutoff: datetime) -> ColumnElement[bool]:
    """The feeds whose episode or ``failing_since`` the loop may change (``cutoff``: now less
    the notice delay): those with an open episode, and those :func:`_state` could find
    failing, silent or unread. The others are healthy or unsure with nothing open: 20,000
    feeds read each cycle took 0.5 s inside a write transaction."""
    failing = FeedRow.consecutive_failures > 0
    return or_(
        FeedRow.health_alert.is_not(None),
        and_(failing, or_(FeedRow.failing_since.is_(None), FeedRow.failing_since <= cutoff)),
        and_(~failing, or_(
            FeedRow.failing_since.is_not(None),
            func.coalesce(FeedRow.last_new_entry_at, FeedRow.last_success_at) <= cutoff,
            and_(FeedRow.pages_unread_since <= cutoff,
                 FeedRow.pages_unread_streak >= UNREAD_PAGES_NOTICE))))


def _state(row: FeedRow, now: datetime, after: timedelta) -> str:
    """failing, silent or unread (for ``after`` or longer), healthy, or unsure (failing,
    briefly). Pages unread for less long leave the feed healthy: it publishes, and an open
    failing or silent episode ends."""
    if row.consecutive_failures:
        long_enough = row.failing_since is not None and now - row.failing_since >= after
        return "failing" if long_enough else "unsure"
    last = row.last_new_entry_at or row.last_success_at
    if last is not None and now - last >= after:
        return "silent"
    # A few pages in a row, not one deleted article: a site that blocks the fetcher.
    if (row.pages_unread_since is not None and row.pages_unread_streak >= UNREAD_PAGES_NOTICE
            and now - row.pages_unread_since >= after):
        return "unread"
    return "healthy" if last is not None else "unsure"
