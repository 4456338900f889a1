"""Revised entries: a story develops under the same URL and feed id, and the feed shows it.

A feed entry is processed once when new (:mod:`monitor.daemon.poller`). Each entry's
:meth:`~monitor.models.FeedEntry.fingerprint` (title, summary, content and update time as the
feed shows them) is kept with its record; when a poll lists a known entry whose fingerprint
changed, the entry was revised (new paragraphs, a live blog's new entries, a new headline).
Its page is then fetched and extracted again, by the same path as a new entry's page (the
cycle's page pool, per-host politeness, size caps, robots, the extraction processes), matched
again, and the store updates the article and adds the hits of rules new to it, alerting as
for a new article (:mod:`monitor.store.revising`).

Bounds, for feeds whose entries change at every poll (CMSs that rewrite ``<updated>``): an
entry is revisited only within ``polling.revise_within`` of when it was first seen, at most
``polling.max_revisions`` times (0: never), the second ``polling.revise_every`` after the
first and each later one twice as long after the one before, so they spread over the story's
first day rather than its first hours (a change seen sooner is taken by a later poll).
Outside the first two bounds, and for entries whose fingerprint was unknown (seen before
fingerprints were kept), the new fingerprint is recorded and nothing is fetched.

Pages to try again: an article whose page failed in a way a later try may not meet (a
timeout, a refused connection, a 5xx, a rate limit: :data:`~monitor.errors.TRANSIENT_FETCH_CODES`)
was stored from the feed's summary and matched on it alone. Its entry is revised as if it had
changed, within the same bounds and waits, until its page comes (the article takes its text,
and rules that match only the full text alert) or fails for good. An entry the feed no longer
lists (a busy feed scrolls an entry off within the hour, an outage can last longer) is tried
the same way from what the store kept of it: its canonical URL, title and date; a try that
fails again only counts, since nothing listed gives the feed's text again. While any entry
still waits for such a try, the poll keeps no validators, so the next poll gets the whole feed,
not a 304 that would skip the poll's tries.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config import PollingConfig
from monitor.daemon.pages import PagePool, PageStarted, finish_page
from monitor.errors import TRANSIENT_FETCH_CODES, ExtractError, StoreError
from monitor.models import ExtractedText, FeedEntry, RuleHit
from monitor.store import FeedState, KnownEntry, NewArticle, Route, Store, UnlistedRetry
from monitor.text import clean_line

log = logging.getLogger(__name__)

_MAX_DOUBLINGS = 32  # of the wait between revisions: revise_within bounds it long before

Routes = Callable[[RuleHit], Sequence[Route]]  # where a hit's alert goes
# (feed, entry URL) -> (the link to fetch, the canonical URL)
PageLink = Callable[[FeedState, str], tuple[str, str]]
# (feed, link, entry, pool, the feed's language) -> the page on its way through extraction
SubmitPage = Callable[[FeedState, str, FeedEntry, PagePool | None, str | None],
                      Future[PageStarted]]
# (feed, entry, canonical URL, extracted, error, the feed's language) -> the matched article
PrepareArticle = Callable[
    [FeedState, FeedEntry, str, ExtractedText | None, str | None, str | None], NewArticle]


@dataclass(frozen=True)
class RevisionPlan:
    """What a poll does with the known entries it listed: ``revise`` fetches and matches
    them again; ``record`` only remembers how the feed shows them now (key -> fingerprint).
    ``retries``: the keys in ``revise`` that are unchanged, listed for their page's transient
    failure, or ``unlisted``: no longer listed, for the same; ``waiting``: how many entries'
    pages are to be tried again, now or later; ``gave_up``: how many entries' pages failed
    transiently and are tried no more (``polling.max_revisions`` or ``polling.revise_within``
    reached)."""

    revise: tuple[FeedEntry, ...] = ()
    record: Mapping[str, str] = field(default_factory=dict)
    retries: frozenset[str] = frozenset()
    waiting: int = 0
    gave_up: int = 0
    unlisted: frozenset[str] = frozenset()

    @property
    def retry_pending(self) -> bool:
        return self.waiting > 0


@dataclass
class RevisionReport:
    revised: int = 0  # entries whose page was fetched again
    updated: int = 0  # articles whose title or text changed
    hits: int = 0
    notifications: int = 0
    failures: list[str] = field(default_factory=list)  # "key: reason"
    rules: list[str] = field(default_factory=list)  # the rule of each new hit
    settled: int = 0  # page retries that ended: the page came, or failed for good


class EntryReviser:
    """Plans and runs a feed's revisions, inside that feed's poll (so under its lease)."""

    def __init__(self, polling: PollingConfig, store: Store, routes: Routes, *,
                 link: PageLink, submit: SubmitPage, prepare: PrepareArticle,
                 paused: Callable[[str], bool] = lambda _link: False) -> None:
        self.polling = polling
        self.store = store
        self.routes = routes
        self.link = link
        self.submit = submit
        self.prepare = prepare
        self.paused = paused  # whether a link's host or URL asked us to wait (Fetcher.paused)

    def unlisted(self, feed: FeedState, listed: Sequence[FeedEntry], now: datetime
                 ) -> list[UnlistedRetry]:
        """The feed's entries missing from ``listed`` whose page is to be tried again."""
        if self.polling.max_revisions <= 0:
            return []
        since = now - timedelta(seconds=self.polling.revise_within)
        return self.store.unlisted_retries(feed.id, {e.key for e in listed}, since)

    def plan(self, entries: tuple[FeedEntry, ...], known: Mapping[str, KnownEntry],
             now: datetime, limit: int, unlisted: Sequence[UnlistedRetry] = ()
             ) -> RevisionPlan:
        """Which known entries changed, and which of them may be fetched again: at most
        ``limit`` (what the poll's new entries left of ``polling.max_new_entries``), each
        ``polling.revise_every`` after its last revision; the other changed ones keep their
        old fingerprint, so a later poll takes them. Unchanged entries whose page failed
        transiently are fetched again by the same rules (the module's *Pages to try again*),
        and so are the ``unlisted`` ones (:meth:`unlisted`), after the listed."""
        revise: list[FeedEntry] = []
        record: dict[str, str] = {}
        planned: set[str] = set()
        retries: set[str] = set()
        waiting = gave_up = 0
        for entry in entries:
            stored = known.get(entry.key)
            if stored is None or entry.key in record or entry.key in planned:
                continue
            fingerprint = entry.fingerprint()
            allowed = bool(entry.url) and self._allowed(stored, now)
            transient = stored.page_error in TRANSIENT_FETCH_CODES
            retry = allowed and transient
            waiting += retry
            gave_up += transient and not allowed and stored.article_id is not None
            if stored.fingerprint == fingerprint:
                # Unchanged: fetched again only when its page is to be tried again.
                if retry and len(revise) < limit and self._due(stored, now):
                    revise.append(entry)
                    planned.add(entry.key)
                    retries.add(entry.key)
                continue
            if stored.fingerprint is not None and allowed:
                # Too soon after the last revision, or past the poll's limit: the old
                # fingerprint stays, so a later poll takes the change.
                if len(revise) < limit and self._due(stored, now):
                    revise.append(entry)
                    planned.add(entry.key)
            else:  # unknown before, or out of bounds: remembered, not fetched
                record[entry.key] = fingerprint
        away: set[str] = set()
        for gone in unlisted:
            if gone.key in planned:
                continue
            if not self._allowed(gone.known, now):
                gave_up += 1  # its tries are spent: said in the health until it ages out
                continue
            waiting += 1
            if len(revise) < limit and self._due(gone.known, now):
                revise.append(FeedEntry(key=gone.key, url=gone.url, title=gone.title,
                                        published=gone.published))
                planned.add(gone.key)
                retries.add(gone.key)
                away.add(gone.key)
        return RevisionPlan(tuple(revise), record, frozenset(retries), waiting, gave_up,
                            frozenset(away))

    def _allowed(self, stored: KnownEntry, now: datetime) -> bool:
        return (stored.article_id is not None
                and stored.revisions < self.polling.max_revisions
                and now - stored.first_seen_at
                <= timedelta(seconds=self.polling.revise_within))

    def _due(self, stored: KnownEntry, now: datetime) -> bool:
        """Whether the entry's next revision is due: the first at once, the second
        ``polling.revise_every`` after it, each later one twice as long after the one before
        (never longer than ``polling.revise_within``). A feed that rewrites ``<updated>`` at
        every poll spent its ``max_revisions`` in the first hours, and a story that went on
        developing later that day was never fetched again; doubled, five revisions cover the
        first 15 hours at the default hour."""
        if stored.revised_at is None:
            return True
        doublings = min(max(stored.revisions - 1, 0), _MAX_DOUBLINGS)
        wait = min(self.polling.revise_every * 2.0 ** doublings, self.polling.revise_within)
        return now - stored.revised_at >= timedelta(seconds=wait)

    def run(self, feed: FeedState, plan: RevisionPlan, feed_language: str | None,
            pages: PagePool | None) -> RevisionReport:
        """Fetch the revised entries' pages at once, then store each revision in feed order
        (each in a transaction of its own). One entry's failure costs only that entry; it
        keeps its old fingerprint, so a later poll may try again within the bounds."""
        report = RevisionReport()
        self.store.record_fingerprints(feed.id, plan.record)
        started: list[tuple[FeedEntry, str, Future[PageStarted]]] = []
        for entry in plan.revise:
            assert entry.url is not None  # planned only with one
            link, url = self.link(feed, entry.url)
            if entry.key in plan.retries and self.paused(link):
                # The page would be refused unsent: not a try. A later poll takes it (the
                # plan keeps the feed's validators away meanwhile).
                continue
            started.append((entry, url, self.submit(feed, link, entry, pages, feed_language)))
        for entry, url, page in started:
            try:
                self._revise(feed, entry, url, page, feed_language, report,
                             retry=entry.key in plan.retries, unlisted=entry.key in plan.unlisted)
            except StoreError:
                raise  # the database is down: not this entry's fault
            except ExtractError as exc:
                if exc.code == "pool_closed":
                    raise  # shutting down: the poll ends unrecorded
                self._failed(feed, entry, exc, report)
            except Exception as exc:  # noqa: BLE001 - one entry must not cost the others
                self._failed(feed, entry, exc, report)
        return report

    def _revise(self, feed: FeedState, entry: FeedEntry, url: str, page: Future[PageStarted],
                feed_language: str | None, report: RevisionReport, *, retry: bool,
                unlisted: bool = False) -> None:
        """Store one revision; ``retry``: the entry is unchanged, its page failed before;
        ``unlisted``: such an entry the feed no longer lists (made from the store's record:
        no text of the feed's to fall back on, and its fingerprint is kept)."""
        extracted, error = finish_page(entry, page.result())
        if error == "pool_closed":
            raise ExtractError.coded("extraction pool stopped", "pool_closed")
        if unlisted and error is not None:
            self.store.record_failed_try(feed.id, entry.key, error)
            report.revised += 1
            report.settled += error not in TRANSIENT_FETCH_CODES
            log.info("feed %s: entry %s, no longer listed: its page failed again (%s)",
                     feed.name, entry.key[:200], error)
            return
        item = dataclasses.replace(
            self.prepare(feed, entry, url, extracted, error, feed_language),
            fingerprint=None if unlisted else entry.fingerprint())
        revised = self.store.revise_article(item, self.routes)
        report.revised += 1
        report.settled += retry and error not in TRANSIENT_FETCH_CODES
        report.updated += int(revised.updated)
        report.hits += len(revised.new_hits)
        report.rules.extend(revised.new_hits)
        report.notifications += revised.new_notifications
        if revised.retry:
            log.info("feed %s: revised entry %s: the page gave no text (%s); kept as it was",
                     feed.name, entry.key[:200], error)
        elif retry:
            log.info("feed %s: article %d: page fetched again after a failure: %s%s",
                     feed.name, revised.article_id,
                     f"failed again ({error})" if error else "its text is in",
                     f"; new hits of {', '.join(revised.new_hits)}" if revised.new_hits else "")
        elif revised.updated:
            log.info("feed %s: article %d revised (%r)%s", feed.name, revised.article_id,
                     item.article.title,
                     f": new hits of {', '.join(revised.new_hits)}" if revised.new_hits else "")

    @staticmethod
    def _failed(feed: FeedState, entry: FeedEntry, exc: Exception,
                report: RevisionReport) -> None:
        reason = clean_line(f"{type(exc).__name__}: {exc}")[:300]
        log.warning("feed %s: revision of entry %s not stored: %s", feed.name,
                    entry.key[:200], reason)
        report.failures.append(f"{entry.key[:120]} (revision): {reason}")
