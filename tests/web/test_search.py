"""The search page: the language box read as a rule file's ``languages:``, a query pasted
with the invisible characters that stored article text never keeps, the stem box, and queries
too large to search without reading every article."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from monitor.models import Article
from monitor.rules import load_rules
from monitor.store import Store, TextIndex
from monitor.web import search as search_module
from monitor.web.search import MAX_DEPTH, MAX_TERMS
from tests.store_support import console_route
from tests.web_support import client, config, seeded_store


@pytest.fixture
def sqlite_web(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The web view over a seeded SQLite store: reading the language box involves no
    database (the soft-hyphen test runs on both)."""
    store = seeded_store(sqlite_url)
    with client(store, config(tmp_path, sqlite_url)) as c:
        yield c
    store.close()


def _count(page: str) -> str:
    found = re.search(r'id="search-count">(\d+ articles?) match', page)
    return found.group(1) if found else ""


@pytest.mark.parametrize("language", ["id", "ID", "id-ID", "ind", "in"])
def test_the_language_is_read_as_a_rule_files_languages(sqlite_web: TestClient,
                                                       language: str) -> None:
    c = sqlite_web
    page = c.get("/search", params={"q": "gaza", "language": language}).text
    assert _count(page) == "2 articles"  # the two Indonesian seed stories, not the English one
    assert "languages:\n  - id\n" in page or "languages: [id]" in page


@pytest.mark.parametrize("language", ["zz", "english", "<b>"])
def test_a_language_no_rule_file_takes_is_explained_not_searched(sqlite_web: TestClient,
                                                                language: str) -> None:
    c = sqlite_web
    page = c.get("/search", params={"q": "gaza", "language": language})
    assert page.status_code == 200
    alert = re.search(r'role="alert">([^<]*)<', page.text)
    assert alert is not None and "language code" in alert.group(1)
    assert "Save as rule" not in page.text and "<b>" not in page.text


def test_a_query_pasted_with_a_soft_hyphen_finds_the_word(web) -> None:
    c, _ = web
    plain = _count(c.get("/search", params={"q": "gencatan"}).text)
    assert plain != "0 articles"
    page = c.get("/search", params={"q": "gen\u00adcatan"}).text
    assert _count(page) == plain
    assert "\u00ad" not in page  # nor in the rule to save
    # Typed with a Cyrillic е (a keyboard layout slip): read as the word, as articles are.
    mixed = c.get("/search", params={"q": "g\u0435ncatan"}).text
    assert _count(mixed) == plain and "g\u0435ncatan" not in mixed


def _alert(page: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def _save_russian(store: Store) -> None:
    store.save_article(store.feed_health()[0].id, Article(
        url="https://ru.example/1", title="Стамбул", text="Делегации встретились на переговорах.",
        source_name="RU", feed_url="https://news.example/feed.xml", entry_key="ru:1",
        text_source="page", language="ru", content_hash="r1"), [], console_route)
    TextIndex(store).index_pending()  # as the daemon does after it saved it


def test_stem_finds_an_inflected_word_through_the_index(web) -> None:
    c, store = web
    _save_russian(store)  # stored without stems: the first stemmed search computes them
    page = c.get("/search", params={"q": "переговоры"}).text
    assert _count(page) == "0 articles"
    # ...which is not the answer: the page says what stemming finds, and links to it
    assert ('id="search-stemmed">With stemming (<span lang="ru">переговоры</span> also finds '
            '<span lang="ru">переговорах</span>), <a href="/search?q=%D0%BF%D0%B5%D1%80%D0%B5'
            '%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%D1%8B&amp;stem=true">1 article matches</a>.'
            in page)
    page = c.get("/search", params={"q": "переговоры", "stem": "true"}).text
    # the index's stems narrowed the candidates to that one article (a scan reads all five)
    assert re.search(r'id="search-count">1 article matches \(1 read by the matcher', page)
    assert re.search(r'name="stem" value="true" checked', page)  # the box stays ticked


def test_stemming_is_offered_only_when_it_finds_more(sqlite_web: TestClient) -> None:
    page = sqlite_web.get("/search", params={"q": "gencatan senjata"}).text
    assert _count(page) != "0 articles" and "search-stemmed" not in page  # Latin, found: asked not
    page = sqlite_web.get("/search", params={"q": "xyzzy"}).text
    assert _count(page) == "0 articles" and "search-stemmed" not in page  # asked: none either


def test_stemming_is_not_offered_when_it_would_first_stem_the_archive(
        web, monkeypatch: pytest.MonkeyPatch) -> None:
    c, store = web
    _save_russian(store)  # stored without stems, as the seeds
    monkeypatch.setattr(search_module, "STEMS_TO_COMPUTE", 1)
    page = c.get("/search", params={"q": "переговоры"}).text
    assert _count(page) == "0 articles" and "search-stemmed" not in page
    assert TextIndex(store).pending()[0] == store.count("articles")  # none computed unasked


def test_a_stemmed_search_is_saved_as_a_stemmed_rule_that_loads_back(
        sqlite_web: TestClient, tmp_path: Path) -> None:
    for stem in ["true", ""]:
        page = sqlite_web.get("/search", params={"q": "negosiasi", "stem": stem}).text
        found = re.search(r'<pre class="yaml">(.*?)</pre>', page, re.DOTALL)
        assert found is not None
        yaml = html.unescape(found.group(1))
        assert ("stem: true" in yaml) == bool(stem)
        folder = tmp_path / f"saved-{stem or 'plain'}"
        folder.mkdir()
        (folder / "saved.yaml").write_text(yaml, encoding="utf-8")
        book = load_rules(folder)
        assert not book.problems and [r.stem for r in book.rules] == [bool(stem)]


def test_the_prefixes_box_finds_arabic_words_with_a_proclitic_and_is_saved(
        web, tmp_path: Path) -> None:
    """"غزة" alone misses "بغزة" ("in Gaza"): the box searches the joined forms too, through
    the index, and "Save as rule" says proclitics: true."""
    c, store = web
    store.save_article(store.feed_health()[0].id, Article(
        url="https://ar.example/1", title="محادثات بغزة", text="وصل الوفد لبحث الهدنة.",
        source_name="AR", feed_url="https://news.example/feed.xml", entry_key="ar:1",
        text_source="page", language="ar", content_hash="a1"), [], console_route)
    TextIndex(store).index_pending()
    page = c.get("/search", params={"q": "غزة"}).text
    assert _count(page) == "0 articles"
    page = c.get("/search", params={"q": "غزة", "proclitics": "true"}).text
    assert re.search(r'id="search-count">1 article matches \(1 read by the matcher', page)
    assert re.search(r'name="proclitics" value="true" checked', page)
    found = re.search(r'<pre class="yaml">(.*?)</pre>', page, re.DOTALL)
    assert found is not None and "proclitics: true" in html.unescape(found.group(1))
    (tmp_path / "saved.yaml").write_text(html.unescape(found.group(1)), encoding="utf-8")
    assert [r.proclitics for r in load_rules(tmp_path).rules] == [True]
    assert c.get("/search", params={"q": "غزة", "proclitics": "2"}).status_code == 400


def test_a_stem_value_that_is_not_yes_or_no_is_refused(sqlite_web: TestClient) -> None:
    page = sqlite_web.get("/search", params={"q": "gaza", "stem": "maybe"})
    assert page.status_code == 400 and "stem: true or false" in page.text


@contextmanager
def _article_reads(store: Store) -> Iterator[list[str]]:
    """The statements that load article rows (texts) for the matcher while the block runs."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "articles.text" in statement:
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.parametrize(("query", "error"), [
    (" OR ".join(f"word{i}" for i in range(3000)),
     f"the query has 3,000 terms; a search takes at most {MAX_TERMS}"),
    # FTS5's parser refuses ("x" AND (...)) about 33 deep: the index gave up, all were read
    ("x AND (" * 40 + "y" + ")" * 40,
     f"nested 41 levels deep; a search takes at most {MAX_DEPTH}"),
    ("(" * 120 + "y" + ")" * 120, "nested more than 100 deep"),  # the parser's own limit
], ids=["3000-terms", "40-deep", "120-deep"])
def test_a_hostile_query_is_refused_at_once_without_reading_every_article(
        web, query: str, error: str) -> None:
    c, store = web
    with _article_reads(store) as reads:
        started = time.perf_counter()
        page = c.get("/search", params={"q": query})
        elapsed = time.perf_counter() - started
    assert page.status_code == 200 and error in _alert(page.text)
    assert reads == [] and elapsed < 2
    assert "read by the matcher" not in page.text and "Save as rule" not in page.text


def test_a_word_of_hundreds_of_ye_is_answered_at_once(web) -> None:
    """SQLite's index is asked for a word's spellings with ё: a word of 600 е's had
    C(600, 2) of them, 180,000 of 600 letters, made before they were counted. Counted first,
    past what a word may have the index cannot narrow the query, which is refused.
    PostgreSQL's lexemes are folded as the matcher folds: it needs no spellings, and answers."""
    c, store = web
    with _article_reads(store) as reads:
        started = time.perf_counter()
        page = c.get("/search", params={"q": "е" * 600})
        elapsed = time.perf_counter() - started
    assert page.status_code == 200 and reads == [] and elapsed < 2
    if store.dialect == "sqlite":
        assert "the text index cannot narrow this query" in _alert(page.text)


def test_a_query_the_index_cannot_narrow_is_refused_not_read_in_full(web) -> None:
    c, store = web
    # few terms, but 48 x 209 aliases (752 with their spellings on SQLite): past what the
    # index query narrows (10,000 terms)
    query = " OR ".join(["@country-vi"] * 48)
    with _article_reads(store) as reads:
        page = c.get("/search", params={"q": query}).text
    assert "the text index cannot narrow this query" in _alert(page) and reads == []
    assert _count(c.get("/search", params={"q": " OR ".join(["@country-vi"] * 2)}).text)
    # The prefixes box counts each Arabic or Hebrew alias's written forms too, and says so
    # (SQLite's index query also asks for each spelling of each form: 752 terms, 4,277 with
    # the prefixes; PostgreSQL's 209 and 368).
    many = " OR ".join(["@country-vi"] * (6 if store.dialect == "sqlite" else 28))
    assert _count(c.get("/search", params={"q": many}).text)
    with _article_reads(store) as reads:
        page = c.get("/search", params={"q": many, "proclitics": "true"}).text
    assert "each Arabic or Hebrew word its 12 to 26 written forms" in _alert(page)
    assert reads == []


# -- a query pasted with no-break or other Unicode spaces (FTS5 would read
# gencatan<NBSP>AND<NBSP>gaza as the one phrase "gencatan and gaza")


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u3000", "\u2009"])
def test_a_query_pasted_with_unicode_spaces_finds_what_it_finds_with_spaces(
        sqlite_web: TestClient, space: str) -> None:
    c = sqlite_web
    plain = _count(c.get("/search", params={"q": "gencatan AND gaza"}).text)
    assert plain not in ("", "0 articles")
    page = c.get("/search", params={"q": f"gencatan{space}AND{space}gaza"}).text
    assert _count(page) == plain
    quoted = c.get("/search", params={"q": f'"gencatan{space}senjata"'}).text
    assert _count(quoted) == _count(c.get("/search", params={"q": '"gencatan senjata"'}).text)


def test_the_search_notes_a_unicode_space(sqlite_web: TestClient) -> None:
    page = sqlite_web.get("/search", params={"q": "gencatan\u00a0AND\u00a0gaza"}).text
    assert ("query has a no-break space (U+00A0) at column 9 and 1 more Unicode space: "
            "read as spaces") in page


# -- a word most articles have: the index narrows nothing


def test_a_search_reads_the_newest_candidates_within_its_budget(
        web, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query of a word most articles have ("dan", "said") had the matcher read every one:
    3 s at 50,000 articles, a minute at a million, for each visitor. It reads at most
    READ_BUDGET, newest first, and says so; within the budget it finds what reading them
    all finds."""
    c, store = web
    feed_id = store.feed_health()[0].id
    for n in range(8):  # 8 more articles with "dan", the newest last
        store.save_article(feed_id, Article(
            url=f"https://id.example/{n}", title=f"Berita {n}", text=f"Rapat {n} dan sidang.",
            source_name="ID", feed_url="https://news.example/feed.xml", entry_key=f"id:{n}",
            text_source="page", language="id", content_hash=f"d{n}"), [], console_route)

    def titles(page: str) -> list[str]:
        return re.findall(r'<h2[^>]*><a [^>]*>([^<]*)</a></h2>', page)

    everything = c.get("/search", params={"q": "dan OR rapat"}).text
    assert _count(everything) and "At least" not in everything
    total = int(_count(everything).split()[0])
    assert total >= 8 and titles(everything)[:2] == ["Berita 7", "Berita 6"]
    monkeypatch.setattr(search_module, "READ_BUDGET", total)  # just enough: all of them
    assert titles(c.get("/search", params={"q": "dan OR rapat"}).text) == titles(everything)
    monkeypatch.setattr(search_module, "READ_BUDGET", 3)
    page = c.get("/search", params={"q": "dan OR rapat"}).text
    assert re.search(r'id="search-count">At least 3 articles match: 3 among the newest 3 '
                     r'candidates, read by the matcher', page), page
    assert titles(page) == ["Berita 7", "Berita 6", "Berita 5"]
    assert "to reach older ones, add terms or a language" in page
