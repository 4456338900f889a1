"""The composition root: builds every stage from the validated configuration, once."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from monitor.config import Config
from monitor.daemon.active_rules import ActiveRules
from monitor.daemon.health import Liveness
from monitor.daemon.metrics import Metrics
from monitor.daemon.ops import OpsEndpoints
from monitor.daemon.parsing import FeedParser
from monitor.daemon.pipeline import Pipeline
from monitor.daemon.poller import FeedPoller
from monitor.delivery import (
    ChannelDirectory,
    ConsoleNotifier,
    DeliveryPolicies,
    Dispatcher,
    SecretMasker,
)
from monitor.errors import ConfigError, RuleProblem
from monitor.extract import Extractor
from monitor.models import RuleHit
from monitor.net import Fetcher, shown_url
from monitor.rules import analyze_text, article_stems, tokenize, unseen_words
from monitor.store import (
    ArticleVocabulary,
    Outbox,
    Store,
    TextIndex,
    feed_health_notices,
    forget_instance,
    upgrade,
    utc_now,
)
from monitor.stories import StoryRegistry, worker_signature

log = logging.getLogger(__name__)


@dataclass
class Service:
    """Every stage, wired; ``stop`` is the flag every long loop checks."""

    config: Config
    store: Store
    fetcher: Fetcher
    extractor: Extractor
    parser: FeedParser
    rules: ActiveRules
    channels: ChannelDirectory
    stories: StoryRegistry
    pipeline: Pipeline
    dispatcher: Dispatcher
    outbox: Outbox
    owner: str
    metrics: Metrics
    liveness: Liveness
    ops: OpsEndpoints
    stop: threading.Event = field(default_factory=threading.Event)
    started_at: datetime = field(default_factory=utc_now)
    rule_problems: list[RuleProblem] = field(default_factory=list)  # of the first load

    def check_feed_health(self) -> None:
        """Queue admin notices for feeds failing or silent too long, and for recoveries."""
        after = timedelta(seconds=self.config.polling.silent_alert_after)
        for notice in feed_health_notices(self.store, self.channels.admin_routes(), after,
                                          shown=shown_url):
            log.warning("%s", notice.subject)

    def rules_reloaded(self, problems: Sequence[RuleProblem]) -> None:
        """After a (re)load: tell the admin channel about rule problems (once per set of
        problems), and queue the hits of rules whose channels were just fixed."""
        if problems:
            self._admin_notice(
                "rules", f"Rule problems: {len(problems)} in {self.rules.path}", problems,
                "Rules with a problem keep their last good version until it is fixed; "
                "`monitor check` lists the same problems.")
        for rule, since in self.rules.take_fixed():
            hit = RuleHit(rule_id=rule.id, rule_name=rule.name, evidence=(), notify=rule.notify)
            routes = [r for r in self.channels.routes_for(hit) if r.channel in self.config.channels]
            queued = self.store.queue_rule_hits(rule.id, since, routes)
            if queued:
                log.info("rule %s: its channels are fixed; %d alerts queued for the hits it "
                         "matched meanwhile", rule.id, queued)
        self._log_typos()

    def _log_typos(self) -> None:
        """Warn of rule words no stored article has while a close spelling is in several:
        a typo in a query matches nothing and says nothing (``monitor backtest`` lists them
        too)."""
        book = self.rules.book()
        if book is None:
            return
        for typo in unseen_words(book, ArticleVocabulary(TextIndex(self.store))):
            log.warning("rule %s: %r is in no stored article, %r is in %d: a typo?",
                        typo.rule_id, typo.word, typo.alike, typo.articles)

    def config_problems(self, problems: Sequence[ConfigError]) -> None:
        """Tell the admin channel that monitor.yaml did not reload (once per set of problems)."""
        where = problems[0].path if problems else None
        self._admin_notice(
            "config", f"Configuration problems: {len(problems)} in {where or 'monitor.yaml'}",
            problems, "The daemon goes on with the configuration it was running; "
            "`monitor check` lists the same problems.")

    def _admin_notice(self, kind: str, subject: str, problems: Sequence[object],
                      advice: str) -> None:
        # Keyed by the problems' text: the same problems reported again are not sent again.
        text = "\n".join(str(p) for p in problems)
        # (surrogatepass: a path can carry a name's non-UTF-8 bytes; the row gets it cleaned)
        key = f"{kind}:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        self.outbox.enqueue_notice(key, subject, f"{text}\n\n{advice}",
                                   self.channels.admin_routes())

    def close(self) -> None:
        """Release leases and close pools and connections (safe to call twice)."""
        try:
            self.store.release_feeds(self.owner)
            self.outbox.release(self.owner)
            forget_instance(self.store, self.owner)
        except Exception:
            log.exception("could not release leases; they expire on their own")
        self.parser.close()
        self.extractor.close()
        self.fetcher.close()
        self.store.close()


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (as ``MALLOC_ARENA_MAX`` would); returns
    whether it applied (glibc only).

    glibc gives threads up to eight arenas per core and keeps what each one freed. With the
    fetch threads and the page pool, that held 70 MB more after one polling cycle of 2,000
    articles (cycle benchmark: 337 against 267 MB) for no measurable speed. Call it before
    starting threads: arenas that exist already stay.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def install_secret_masking(config: Config) -> None:
    """Mask every configured channel URL (and its secret parts) in all log output."""
    masker = SecretMasker()
    for channel in config.channels.values():
        for url in channel.urls:
            masker.add(url, source=config.url_source(url))
    for handler in logging.getLogger().handlers:
        handler.addFilter(masker)


def build_service(config: Config, *, console: TextIO | None = None,
                  migrate: bool = True, stop: threading.Event | None = None) -> Service:
    """Open the database (applying migrations), load rules and build every stage.

    ``stop`` lets a caller that already watches for signals hand in its flag, so a stop
    requested while the service is still starting is not lost.
    """
    limit_malloc_arenas()
    install_secret_masking(config)
    store = Store.open(config.database_url, config.base_dir)
    store.tokenizer = tokenize  # PostgreSQL: new articles get their text index lexemes at save
    store.stemmer = article_stems  # and, on both, their stems (stemmed rules' index)
    if migrate:
        upgrade(store.engine)
    store.sync_feeds(config.feed_sources())
    metrics = Metrics()
    rules = ActiveRules(config.rules_path, channels=config.channels)
    problems = rules.reload()
    book = rules.book()
    metrics.rules_loaded.set(len(book.rules) if book is not None else 0)
    tick = config.polling.tick
    liveness = Liveness(tick, stall_after=max(4 * config.http.total_timeout + 60
                                              + config.extract.timeout, 10 * tick))
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    stop = stop if stop is not None else threading.Event()
    fetcher = Fetcher(config.http)
    # The workers sign each text they extract, so the story signature costs no daemon time.
    extractor = Extractor(config.extract, signer=worker_signature, analyzer=analyze_text)
    channels = ChannelDirectory(config)
    stories = StoryRegistry(store)
    stories.load()
    parser = FeedParser(config)
    parser.warm_up()
    poller = FeedPoller(config, store, fetcher, extractor, rules, channels, stories,
                        metrics=metrics, progress=liveness.progress, parse=parser.parse)
    pipeline = Pipeline(config, store, poller, owner, should_stop=stop.is_set)
    outbox = Outbox(store)
    dispatcher = Dispatcher(config, outbox, channels, ConsoleNotifier(console or sys.stdout),
                            owner, policies=DeliveryPolicies(config, rules.delivery),
                            should_stop=stop.is_set)
    metrics.watch_store(store)
    ops = OpsEndpoints(metrics, liveness, store, lambda: rules.book() is not None)
    service = Service(config=config, store=store, fetcher=fetcher, extractor=extractor,
                      parser=parser, rules=rules, channels=channels, stories=stories,
                      pipeline=pipeline, dispatcher=dispatcher, outbox=outbox, owner=owner,
                      metrics=metrics, liveness=liveness, ops=ops, stop=stop)
    service.rule_problems = problems  # told to the admin channel when the daemon starts
    return service
