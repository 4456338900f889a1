"""The settings: one pydantic model per section of the configuration file (the value types
they share, durations, sizes and quiet hours, are :mod:`monitor.config.values`'s; the web
view's and the metrics listener's sections :mod:`monitor.config.serving`'s). Read by
:mod:`monitor.config.loading`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, PrivateAttr, field_validator, model_validator

from monitor.config.serving import MetricsConfig, WebConfig
from monitor.config.values import (
    Duration,
    PositiveDuration,
    QuietHours,
    Section,
    Size,
    Whole,
)
from monitor.models import MAX_CHANNEL_NAME_CHARS, FeedSource
from monitor.text import closest

DEFAULT_DATABASE_URL = "sqlite:///var/monitor.db"


class FeedConfig(Section):
    url: str = Field(min_length=1)
    name: str | None = None
    interval: PositiveDuration | None = None
    tags: list[str] = Field(default_factory=list)
    language: str | None = None

    @field_validator("tags")
    @classmethod
    def _one_tag_each(cls, tags: list[str]) -> list[str]:
        # The store keeps a feed's tags comma-separated: "x,y" would come back as two.
        for tag in tags:
            if "," in tag:
                raise ValueError(f"the tag {tag!r} holds a comma; for two tags write a list: "
                                 f"[{', '.join(t.strip() for t in tag.split(','))}]")
        return tags


class ChannelConfig(Section):
    """A named destination: one or more apprise URLs (secrets as ``${ENV_VAR}``)."""

    urls: list[str] = Field(min_length=1)
    # None: html for mail (multipart text + HTML), markdown for chats, text otherwise.
    format: Literal["text", "markdown", "html"] | None = None
    template: str | None = None  # Jinja2 source overriding the built-in template
    # json:// destinations: "event", the versioned alert object (delivery.render.event), or
    # "apprise", apprise's own {"title", "message"} form with the rendered text.
    webhook: Literal["event", "apprise"] = "event"
    delivery: Literal["immediate", "digest"] = "immediate"
    digest_schedule: str = "1h"  # cron expression ("0 8 * * *") or interval ("1h")
    timezone: str = "UTC"
    quiet_hours: str | None = None  # "22:00-07:00" in the channel's time zone
    max_per_hour: Whole | None = Field(None, ge=1)  # per rule; the overflow goes to the digest

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        if value is not None:
            QuietHours.parse(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}{_zone_hint(value)}") from None
        return value


def _zone_hint(name: str) -> str:
    """``; did you mean Asia/Jakarta?`` for a city or a misspelt IANA zone name."""
    zones = available_timezones()
    wanted = name.strip().replace(" ", "_").casefold()
    cities: dict[str, str] = {}
    for zone in sorted(zones):  # Asia/Jakarta before posix/Asia/Jakarta
        cities.setdefault(zone.rsplit("/", 1)[-1].casefold(), zone)
    close = cities.get(wanted) or closest(name, zones, cutoff=0.8)
    if close is None and (city := closest(wanted, cities, cutoff=0.75)) is not None:
        close = cities[city]  # Moskow -> Europe/Moscow
    return f"; did you mean {close}?" if close else " (IANA names such as Asia/Jakarta or UTC)"


class HttpConfig(Section):
    user_agent: str = "newsmonitor/0.1 (+https://github.com/newsmonitor/newsmonitor)"
    connect_timeout: PositiveDuration = 5.0
    read_timeout: PositiveDuration = 10.0
    total_timeout: PositiveDuration = 30.0
    max_redirects: Whole = Field(5, ge=0, le=20)
    feed_max_bytes: Size = 10 * 2**20
    page_max_bytes: Size = 5 * 2**20
    per_host_concurrency: Whole = Field(2, ge=1)
    per_host_min_interval: Duration = 0.0
    # Networks (CIDR) or host names exempt from the private-address refusal.
    allow_private_networks: list[str] = Field(default_factory=list)
    respect_robots_txt: bool = True
    workers: Whole = Field(16, ge=1, le=256)
    # Ask Google for the publisher URL behind Google News links in the current format (its
    # internal interface: off by default; monitor.net.google_news), and where it answers.
    resolve_google_news: bool = False
    google_news_url: str = "https://news.google.com"

    @field_validator("user_agent")
    @classmethod
    def _header_value(cls, value: str) -> str:
        # Sent in every request's header: httpx2 refused a non-ASCII one at each fetch.
        if not value.strip() or not (value.isascii() and value.isprintable()):
            raise ValueError(f"{value!r} cannot be sent as an HTTP header: write printable "
                             "ASCII (no accents, no dashes such as \u2014, no line breaks)")
        return value.strip()

    @field_validator("google_news_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+/?", value.strip()):
            raise ValueError(f"{value!r} is not an http(s) URL of a server "
                             "(scheme and host, no path)")
        return value.strip().rstrip("/")


class ExtractConfig(Section):
    workers: Whole | None = Field(None, ge=1)  # default: one per core
    timeout: PositiveDuration = 20.0
    memory_limit: Size = 512 * 2**20
    min_text_chars: Whole = Field(200, ge=0)
    # A worker's replacement costs about 0.7 CPU-s in a busy cycle (fork, copy-on-write
    # faults, warm-up) and starves its queue meanwhile: every 200 pages that was 10 % of the
    # cycle benchmark's throughput. Workers measured flat at 78 MB over 1,000 pages.
    recycle_after: Whole = Field(1000, ge=1)


class PollingConfig(Section):
    default_interval: PositiveDuration = 900.0
    min_interval: PositiveDuration = 300.0
    max_interval: PositiveDuration = 86400.0
    full_fetch_every: Duration = 86400.0
    tick: PositiveDuration = 15.0
    # Intervals follow each feed's publishing rate (monitor.feeds.polling); false: fixed intervals.
    adaptive: bool = True
    # Consecutive polls whose body is not a readable feed (not_a_feed, parse_error) before the
    # feed is disabled; fetch errors only back off. 0: never disable.
    max_failures_before_disable: Whole = Field(3, ge=0)
    silent_alert_after: PositiveDuration = 172800.0
    # New entries taken from one feed per cycle, newest first; the rest wait for the next
    # cycle (a feed listing 50,000 new entries cost 100 s and 531 MB in one cycle).
    max_new_entries: Whole = Field(100, ge=1)
    # A feed is parsed in a killable worker process (with extract.memory_limit): killed after
    # this long it is a parse failure (parse_timeout), which counts toward disabling.
    parse_timeout: Duration = Field(10.0, gt=0)
    # A known entry the feed shows changed (title, summary, content, <updated>) is fetched and
    # matched again while it is this young (from when it was first seen), at most
    # max_revisions times; 0: never (monitor.daemon.revisions).
    revise_within: Duration = 172800.0
    max_revisions: Whole = Field(5, ge=0)
    # ...the second this long after the first, each later one twice as long after the one
    # before: a feed that rewrites <updated> at every poll would otherwise spend
    # max_revisions in its first polls, before the story develops.
    revise_every: Duration = 3600.0


class DeliveryConfig(Section):
    console: bool = True
    default_channels: list[str] = Field(default_factory=list)
    admin_channel: str | None = None
    max_attempts: Whole = Field(5, ge=1)
    retry_deadline: Duration = 86400.0
    backoff_base: Duration = 30.0
    lease: PositiveDuration = 120.0
    # One attempt's wall-clock limit, handed to apprise for every plugin (its socket connect
    # and read timeouts and its call deadline); apprise's own default is 4 s.
    send_timeout: Duration = Field(30.0, gt=0)
    max_message_chars: Whole = Field(4000, ge=200)
    # Articles published longer ago are stored and matched, but alert no one (a feed added
    # with weeks of items, or one that relists its archive); None: whatever the date.
    max_article_age: PositiveDuration | None = None

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> DeliveryConfig:
        # A row's lease is renewed just before its send; the send must end while it is live.
        if self.lease < 2 * self.send_timeout:
            raise ValueError(f"delivery.lease ({self.lease:g}s) must be at least twice "
                             f"delivery.send_timeout ({self.send_timeout:g}s)")
        return self


class RetentionConfig(Section):
    """How long rows are kept (``monitor db prune`` and the daemon's daily job); null: forever.

    ``article_text``: an article's text is dropped (title, metadata, hits and their evidence
    snippets stay). ``articles``: whole stories whose newest article is older go, with their
    hits and the feed entries that pointed at them. ``notifications``: sent and dead outbox
    rows (with their attempts), never within the 7-day story window nor while a copy may still
    join their story. ``attempts``: the delivery attempt log. Nothing a notification still
    waiting to be sent, or of unknown outcome, needs is ever pruned.
    """

    article_text: Duration | None = 90 * 86400.0
    articles: Duration | None = 365 * 86400.0
    notifications: Duration | None = 90 * 86400.0
    attempts: Duration | None = 30 * 86400.0


class Config(Section):
    """The whole validated configuration. ``base_dir`` anchors every relative path."""

    base_dir: Path = Path()
    source: str = "<defaults>"
    database_url: str = DEFAULT_DATABASE_URL
    rules_dir: Path = Path("rules")
    feeds: list[FeedConfig] = Field(default_factory=list)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    http: HttpConfig = HttpConfig()
    extract: ExtractConfig = ExtractConfig()
    polling: PollingConfig = PollingConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    web: WebConfig = WebConfig()
    metrics: MetricsConfig = MetricsConfig()
    retention: RetentionConfig = RetentionConfig()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Channel URLs written as ${VAR} references: the expanded URL -> the variable's name, so
    # a masked URL can say where it came from (not a setting).
    _url_sources: dict[str, str] = PrivateAttr(default_factory=dict)

    # What the file says that is valid but rarely meant (monitor.config.notes), each a line
    # ``path:line: field: message`` (not a setting).
    _notes: tuple[str, ...] = PrivateAttr(default=())

    def url_source(self, url: str) -> str | None:
        """The ``${VAR}`` a channel URL was read from (its name), if it was one."""
        return self._url_sources.get(url)

    @property
    def notes(self) -> tuple[str, ...]:
        """Valid settings that are rarely what was meant: ``monitor check`` fails on them,
        the daemon logs them."""
        return self._notes

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, channels: dict[str, ChannelConfig]) -> dict[str, ChannelConfig]:
        for name in channels:
            # notifications.channel is VARCHAR(128): PostgreSQL refused every alert to a
            # channel with a longer name.
            if not name.strip() or len(name) > MAX_CHANNEL_NAME_CHARS:
                shown = repr(name) if len(name) <= 40 else f"{name[:40]!r}..."
                raise ValueError(f"channel name {shown} must be 1 to "
                                 f"{MAX_CHANNEL_NAME_CHARS} characters, not all spaces")
        return channels

    @model_validator(mode="after")
    def _channels_exist(self) -> Config:
        names = set(self.channels)
        for ref in [*self.delivery.default_channels, self.delivery.admin_channel]:
            if ref is not None and ref not in names:
                raise ValueError(f"channel {ref!r} is not defined under channels")
        return self

    def resolve(self, path: Path | str) -> Path:
        """A configured path, relative to the config file's folder."""
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def rules_path(self) -> Path:
        return self.resolve(self.rules_dir)

    def feed_sources(self) -> list[FeedSource]:
        """The configured feeds, with local paths made absolute and defaults filled in."""
        sources = []
        for feed in self.feeds:
            url = feed.url
            if "://" not in url:
                url = str(self.resolve(url).resolve())
            sources.append(
                FeedSource(
                    url=url,
                    name=feed.name or feed.url,
                    interval_seconds=int(feed.interval or self.polling.default_interval),
                    tags=tuple(feed.tags),
                    language=feed.language,
                )
            )
        return sources
