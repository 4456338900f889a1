"""What every handler shares: the :class:`Web` context (configuration, store, templates and
the rule book) and how a handler finds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from threading import Lock
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import Response

from monitor.config import Config
from monitor.errors import RuleProblem
from monitor.rules import RuleBook, UnseenWord, load_rules, rule_warnings, unseen_words
from monitor.store import Access, ArticleVocabulary, Browse, Store, TextIndex
from monitor.web import filters
from monitor.web.paths import base_path
from monitor.web.security import csrf_token, feed_token
from monitor.web.signin import SignInGuard

HERE = Path(__file__).parent
CHOICES_TTL = 120.0
PER_DAY_TTL = 60.0
TYPOS_TTL = 600.0  # a word in no article: PostgreSQL then reads 20,000 articles' words (~2 s)
FEED_SIGNING = "feed-token"  # the name of the server secret feed ?token= values are HMACs with


@dataclass
class Web:
    """What every handler needs: configuration, store, readers, templates and the rule book."""

    config: Config
    store: Store
    browse: Browse
    access: Access
    env: Environment
    public: set[str] = field(default_factory=set)
    signin: SignInGuard = field(default_factory=SignInGuard)
    # (file stamps, the book, its warnings: valid rules that rarely mean what they say)
    _rules: tuple[tuple[tuple[str, float], ...], RuleBook, tuple[RuleProblem, ...]] | None = None
    _lock: Lock = field(default_factory=Lock)
    _choices: tuple[float, tuple[list[str], list[str]]] | None = None

    _per_day: tuple[float, dict[str, dict[date, int]]] | None = None
    _typos: tuple[float, RuleBook, dict[str, list[UnseenWord]]] | None = None

    def hits_per_day(self) -> dict[str, dict[date, int]]:
        """Hits per rule and day over the last 90 days, for the charts (kept for a minute:
        grouping every recent hit costs more than a page may)."""
        now = time.monotonic()
        if self._per_day is None or now - self._per_day[0] > PER_DAY_TTL:
            since = datetime.now(UTC) - timedelta(days=90)
            self._per_day = (now, self.browse.hits_per_day(since))
        return self._per_day[1]

    def filter_choices(self) -> tuple[list[str], list[str]]:
        """Outlets and languages that have hits, for the filters (recomputed every 2 min:
        reading them costs a scan of the hits, too much for every page)."""
        now = time.monotonic()
        if self._choices is None or now - self._choices[0] > CHOICES_TTL:
            self._choices = (now, self.browse.outlets_and_languages())
        return self._choices[1]

    def rules(self) -> RuleBook:
        """The rule book, reloaded when a file under the rules directory changes."""
        root = self.config.rules_path
        stamp = _rules_stamp(root)
        with self._lock:
            if self._rules is None or self._rules[0] != stamp:
                book = load_rules(root)
                self._rules = (stamp, book, tuple(rule_warnings(book)))
            return self._rules[1]

    def rule_warnings(self) -> tuple[RuleProblem, ...]:
        """What ``monitor check`` says of rules that load but rarely mean what they say (a
        lower-case ``and``, a Latin letter in a Cyrillic name), for the current book."""
        self.rules()
        with self._lock:
            return self._rules[2] if self._rules is not None else ()

    def typos(self) -> dict[str, list[UnseenWord]]:
        """By rule, its words that no stored article has while a close spelling is in
        several (a backtest lists the same); counted again when the rules change and every
        ten minutes."""
        book = self.rules()
        now = time.monotonic()
        cached = self._typos
        if cached is None or cached[1] is not book or now - cached[0] > TYPOS_TTL:
            by_rule: dict[str, list[UnseenWord]] = {}
            for typo in unseen_words(book, ArticleVocabulary(TextIndex(self.store))):
                by_rule.setdefault(typo.rule_id, []).append(typo)
            cached = self._typos = (now, book, by_rule)
        return cached[2]

    def feed_token(self, path: str) -> str | None:
        """The token a feed reader puts in the URL of ``path``; None without authentication."""
        return self.feed_tokens()(path)

    def feed_tokens(self) -> Callable[[str], str | None]:
        """:meth:`feed_token` for many paths, the server secret read once (the rules page
        read it from the database twice per rule)."""
        if not self.config.web.auth_enabled:
            return lambda _path: None
        secret = self.access.secret(FEED_SIGNING)
        return lambda path: feed_token(secret, path)

    def render(self, request: Request, template: str, http_status: int = 200,
               **context: Any) -> Response:
        context.update(request=request, base=base_path(request), csrf=csrf_token(request),
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


def _rules_stamp(root: Path) -> tuple[tuple[str, float], ...]:
    """Each rule file with its modification time: what tells that the rules changed. A file
    removed between the listing and its ``stat`` (an editor saving) is left out, not a 500."""
    try:
        files = sorted(root.rglob("*.y*ml")) if root.is_dir() else [root]
    except OSError:
        return ()
    stamp = []
    for path in files:
        try:
            stamp.append((str(path), path.stat().st_mtime))
        except OSError:
            continue
    return tuple(stamp)


def renew_feed_tokens(access: Access) -> None:
    """Give every feed of hits a new ``?token=``: the URLs given out so far stop working (a
    feed URL that leaked, with a reader's cloud sync or a shared screenshot)."""
    access.renew_secret(FEED_SIGNING)
