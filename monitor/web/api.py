"""The REST API under /api/v1: JSON, keyset pagination (``before``/``next``), the pages' filters.

With authentication on, each request carries ``Authorization: Bearer <token>`` (tokens from
``monitor web token create NAME``, stored hashed). The OpenAPI document is /api/v1/openapi.json.
A hit's JSON is the same object ``monitor hits --json`` prints, plus ``relevant``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.net import shown_url
from monitor.store import HitView, Outbox, StoredArticle, StorySummary
from monitor.web.context import web_of
from monitor.web.pages import (
    STATUSES,
    _int,
    before_cursor,
    first_page,
    path_id,
    query_id,
    story_filter,
)
from monitor.web.paths import base_path
from monitor.web.security import same_origin

PREFIX = "/api/v1"
MAX_LIMIT = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def hit_json(hit: HitView) -> dict[str, object]:
    """The hit as ``monitor hits --json`` prints it, and its feedback."""
    return {
        "id": hit.id, "rule": hit.rule_id, "rule_name": hit.rule_name, "title": hit.title,
        "url": hit.url, "source": hit.source, "language": hit.language,
        "published": _iso(hit.published), "matched_at": hit.matched_at.isoformat(),
        "story": hit.story_id,
        "evidence": [{"term": e.term, "matched": e.matched, "field": e.field, "start": e.start,
                      "end": e.end, "snippet": e.snippet, "entity": e.entity}
                     for e in hit.evidence],
        "relevant": hit.relevant,
    }


def article_json(a: StoredArticle, *, text: bool = True) -> dict[str, object]:
    out: dict[str, object] = {"id": a.id, "url": a.url, "title": a.title, "source": a.source,
                              "language": a.language, "published": _iso(a.published),
                              "fetched_at": a.fetched_at.isoformat(),
                              "text_source": a.text_source, "page_error": a.error}
    if text:
        out["text"] = a.text
    return out


def story_json(s: StorySummary) -> dict[str, object]:
    """A story in a list: its first 100 hits (and the first of each rule) and outlets, with
    their totals; ``/hits?story=`` and ``/articles?story=`` page through all of them."""
    return {"id": s.id, "title": s.title, "rules": s.rules, "latest": _iso(s.latest),
            "hits": [hit_json(h) for h in s.hits], "hits_total": s.hit_count,
            "outlets": [{"article": o.article_id, "source": o.source, "title": o.title,
                         "url": o.url, "published": _iso(o.published)} for o in s.outlets],
            "outlets_total": s.outlet_count}


def _limit(request: Request, default: int = 50) -> int:
    value = _int(request.query_params.get("limit")) or default
    return max(1, min(value, MAX_LIMIT))


def _page(items: list[Any], cursor: int | str | None, request: Request,
          key: str = "before") -> JSONResponse:
    """A page of ``items``: ``next`` is this request's URL with the ``key`` cursor (``before``
    an id, or ``after`` a rule id) of the next page, also given alone as ``next_<key>``."""
    nxt = None
    if cursor is not None:
        # encoded: a filter value with & + # or a space (an outlet "AT&T") must come back
        params = [(k, v) for k, v in request.query_params.multi_items() if k != key]
        nxt = f"{request.url.path}?{urlencode([*params, (key, str(cursor))])}"
    return JSONResponse({"items": items, "next": nxt, f"next_{key}": cursor})


def stories(request: Request) -> Response:
    web = web_of(request)
    page = web.browse.stories(story_filter(request.query_params),
                              before=before_cursor(request.query_params.get("before")),
                              limit=_limit(request))
    response = _page([story_json(s) for s in page.stories], page.next_cursor, request)
    response.headers["X-Total-Count"] = str(page.total)
    return response


def hits(request: Request) -> Response:
    web = web_of(request)
    found, cursor = web.browse.hits(story_filter(request.query_params),
                                    before=before_cursor(request.query_params.get("before")),
                                    limit=_limit(request))
    return _page([hit_json(h) for h in found], cursor, request)


def one_hit(request: Request) -> Response:
    found = web_of(request).browse.hit(path_id(request, "hit_id", "hit"))
    if found is None:
        raise HTTPException(404, "no such hit")
    return JSONResponse(hit_json(found))


def articles(request: Request) -> Response:
    found, cursor = web_of(request).browse.articles(
        before=before_cursor(request.query_params.get("before")), limit=_limit(request),
        story=query_id(request.query_params.get("story"), "story: not an id"))
    return _page([article_json(a, text=False) for a in found], cursor, request)


def one_article(request: Request) -> Response:
    found = web_of(request).browse.article(path_id(request, "article_id", "article"))
    if found is None:
        raise HTTPException(404, "no such article")
    return JSONResponse(article_json(found))


def rules(request: Request) -> Response:
    """Rules by id, a page at a time after the id ``after`` (10,000 rules were one 1.6 MB
    answer), or one rule (``rule=ID``)."""
    web = web_of(request)
    book = web.rules()
    wanted = request.query_params.get("rule")
    if wanted:
        one = book.rule(wanted)
        if one is None:
            raise HTTPException(404, f"no rule {wanted!r} is loaded")
        listed = [one]
    else:
        after = request.query_params.get("after")
        listed = sorted((r for r in book.rules if after is None or r.id > after),
                        key=lambda r: r.id)
    shown, cursor = first_page(listed, _limit(request), lambda rule: rule.id)
    stats = web.browse.rule_stats()
    items = []
    for r in shown:
        s = stats.get(r.id)
        items.append({"id": r.id, "name": r.name, "query": r.query, "languages": r.languages,
                      "notify": r.notify, "stem": r.stem, "proclitics": r.proclitics,
                      "hits": s.hits if s else 0,
                      "relevant": s.relevant if s else 0,
                      "not_relevant": s.not_relevant if s else 0,
                      "precision": s.precision if s else None})
    return _page(items, cursor, request, "after")


def feeds(request: Request) -> Response:
    """Feeds by id, newest first, a page at a time like every list (all 20,000 were one
    5.7 MB answer)."""
    before = before_cursor(request.query_params.get("before"))
    listed = sorted((h for h in web_of(request).store.feed_health()
                     if before is None or h.id < before), key=lambda h: -h.id)
    shown, cursor = first_page(listed, _limit(request), lambda health: health.id)
    # a feed URL may hold a password or an api_key= (from a ${VAR}): masked as in the logs,
    # and so is the name, which is the URL when none was given
    items = [{"id": h.id, "name": shown_url(h.name), "url": shown_url(h.url), "status": h.status,
              "last_success_at": _iso(h.last_success_at),
              "consecutive_failures": h.consecutive_failures,
              "last_error": h.last_error_code, "last_error_message": h.last_error_message,
              "interval_seconds": h.poll_interval_seconds or h.interval_seconds,
              "next_check_at": _iso(h.next_check_at), "disabled_at": _iso(h.disabled_at)}
             for h in shown]
    return _page(items, cursor, request)


def notifications(request: Request) -> Response:
    status = request.query_params.get("status") or None
    if status not in (None, "failed", "sending", *STATUSES):
        raise HTTPException(400, "unknown status")
    limit = _limit(request, 200)
    shown, cursor = first_page(Outbox(web_of(request).store).list(
        status, limit=limit + 1, before=before_cursor(request.query_params.get("before"))),
        limit, lambda note: note.id)
    return _page([n.as_json() for n in shown], cursor, request)


async def feedback(request: Request) -> Response:
    """POST {"relevant": true|false|null}: JSON only, so a cross-site form cannot send it."""
    if not request.headers.get("content-type", "").startswith("application/json") or (
            not same_origin(request, web_of(request).config.web.public_origin)):
        raise HTTPException(403, "send JSON (Content-Type: application/json) from this origin")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise HTTPException(400, "body is not JSON") from None
    # by type: 0 == False and 1 == True, and a missing key is no verdict
    if not isinstance(body, dict) or "relevant" not in body or not (
            body["relevant"] is None or isinstance(body["relevant"], bool)):
        raise HTTPException(400, 'send {"relevant": true | false | null}')
    web = web_of(request)
    hit_id = path_id(request, "hit_id", "hit")
    if not await run_in_threadpool(web.access.set_feedback, hit_id, body["relevant"],
                                   request.state.user):
        raise HTTPException(404, "no such hit")
    found = await run_in_threadpool(web.browse.hit, hit_id)
    return JSONResponse(hit_json(found) if found else {})


def openapi(request: Request) -> Response:
    # the paths are relative to the server's URL, which carries the app's prefix
    return JSONResponse({**OPENAPI, "servers": [{"url": base_path(request) + PREFIX}]})


def _list(summary: str, filters: bool = False, story: bool = False) -> dict[str, object]:
    params: list[dict[str, object]] = [
        {"name": "before", "in": "query", "schema": {"type": "integer"},
         "description": "Keyset cursor: the next_before of the previous page."},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": MAX_LIMIT}}]
    if filters:
        params += [{"name": n, "in": "query", "schema": {"type": "string"}} for n in
                   ("rule", "outlet", "language", "since", "until", "feedback")]
    if filters or story:
        params.append({"name": "story", "in": "query", "schema": {"type": "integer"}})
    return {"get": {"summary": summary, "parameters": params,
                    "responses": {"200": {"description": "A page: items, next, next_before"}}}}


def _one(summary: str, name: str) -> dict[str, object]:
    return {"get": {"summary": summary, "parameters": [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": summary}, "404": {"description": "Not found"}}}}


OPENAPI: dict[str, object] = {
    "openapi": "3.1.0",
    "info": {"title": "newsmonitor API", "version": "1"},
    "servers": [{"url": PREFIX}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/stories": _list("Stories with hits, newest first", filters=True),
        "/hits": _list("Hits, newest first", filters=True),
        "/hits/{hit_id}": _one("One hit", "hit_id"),
        "/hits/{hit_id}/feedback": {"post": {
            "summary": "Mark a hit relevant (true), not relevant (false) or clear (null)",
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"relevant": {"type": ["boolean", "null"]}}}}}},
            "responses": {"200": {"description": "The hit"}}}},
        "/articles": _list("Stored articles, newest first (story=ID: one story's)", story=True),
        "/articles/{article_id}": _one("One article with its text", "article_id"),
        "/rules": {"get": {
            "summary": "Rules by id with hit counts and precision (rule=ID: one rule)",
            "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "string"},
                 "description": "Keyset cursor: the next_after of the previous page."},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "maximum": MAX_LIMIT}},
                {"name": "rule", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "A page: items, next, next_after"},
                          "404": {"description": "No such rule"}}}},
        "/feeds": _list("Feeds and their health"),
        "/notifications": _list(
            "Notifications (status=pending|held|digest|sent|dead|unknown|failed)"),
    },
}

ROUTES = [
    Route(f"{PREFIX}/openapi.json", openapi),
    Route(f"{PREFIX}/stories", stories),
    Route(f"{PREFIX}/hits", hits),
    Route(f"{PREFIX}/hits/{{hit_id:id}}", one_hit),
    Route(f"{PREFIX}/hits/{{hit_id:id}}/feedback", feedback, methods=["POST"]),
    Route(f"{PREFIX}/articles", articles),
    Route(f"{PREFIX}/articles/{{article_id:id}}", one_article),
    Route(f"{PREFIX}/rules", rules),
    Route(f"{PREFIX}/feeds", feeds),
    Route(f"{PREFIX}/notifications", notifications),
]
