"""The web stage: the web view, the REST API and the feeds of hits, over the store.

An ASGI app (Starlette, served by uvicorn) with server-rendered Jinja2 pages (autoescaped; no
script): stories, a story with its evidence highlighted, rules with charts and precision,
search in the rule language, feed health, the outbox; feedback on hits; Atom and JSON Feed of
hits; /api/v1 with an OpenAPI document. Security (headers, CSRF, who may sign in, loopback
only without authentication) is in :mod:`monitor.web.security`. :func:`add_routes` mounts more
routes (metrics, health probes) on the app.

Sits beside the daemon: may use rules and store and the foundation, and net's URL masking
(one policy for secrets in URLs: feed URLs are shown masked). Must not import: cli, daemon,
or the pipeline stages (feeds, extract, stories, delivery).
"""

from __future__ import annotations

from monitor.web.app import add_routes, base_path_problem, create_app, probe_routes
from monitor.web.context import renew_feed_tokens
from monitor.web.security import hash_password, listen_problem
from monitor.web.server import WebServer

__all__ = ["WebServer", "add_routes", "base_path_problem", "create_app", "hash_password",
           "listen_problem", "probe_routes", "renew_feed_tokens"]
