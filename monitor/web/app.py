"""The ASGI application: routes, the authentication middleware, templates and the rule book.

:func:`create_app` builds a Starlette app over a store; :func:`add_routes` mounts more routes
on it (metrics and health probes use it). Pages and API are in their own modules.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import Config, WebConfig
from monitor.errors import StoreError
from monitor.store import Access, Browse, Store
from monitor.web import api, pages, syndication
from monitor.web.context import HERE, Web, environment, web_of
from monitor.web.paths import base_path, here, route_path
from monitor.web.security import (
    SESSION_COOKIE,
    finish,
    host_problem,
    password_fingerprint,
    secure_cookies,
)
from monitor.web.signin import SignInGuard, StoreLog

# Paths anyone may open; others may add theirs (a health probe) with add_routes(public=True).
PUBLIC_PATHS = {"/login", "/static/style.css"}
# What `monitor run` mounts beside the pages (monitor.daemon.ops's probes).
PROBE_PATHS = ("/metrics", "/healthz", "/readyz")
FEED_SUFFIXES = (".atom", ".json")
# The largest body a form or API call needs (a page of 500 notification ids to retry is 7 KB).
MAX_BODY_BYTES = 64 * 1024
# ... and the longest it may take to arrive: 64 KiB in 30 s is 2 KiB/s, slower than any link.
BODY_SECONDS = 30.0
_TOO_BIG = f"the request body is over {MAX_BODY_BYTES // 1024} KiB"
log = logging.getLogger(__name__)

class _BasePath:
    """Serves the app under ``web.public_url``'s path (``/monitor``) behind a reverse proxy.

    A proxy may pass the path as the browser sent it (``/monitor/rules``) or strip the prefix
    (``/rules``): both reach the same route, with the prefix as the ASGI ``root_path``, so
    links, redirects and cookies carry it. ``/monitor`` alone redirects to ``/monitor/``.
    """

    def __init__(self, app: ASGIApp, base: str) -> None:
        self.app = app
        self.base = base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.base:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == self.base:
            query = scope.get("query_string", b"").decode("latin-1")
            response = RedirectResponse(self.base + "/" + (f"?{query}" if query else ""),
                                        status_code=308)
            await response(scope, receive, send)
            return
        inner = {**scope, "root_path": self.base}
        if not path.startswith(self.base + "/"):  # the proxy stripped the prefix
            inner["path"] = self.base + path
            if scope.get("raw_path") is not None:
                inner["raw_path"] = self.base.encode() + scope["raw_path"]
        await self.app(inner, receive, send)


class _BodyLimit:
    """Refuses a request body over :data:`MAX_BODY_BYTES` with 413 before any of it is
    parsed. Starlette keeps a urlencoded form's fields in memory, up to 1,000 of 1 MiB each,
    and a form is read before its CSRF check: one 810 MB post from anyone took the server
    to 895 MB. A body within the limit is read here and handed on whole. One that has not
    arrived within :data:`BODY_SECONDS` gets 408: a client sending a byte a second held its
    connection and a request for as long as it liked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)  # never read: uvicorn stops reading them
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            await self._refuse(scope, receive, send, 413, _TOO_BIG)
            return
        try:
            async with asyncio.timeout(BODY_SECONDS):
                body = await _body_to_limit(receive)
        except TimeoutError:
            await self._refuse(scope, receive, send, 408, f"the request body took over "
                               f"{BODY_SECONDS:g} s to arrive")
            return
        if body is None:  # the client went away: nothing to serve
            return
        if len(body) > MAX_BODY_BYTES:  # chunked, without a length
            await self._refuse(scope, receive, send, 413, _TOO_BIG)
            return
        whole: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            return whole.pop() if whole else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int,
                      message: str) -> None:
        request = Request(scope)
        response = _refused(route_path(request), status, message)
        response.headers["Connection"] = "close"  # the rest of the body is not worth reading
        await finish(request, response)(scope, receive, send)


class _Guard(BaseHTTPMiddleware):
    """Names the user of every request, or turns it away; adds the security headers."""

    async def dispatch(self, request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        web = web_of(request)
        path = route_path(request)
        request.state.secure_cookies = secure_cookies(request, web.config.web.public_origin)
        refused = host_problem(web.config.web, request.headers.get("host"))
        if refused is not None:
            return finish(request, _refused(path, 403, refused))
        if "\x00" in path or any("\x00" in k or "\x00" in v
                                 for k, v in request.query_params.multi_items()):
            # no name, filter or id holds one, and PostgreSQL refuses it in any text
            return finish(request, _refused(path, 400, "a NUL character (%00) in the request"))
        try:
            request.state.user = await run_in_threadpool(_user, web, request)
        except StoreError as exc:  # sessions and tokens are in the database
            log.warning("web view: %s", exc)
            return finish(request, _refused(path, 503, "the database is unavailable; see the "
                                                       "server's log"))
        if request.state.user is None and path not in web.public:
            if path.startswith("/api/"):
                response: Response = JSONResponse(
                    {"error": "authentication required: Authorization: Bearer <token>"},
                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            elif path.endswith(FEED_SUFFIXES):
                response = PlainTextResponse("a valid ?token= is required", status_code=401)
            elif request.method == "GET":
                response = RedirectResponse(
                    f"{base_path(request)}/login?next={quote(here(request))}",
                    status_code=303)
            else:
                response = PlainTextResponse("sign in first", status_code=401)
            return finish(request, response)
        return finish(request, await call_next(request))


async def _body_to_limit(receive: Receive) -> bytes | None:
    """The request body, or its first chunks just past :data:`MAX_BODY_BYTES`; None if the
    client went away."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _refused(path: str, status: int, message: str) -> Response:
    if path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return PlainTextResponse(message, status_code=status)


def _user(web: Web, request: Request) -> str | None:
    settings = web.config.web
    if not settings.auth_enabled:
        return "local"
    path = route_path(request)
    auth = request.headers.get("authorization", "")
    if path.startswith("/api/") and auth.lower().startswith("bearer "):
        owner = web.access.token_owner(auth[7:].strip())
        return f"token:{owner}" if owner else None
    if path.endswith(FEED_SUFFIXES) and "token" in request.query_params:
        expected = web.feed_token(path) or ""
        given = request.query_params["token"]
        # as bytes: compare_digest refuses str with non-ASCII (a TypeError, so a 500)
        return "feed" if secrets.compare_digest(expected.encode(), given.encode()) else None
    if settings.trusted_proxy_header:
        named = request.headers.get(settings.trusted_proxy_header)
        if named:
            return named
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and settings.users:
        session = web.access.session(cookie)
        stored = settings.users.get(session.user) if session is not None else None
        if session is not None and stored is not None and secrets.compare_digest(
                session.credential, password_fingerprint(stored)):
            return session.user  # still a user, with the password it signed in with
    return None


Probe = Callable[[str], "tuple[int, str, bytes] | None"]  # path -> (status, type, body)


def probe_routes(paths: Sequence[str], answer: Probe) -> list[BaseRoute]:
    """GET routes for ``paths`` answered by ``answer`` (in a worker thread: it may query the
    database), e.g. the daemon's /metrics, /healthz and /readyz (monitor.daemon.ops)."""
    async def endpoint(request: Request) -> Response:
        result = await run_in_threadpool(answer, route_path(request))
        if result is None:
            return PlainTextResponse("not found\n", status_code=404)
        status, content_type, body = result
        return Response(body, status_code=status, media_type=content_type,
                        headers={"Cache-Control": "no-store"})
    return [Route(path, endpoint, methods=["GET"]) for path in paths]


def add_routes(app: Starlette, routes: Sequence[BaseRoute], *, public: bool = False) -> None:
    """Mount more routes on the web app (before it serves); ``public`` ones need no sign-in."""
    app.router.routes.extend(routes)
    if public:
        web: Web = app.state.web
        web.public.update(getattr(r, "path", "") for r in routes)


def base_path_problem(web: WebConfig) -> str | None:
    """Why ``web.public_url``'s path cannot be this app's prefix, or None: its first part
    must not be the first part of one of the app's own paths (``/feeds/``), or a request
    through a proxy that strips the prefix (``/feeds``) would be read as the prefix alone."""
    if not web.base_path:
        return None
    first = web.base_path.split("/")[1]
    own = {path.split("/")[1] for path in (*(getattr(r, "path", "") for r in _ROUTES),
                                           *PROBE_PATHS)}
    if first in own:
        return (f"the path /{first}/ is also the start of the web view's own pages "
                f"(/{first}), so a proxy that strips it would send them to the wrong page: "
                "choose another, e.g. /newsmonitor/")
    return None


def create_app(config: Config, store: Store) -> Starlette:
    """The web view and API over ``store``, configured by ``config.web``."""
    app = Starlette(routes=list(_ROUTES),
                    middleware=[Middleware(_BasePath, base=config.web.base_path),
                                Middleware(_BodyLimit), Middleware(_Guard)],
                    exception_handlers=pages.ERROR_HANDLERS)
    access = Access(store)
    app.state.web = Web(config=config, store=store, browse=Browse(store), access=access,
                        env=environment(), public=set(PUBLIC_PATHS),
                        signin=SignInGuard(log=StoreLog(access)))
    return app


_STYLE = (HERE / "static" / "style.css").read_bytes()


def _style(request: Request) -> Response:
    return Response(_STYLE, media_type="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})


_ROUTES = (*pages.ROUTES, *syndication.ROUTES, *api.ROUTES, Route("/static/style.css", _style))
