"""What the web view writes: feedback on hits, API tokens, sessions and its secrets.

Tokens and session cookies are random; only their SHA-256 is stored, so a copy of the database
lets nobody in. The plain token is returned once, when it is made.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from monitor.errors import StoreError
from monitor.store.schema import (
    ApiTokenRow,
    FeedbackRow,
    HitRow,
    SignInFailureRow,
    WebSecretRow,
    WebSessionRow,
)
from monitor.store.store import Store

# How stale a token's "last used" may be: noting each use was a write on each API call.
TOKEN_USE_PRECISION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """What the database keeps of a secret (a token, a cookie, a sign-in key): its SHA-256.
    (A lone surrogate, which no token has but a form field might, is hashed as it is.)"""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class WebSession:
    user: str
    csrf: str
    expires_at: datetime
    credential: str  # what the web view said of the password it signed in with


@dataclass(frozen=True)
class ApiToken:
    name: str
    created_at: datetime
    last_used_at: datetime | None


class Access:
    """Feedback, tokens, sessions and secrets, each call one short transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- feedback -------------------------------------------------------------------------

    def set_feedback(self, hit_id: int, relevant: bool | None, author: str | None = None) -> bool:
        """Record (or with None clear) a verdict on a hit; False when the hit does not exist."""
        with self.store.write() as session:
            rule_id = session.scalar(select(HitRow.rule_id).where(HitRow.id == hit_id))
            if rule_id is None:
                return False
            row = session.get(FeedbackRow, hit_id)
            if relevant is None:
                if row is not None:
                    session.delete(row)
                return True
            if row is None:
                session.add(FeedbackRow(hit_id=hit_id, rule_id=rule_id, relevant=relevant,
                                        author=author, updated_at=self.store.clock()))
            else:
                row.relevant, row.author, row.updated_at = relevant, author, self.store.clock()
            return True

    def feedback(self, hit_ids: list[int] | None = None) -> dict[int, bool]:
        """Verdicts by hit id (all of them, or those of ``hit_ids``)."""
        query = select(FeedbackRow.hit_id, FeedbackRow.relevant)
        if hit_ids is not None:
            query = query.where(FeedbackRow.hit_id.in_(hit_ids))
        with self.store.read() as session:
            return {h: bool(r) for h, r in session.execute(query)}

    def verdicts_by_article(self, rule_id: str) -> dict[int, bool]:
        """The feedback on a rule's stored hits, by article id (what a backtest replays)."""
        with self.store.read() as session:
            return {a: bool(r) for a, r in session.execute(
                select(HitRow.article_id, FeedbackRow.relevant)
                .join(FeedbackRow, FeedbackRow.hit_id == HitRow.id)
                .where(FeedbackRow.rule_id == rule_id))}

    # -- API tokens -----------------------------------------------------------------------

    def create_token(self, name: str) -> str:
        """A new API token named ``name`` (shown once); StoreError if the name is taken."""
        token = "nm_" + secrets.token_urlsafe(32)
        try:
            with self.store.write() as session:
                session.add(ApiTokenRow(name=name, token_hash=token_hash(token),
                                        created_at=self.store.clock()))
        except IntegrityError as exc:
            raise StoreError(f"an API token named {name!r} already exists") from exc
        return token

    def revoke_token(self, name: str) -> bool:
        with self.store.write() as session:
            result = session.execute(delete(ApiTokenRow).where(ApiTokenRow.name == name))
            return bool(getattr(result, "rowcount", 0))

    def tokens(self) -> list[ApiToken]:
        with self.store.read() as session:
            return [ApiToken(r.name, r.created_at, r.last_used_at)
                    for r in session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))]

    def token_owner(self, token: str) -> str | None:
        """The name of the token, if it is a valid one (and note its use, to the minute).

        Read first: a write on each API call, valid or not, queued every request behind the
        daemon's writes (SQLite has one writer), and a flood of made-up tokens held the
        database's write lock in turn.
        """
        hashed = token_hash(token)
        with self.store.read() as session:
            row = session.execute(select(ApiTokenRow.name, ApiTokenRow.last_used_at)
                                  .where(ApiTokenRow.token_hash == hashed)).first()
        if row is None:
            return None
        now = self.store.clock()
        if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
            with self.store.write() as session:
                session.execute(update(ApiTokenRow).where(ApiTokenRow.token_hash == hashed)
                                .values(last_used_at=now))
        return str(row.name)

    # -- sessions -------------------------------------------------------------------------

    def open_session(self, user: str, lifetime: timedelta,
                     credential: str) -> tuple[str, WebSession]:
        """A new session for ``user``, who signed in with the password ``credential`` stands
        for: the cookie value (shown once) and the session."""
        cookie = secrets.token_urlsafe(32)
        now = self.store.clock()
        session_row = WebSessionRow(token_hash=token_hash(cookie), user=user,
                                    csrf=secrets.token_urlsafe(24), expires_at=now + lifetime,
                                    credential=credential)
        with self.store.write() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            session.add(session_row)
        return cookie, WebSession(user, session_row.csrf, session_row.expires_at, credential)

    def session(self, cookie: str) -> WebSession | None:
        with self.store.read() as session:
            row = session.get(WebSessionRow, token_hash(cookie))
            if row is None or row.expires_at <= self.store.clock():
                return None
            return WebSession(row.user, row.csrf, row.expires_at, row.credential)

    def close_session(self, cookie: str) -> None:
        with self.store.write() as session:
            session.execute(delete(WebSessionRow)
                            .where(WebSessionRow.token_hash == token_hash(cookie)))

    # -- failed sign-ins ------------------------------------------------------------------

    def recent_failures(self, keys: Sequence[tuple[str, int]],
                        since: datetime) -> dict[str, list[datetime]]:
        """For each ``(key, n)``: the newest ``n`` failed sign-ins counted against the key
        after ``since``, newest first (one read: the counts of one decision agree). Keys are
        kept as their :func:`token_hash`: a name typed at the sign-in form may be someone's
        password."""
        with self.store.read() as session:
            return {key: list(session.scalars(
                select(SignInFailureRow.failed_at)
                .where(SignInFailureRow.key_hash == token_hash(key),
                       SignInFailureRow.failed_at > since)
                .order_by(SignInFailureRow.failed_at.desc()).limit(n)))
                for key, n in keys}

    def add_failure(self, keys: Sequence[str], at: datetime, forget_before: datetime) -> None:
        """Count a failed sign-in at ``at`` against each key; forget those before
        ``forget_before`` (so the table holds one window's failures, however many come)."""
        with self.store.write() as session:
            session.execute(delete(SignInFailureRow)
                            .where(SignInFailureRow.failed_at < forget_before))
            session.execute(insert(SignInFailureRow),
                            [{"key_hash": token_hash(key), "failed_at": at} for key in keys])

    # -- secrets --------------------------------------------------------------------------

    def renew_secret(self, name: str) -> None:
        """Replace a server secret with a new random one (what it signed stops working)."""
        with self.store.write() as session:
            session.execute(delete(WebSecretRow).where(WebSecretRow.name == name))
            session.add(WebSecretRow(name=name, value=secrets.token_hex(32)))

    def secret(self, name: str) -> str:
        """A server secret, made at random on first use and kept in the database."""
        with self.store.read() as session:
            value = session.scalar(select(WebSecretRow.value).where(WebSecretRow.name == name))
        if value is not None:
            return value
        try:
            with self.store.write() as session:
                session.add(WebSecretRow(name=name, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another process made it first: read theirs
        with self.store.read() as session:
            value = session.scalar(select(WebSecretRow.value).where(WebSecretRow.name == name))
        if value is None:  # pragma: no cover - written just above
            raise StoreError(f"secret {name!r} could not be stored")
        return value
