"""The story registry: copies join one story across saves, restarts, processes and daemons."""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from monitor.config import RetentionConfig
from monitor.store import NewArticle, Outbox, Store, prune
from monitor.store.retention import STORY_WINDOW
from monitor.store.schema import ArticleRow, StoryBandRow
from monitor.stories.registry import MAX_REPRESENTATIVES, StoryRegistry
from monitor.stories.signatures import DEFAULT_WINDOW, MIN_STORY_TEXT_CHARS, text_signature
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store

TEXT = ("Utusan khusus Amerika Serikat Steve Witkoff bertemu Kepala Mossad David Barnea dan "
        "Perdana Menteri Qatar di New York untuk membahas pelaksanaan gencatan senjata di Gaza. "
        "Pertemuan tertutup itu juga membahas pemulihan hubungan setelah serangan di Doha.")


def _words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnoprstuw") for _ in range(rng.randint(3, 9)))
            for _ in range(n)]


def original_text(seed: int, words: int = 160) -> str:
    """A made-up article: its word 3-shingles share nothing with another seed's."""
    return " ".join(_words(random.Random(f"original-{seed}"), words))


def copy_text(original: str, seed: str, edits: int = 3) -> str:
    """Another outlet's copy: its own header and footer, a few words changed."""
    rng = random.Random(seed)
    words = original.split()
    for _ in range(edits):
        words[rng.randrange(len(words))] = _words(rng, 1)[0]
    return " ".join(_words(rng, 8) + words + _words(rng, 10))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(sqlite_url: str, clock: FakeClock) -> Iterator[Store]:
    s = open_store(sqlite_url, clock)
    s.sync_feeds([feed()])
    yield s
    s.close()


def _save(registry: StoryRegistry, store: Store, url: str, text: str) -> int:
    item = dataclasses.replace(article(url=url, key=url), text=text)
    return registry.save(store.feed_health()[0].id, item, [], console_route).story_id


def _representatives(store: Store, story_id: int) -> int:
    with store.read() as session:
        return session.scalar(select(func.count(func.distinct(StoryBandRow.article_id)))
                              .where(StoryBandRow.story_id == story_id)) or 0


def test_a_copy_saved_by_another_registry_joins_the_stored_story(store: Store) -> None:
    first = _save(StoryRegistry(store), store, "https://a.example/1", TEXT)
    restarted = StoryRegistry(store)
    assert restarted.load() == 0  # nothing to rebuild: the index is in the database
    copy = TEXT + " Dikutip dari detiknews."
    assert _save(restarted, store, "https://b.example/1", copy) == first


def test_articles_stored_before_the_shared_index_are_indexed_at_load(store: Store) -> None:
    first = _save(StoryRegistry(store), store, "https://a.example/1", TEXT)
    with store.write() as session:  # as after the upgrade that added the table
        session.execute(delete(StoryBandRow))
    registry = StoryRegistry(store)
    assert registry.load() == 1
    assert registry.load() == 0
    assert _save(registry, store, "https://b.example/1", TEXT + " Baca juga.") == first


def test_signatures_in_an_unreadable_format_are_skipped_at_load(store: Store) -> None:
    _save(StoryRegistry(store), store, "https://a.example/1", TEXT)
    # What the first release stored: SHA-1 shingle hashes under the tag MH1.
    with store.write() as session:
        session.execute(update(ArticleRow).values(signature=b"MH1\x80\x00\x01\x00\x00\x00"
                                                  + bytes(8 * 128)))
        session.execute(delete(StoryBandRow))  # an index built by an older version: gone
    registry = StoryRegistry(store)
    assert registry.load() == 0
    assert store.count("story_bands") == 0
    # The article is still there; a new copy simply starts its own story.
    assert _save(registry, store, "https://b.example/1", TEXT) != 0


def test_a_big_story_keeps_a_bounded_number_of_representatives(store: Store) -> None:
    registry = StoryRegistry(store)
    original = original_text(1)
    story = _save(registry, store, "https://a.example/0", original)
    for n in range(40):
        assert _save(registry, store, f"https://c{n}.example/1",
                     copy_text(original, f"copy-{n}")) == story
    assert 2 <= _representatives(store, story) <= MAX_REPRESENTATIVES
    # Another story stays apart.
    assert _save(registry, store, "https://a.example/2", original_text(2)) != story


def test_a_drifting_chain_of_copies_stays_one_story(store: Store) -> None:
    registry = StoryRegistry(store)
    first = original_text(3)
    second = copy_text(first, "drift-1", edits=10)
    third = copy_text(second, "drift-2", edits=10)
    sig = [text_signature(t) for t in (first, second, third)]
    assert sig[0].similarity(sig[2]) < 0.5 <= min(sig[0].similarity(sig[1]),
                                                  sig[1].similarity(sig[2]))
    story = _save(registry, store, "https://a.example/1", first)
    assert _save(registry, store, "https://b.example/1", second) == story
    assert _save(registry, store, "https://c.example/1", third) == story


def test_copies_outside_the_window_start_a_new_story_and_prune_forgets(
        store: Store, clock: FakeClock) -> None:
    registry = StoryRegistry(store, window=timedelta(days=7))
    original = original_text(4)
    story = _save(registry, store, "https://a.example/1", original)
    clock.advance(timedelta(days=8).total_seconds())
    assert _save(registry, store, "https://b.example/1", copy_text(original, "late")) != story
    assert store.count("story_bands") > 0
    registry.prune()
    assert _representatives(store, story) == 0



def test_a_copy_cut_short_joins_its_story_whichever_comes_first(store: Store) -> None:
    # A paywalled outlet's page gives its first paragraphs, an aggregator the lead: a fifth of
    # the text, far under the Jaccard threshold, alerted a second time.
    registry = StoryRegistry(store)
    paywall = " Berlangganan untuk membaca artikel selengkapnya."
    full = original_text(7, words=600)
    story = _save(registry, store, "https://a.example/1", full)
    cut = " ".join(full.split()[:120]) + paywall
    assert text_signature(cut).similarity(text_signature(full)) < 0.5
    assert _save(registry, store, "https://b.example/1", cut) == story
    # The cut seen first (the paywalled outlet was polled first): the whole joins it.
    other = original_text(8, words=600)
    teaser = _save(registry, store, "https://b.example/2", " ".join(other.split()[:60]))
    assert teaser != story
    assert _save(registry, store, "https://a.example/2", other) == teaser
    # An article that opens as the first one and goes on elsewhere is another story.
    opening_only = " ".join(full.split()[:50] + original_text(9, words=400).split())
    assert _save(registry, store, "https://c.example/1", opening_only) not in (story, teaser)


def test_a_copy_still_joins_its_story_after_retention_dropped_the_original_text(
        store: Store, clock: FakeClock) -> None:
    # retention.article_text shorter than the story window (a user short on disk): dropping
    # the original's text dropped its signature too, and a copy a few days later alerted again.
    registry = StoryRegistry(store)
    fid = store.feed_health()[0].id
    original = original_text(5)
    first = registry.save(fid, dataclasses.replace(
        article(url="https://a.example/1", key="a1"), text=original), [hit()], console_route)
    assert first.new_notifications == 1
    outbox = Outbox(store)
    for note in outbox.claim("me", timedelta(minutes=5), 10):
        outbox.record_sent(note.id, "me")  # sent: nothing open keeps the text
    clock.advance(timedelta(days=2).total_seconds())
    retention = RetentionConfig(article_text=timedelta(days=1).total_seconds(), articles=None,
                                notifications=None, attempts=None)
    assert prune(store, retention)["article_text"] == 1
    with store.read() as session:
        assert session.scalar(select(ArticleRow.text)) == ""  # the text went as asked
    copy = registry.save(fid, dataclasses.replace(
        article(url="https://b.example/1", key="b1"), text=copy_text(original, "later")),
        [hit()], console_route)
    assert copy.story_id == first.story_id
    assert copy.new_notifications == 0
    # Once the window has passed, the signature goes as well (nothing can join any more).
    clock.advance(timedelta(days=8).total_seconds())
    prune(store, retention)
    with store.read() as session:
        assert session.scalars(select(ArticleRow.signature)).all() == [None, None]
        assert session.scalars(select(ArticleRow.text)).all() == ["", ""]
    assert STORY_WINDOW == DEFAULT_WINDOW


def test_retention_keeps_a_story_a_later_copy_can_still_join(
        store: Store, clock: FakeClock) -> None:
    # retention.articles shorter than the story window deleted the story with its index rows,
    # and a copy from another outlet two days later alerted again.
    registry = StoryRegistry(store)
    fid = store.feed_health()[0].id
    original = original_text(6)
    first = registry.save(fid, dataclasses.replace(
        article(url="https://a.example/1", key="a1"), text=original), [hit()], console_route)
    outbox = Outbox(store)
    for note in outbox.claim("me", timedelta(minutes=5), 10):
        outbox.record_sent(note.id, "me")
    clock.advance(timedelta(days=2).total_seconds())
    retention = RetentionConfig(article_text=None, articles=timedelta(days=1).total_seconds(),
                                notifications=None, attempts=None)
    assert prune(store, retention)["articles"] == 0
    copy = registry.save(fid, dataclasses.replace(
        article(url="https://b.example/1", key="b1"), text=copy_text(original, "later")),
        [hit()], console_route)
    assert (copy.story_id, copy.new_notifications) == (first.story_id, 0)
    clock.advance(timedelta(days=8).total_seconds())
    assert prune(store, retention)["articles"] == 1  # the story, once its window has closed
    assert store.count("articles") == 0

# -- short texts: exact copies only -------------------------------------------------------

TEASER = "Qatar dan Mesir mendesak gencatan senjata di Gaza, kata juru bicara."


def _save_short(registry: StoryRegistry, store: Store, url: str, title: str, text: str) -> int:
    item = dataclasses.replace(article(url=url, key=url, title=title), text=text)
    return registry.save(store.feed_health()[0].id, item, [], console_route).story_id


def test_short_copies_with_the_same_title_and_teaser_join_one_story(store: Store) -> None:
    # Page extraction failed for both (a paywall, a consent wall): the feed's short teaser is
    # the text, and the same wire item under two URLs must alert once.
    assert len(TEASER) < MIN_STORY_TEXT_CHARS
    registry = StoryRegistry(store)
    first = _save_short(registry, store, "https://a.example/1", "Gencatan senjata di Gaza", TEASER)
    copy = _save_short(StoryRegistry(store), store, "https://b.example/1",
                       "GENCATAN senjata di Gaza!",
                       "  qatar dan  Mesir mendesak gencatan-senjata di Gaza -- kata juru bicara ")
    assert copy == first
    assert _representatives(store, first) == 1  # an exact copy adds nothing to compare with
    # Another teaser, or the same teaser under another title, is another story.
    other_text = _save_short(registry, store, "https://c.example/1", "Gencatan senjata di Gaza",
                             "Israel dan Hamas menyetujui tahap kedua gencatan senjata.")
    other_title = _save_short(registry, store, "https://d.example/1", "Bantuan masuk Rafah",
                              TEASER)
    assert len({first, other_text, other_title}) == 3


def test_a_recurring_short_item_is_a_new_story_a_day_later(store: Store,
                                                           clock: FakeClock) -> None:
    # A daily item with the same title and teaser whose page gives no text: each day's is a
    # new story (it alerts), while a copy a few hours later is the same story.
    registry = StoryRegistry(store)
    title, teaser = "Podcast harian", "Dengarkan episode hari ini tentang Gaza dan Qatar."
    monday = _save_short(registry, store, "https://a.example/mon", title, teaser)
    clock.advance(timedelta(hours=3).total_seconds())
    assert _save_short(registry, store, "https://b.example/mon", title, teaser) == monday
    clock.advance(timedelta(hours=21).total_seconds())
    tuesday = _save_short(registry, store, "https://a.example/tue", title, teaser)
    assert tuesday != monday


def test_title_only_items_with_a_short_headline_join_nothing(store: Store) -> None:
    # A daily "Morning briefing" with no text (or a text that only repeats the title) must not
    # merge a week of items into one story.
    registry = StoryRegistry(store)
    stories = [_save_short(registry, store, f"https://a.example/{n}", "Morning briefing", text)
               for n, text in enumerate(["", "", "   ", "Morning briefing", "Morning briefing"])]
    assert len(set(stories)) == len(stories)
    assert store.count("story_bands") == 0
    with store.read() as session:
        assert session.scalars(select(ArticleRow.signature)).all() == [None] * len(stories)


def test_a_short_text_never_joins_a_long_texts_story_by_its_text_nor_a_long_one_a_short_ones(
        store: Store) -> None:
    registry = StoryRegistry(store)
    title = "Gencatan senjata di Gaza"  # under TITLE_MIN_WORDS: no join by headline either
    teaser = TEXT[:150]  # the feed's teaser of the long article: its first words
    long_story = _save_short(registry, store, "https://a.example/1", title, TEXT)
    short_story = _save_short(registry, store, "https://b.example/1", title, teaser)
    assert short_story != long_story
    later_long = _save_short(registry, store, "https://c.example/1", title, TEXT + " Baca juga.")
    assert later_long == long_story  # the long copy joins the long original, not the teaser
    assert _save_short(registry, store, "https://d.example/1", title, teaser) == short_story
    # And with the short one first: a long text does not join a short text's story.
    other = original_text(7, words=40)
    assert len(other) >= MIN_STORY_TEXT_CHARS
    short_first = _save_short(registry, store, "https://e.example/1", "Other", other[:120])
    assert _save_short(registry, store, "https://f.example/1", "Other", other) != short_first


HEADLINE = "AS, Israel dan Qatar bertemu di New York bahas gencatan senjata Gaza"


def test_an_aggregators_title_only_entry_joins_the_story_its_headline_names(
        store: Store, clock: FakeClock) -> None:
    # A Google News entry in the current link format: its page gives no text, its feed only
    # "Headline - Outlet". It alerted a second time for a story the outlet's own feed brought.
    registry = StoryRegistry(store)
    fid = store.feed_health()[0].id
    original = registry.save(fid, dataclasses.replace(
        article(url="https://a.example/1", key="a1", title=HEADLINE), text=TEXT),
        [hit()], console_route)
    aggregated = registry.save(fid, dataclasses.replace(
        article(url="https://news.google.example/1", key="g1", title=f"{HEADLINE} - detikNews"),
        text=""), [hit()], console_route)
    assert aggregated.story_id == original.story_id
    assert aggregated.new_notifications == 0
    # The other way round: the aggregator first, then the outlet's page with its text.
    other_headline = "Utusan AS dan Rusia bahas rencana damai Ukraina secara rahasia"
    first = _save_short(registry, store, "https://news.google.example/2",
                        f"{other_headline} | ANTARA", "")
    assert _save_short(registry, store, "https://b.example/2", other_headline,
                       original_text(11)) == first
    # A later article of its own text joins the text by text, not only by the headline.
    assert _save(registry, store, "https://c.example/2",
                 copy_text(original_text(11), "copy")) == first
    # The same headline the next day is a new story (a recurring item).
    clock.advance(timedelta(hours=13).total_seconds())
    assert _save_short(registry, store, "https://news.google.example/3",
                       f"{HEADLINE} - detikNews", "") != original.story_id


def test_two_texts_under_one_headline_are_compared_by_their_texts(store: Store) -> None:
    # Only an item without text of its own joins by its headline: two articles with text under
    # the same headline (a wire headline over two outlets' own reports) are what their texts
    # say.
    registry = StoryRegistry(store)
    one = _save_short(registry, store, "https://a.example/1", HEADLINE, original_text(12))
    assert _save_short(registry, store, "https://b.example/1", HEADLINE,
                       original_text(13)) != one


def test_short_copies_saved_in_one_batch_join_one_story(store: Store) -> None:
    fid = store.feed_health()[0].id
    results = StoryRegistry(store).save_all([
        NewArticle(fid, dataclasses.replace(
            article(url=f"https://outlet{n}.example/a", key=f"guid:{n}"), text=TEASER), [hit()])
        for n in range(3)], console_route)
    assert len({r.story_id for r in results if not isinstance(r, Exception)}) == 1
    assert store.count("articles") == 3 and store.count("notifications") == 1

# -- several daemons on one database ------------------------------------------------------

ORIGINALS = 6
COPIES = 4  # per original, split between the two processes


def _daemon(url: str, feed_id: int, share: list[tuple[str, str]], start: Any,
            done: Any) -> None:
    """One daemon's story registry, in its own process, saving its share of the copies."""
    store = Store.open(url, Path.cwd())
    try:
        registry = StoryRegistry(store)
        registry.load()
        start.wait(timeout=60)
        for url_, text in share:
            registry.save(feed_id, dataclasses.replace(article(url=url_, key=url_), text=text),
                          [], console_route)
        done.put(len(share))
    finally:
        store.close()


def test_two_daemons_saving_copies_at_once_make_one_story_per_original(
        database_url: str) -> None:
    store = open_store(database_url, FakeClock())
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    store.close()
    # Every copy is new to both daemons: no original is stored first, so each copy races the
    # other daemon's copies of the same story.
    copies = {(o, c): (f"https://outlet{c}.example/{o}",
                       copy_text(original_text(100 + o), f"copy-{o}-{c}"))
              for o in range(ORIGINALS) for c in range(COPIES)}
    shares = [[copies[o, c] for c in range(p, COPIES, 2) for o in range(ORIGINALS)]
              for p in (0, 1)]
    ctx = multiprocessing.get_context("fork")  # a copy of this process: no second import
    start, done = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=_daemon, args=(database_url, feed_id, share, start, done))
               for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(done.get(timeout=5) for _ in workers) == [12, 12]

    store = open_store(database_url, FakeClock())
    try:
        with store.read() as session:
            story_of = {url: story for url, story in session.execute(
                select(ArticleRow.canonical_url, ArticleRow.story_id))}
    finally:
        store.close()
    assert len(story_of) == ORIGINALS * COPIES
    stories = [{story_of[copies[o, c][0]] for c in range(COPIES)} for o in range(ORIGINALS)]
    assert all(len(s) == 1 for s in stories), stories
    assert len(set.union(*stories)) == ORIGINALS
