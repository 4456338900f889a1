"""What every handler shares: the :class:`Web` context (configuration, store, templates and
the rule book) and how a handler finds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import Response

from monitor.config import Config
from monitor.rules import RuleBook, load_rules
from monitor.store import Access, Browse, Store
from monitor.web import filters
from monitor.web.security import csrf_token, feed_token

HERE = Path(__file__).parent


@dataclass
class Web:
    """What every handler needs: configuration, store, readers, templates and the rule book."""

    config: Config
    store: Store
    browse: Browse
    access: Access
    env: Environment
    public: set[str] = field(default_factory=set)
    _rules: tuple[tuple[tuple[str, float], ...], RuleBook] | None = None
    _lock: Lock = field(default_factory=Lock)

    def rules(self) -> RuleBook:
        """The rule book, reloaded when a file under the rules directory changes."""
        root = self.config.rules_path
        files = sorted(root.rglob("*.y*ml")) if root.is_dir() else [root]
        stamp = tuple((str(p), p.stat().st_mtime) for p in files if p.exists())
        with self._lock:
            if self._rules is None or self._rules[0] != stamp:
                self._rules = (stamp, load_rules(root))
            return self._rules[1]

    def feed_token(self, path: str) -> str | None:
        """The token a feed reader puts in the URL of ``path``; None without authentication."""
        if not self.config.web.auth_enabled:
            return None
        return feed_token(self.access.secret("feed-token"), path)

    def render(self, request: Request, template: str, http_status: int = 200,
               **context: Any) -> Response:
        context.update(request=request, csrf=csrf_token(request),
                       user=getattr(request.state, "user", None),
                       auth=self.config.web.auth_enabled)
        html = self.env.get_template(template).render(**context)
        return Response(html, status_code=http_status, media_type="text/html; charset=utf-8")


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters.FILTERS)
    return env
