"""The HTML pages: stories, a story with its evidence, rules, search, feeds, outbox, sign-in.

GET handlers are plain functions (Starlette runs them in its thread pool, so database reads do
not block the event loop); the few writes are async POSTs that check the CSRF token first.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.errors import StoreError
from monitor.language_codes import normalize_language
from monitor.rules import Entity
from monitor.store import MAX_ROW_ID, Outbox, StoryFilter
from monitor.web.charts import chart
from monitor.web.context import web_of
from monitor.web.highlight import passages, pieces
from monitor.web.paths import base_path, cookie_path, here, route_path
from monitor.web.search import run_search, saved_rule_yaml, search_query
from monitor.web.security import (
    SESSION_COOKIE,
    check_login,
    cookie_is_secure,
    csrf_ok,
    password_fingerprint,
    same_origin,
)
from monitor.web.signin import BUSY_RETRY_SECONDS, Busy

T = TypeVar("T")
K = TypeVar("K")

ENTITY_REF = re.compile(r"@([A-Za-z0-9_-]+)")
# Articles of a story shown whole (text and evidence); the rest, syndicated copies mostly, as a
# line each. A wire story in 2,000 outlets made a 12.8 MB page that took 5.6 s to render.
STORY_FULL_ARTICLES = 20
FEEDBACK = {"relevant": True, "not_relevant": False, "clear": None}
STATUSES = ("pending", "held", "digest", "sent", "dead", "unknown")
log = logging.getLogger(__name__)


class _IdConvertor(IntegerConvertor):
    """``{name:id}``: a row id in a path, at most 10 digits (int() refuses a string of over
    4,300 digits with a ValueError, a 500); more is no route, a 404."""

    regex = "[0-9]{1,10}"


register_url_convertor("id", _IdConvertor())


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise HTTPException(400, f"not a date (YYYY-MM-DD): {value[:40]!r}") from None


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise HTTPException(400, "not a number") from None


def first_page(rows: Sequence[T], size: int, key: Callable[[T], K]) -> tuple[list[T], K | None]:
    """The first ``size`` of ``rows`` (all of them, or a read one row longer than a page),
    and the cursor of the next page: the ``key`` of the last one shown, None when nothing
    follows."""
    shown = list(rows[:size])
    return shown, key(shown[-1]) if len(rows) > size else None


def before_cursor(value: str | None) -> int | None:
    """A ``before`` cursor: an id, so one past the ids a database holds is a client error
    (not the database's integer overflow)."""
    return query_id(value, "before: not an id (use the next_before of a page)")


def query_id(value: str | None, problem: str) -> int | None:
    """An id in a query parameter (``before``, ``story``); one past the ids a database holds
    is a 400 saying ``problem``."""
    number = _int(value)
    if number is not None and abs(number) > MAX_ROW_ID:
        raise HTTPException(400, problem)
    return number


def path_id(request: Request, name: str, what: str) -> int:
    """The id in the path; one no row can have is a 404 like any other missing row."""
    number = int(request.path_params[name])
    if number > MAX_ROW_ID:
        raise HTTPException(404, f"no such {what}")
    return number


def story_filter(params: Any) -> StoryFilter:
    """The list filters from query parameters (pages and API share them)."""
    until = _day(params.get("until"))
    feedback = params.get("feedback") or None
    if feedback not in (None, "relevant", "not_relevant", "none"):
        raise HTTPException(400, "feedback: relevant, not_relevant or none")
    # until is inclusive: before the next day, and no bound at all after the last one
    end = until + timedelta(days=1) if until and until.date() < date.max else None
    # stored codes are normalised (``en``); ``EN`` or ``en-GB`` is the same language
    language = params.get("language") or None
    return StoryFilter(rule=params.get("rule") or None, outlet=params.get("outlet") or None,
                       language=(normalize_language(language) or language) if language else None,
                       since=_day(params.get("since")), until=end, feedback=feedback,
                       story=query_id(params.get("story"), "story: not an id"))


def _safe_next(request: Request, value: object, default: str = "/") -> str:
    """A redirect target on this site only (a path, never //host or a scheme); else
    ``default``, a route of this app."""
    if (isinstance(value, str) and value.startswith("/") and not value.startswith("//")
            and "\\" not in value):
        return value
    return base_path(request) + default


async def checked_form(request: Request) -> FormData:
    """The posted form, after the CSRF and origin checks (403 otherwise)."""
    form = await request.form()
    token = form.get("csrf")
    origin_ok = same_origin(request, web_of(request).config.web.public_origin)
    if not origin_ok or not csrf_ok(request, token if isinstance(token, str) else None):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")
    return form


def stories(request: Request) -> Response:
    web = web_of(request)
    f = story_filter(request.query_params)
    page = web.browse.stories(f, before=before_cursor(request.query_params.get("before")),
                              limit=web.config.web.page_size)
    outlets, languages = web.filter_choices()
    params = {k: v for k, v in request.query_params.items() if k != "before" and v}
    return web.render(request, "stories.html", page=page, f=f, outlets=outlets,
                      languages=languages, rules=[r.id for r in web.rules().rules],
                      params=params, pieces=pieces, passages=passages,
                      back=here(request))


def _names_of(entity: Entity | None) -> list[str]:
    """What an entity's row lists: its own aliases, then a group's members by name (their
    aliases are on their own rows; written out, a group of a war's sides is hundreds)."""
    if entity is None:
        return []
    return [a.text for a in entity.written] + [f"@{m}" for m in entity.includes]


def story(request: Request) -> Response:
    web = web_of(request)
    detail = web.browse.story(path_id(request, "story_id", "story"))
    if detail is None:
        raise HTTPException(404, "no such story")
    book = web.rules()
    entities = {}
    by_article: dict[int, list[Any]] = {}
    for hit in detail.hits:
        by_article.setdefault(hit.article_id, []).append(hit)
        for e in hit.evidence:
            if e.entity and e.entity not in entities:
                entities[e.entity] = _names_of(book.entity(e.entity))
    # The first articles whole, and the one a link asked for (a hit's page) wherever it is.
    asked = _int(request.query_params.get("article"))
    shown: list[tuple[int, Any, list[Any]]] = []
    copies: list[tuple[int, Any, list[Any]]] = []
    for i, (aid, article) in enumerate(detail.articles.items()):
        whole = i < STORY_FULL_ARTICLES or aid == asked
        (shown if whole else copies).append((aid, article, by_article.get(aid, [])))
    return web.render(request, "story.html", story=detail, pieces=pieces, entities=entities,
                      shown=shown, copies=copies, asked=asked)


def hit(request: Request) -> Response:
    found = web_of(request).browse.hit(path_id(request, "hit_id", "hit"))
    if found is None:
        raise HTTPException(404, "no such hit")
    return RedirectResponse(f"{base_path(request)}/stories/{found.story_id}"
                            f"?article={found.article_id}#hit-{found.id}", status_code=303)


async def feedback(request: Request) -> Response:
    form = await checked_form(request)
    verdict = form.get("verdict")
    if verdict not in FEEDBACK:
        raise HTTPException(400, "verdict: relevant, not_relevant or clear")
    web = web_of(request)
    hit_id = path_id(request, "hit_id", "hit")
    user = request.state.user
    if not await run_in_threadpool(web.access.set_feedback, hit_id, FEEDBACK[str(verdict)],
                                   user):
        raise HTTPException(404, "no such hit")
    return RedirectResponse(_safe_next(request, form.get("next"), f"/hits/{hit_id}"),
                            status_code=303)


def rules(request: Request) -> Response:
    """The rules, ``web.page_size`` to a page (``?page=``), or one (``?rule=``): 10,000 rules
    on one page made 13 MB of HTML in 5 s."""
    web = web_of(request)
    book = web.rules()
    wanted = request.query_params.get("rule")
    one = book.rule(wanted) if wanted else None
    if wanted and one is None:
        raise HTTPException(404, f"no rule {wanted!r} is loaded")
    chosen = [one] if one is not None else list(book.rules)
    shown, page, pages, first = _paged(request, chosen, "rules")
    today = datetime.now(UTC).date()
    stats = web.browse.rule_stats()
    days = web.hits_per_day()
    token = web.feed_tokens()
    typos = web.typos()
    rows = []
    for rule in shown:
        s = stats.get(rule.id)
        per_day = days.get(rule.id, {})
        entity_ids = sorted(set(ENTITY_REF.findall(rule.query)))
        entities = {e: _names_of(book.entity(e)) for e in entity_ids}
        rows.append({"rule": rule, "stats": s, "entities": entities,
                     "charts": [chart(per_day, today, 30), chart(per_day, today, 90)],
                     "typos": typos.get(rule.id, []),
                     "feed": token(f"/rules/{rule.id}/feed.atom"),
                     "json_feed": token(f"/rules/{rule.id}/feed.json")})
    return web.render(request, "rules.html", rows=rows, problems=book.problems,
                      warnings=web.rule_warnings(), page=page, pages=pages,
                      first=first, total=len(chosen), wanted=wanted,
                      all_feed=token("/feed.atom"), all_json=token("/feed.json"))


def _paged(request: Request, items: list[T], what: str) -> tuple[list[T], int, int, int]:
    """Page ``?page=`` of ``items``, ``web.page_size`` to a page: the page's items, its
    number, how many pages there are, and the place of its first item (from 1)."""
    size = web_of(request).config.web.page_size
    pages = max(1, math.ceil(len(items) / size))
    page = _int(request.query_params.get("page")) or 1
    if not 1 <= page <= pages:
        raise HTTPException(404, f"no page {page}: the {what} fill {pages}")
    return items[(page - 1) * size:page * size], page, pages, (page - 1) * size + 1


def _flag(params: Any, name: str) -> bool:
    """A yes/no query parameter: a checkbox sends ``true`` when ticked and nothing otherwise;
    a link may also say 1, 0, false, on or off."""
    value = (params.get(name) or "").lower()
    if value not in ("", "0", "1", "true", "false", "on", "off"):
        raise HTTPException(400, f"{name}: true or false")
    return value in ("1", "true", "on")


def search(request: Request) -> Response:
    web = web_of(request)
    query = search_query(request.query_params.get("q", ""))
    language = request.query_params.get("language") or None
    stem = _flag(request.query_params, "stem")
    proclitics = _flag(request.query_params, "proclitics")
    result = (run_search(web, query, language=language, stem=stem, proclitics=proclitics)
              if query else None)
    return web.render(request, "search.html", query=query, language=language, stem=stem,
                      proclitics=proclitics, result=result, pieces=pieces, passages=passages,
                      yaml=saved_rule_yaml(query, language, stem, proclitics)
                      if result is not None and result.error is None else "")


def feeds(request: Request) -> Response:
    web = web_of(request)
    order = {"failing": 0, "disabled": 1, "degraded": 2, "never polled": 3, "ok": 4,
             "removed": 5}
    health = sorted(web.store.feed_health(),
                    key=lambda h: (order.get(h.status, 9), -h.consecutive_failures, h.name))
    # A page at a time (20,000 feeds made a 5 MB page), failing first; the counts of all.
    shown, page, pages, first = _paged(request, health, "feeds")
    counts = Counter(h.status for h in health)
    # What monitor check says of a setting that is valid but rarely meant (a polling interval
    # of 15 seconds meant as minutes): whoever reads feed health should see it too.
    return web.render(request, "feeds.html", feeds=shown, now=datetime.now(UTC), page=page,
                      pages=pages, first=first, total=len(health),
                      counts=sorted(counts.items(), key=lambda c: order.get(c[0], 9)),
                      notes=web.config.notes)


OUTBOX_PAGE = 200


def outbox(request: Request) -> Response:
    web = web_of(request)
    status = request.query_params.get("status") or None
    if status not in (None, "failed", "sending", *STATUSES):
        raise HTTPException(400, "unknown status")
    box = Outbox(web.store)
    # the newest 200, then older ones through ?before= (a dead notification behind 200
    # newer ones could not be seen or retried alone)
    shown, older = first_page(box.list(status, limit=OUTBOX_PAGE + 1, before=before_cursor(
        request.query_params.get("before"))), OUTBOX_PAGE, lambda note: note.id)
    return web.render(request, "outbox.html", counts=box.counts(), status=status,
                      rows=shown, statuses=STATUSES, older=older)


async def retry(request: Request) -> Response:
    form = await checked_form(request)
    box = Outbox(web_of(request).store)
    given = form.getlist("id")
    # every id must be one: a bad one is refused, not dropped (no ids at all retries every
    # dead notification)
    if not all(isinstance(v, str) and v.isdecimal() and len(v) <= 10 and int(v) <= MAX_ROW_ID
               for v in given):
        raise HTTPException(400, "id: a notification number")
    ids = [int(str(v)) for v in given]
    if ids:
        await run_in_threadpool(box.retry, ids)
    else:
        await run_in_threadpool(lambda: box.retry(dead=True))
    return RedirectResponse(f"{base_path(request)}/outbox?status=pending", status_code=303)


def login_page(request: Request) -> Response:
    web = web_of(request)
    return web.render(request, "login.html",
                      next=_safe_next(request, request.query_params.get("next")), error=None,
                      users=bool(web.config.web.users))


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await checked_form(request)
    name, password = str(form.get("user", "")), str(form.get("password", ""))
    nxt = _safe_next(request, form.get("next"))
    address = request.client.host if request.client else ""
    guard, ok = web.signin, False
    # The counts are read from the database (a thread: the event loop must not wait on it).
    wait = await run_in_threadpool(guard.refused_for, address, name)
    if wait <= 0:
        try:
            async with guard.slot():
                # Again: the guesses queued beside this one may have used up the allowance.
                wait = await run_in_threadpool(guard.refused_for, address, name)
                if wait <= 0:
                    ok = await run_in_threadpool(check_login, web.config.web.users, name,
                                                 password)
        except Busy:
            return _signin_refused(request, nxt, BUSY_RETRY_SECONDS,
                                   "too many sign-ins at once: try again in a few seconds")
    if wait > 0:
        return _signin_refused(request, nxt, wait, f"too many failed sign-ins: try again in "
                                                   f"{math.ceil(wait / 60)} min")
    if not ok:
        await run_in_threadpool(guard.failed, address, name)
        return web.render(request, "login.html", http_status=401, next=nxt,
                          error="wrong user name or password", users=True)
    lifetime = timedelta(seconds=web.config.web.session_lifetime)
    cookie, _ = await run_in_threadpool(web.access.open_session, name, lifetime,
                                        password_fingerprint(web.config.web.users[name]))
    response = RedirectResponse(nxt, status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(lifetime.total_seconds()),
                        httponly=True, samesite="lax", secure=cookie_is_secure(request),
                        path=cookie_path(request))
    return response


def _signin_refused(request: Request, nxt: str, wait: float, error: str) -> Response:
    response = web_of(request).render(request, "login.html", http_status=429, next=nxt,
                                      error=error, users=True)
    response.headers["Retry-After"] = str(math.ceil(wait))
    return response


async def logout(request: Request) -> Response:
    await checked_form(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await run_in_threadpool(web_of(request).access.close_session, cookie)
    response = RedirectResponse(f"{base_path(request)}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request))
    return response


def _error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    if isinstance(exc, StoreError):  # a database down or not migrated: say so, not a 500
        log.warning("web view: %s", exc)
        status, detail = 503, "the database is unavailable; see the server's log"
    if route_path(request).startswith("/api/"):
        from starlette.responses import JSONResponse
        return JSONResponse({"error": detail}, status_code=status)
    try:
        return web_of(request).render(request, "error.html", http_status=status, status_code=status,
                                      detail=detail)
    except Exception:  # noqa: BLE001  (the error page itself must not fail)
        return PlainTextResponse(str(detail), status_code=status)


ERROR_HANDLERS = {HTTPException: _error, StoreError: _error}
ROUTES = [
    Route("/", stories),
    Route("/stories/{story_id:id}", story),
    Route("/hits/{hit_id:id}", hit),
    Route("/hits/{hit_id:id}/feedback", feedback, methods=["POST"]),
    Route("/rules", rules),
    Route("/search", search),
    Route("/feeds", feeds),
    Route("/outbox", outbox),
    Route("/outbox/retry", retry, methods=["POST"]),
    Route("/login", login_page),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
