"""Recording a poll in its feed's row: one UPDATE per outcome, prepared once.

This runs after every poll of every feed, so the statements are built at import (building,
keying and compiling one per call cost more than executing it). Right-hand sides read the row
as it was: a column the poll did not touch keeps its value (NULL given), counters add, the
lease is released only if this daemon still holds it, and a poll made with an interval that
monitor.yaml has changed since does not record its timing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Boolean,
    Integer,
    Table,
    Update,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from monitor.store.records import PollOutcome
from monitor.store.schema import FeedRow
from monitor.text import clean_text

_FEEDS = cast(Table, FeedRow.__table__)
_WHEN = _FEEDS.c.next_check_at.type  # the UtcDateTime type of every timestamp column


def _when(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=_WHEN)


# The poll's timing applies only if the feed's interval is still the one it was polled with:
# a monitor.yaml change during the poll started the feed afresh (sync_feeds), and the poll's
# next check and adaptive interval, computed from the old one, must not undo it.
_POLLED_WITH = bindparam("interval", type_=Integer())
_SAME_INTERVAL = or_(_POLLED_WITH.is_(None), _FEEDS.c.interval_seconds == _POLLED_WITH)


def _timing(column: Any, value: Any) -> Any:
    return case((_SAME_INTERVAL, value), else_=column)


def _poll_update(**values: object) -> Update:
    """The UPDATE that records a poll, built once: this runs after every poll, and building
    and keying a statement per call cost more than executing it. Right-hand sides read the
    row as it was, so the lease is released only if this daemon still holds it."""
    c = _FEEDS.c
    mine = c.lease_owner == bindparam("owner", type_=c.lease_owner.type)
    return (update(_FEEDS).where(c.id == bindparam("feed_id", type_=c.id.type)).values(
        next_check_at=_timing(c.next_check_at, _when("next_check_at")),
        paused_until=_when("paused_until"),
        lease_owner=case((mine, None), else_=c.lease_owner),
        lease_until=case((mine, None), else_=c.lease_until), **values))


_NEW_PAGES = bindparam("new_pages", type_=Integer())
_NEW_UNREAD = bindparam("new_pages_unread", type_=Integer())
_RECORD_SUCCESS = _poll_update(
    last_success_at=_when("now"), consecutive_failures=0, parse_failures=0,
    last_error_code=None, last_error_message=None,
    etag=bindparam("etag", type_=_FEEDS.c.etag.type),
    last_modified=bindparam("last_modified", type_=_FEEDS.c.last_modified.type),
    last_warning=bindparam("warning", type_=_FEEDS.c.last_warning.type),
    page_warning=case((bindparam("replaces_page_note", type_=Boolean()),
                       bindparam("page_warning", type_=_FEEDS.c.page_warning.type)),
                      else_=_FEEDS.c.page_warning),
    # A poll without new pages leaves the streak; one that read none adds to it; one that
    # read any ends it.
    pages_unread_streak=case((_NEW_PAGES == 0, _FEEDS.c.pages_unread_streak),
                             (_NEW_UNREAD == _NEW_PAGES,
                              _FEEDS.c.pages_unread_streak + _NEW_UNREAD), else_=0),
    pages_unread_since=case((_NEW_PAGES == 0, _FEEDS.c.pages_unread_since),
                            (_NEW_UNREAD == _NEW_PAGES,
                             func.coalesce(_FEEDS.c.pages_unread_since, _when("now"))),
                            else_=None),
    # Unchanged when the poll did not do it (NULL given).
    last_full_fetch_at=func.coalesce(_when("full_fetch_at"), _FEEDS.c.last_full_fetch_at),
    last_new_entry_at=func.coalesce(_when("new_entry_at"), _FEEDS.c.last_new_entry_at),
    entries_seen=_FEEDS.c.entries_seen + bindparam("new_entries", type_=Integer()),
    # The adaptive polling state, when the poll computed one (a rate may itself be NULL).
    entry_rate=_timing(_FEEDS.c.entry_rate, case(
        (bindparam("rate_given", type_=Boolean()),
         bindparam("entry_rate", type_=_FEEDS.c.entry_rate.type)),
        else_=_FEEDS.c.entry_rate)),
    poll_interval_seconds=_timing(_FEEDS.c.poll_interval_seconds, func.coalesce(
        bindparam("poll_interval_seconds", type_=Integer()), _FEEDS.c.poll_interval_seconds)))
_RECORD_FAILURE = _poll_update(
    consecutive_failures=_FEEDS.c.consecutive_failures + 1,
    last_error_code=bindparam("error_code", type_=_FEEDS.c.last_error_code.type),
    last_error_message=bindparam("error_message", type_=_FEEDS.c.last_error_message.type),
    parse_failures=_FEEDS.c.parse_failures + bindparam("parse_failure", type_=Integer()),
    disabled_at=func.coalesce(_when("disabled_at"), _FEEDS.c.disabled_at))


def record_poll(session: Session, feed_id: int, owner: str, outcome: PollOutcome,
                now: datetime, interval_seconds: int | None) -> None:
    """Write ``outcome`` into the feed's row and release its lease (see the module)."""
    params: dict[str, object] = {
        "feed_id": feed_id, "owner": owner, "next_check_at": outcome.next_check_at,
        "paused_until": outcome.paused_until, "interval": interval_seconds}
    if outcome.ok:
        warning = outcome.warning
        if outcome.new_url:
            warning = _moved(session, feed_id, outcome.new_url, warning)
        params.update(
            now=now, etag=outcome.etag, last_modified=outcome.last_modified,
            full_fetch_at=now if outcome.full_fetch else None,
            new_entry_at=now if outcome.new_entries else None,
            new_entries=outcome.new_entries,
            rate_given=outcome.poll_interval_seconds is not None,
            entry_rate=outcome.entry_rate,
            poll_interval_seconds=outcome.poll_interval_seconds,
            warning=clean_text(warning)[:2000] if warning else None,
            replaces_page_note=outcome.replaces_page_note,
            page_warning=(clean_text(outcome.page_warning)[:2000]
                          if outcome.page_warning else None),
            new_pages=outcome.new_pages, new_pages_unread=outcome.new_pages_unread)
    else:
        # Fetch errors neither count nor reset parse failures: a network blip between two
        # HTML answers does not make the URL a feed again.
        params.update(
            error_code=outcome.error_code,
            error_message=clean_text(outcome.error_message or "")[:2000],
            parse_failure=int(outcome.parse_failure),
            disabled_at=now if outcome.disable else None)
    session.connection().execute(_RECORD_SUCCESS if outcome.ok else _RECORD_FAILURE, params)


def _moved(session: Session, feed_id: int, new_url: str, warning: str | None) -> str | None:
    """Follow a permanent redirect (already checked against the address policy, case A11).

    A feed added from the command line takes the new URL, unless another feed row has it; a
    feed from monitor.yaml keeps its URL (the file is the source of truth, and the next start
    would re-add the old one) and says where it moved in its health. Returns the warning to
    record.
    """
    found = session.execute(select(FeedRow.url, FeedRow.origin)
                            .where(FeedRow.id == feed_id)).first()
    if found is None or found.url == new_url:
        return warning
    taken = session.scalar(select(FeedRow.id).where(FeedRow.url == new_url))
    if found.origin == "cli" and taken is None:
        session.execute(update(FeedRow).where(FeedRow.id == feed_id).values(url=new_url),
                        execution_options={"synchronize_session": False})
        return warning
    note = (f"moved permanently to {new_url}: update monitor.yaml"
            if found.origin == "config"
            else f"moved permanently to {new_url}, which another feed already polls")
    return f"{warning}; {note}" if warning else note
