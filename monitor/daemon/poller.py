"""Polling one claimed feed: fetch -> parse -> (new entries only) fetch page -> extract ->
match -> store, and the outcome in the feed's health row.

Cheap before expensive: a feed entry whose key this feed listed before is skipped before any
page is fetched, and an article already stored under the same canonical URL (the same story
in another feed) is linked without fetching or extracting it again. The new entries' pages
are all started at once in the cycle's page pool (:mod:`monitor.daemon.pages`); matching then
happens in the feed's thread, in feed order, and the feed's new articles are saved together,
in one transaction (up to :data:`_SAVE_BATCH` at a time). One entry's failure, before or in
the store, costs only that entry. A known entry the feed shows changed (its fingerprint) is
fetched and matched again, within bounds, by :mod:`monitor.daemon.revisions`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.config import Config
from monitor.daemon.active_rules import ActiveRules
from monitor.daemon.articles import compose_article, declared_language, recent_enough
from monitor.daemon.metrics import Metrics
from monitor.daemon.pages import (
    PagePool,
    PageStarted,
    PageStarter,
    finish_page,
    is_local,
    local_path,
    unread_pages_warning,
)
from monitor.daemon.revisions import EntryReviser, RevisionPlan
from monitor.delivery import ChannelDirectory
from monitor.errors import TRANSIENT_FETCH_CODES, ExtractError, MonitorError, StoreError
from monitor.extract import Extractor
from monitor.feeds import after_failure, after_success, parse_feed
from monitor.models import (
    MAX_URL_CHARS,
    ExtractedText,
    FeedEntry,
    FetchedBody,
    NotModified,
    ParsedFeed,
    Validators,
)
from monitor.net import (
    Fetcher,
    GoogleNewsResolver,
    cache_max_age,
    mask_text_urls,
)
from monitor.store import MAX_ITEM_ATTEMPTS, FeedState, NewArticle, PollOutcome, Store
from monitor.stories import StoryRegistry
from monitor.text import clean_line

log = logging.getLogger(__name__)

# A feed with entries left over is due again this soon: the next tick polls it, not this
# cycle (which only takes feeds due when it started).
_NEXT_TICK = timedelta(seconds=1)

# Articles saved per transaction: a feed's new entries together, up to this many (a first
# poll of a big feed saves as it goes, so a crash loses little).
_SAVE_BATCH = 25

FeedParse = Callable[..., ParsedFeed]  # parse_feed's signature: (content, *, url, ...)

@dataclass
class FeedReport:
    ok: bool = True
    new_entries: int = 0
    articles: int = 0
    hits: int = 0
    notifications: int = 0
    item_failures: list[str] = field(default_factory=list)  # "key: reason" per entry not stored
    items_retried: int = 0  # failed entries the next poll tries again
    skipped: list[str] = field(default_factory=list)  # "entry: reason" per entry without link
    revised: int = 0  # known entries fetched again because the feed shows them changed
    pages: int = 0  # new articles whose page was fetched (or tried)
    page_errors: Counter[str] = field(default_factory=Counter)  # why pages gave no text
    retries_settled: int = 0  # earlier pages tried again that came (or failed for good)


@dataclass(frozen=True)
class _Prepared:
    """A new entry's article, matched and ready to save."""

    entry: FeedEntry
    article: NewArticle


@dataclass
class _Pending:
    """A new entry whose page is being fetched and extracted (``page`` None: no fetch)."""

    entry: FeedEntry
    url: str  # canonical
    page: Future[PageStarted] | None


class FeedPoller:
    """Polls one claimed feed through every stage and records the outcome in its health row."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher, extractor: Extractor,
                 rules: ActiveRules, channels: ChannelDirectory, stories: StoryRegistry, *,
                 metrics: Metrics | None = None,
                 progress: Callable[[], None] = lambda: None,
                 parse: FeedParse = parse_feed) -> None:
        """``parse`` reads a feed body: the service passes :class:`~monitor.daemon.parsing.
        FeedParser`'s (killable workers); tests may leave the in-process parser."""
        self.parse = parse
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.extractor = extractor
        self.rules = rules
        self.channels = channels
        self.stories = stories
        self.metrics = metrics or Metrics()
        # Told of every polled feed, page fetched or extracted, and stored article (liveness).
        self.progress = progress
        # The poller's progress is looked up at each call: a test may set it later.
        self.pages = PageStarter(
            fetcher, extractor, self.metrics, lambda: self.progress(),  # noqa: PLW0108
            GoogleNewsResolver(fetcher, config.http.google_news_url).resolve
            if config.http.resolve_google_news else None)
        self.reviser = EntryReviser(
            config.polling, store, channels.routes_for,
            link=lambda feed, url: self.pages.link(feed.url, url),
            submit=lambda feed, link, entry, pool, language: self.pages.submit(
                feed.url, link, entry, pool, declared_language(feed, entry, language)),
            prepare=lambda *args: self.stories.keyed(self._prepare(*args).article),
            paused=fetcher.paused)

    def poll(self, feed: FeedState, owner: str, pages: PagePool | None = None) -> FeedReport:
        """Poll ``feed``; never raises for a feed-level problem, it is stored as health.

        ``pages`` fetches and extracts the new entries' pages concurrently; without it they
        are handled one after another in this thread.
        """
        now = self.store.clock()
        polling = self.config.polling
        full_fetch = (feed.last_full_fetch_at is None or
                      now - feed.last_full_fetch_at >= timedelta(seconds=polling.full_fetch_every))
        validators = None if full_fetch else Validators(feed.etag, feed.last_modified)
        report = FeedReport()
        polled = "ok"
        try:
            result = self._fetch_feed(feed, validators)
            if isinstance(result, NotModified):
                polled = "not_modified"
                plan = after_success(polling, feed, now, new_entries=0, listed_entries=0)
                outcome = PollOutcome(
                    ok=True, next_check_at=plan.next_check_at, etag=feed.etag,
                    last_modified=feed.last_modified, entry_rate=plan.entry_rate,
                    poll_interval_seconds=plan.interval_seconds)
            else:
                outcome = self._read(feed, result, validators is None, now, report, pages)
        except StoreError:
            raise  # the database is down: the cycle stops and the scheduler retries it
        except MonitorError as exc:
            if exc.code == "pool_closed":  # shutting down (parse or extraction pool): no
                return report              # outcome, the feed shows as interrupted once its
                                           # lease is released; its unsaved entries stay unseen
            outcome = self._failed(feed, now, exc.code, str(exc), getattr(exc, "retry_after", None))
        except Exception as exc:  # a bug on one feed's input must not stop the cycle
            log.exception("feed %s: unexpected error", feed.name)
            outcome = self._failed(feed, now, "internal_error", f"{type(exc).__name__}: {exc}")
        report.ok = outcome.ok
        self.store.record_poll(feed.id, owner, outcome, feed.interval_seconds)
        self.metrics.polls.labels(outcome=polled if outcome.ok
                                  else outcome.error_code or "error").inc()
        self.progress()
        return report

    def _failed(self, feed: FeedState, now: datetime, code: str, message: str,
                retry_after: float | None = None) -> PollOutcome:
        log.warning("feed %s: %s: %s", feed.name, code, message)
        backoff = after_failure(self.config.polling, feed, now, error_code=code,
                                retry_after=retry_after)
        if backoff.disable:
            log.warning("feed %s disabled after %d polls that gave no readable feed; "
                        "`monitor feeds enable %s` turns it back on", feed.name,
                        feed.parse_failures + 1, feed.url)
        paused = now + timedelta(seconds=retry_after) if retry_after else None
        return PollOutcome(ok=False, error_code=code, error_message=message,
                           next_check_at=backoff.next_check_at,
                           parse_failure=backoff.parse_failure, disable=backoff.disable,
                           paused_until=paused)

    def _read(self, feed: FeedState, result: FetchedBody, full_fetch: bool, now: datetime,
              report: FeedReport, pages: PagePool | None) -> PollOutcome:
        parsed = self.parse(result.content, url=result.url, content_type=result.content_type,
                            headers=result.headers)
        known = self.store.known_entries(feed.id, [e.key for e in parsed.entries])
        new: list[FeedEntry] = []
        taken: set[str] = set()
        for entry in parsed.entries:
            if entry.key not in known and entry.key not in taken:
                taken.add(entry.key)  # a key listed twice is handled once
                new.append(entry)
        budget = self.config.polling.max_new_entries
        revisions = self.reviser.plan(parsed.entries, known, now, max(0, budget - len(new)),
                                      self.reviser.unlisted(feed, parsed.entries, now))
        deferred = max(0, len(new) - budget)
        if deferred:  # the rest stay unseen: the next cycle takes the next newest
            new = _newest(new, budget)
        report.new_entries = len(new)
        listed = len(parsed.entries)
        # Only the entries taken are needed from here on: a feed listing 50,000 would hold
        # ~25 MB through the whole (page-fetching) ingest otherwise.
        parsed = dataclasses.replace(parsed, entries=())
        self._ingest(feed, new, parsed, report, pages)
        self._revise(feed, revisions, parsed.language, report, pages)
        warnings = list(parsed.warnings)
        if deferred:
            warnings.append(f"{deferred} more new entries wait for the next cycle "
                            f"(polling.max_new_entries: {budget} per cycle)")
        if report.skipped:
            count = len(report.skipped)
            warnings.append(f"{count} entr{'y' if count == 1 else 'ies'} skipped: "
                            + "; ".join(report.skipped[:3]))
        waiting = revisions.waiting - report.retries_settled
        unread = unread_pages_warning(report.page_errors, report.pages, waiting=waiting,
                                      gave_up=revisions.gave_up)
        # Recorded apart from the poll's other warnings: a poll that read no new page and has
        # none waiting or given up (every try planned is one waiting) keeps the last one, so
        # a site that refuses every page stays "degraded" between its new entries.
        replaces_page_note = report.pages > 0 or revisions.waiting > 0 or revisions.gave_up > 0
        if report.item_failures:
            count = len(report.item_failures)
            warnings.append(f"{count} entr{'y' if count == 1 else 'ies'} not stored: "
                            + "; ".join(report.item_failures[:3]))
        # Entries left for later must be listed again by the next poll: a conditional request
        # would get 304 and lose them (case G14), so no validators are kept until all are in;
        # nor while an article's page waits for another try (monitor.daemon.revisions).
        complete = (not deferred and report.items_retried == 0 and not revisions.retry_pending
                    and TRANSIENT_FETCH_CODES.isdisjoint(report.page_errors))
        # The hints protect a publisher's server; a configured local file has none to protect.
        remote = not is_local(feed.url)
        plan = after_success(self.config.polling, feed, now, new_entries=report.new_entries,
                             listed_entries=listed,
                             ttl_seconds=parsed.ttl_seconds if remote else None,
                             max_age=cache_max_age(result.headers) if remote else None)
        if plan.overflow:
            warnings.append(f"all {listed} listed entries were new: some may have "
                            "left the feed between polls (polling more often)")
        return PollOutcome(
            ok=True, next_check_at=now + _NEXT_TICK if deferred else plan.next_check_at,
            etag=result.validators.etag if complete else None,
            last_modified=result.validators.last_modified if complete else None,
            full_fetch=full_fetch,
            new_entries=report.new_entries, warning="; ".join(warnings) or None,
            replaces_page_note=replaces_page_note, page_warning=unread, new_pages=report.pages,
            new_pages_unread=sum(report.page_errors.values()),
            new_url=result.url if result.redirected_permanently else None,
            entry_rate=plan.entry_rate, poll_interval_seconds=plan.interval_seconds)

    def _fetch_feed(self, feed: FeedState, validators: Validators | None
                    ) -> FetchedBody | NotModified:
        if is_local(feed.url):
            return self.fetcher.read_local(local_path(feed.url))
        with self.metrics.timed_fetch("feed"):
            return self.fetcher.fetch_feed(feed.url, validators)

    def _ingest(self, feed: FeedState, entries: list[FeedEntry], parsed: ParsedFeed,
                report: FeedReport, pages: PagePool | None) -> None:
        """Start every new page at once, then match and store in feed order."""
        pending: list[_Pending] = []
        started: set[str] = set()
        targets: list[tuple[FeedEntry, str, str]] = []  # entry, link to fetch, canonical URL
        for entry in entries:
            if not entry.url:  # none, or one that could not be parsed
                self._skip(feed, entry, "no usable link", report)
                continue
            link, url = self.pages.link(feed.url, entry.url)
            if len(url) > MAX_URL_CHARS:
                self._skip(feed, entry, f"link longer than {MAX_URL_CHARS} characters", report)
                continue
            targets.append((entry, link, url))
        stored = self.store.article_ids_for_urls(url for _, _, url in targets)
        for entry, link, url in targets:
            if url in started:  # listed twice under two keys: linked once the first is stored
                pending.append(_Pending(entry, url, None))
                continue
            existing = stored.get(url)
            if existing is not None:  # the same article from another feed: no second fetch
                self.store.link_entry(feed.id, entry.key, existing, entry.fingerprint())
                continue
            started.add(url)
            pending.append(_Pending(entry, url, self.pages.submit(
                feed.url, link, entry, pages, declared_language(feed, entry, parsed.language))))
        batch: list[_Prepared] = []
        for item in pending:
            try:
                if item.page is None:  # the first copy must be stored before it is linked
                    self._save(feed, batch, report)
                    self.store.link_entry(feed.id, item.entry.key,
                                          self.store.article_id_for_url(item.url),
                                          item.entry.fingerprint())
                    continue
                extracted, error = finish_page(item.entry, item.page.result())
                if error == "pool_closed":
                    # Shutting down: not the page's fault. Stored from the feed's summary,
                    # the entry would count as seen and its full text never be matched.
                    raise ExtractError.coded("extraction pool stopped", "pool_closed")
                report.pages += 1
                if error is not None:
                    report.page_errors[error] += 1
                batch.append(self._prepare(feed, item.entry, item.url, extracted, error,
                                           parsed.language))
            except StoreError:
                raise  # the database is down: not this item's fault
            except ExtractError as exc:
                if exc.code == "pool_closed":
                    raise  # the poll ends unrecorded: every entry left stays unseen
                self._item_failed(feed, item.entry, exc, report)
            except Exception as exc:  # noqa: BLE001 - one item must not cost the others
                self._item_failed(feed, item.entry, exc, report)
            if len(batch) >= _SAVE_BATCH:
                self._save(feed, batch, report)
        self._save(feed, batch, report)

    def _skip(self, feed: FeedState, entry: FeedEntry, reason: str,
              report: FeedReport) -> None:
        """An entry that has no URL to store an article under (case D4: skipped with a
        warning, in the log and in the feed's health). Recorded as seen with no article, so
        it is reported once, not at every poll."""
        self.store.link_entry(feed.id, entry.key, None, entry.fingerprint())
        title = f" ({entry.title[:80]!r})" if entry.title else ""
        # Credentials of a URL in the key masked: the warning is shown in the feed's health.
        label = mask_text_urls(f"{entry.key[:120]}{title}")
        log.warning("feed %s: entry %s skipped: %s", feed.name, label, reason)
        report.skipped.append(f"{label}: {reason}")

    def _item_failed(self, feed: FeedState, entry: FeedEntry, exc: Exception,
                     report: FeedReport) -> None:
        """Record why one entry could not be stored; the feed's other entries go on.

        The entry stays unseen, so the next poll tries it again, until it has failed
        :data:`~monitor.store.MAX_ITEM_ATTEMPTS` times (then it is remembered as seen).
        """
        reason = clean_line(f"{type(exc).__name__}: {exc}")[:300]
        log.warning("feed %s: entry %s not stored: %s", feed.name, entry.key[:200], reason)
        attempts = self.store.record_item_failure(feed.id, entry.key, entry.url, reason)
        given_up = attempts >= MAX_ITEM_ATTEMPTS
        report.items_retried += int(not given_up)
        report.item_failures.append(f"{entry.key[:120]}: {reason}"
                                    + (" (given up)" if given_up else ""))

    def _prepare(self, feed: FeedState, entry: FeedEntry, url: str,
                 extracted: ExtractedText | None, error: str | None,
                 feed_language: str | None) -> _Prepared:
        """The article of an entry, matched, ready to save."""
        article, extracted = compose_article(
            feed, entry, url, extracted, error, feed_language,
            min_text_chars=self.config.extract.min_text_chars)
        # The extraction worker's analysis of the page's text (Extractor(analyzer=...)),
        # unless the text is the feed's instead.
        analysis = (extracted.analysis if extracted is not None
                    and extracted.text == article.text else None)
        hits, stems = self.rules.matcher().match_with_stems(article.document(), analysis)
        # The extraction worker signed the page's text (Extractor(signer=worker_signature)).
        return _Prepared(entry, NewArticle(
            feed.id, article, hits, stems=stems,
            signature=extracted.signature if extracted is not None else None,
            fingerprint=entry.fingerprint(),
            alert=recent_enough(article, self.config.delivery.max_article_age,
                                self.store.clock())))

    def _save(self, feed: FeedState, batch: list[_Prepared], report: FeedReport) -> None:
        """Save the prepared articles in one transaction (and empty ``batch``)."""
        if not batch:
            return
        results = self.stories.save_all([p.article for p in batch], self.channels.routes_for)
        for prepared, saved in zip(batch, results, strict=True):
            if isinstance(saved, Exception):
                self._item_failed(feed, prepared.entry, saved, report)
                continue
            self.progress()
            article, hits = prepared.article.article, prepared.article.hits
            if saved.created:
                self.metrics.articles.inc()
                for hit in hits:
                    self.metrics.hits.labels(rule=hit.rule_id).inc()
                    log.info("hit: rule %s matched %r (%s)", hit.rule_id, article.title,
                             article.url)
            report.articles += int(saved.created)
            report.hits += saved.new_hits
            report.notifications += saved.new_notifications
        batch.clear()

    def _revise(self, feed: FeedState, plan: RevisionPlan, feed_language: str | None,
                report: FeedReport, pages: PagePool | None) -> None:
        """Known entries the feed shows changed (see :mod:`monitor.daemon.revisions`)."""
        revised = self.reviser.run(feed, plan, feed_language, pages)
        report.revised += revised.revised
        report.hits += revised.hits
        report.notifications += revised.notifications
        report.item_failures.extend(revised.failures)
        report.retries_settled += revised.settled
        for rule in revised.rules:
            self.metrics.hits.labels(rule=rule).inc()


def _newest(entries: list[FeedEntry], count: int) -> list[FeedEntry]:
    """The ``count`` newest entries (dated ones by date, then undated ones in feed order, as
    feeds list newest first), kept in feed order."""
    def age(i: int) -> tuple[bool, float]:
        published = entries[i].published
        return published is None, -published.timestamp() if published is not None else 0.0

    ranked = sorted(range(len(entries)), key=age)
    return [entries[i] for i in sorted(ranked[:count])]
