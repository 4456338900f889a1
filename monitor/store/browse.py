"""Read models for people: stories with their hits and outlets, one story, rule statistics.

The web view and the API read through :class:`Browse`. Lists page by keyset (the last id seen),
never by offset, so a page costs the same however deep it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Select, and_, cast, func, select
from sqlalchemy.orm import Session

from monitor.models import Evidence
from monitor.store.records import NotificationInfo, StoredArticle, evidence_from_json
from monitor.store.schema import ArticleRow, FeedbackRow, HitRow, NotificationRow
from monitor.store.store import Store

# The hits and the outlets a story in a list carries, each (the story page has them all).
SUMMARY_ITEMS = 100
# The outlets the lists' filter offers (the others are still filtered on by ?outlet=).
MAX_OUTLET_CHOICES = 500


@dataclass(frozen=True)
class StoryFilter:
    """What a list is narrowed to; ``feedback`` is ``relevant``, ``not_relevant`` or ``none``."""

    rule: str | None = None
    outlet: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    feedback: str | None = None
    story: int | None = None


@dataclass(frozen=True)
class HitView:
    """A hit with its article's headline facts and the feedback given on it."""

    id: int
    rule_id: str
    rule_name: str
    article_id: int
    story_id: int
    title: str
    url: str
    source: str
    language: str | None
    published: datetime | None
    matched_at: datetime
    evidence: tuple[Evidence, ...]
    relevant: bool | None = None


@dataclass(frozen=True)
class Outlet:
    article_id: int
    source: str
    title: str
    url: str
    published: datetime | None


@dataclass(frozen=True)
class StorySummary:
    """A story in a list: its first :data:`SUMMARY_ITEMS` hits (and the first hit of every
    rule that matched it) and outlets, with how many there are in all. A story syndicated
    2,000 times had each list page read and render 2,000 of each (3.7 s, and 54 MB of API
    answer for 50 such stories)."""

    id: int
    hits: tuple[HitView, ...]
    outlets: tuple[Outlet, ...]
    hit_count: int = 0
    outlet_count: int = 0
    latest: datetime | None = None

    @property
    def title(self) -> str:
        return self.hits[0].title if self.hits else (self.outlets[0].title if self.outlets else "")

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(h.rule_id for h in self.hits))


@dataclass(frozen=True)
class StoryPage:
    stories: tuple[StorySummary, ...]
    total: int
    next_cursor: int | None


@dataclass(frozen=True)
class StoryDetail:
    id: int
    hits: tuple[HitView, ...]
    outlets: tuple[Outlet, ...]
    articles: dict[int, StoredArticle]  # the articles that matched, with their text
    notifications: tuple[NotificationInfo, ...]


@dataclass(frozen=True)
class RuleStats:
    rule_id: str
    hits: int
    relevant: int
    not_relevant: int
    per_day: dict[date, int] = field(default_factory=dict)

    @property
    def precision(self) -> float | None:
        judged = self.relevant + self.not_relevant
        return self.relevant / judged if judged else None


def _hit_view(h: HitRow, a: Any, relevant: bool | None) -> HitView:
    return HitView(id=h.id, rule_id=h.rule_id, rule_name=h.rule_name, article_id=h.article_id,
                   story_id=h.story_id, title=a.title, url=a.canonical_url, source=a.source_name,
                   language=a.language, published=a.published_at, matched_at=h.matched_at,
                   evidence=evidence_from_json(h.evidence), relevant=relevant)


_HIT_COLUMNS = (HitRow, ArticleRow.title, ArticleRow.canonical_url, ArticleRow.source_name,
                ArticleRow.language, ArticleRow.published_at, FeedbackRow.relevant)


def _hits_query() -> Select[Any]:
    query: Select[Any] = select(*_HIT_COLUMNS)  # type: ignore[assignment]
    return (query.join(ArticleRow, HitRow.article_id == ArticleRow.id)
            .outerjoin(FeedbackRow, FeedbackRow.hit_id == HitRow.id))


def _conditions(f: StoryFilter) -> list[Any]:
    out: list[Any] = []
    if f.story is not None:
        out.append(HitRow.story_id == f.story)
    if f.rule:
        out.append(HitRow.rule_id == f.rule)
    if f.outlet:
        out.append(ArticleRow.source_name == f.outlet)
    if f.language:
        out.append(ArticleRow.language == f.language)
    if f.since:
        out.append(HitRow.matched_at >= f.since)
    if f.until:
        out.append(HitRow.matched_at < f.until)
    if f.feedback == "relevant":
        out.append(FeedbackRow.relevant.is_(True))
    elif f.feedback == "not_relevant":
        out.append(FeedbackRow.relevant.is_(False))
    elif f.feedback == "none":
        out.append(FeedbackRow.hit_id.is_(None))
    return out


def _filtered(query: Select[Any], f: StoryFilter) -> Select[Any]:
    if f.outlet or f.language:
        query = query.join(ArticleRow, HitRow.article_id == ArticleRow.id)
    if f.feedback == "none":
        query = query.outerjoin(FeedbackRow, FeedbackRow.hit_id == HitRow.id)
    elif f.feedback:  # driven by the (small) feedback table
        query = query.join(FeedbackRow, FeedbackRow.hit_id == HitRow.id)
    conditions = _conditions(f)
    return query.where(and_(*conditions)) if conditions else query


class Browse:
    """Everything the web view and the API read, each call one short read transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def stories(self, f: StoryFilter, *, before: int | None = None,
                limit: int = 50) -> StoryPage:
        """Stories with hits, newest story first; ``before`` is the cursor (a story id)."""
        ids_query = _filtered(select(HitRow.story_id).distinct(), f)
        if before is not None:
            ids_query = ids_query.where(HitRow.story_id < before)
        ids_query = ids_query.order_by(HitRow.story_id.desc()).limit(limit + 1)
        # count(*) over a DISTINCT subquery: a hash aggregate, where count(DISTINCT) sorts
        count_query = select(func.count()).select_from(
            _filtered(select(HitRow.story_id).distinct(), f).subquery())
        with self.store.read() as session:
            ids = list(session.scalars(ids_query))
            total = session.scalar(count_query) or 0
            more = len(ids) > limit
            ids = ids[:limit]
            stories = self._summaries(session, ids, f)
        return StoryPage(tuple(stories), total, ids[-1] if more and ids else None)

    def _summaries(self, session: Session, ids: list[int], f: StoryFilter) -> list[StorySummary]:
        if not ids:
            return []
        # Ranked in the database: the hits read are the first few of each story and the
        # first of each rule, however many the story has.
        ranked = _filtered(select(
            HitRow.id, HitRow.story_id,
            func.row_number().over(partition_by=HitRow.story_id,
                                   order_by=HitRow.id).label("place"),
            func.row_number().over(partition_by=(HitRow.story_id, HitRow.rule_id),
                                   order_by=HitRow.id).label("place_in_rule"),
            func.count().over(partition_by=HitRow.story_id).label("total"),
            func.max(HitRow.matched_at).over(partition_by=HitRow.story_id).label("latest"))
            .where(HitRow.story_id.in_(ids)), f).subquery()
        counts: dict[int, tuple[int, datetime | None]] = {}
        wanted: list[int] = []
        for row in session.execute(select(ranked).where(
                (ranked.c.place <= SUMMARY_ITEMS) | (ranked.c.place_in_rule == 1))):
            wanted.append(row.id)
            counts[row.story_id] = (row.total, row.latest)
        hits: dict[int, list[HitView]] = defaultdict(list)
        for h, *a in session.execute(_hits_query().where(HitRow.id.in_(wanted))
                                     .order_by(HitRow.id)):
            hits[h.story_id].append(_hit_view(h, _Art(*a[:5]), a[5]))
        outlets, outlet_counts = _outlets(session, ids, first=SUMMARY_ITEMS)
        summaries = []
        for i in ids:
            hit_count, latest = counts.get(i, (0, None))
            summaries.append(StorySummary(i, tuple(hits[i]), tuple(outlets[i]),
                                          hit_count=hit_count,
                                          outlet_count=outlet_counts.get(i, 0), latest=latest))
        return summaries

    def story(self, story_id: int) -> StoryDetail | None:
        with self.store.read() as session:
            hit_rows = session.execute(_hits_query().where(HitRow.story_id == story_id)
                                       .order_by(HitRow.id)).all()
            outlets = _outlets(session, [story_id])[0][story_id]
            if not hit_rows and not outlets:
                return None
            hits = tuple(_hit_view(h, _Art(*a[:5]), a[5]) for h, *a in hit_rows)
            article_ids = sorted({h.article_id for h in hits})
            articles = {
                r.id: r.record()
                for r in session.scalars(select(ArticleRow).where(ArticleRow.id.in_(article_ids)))
            }
            notes = tuple(
                NotificationInfo(
                    id=n.id, status=n.status, channel=n.channel, destination=n.destination,
                    rule_id=n.rule_id, title="", attempts=n.attempts, created_at=n.created_at,
                    next_attempt_at=n.next_attempt_at, sent_at=n.sent_at, last_error=n.last_error)
                for n in session.scalars(select(NotificationRow)
                                         .where(NotificationRow.story_id == story_id)
                                         .order_by(NotificationRow.id)))
        return StoryDetail(story_id, hits, tuple(outlets), articles, notes)

    def hit(self, hit_id: int) -> HitView | None:
        with self.store.read() as session:
            row = session.execute(_hits_query().where(HitRow.id == hit_id)).first()
        if row is None:
            return None
        h, *a = row
        return _hit_view(h, _Art(*a[:5]), a[5])

    def hits(self, f: StoryFilter, *, before: int | None = None,
             limit: int = 50) -> tuple[list[HitView], int | None]:
        """Hits newest first (by id); returns the page and the next cursor."""
        query = _hits_query()
        conditions = _conditions(f)
        if before is not None:
            conditions.append(HitRow.id < before)
        if conditions:
            query = query.where(and_(*conditions))
        with self.store.read() as session:
            rows = session.execute(query.order_by(HitRow.id.desc()).limit(limit + 1)).all()
        page = [_hit_view(h, _Art(*a[:5]), a[5]) for h, *a in rows[:limit]]
        return page, (page[-1].id if len(rows) > limit and page else None)

    def article(self, article_id: int) -> StoredArticle | None:
        with self.store.read() as session:
            r = session.get(ArticleRow, article_id)
            if r is None:
                return None
            return r.record()

    def articles(self, *, before: int | None = None, limit: int = 50,
                 story: int | None = None) -> tuple[list[StoredArticle], int | None]:
        query = select(ArticleRow)
        if before is not None:
            query = query.where(ArticleRow.id < before)
        if story is not None:  # a story's outlets, past the first a list of stories shows
            query = query.where(ArticleRow.story_id == story)
        with self.store.read() as session:
            rows = list(session.scalars(query.order_by(ArticleRow.id.desc()).limit(limit + 1)))
        page = [r.record() for r in rows[:limit]]
        return page, (page[-1].id if len(rows) > limit and page else None)

    def outlets_and_languages(self) -> tuple[list[str], list[str]]:
        """The outlet names and languages that have hits (the filter choices): the
        :data:`MAX_OUTLET_CHOICES` outlets with the most hits, by name. Every outlet a
        Google News feed had named made each list page a 5 MB menu at 100,000 of them."""
        with self.store.read() as session:
            hits = func.count(HitRow.id)
            outlets = session.scalars(
                select(ArticleRow.source_name).join(HitRow, HitRow.article_id == ArticleRow.id)
                .group_by(ArticleRow.source_name).order_by(hits.desc(), ArticleRow.source_name)
                .limit(MAX_OUTLET_CHOICES)).all()
            languages = session.scalars(
                select(ArticleRow.language).join(HitRow, HitRow.article_id == ArticleRow.id)
                .where(ArticleRow.language.is_not(None)).distinct()).all()
        return sorted(outlets), sorted(code for code in languages if code)

    def rule_stats(self, since: datetime | None = None) -> dict[str, RuleStats]:
        """Hits and feedback per rule; hits per UTC day since ``since`` (for charts)."""
        with self.store.read() as session:
            totals = dict(session.execute(select(HitRow.rule_id, func.count())
                                          .group_by(HitRow.rule_id)).all())
            judged: dict[tuple[str, bool], int] = {
                (r, bool(v)): n for r, v, n in session.execute(
                    select(FeedbackRow.rule_id, FeedbackRow.relevant, func.count())
                    .group_by(FeedbackRow.rule_id, FeedbackRow.relevant))}
        per_day = self.hits_per_day(since) if since is not None else {}
        rules = set(totals) | {r for r, _ in judged}
        return {r: RuleStats(r, totals.get(r, 0), judged.get((r, True), 0),
                             judged.get((r, False), 0), per_day.get(r, {})) for r in rules}

    def hits_per_day(self, since: datetime) -> dict[str, dict[date, int]]:
        """Hits per rule and UTC day since ``since``."""
        day = (func.date(HitRow.matched_at) if self.store.dialect == "sqlite"
               else cast(func.timezone("UTC", HitRow.matched_at), Date))
        per_day: dict[str, dict[date, int]] = defaultdict(dict)
        with self.store.read() as session:
            for rule, d, n in session.execute(
                    select(HitRow.rule_id, day, func.count())
                    .where(HitRow.matched_at >= since).group_by(HitRow.rule_id, day)):
                per_day[rule][d if isinstance(d, date) else date.fromisoformat(str(d))] = n
        return dict(per_day)


@dataclass(frozen=True)
class _Art:
    title: str
    canonical_url: str
    source_name: str
    language: str | None
    published_at: datetime | None


def _outlets(session: Session, story_ids: list[int],
             first: int | None = None) -> tuple[dict[int, list[Outlet]], dict[int, int]]:
    """Each story's outlets (its ``first`` that many only, when given) and how many it has."""
    ranked = select(ArticleRow.id, ArticleRow.story_id, ArticleRow.source_name,
                    ArticleRow.title, ArticleRow.canonical_url, ArticleRow.published_at,
                    func.row_number().over(partition_by=ArticleRow.story_id,
                                           order_by=ArticleRow.id).label("place"),
                    func.count().over(partition_by=ArticleRow.story_id).label("total")
                    ).where(ArticleRow.story_id.in_(story_ids)).subquery()
    query = select(ranked).order_by(ranked.c.id)
    if first is not None:
        query = query.where(ranked.c.place <= first)
    out: dict[int, list[Outlet]] = defaultdict(list)
    counts: dict[int, int] = {}
    for r in session.execute(query):
        out[r.story_id].append(Outlet(r.id, r.source_name, r.title, r.canonical_url,
                                      r.published_at))
        counts[r.story_id] = r.total
    return out, counts
