"""Search and backtest through the text index find exactly what the matcher finds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text as sql
from typer.testing import CliRunner

from monitor.cli import app
from monitor.models import Article
from monitor.rules import (
    Rule,
    RuleBook,
    article_stems,
    backtest,
    backtest_store,
    candidate_query,
    compile_rules,
    search_articles,
    tokenize,
)
from monitor.rules.candidates import MAX_TERMS, _lexeme
from monitor.rules.model import Alias, Entity
from monitor.store import MAX_LEXEME, Access, Store, TextIndex, index_lexemes
from monitor.store.lexemes import UNINDEXED
from tests.store_support import console_route
from tests.web_support import REPO, repo_book, seeded_store

EXTRA = [
    ("Café crème in Zürich", "Les négociations de cessez-le-feu à Gaza reprennent au Caire."),
    ("GAZA: ceasefire-talks stall", "Qatar and Egypt mediate; Hamas says the truce holds."),
    ("Ukraina dan Rusia", "Negosiasinya berlanjut; AS dan Rusia membahas rencana damai."),
    ("Sepak bola", "Timnas Qatar kalah di Piala Dunia, Gaza ceasefire mentioned."),
    ("Пу́тин и Украина", "Переговоры о мирном плане продолжаются в Москве."),
    ("Numbers 3.5 and e-mail a@b.example", "ceasefire2025 and cease fire in Gaza-City"),
    # ё is е and a last ى is ي to the matcher, not to SQLite's tokenizer
    ("Визит Пётра", "Освобождённых заложников встретил Алеша. قال المبعوث الأمريكى"),
    ("طرح ۲۸ ماده‌ای", "خطة من ٢٨ نقطة"),  # Persian and Arabic-Indic digits: 28 to the matcher
    # A Ukrainian apostrophe continues the word to the matcher (ʼ), SQLite cuts at ' and ’
    ("Перемир'я в Газі", "Умови перемир’ю обговорили в Києві; Обʼєднані Арабські Емірати."),
]
QUERIES = [
    "Gaza", "gaza AND ceasefire", '"gencatan senjata"', "Qatar OR Egypt", "ceasefire NOT Qatar",
    "negosi*", "NEAR(Qatar Gaza, 5)", "title:Gaza", "@gaza AND @qatar", "cafe", "creme OR zurich",
    "Gaza AND (truce OR ceasefire)", "^Sepak", "{title body}: Rusia", "путин", "cease + fire",
    "ceasefire2025", "city", "петра", '"освобожденных заложников"', "алёша", "الأمريكي",
    "пётр*", '"28 نقطة"', "28", "2*",
    "\"перемир'я\"", '"перемирʼю"', "перемир*", "\"об'єднані арабські\"", '"Газі перемир’я"',
]


def _store(url: str, *, indexed: bool = True) -> Store:
    """The seeds and EXTRA; ``indexed``: in SQLite's FTS5 index, as the daemon puts them there
    after it saved a few hundred (else they wait in ``articles_fts_pending``)."""
    store = seeded_store(url)
    _add(store, EXTRA, "extra")
    if indexed:
        TextIndex(store).index_pending()
    return store


def _add(store: Store, texts: list[tuple[str, str]], name: str) -> None:
    """Save (title, text) pairs as articles of the store's first feed."""
    feed_id = store.feed_health()[0].id
    for i, (title, text) in enumerate(texts):
        store.save_article(feed_id, Article(
            url=f"https://{name}.example/{i}", title=title, text=text, source_name=name,
            feed_url="https://news.example/feed.xml", entry_key=f"{name}:{i}",
            text_source="page", language=None, content_hash=f"{name}{i}"), [], console_route)


def _everything(store: Store, matcher) -> set[int]:
    return {a.id for a, _ in backtest_pairs(store, matcher)}


def backtest_pairs(store: Store, matcher):
    found = []
    backtest(matcher, store.articles(), on_match=lambda m: found.append((m.article, m.hit)))
    return found


@pytest.mark.parametrize("query", QUERIES)
def test_search_finds_what_the_matcher_finds(database_url: str, query: str) -> None:
    store = _store(database_url)
    if store.dialect == "sqlite":
        assert TextIndex(store).pending()[1] == 0
    book = repo_book()
    rule = Rule.from_query("q", query)
    matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
    outcome = search_articles(store, matcher, rule, book, limit=1000)
    assert outcome.indexed
    assert {a.id for a, _ in outcome.shown} == _everything(store, matcher)
    assert outcome.total == len(outcome.shown)
    assert outcome.scanned <= store.count("articles")
    store.close()


def test_a_ukrainian_word_is_found_however_its_apostrophe_is_written(database_url: str) -> None:
    """The matcher reads ' ’ and ʼ inside a Ukrainian word as one letter, SQLite's index cuts
    the word at the first two: the index is asked for both, and stemming reaches the word's
    other cases (перемир'я finds перемир’ю). The typo check finds each word in the articles."""
    from monitor.store import ArticleVocabulary

    store = _store(database_url)
    book = repo_book()
    for query, stem in (("\"перемир'я\"", True), ('"перемирʼю"', False),
                        ("\"об'єднані\"", False)):
        rule = Rule.from_query("q", query, stem=stem)
        matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
        outcome = search_articles(store, matcher, rule, book, limit=1000)
        assert outcome.indexed
        assert [a.title for a, _ in outcome.shown] == ["Перемир'я в Газі"], query
    words = ["перемирʼя", "перемирʼю", "обʼєднані"]
    assert ArticleVocabulary(TextIndex(store)).absent(words) == set()
    assert ArticleVocabulary(TextIndex(store)).absent(["перемирʼям"]) == {"перемирʼям"}
    store.close()


def test_the_index_narrows_and_stays_in_step(sqlite_url: str) -> None:
    store = _store(sqlite_url)
    index = TextIndex(store)
    assert index.available
    ids = index.candidate_ids('"gencatan" + "senjata"')
    assert ids is not None and 0 < len(ids) < store.count("articles")
    with store.write() as session:
        from sqlalchemy import update

        from monitor.store.schema import ArticleRow
        session.execute(update(ArticleRow).where(ArticleRow.id.in_(ids))
                        .values(title="edited", text="nothing left"))
    assert index.candidate_ids('"gencatan" + "senjata"') == []
    assert index.candidate_ids("(((") is None  # FTS5 refuses it: the caller reads all
    store.close()


def test_an_and_keeps_the_conjuncts_that_fit_the_index_query(database_url: str) -> None:
    """A conjunct too large for the index query (an entity of thousands of aliases) is left
    out, not the whole query: the others still narrow, and the matcher decides."""
    store = _store(database_url)
    huge = Entity("huge", (*(Alias(f"zz{n}") for n in range(MAX_TERMS + 1)), Alias("Qatar")))
    book = RuleBook(entities=(huge,))
    index = TextIndex(store)
    index.catch_up(tokenize)
    for query, asked in [("Gaza AND @huge", "gaza"), ("@huge AND (truce OR ceasefire)",
                                                      "truce|ceasefire")]:
        rule = Rule.from_query("q", query)
        candidates = candidate_query(rule, book, index.dialect)
        assert candidates is not None and "zz1" not in candidates
        assert all(word in candidates for word in asked.split("|"))
        narrowed = index.candidate_ids(candidates)
        assert narrowed is not None and len(narrowed) < store.count("articles")
        matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
        found = search_articles(store, matcher, rule, book, limit=1000)
        assert found.indexed and found.scanned == len(narrowed)
        assert {a.id for a, _ in found.shown} == _everything(store, matcher) != set()
    store.close()


STEMMED = ["negosiasi", "переговоры AND план", "talk", '"rencana damai"', "мирный",
           "ceasefire AND talks", "negosi* AND rusia", "@putin AND мирный"]


@pytest.mark.parametrize("query", STEMMED)
def test_stemmed_search_finds_what_the_matcher_finds(database_url: str, query: str) -> None:
    """Stemmed rules use the index too: before the articles' stems are computed (each such
    article a candidate) and after."""
    store = _store(database_url)
    book = repo_book()
    rule = Rule.from_query("q", query, stem=True)
    matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
    expected = _everything(store, matcher)
    index = TextIndex(store)
    index.catch_up(tokenize)  # PostgreSQL: lexemes, still without stems
    asked = candidate_query(rule, book, index.dialect)
    assert asked is not None
    before = index.candidate_ids(asked)  # no stems stored yet: every article a candidate
    assert before is not None and set(before) == {a.id for a in store.articles()}
    for newest in (1, 2, len(before) + 1):  # what a search with a read budget asks for
        assert index.candidate_ids(asked, newest=newest) == before[-newest:]
    found = search_articles(store, matcher, rule, book, limit=1000)  # computes the stems
    assert found.indexed and {a.id for a, _ in found.shown} == expected
    assert index.catch_up_stems(article_stems) == 0
    after = index.candidate_ids(asked)
    assert after is not None and expected <= set(after) and found.scanned == len(after)
    for newest in (1, 2, len(after) + 1):
        assert index.candidate_ids(asked, newest=newest) == after[-newest:]
    store.close()


ARABIC = [("الوفد يصل للدوحة", "محادثات لوقف النار بغزة ووقف النار صامد"),
          ("وصل الوفد الدوحة", "لا ذكر للحرب"), ("שיחות בישראל", "הפסקת אש בעזה")]
PROCLITIC = [("@doha", False), ("@doha AND بغزة", False), ('"وقف النار"', False),
             ("غزة", True), ("ישראל OR عزة", False)]


@pytest.mark.parametrize(("query", "stem"), PROCLITIC)
def test_proclitic_search_finds_what_the_matcher_finds(database_url: str, query: str,
                                                       stem: bool) -> None:
    """A rule with ``proclitics: true`` asks the index for each written form: FTS5 and
    PostgreSQL's lexemes hold ``للدوحة`` as one token, which ``الدوحة`` alone never finds."""
    store = _store(database_url)
    _add(store, ARABIC, "arabic")
    index = TextIndex(store)
    index.catch_up(tokenize)
    doha = Entity("doha", (Alias("الدوحة"),))
    book = RuleBook(entities=(doha,))
    rule = Rule.from_query("q", query, stem=stem, proclitics=True)
    matcher = compile_rules(RuleBook(rules=(rule,), entities=book.entities))
    expected = _everything(store, matcher)
    assert expected
    found = search_articles(store, matcher, rule, book, limit=1000)
    assert found.indexed and {a.id for a, _ in found.shown} == expected
    assert found.scanned < store.count("articles")
    store.close()


def test_stemmed_rules_narrow_once_stems_are_stored(database_url: str) -> None:
    book = repo_book()
    stemmed = book.rule("ukraine-peace-plan")
    assert stemmed is not None and stemmed.stem
    query = candidate_query(stemmed, book)
    assert query is not None and "stems : " in query
    store = _store(database_url)
    everything = backtest(compile_rules(book), store.articles())
    report = backtest_store(store, book, compile_rules(book), None)  # computes the stems
    assert report.indexed and report.per_rule == everything.per_rule
    assert report.per_rule["ukraine-peace-plan"] >= 1
    one = RuleBook(rules=(stemmed,), entities=book.entities)
    narrowed = backtest_store(store, one, compile_rules(one), None)
    assert narrowed.indexed and narrowed.articles < store.count("articles")
    assert narrowed.per_rule == backtest(compile_rules(one), store.articles()).per_rule
    with store.read() as session:
        assert session.execute(sql("SELECT count(*) FROM articles WHERE stems IS NULL")
                               ).scalar() == 0
    store.close()


def test_new_articles_get_their_stems_at_save(sqlite_url: str) -> None:
    store = seeded_store(sqlite_url)
    store.stemmer = article_stems
    feed_id = store.feed_health()[0].id
    store.save_article(feed_id, Article(
        url="https://extra.example/ru", title="Переговоры", text="О мирном плане.",
        source_name="Extra", feed_url="https://news.example/feed.xml", entry_key="ru",
        text_source="page", language="ru", content_hash="ru"), [], console_route)
    with store.read() as session:
        stems = session.execute(sql("SELECT stems FROM articles WHERE canonical_url = "
                                    "'https://extra.example/ru'")).scalar()
    assert stems is not None and set(stems.split()) >= {"переговор", "мирн", "план"}
    index = TextIndex(store)
    pending = index.candidate_ids('(stems : "мирн")')  # the seeds: stems not computed yet
    assert pending is not None and len(pending) == store.count("articles")
    todo = store.count("articles") - 1
    assert index.pending()[0] == todo
    batches: list[int] = []
    assert index.catch_up_stems(article_stems, batch=2, progress=batches.append) == todo
    assert sum(batches) == todo and max(batches) <= 2  # what db upgrade's bar counts
    assert index.pending()[0] == 0
    with store.read() as session:
        ru = session.execute(sql("SELECT id FROM articles WHERE canonical_url = "
                                 "'https://extra.example/ru'")).scalar()
    assert index.candidate_ids('(stems : "мирн")') == [ru]  # waiting: a candidate anyway
    assert index.index_pending() == 1  # as the daemon does
    assert index.candidate_ids('(stems : "мирн")') == [ru]
    store.close()


def _postgres(url: str) -> str:
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL's text index")
    return url


def test_postgres_index_narrows_through_the_gin_index(database_url: str) -> None:
    store = _store(_postgres(database_url))
    index = TextIndex(store)
    assert index.available and index.dialect == "postgresql"
    assert index.catch_up(tokenize) == store.count("articles")  # saved without a tokenizer
    assert index.catch_up(tokenize) == 0
    book = repo_book()
    query = candidate_query(Rule.from_query("q", '"gencatan senjata"'), book, "postgresql")
    assert query == "('gencatan' & 'senjata')"
    ids = index.candidate_ids(query)
    assert ids is not None and 0 < len(ids) < store.count("articles")
    with store.read() as session:
        session.execute(sql("SET LOCAL enable_seqscan = off"))  # a tiny table: force the plan
        plan = "\n".join(session.execute(sql(
            "EXPLAIN SELECT id FROM articles WHERE text_tokens @@ "
            "(CAST(:q AS tsquery) || CAST(' unindexed' AS tsquery)) OR text_tokens IS NULL"),
            {"q": query}).scalars())
    assert "ix_articles_text_tokens" in plan and "Seq Scan" not in plan, plan
    store.close()


def test_postgres_index_stays_in_step(database_url: str) -> None:
    store = _store(_postgres(database_url))
    store.tokenizer = tokenize
    index = TextIndex(store)
    index.catch_up(tokenize)
    feed_id = store.feed_health()[0].id
    saved = store.save_article(feed_id, Article(
        url="https://extra.example/new", title="Zwölf Überraschungen", text="Kyiv ÉTÉ",
        source_name="Extra", feed_url="https://news.example/feed.xml", entry_key="extra:new",
        text_source="page", language=None, content_hash="new"), [], console_route)
    with store.read() as session:
        pending = session.execute(sql(
            "SELECT count(*) FROM articles WHERE text_tokens IS NULL")).scalar_one()
    assert pending == 0  # computed at save
    assert index.candidate_ids("'uberraschungen' & 'ete'") == [saved.article_id]
    assert index.candidate_ids("'zwol':*") == [saved.article_id]
    with store.write() as session:
        session.execute(sql("UPDATE articles SET text = 'nothing left' WHERE id = :id"),
                        {"id": saved.article_id})
    # The trigger marks it stale: still a candidate (NULL) until computed again.
    assert index.candidate_ids("'absent'") == [saved.article_id]
    index.optimize()  # what retention runs after pruning: recomputed from what is left
    assert index.candidate_ids("'ete'") == []
    assert index.candidate_ids("'uberraschungen' & 'left'") == [saved.article_id]
    assert index.candidate_ids("(((") is None  # a tsquery PostgreSQL refuses: read all
    with store.write() as session:  # a text too big for one tsvector: always a candidate
        session.execute(sql("UPDATE articles SET text_tokens = array_to_tsvector(:lex) "
                            "WHERE id = :id"), {"id": saved.article_id, "lex": [UNINDEXED]})
    assert index.candidate_ids("'absent'") == [saved.article_id]
    assert index.catch_up(tokenize) == 0
    store.close()


def test_lexemes_keep_a_superset() -> None:
    long = "a" * (MAX_LEXEME + 50)
    lexemes = index_lexemes("Title " + long, "title TEXT", tokenize)
    assert lexemes == ["title", "a" * MAX_LEXEME, "text"]
    book = repo_book()
    query = candidate_query(Rule.from_query("q", long), book, "postgresql")
    assert query == "'" + "a" * MAX_LEXEME + "':*"
    huge = " ".join(f"w{i}" for i in range(200_000))
    assert index_lexemes("", huge, tokenize) == [UNINDEXED]
    quoted = candidate_query(Rule.from_query("q", '"l\'eau" OR cafe*'), book, "postgresql")
    assert quoted == "(('l' & 'eau') | 'cafe':*)"
    assert _lexeme("it's\\", True) == "'it''s\\\\':*"  # never a token; quoted all the same


def test_backtest_reports_precision_from_feedback(sqlite_url: str, tmp_path: Path) -> None:
    store = _store(sqlite_url)
    gaza = [h for h in store.hits() if h.rule_id == "gaza-ceasefire"]
    access = Access(store)
    access.set_feedback(gaza[0].id, True)
    access.set_feedback(gaza[1].id, False)
    store.close()
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"database_url: {sqlite_url}\nrules_dir: {REPO / 'rules'}\n")
    result = CliRunner().invoke(app, ["-c", str(cfg), "backtest", "--since", "3650d"])
    assert result.exit_code == 0, result.output
    assert "gaza-ceasefire: 3 matches; precision 50% (1 relevant of 2 with feedback)" in (
        result.output)
    lines = CliRunner().invoke(app, ["-c", str(cfg), "backtest", "--since", "3650d", "--json"])
    rows = [json.loads(line) for line in lines.output.splitlines()]
    assert {r["rule"] for r in rows} == {"gaza-ceasefire", "ukraine-peace-plan"}


def test_db_upgrade_backfills_the_postgres_index(database_url: str, tmp_path: Path) -> None:
    store = _store(_postgres(database_url))  # saved without a tokenizer: not indexed yet
    total = store.count("articles")
    store.close()
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"database_url: {database_url}\nrules_dir: {REPO / 'rules'}\n")
    env = {"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None}
    result = CliRunner().invoke(app, ["-c", str(cfg), "db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert f"text index: {total} articles indexed" in result.output
    store = Store.open(database_url, tmp_path)
    with store.read() as session:
        assert session.execute(sql(
            "SELECT count(*) FROM articles WHERE text_tokens IS NULL")).scalar_one() == 0
    store.close()
    again = CliRunner().invoke(app, ["-c", str(cfg), "db", "upgrade"], env=env)
    assert again.exit_code == 0 and "text index" not in again.output
