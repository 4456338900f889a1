"""Plain data passed between pipeline stages.

Stages never hand each other ORM objects or dicts: each stage takes and returns these frozen
dataclasses, so every stage can be tested on its own with values built in the test.

Flow: ``FeedSource`` -> fetch -> ``FetchedBody`` | ``NotModified`` -> parse -> ``ParsedFeed``
of ``FeedEntry`` -> (fetch page, extract -> ``ExtractedText``) -> ``Article`` -> match
(``Document`` in, ``RuleHit`` out) -> store -> ``Alert`` -> notify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Field = Literal["title", "body"]
TextSource = Literal["page", "feed_content", "feed_summary", "file"]


@dataclass(frozen=True)
class FeedSource:
    """A feed as configured: an http(s) URL, or a local file path (trusted because configured)."""

    url: str
    name: str
    interval_seconds: int
    tags: tuple[str, ...] = ()
    language: str | None = None

    @property
    def is_local_file(self) -> bool:
        return "://" not in self.url or self.url.startswith("file://")


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators remembered per feed for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchedBody:
    """A successful fetch: the decoded body (within the size cap) and what came with it."""

    url: str  # final URL, after redirects
    status: int
    content: bytes
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    validators: Validators = Validators()
    redirected_permanently: bool = False


@dataclass(frozen=True)
class NotModified:
    """A 304 answer to a conditional GET: nothing to parse."""

    url: str
    validators: Validators = Validators()


# The longest article URL the store keeps (articles.canonical_url is VARCHAR(2048)). PostgreSQL
# enforces the length and SQLite does not: an entry whose URL is longer is skipped with a
# warning before the store, and the store refuses one on either backend alike.
MAX_URL_CHARS = 2048
# The longest rule id and name the store keeps (hits.rule_id VARCHAR(128), hits.rule_name
# VARCHAR(512)): PostgreSQL refuses longer ones, which lost every article a rule with one
# matched, so the rule loader refuses them.
MAX_RULE_ID_CHARS = 128
MAX_RULE_NAME_CHARS = 512
MAX_CHANNEL_NAME_CHARS = 128  # notifications.channel VARCHAR(128), refused by the config


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a parsed feed. ``key`` is the identity that survives an edited headline."""

    key: str
    url: str | None
    title: str
    summary: str = ""
    content: str = ""  # full text (HTML or plain) when the feed carries it
    published: datetime | None = None
    author: str | None = None
    language: str | None = None
    # When the feed says the entry last changed (Atom <updated>, dcterms:modified, JSON Feed
    # date_modified); None when it does not say.
    updated: datetime | None = None
    # The outlet the entry names as its origin (RSS and Atom <source>): an aggregator's item
    # (Google News) names the publisher there. Not part of the fingerprint.
    source: str | None = None

    def fingerprint(self) -> str:
        """A short hash of the entry as the feed shows it (title, summary, content, updated
        time): a known entry whose fingerprint changed was revised (a developing story)."""
        stamp = self.updated.isoformat() if self.updated is not None else ""
        text = "\x1f".join((self.title, self.summary, self.content, stamp))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...] = ()  # ill-formed input that was still readable
    ttl_seconds: int | None = None  # the feed's own hint (<ttl>, sy:updatePeriod)


@dataclass(frozen=True)
class TextAnalysis:
    """What the matcher and the text index need of an article's text, computed beside the
    extraction (in the worker process, in parallel) instead of in the daemon's process.

    ``stream`` is the text's folded tokens joined by single spaces. ``stemmer`` is the one
    the matcher stems the article with when its declared language is the one given to the
    worker (None: that language has no stemmer; ``"?"``: no language was given, the daemon
    detects it); ``stems`` are then the tokens' stems in the same order, ``distinct_stems``
    each stem once in order of first appearance (both ``""`` without a stemmer). Strings,
    not lists: a string crosses the process boundary as one copy.
    """

    stemmer: str | None
    stream: str
    stems: str = ""
    distinct_stems: str = ""


@dataclass(frozen=True)
class ExtractedText:
    """Main text of a page (or the feed's fallback) and the metadata found beside it."""

    text: str
    source: TextSource
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    site_name: str | None = None
    language: str | None = None
    # What the extraction worker's signer (a pure function handed over by the daemon: the
    # story signature) made of ``text``, so the daemon's process need not compute it.
    signature: bytes | None = None
    # The worker's analysis of ``text`` for the matcher (its analyzer, also the daemon's).
    analysis: TextAnalysis | None = None
    # The page's address as fetched, after redirects (None: not from a page, or not given).
    url: str | None = None


@dataclass(frozen=True)
class Article:
    """An article ready to match and store."""

    url: str  # canonical URL
    title: str
    text: str
    source_name: str
    feed_url: str
    entry_key: str
    text_source: TextSource
    language: str | None = None
    published: datetime | None = None
    author: str | None = None
    content_hash: str = ""
    error: str | None = None  # why the page text is missing, e.g. "blocked_address"
    # ``language`` was detected (True), or declared and checked against the text (False);
    # None: not settled (see Document).
    language_detected: bool | None = None

    def document(self) -> Document:
        return Document(title=self.title, body=self.text, language=self.language,
                        language_detected=self.language_detected)


@dataclass(frozen=True)
class Document:
    """What the matcher reads: a title, a body and (if known) a language code.

    ``language_detected`` says where ``language`` comes from. None: declared, and not checked
    yet (the matcher checks that the text could be in it, else detects one). False: declared
    and checked; True: detected (the daemon settles an article's language once, when it
    composes the article). The rules' ``languages`` filters read a detected code as a
    detection: a rule asking for ``id`` also takes a detected ``ms``."""

    title: str
    body: str
    language: str | None = None
    language_detected: bool | None = None


@dataclass(frozen=True)
class Evidence:
    """One matched term: where it is and a snippet around it."""

    term: str  # the query term as written: 'ceasefire', '"gencatan senjata"', '@qatar'
    matched: str  # the text as it appears in the article
    field: Field
    start: int  # character offsets within the field
    end: int
    snippet: str
    entity: str | None = None

    @property
    def regex(self) -> bool:
        """A ``regex:`` condition's (its term is written ``/pattern/``): what it matched may
        be part of a word, where every other term matches whole words."""
        return self.term.startswith("/")

    @classmethod
    def of(cls, term: str, matched: str, field: Field, start: int, end: int, snippet: str,
           entity: str | None) -> Evidence:
        """The constructor's result, built faster for the matcher's hot path: a frozen
        dataclass sets each field through ``object.__setattr__`` (1.3 us, against 0.55)."""
        made = object.__new__(cls)
        made.__dict__.update(term=term, matched=matched, field=field, start=start, end=end,
                             snippet=snippet, entity=entity)
        return made


@dataclass(frozen=True)
class RuleHit:
    """A rule that matched a document, with the evidence."""

    rule_id: str
    rule_name: str
    evidence: tuple[Evidence, ...]
    notify: tuple[str, ...] = ()

    @classmethod
    def of(cls, rule_id: str, rule_name: str, evidence: tuple[Evidence, ...],
           notify: tuple[str, ...]) -> RuleHit:
        """The constructor's result, built faster (see :meth:`Evidence.of`)."""
        made = object.__new__(cls)
        made.__dict__.update(rule_id=rule_id, rule_name=rule_name, evidence=evidence,
                             notify=notify)
        return made


@dataclass(frozen=True)
class Alert:
    """One message to render for one channel: a hit plus the article fields it shows."""

    notification_id: int
    channel: str
    rule_id: str
    rule_name: str
    title: str
    url: str
    source: str
    published: datetime | None
    language: str | None
    evidence: tuple[Evidence, ...]
    story_size: int = 1
    also_reported_by: tuple[str, ...] = ()
    story_id: int | None = None
    hit_id: int | None = None  # its page in the web view: <web.public_url>hits/<hit_id>


@dataclass(frozen=True)
class RulePolicy:
    """A rule's own delivery settings; None defers to the channel's."""

    delivery: str | None = None
    max_per_hour: int | None = None
