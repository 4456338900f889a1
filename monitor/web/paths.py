"""Where the app is: the prefix it is served under (``web.public_url``'s path, which
``monitor.web.app``'s base-path middleware puts in the ASGI ``root_path``), and paths within
it. Links, redirects and cookies carry the prefix; routes, feed tokens and the public paths
are written without it."""

from __future__ import annotations

from starlette.requests import Request


def base_path(request: Request) -> str:
    """The prefix every link and redirect of this app starts with: ``web.public_url``'s path
    (``/monitor``), or "" at the root."""
    root: str = request.scope.get("root_path", "")
    return root


def route_path(request: Request) -> str:
    """The request's path within the app (``/rules``), without :func:`base_path`: what routes,
    feed tokens and the public paths are written in."""
    path = request.url.path
    root = base_path(request)
    return path[len(root):] if root and path.startswith(root + "/") else path


def cookie_path(request: Request) -> str:
    """The path the app's cookies are set for: its own prefix, so that two apps on one host
    keep their sessions apart."""
    return base_path(request) + "/"


def here(request: Request) -> str:
    """The request's path and query as the browser sent them: where to come back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
