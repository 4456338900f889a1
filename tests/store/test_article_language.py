"""An article's language as stored: migration 0022 gives articles stored with their page's
language as written (``en-US``, ``ua``) the code the rules use, as newer articles have it, so
the web view's language filter finds them all under one choice (where the language itself
changes, their stems are computed again); a detected language is stored as detected
(migration 0023), so backtests read it as the daemon did. And what the matcher folds where
SQLite's tokenizer does not (``ё``, a last ``ى``, Arabic-Indic and Persian digits): the text
index still finds such articles, once migrations 0026-0028 had them indexed again."""

from __future__ import annotations

import dataclasses

import pytest
from alembic import command
from sqlalchemy import text

from monitor.rules import Rule, RuleBook, compile_rules
from monitor.rules.replay import backtest_store
from monitor.store import Store, TextIndex, upgrade
from monitor.store.migrate import _alembic_config
from tests.store_support import article, console_route, feed, open_store

WRITTEN = ["en-US", "id_ID", "ua", "rus", "zz", "ru", None]


def test_stored_languages_become_the_codes_rules_use(database_url: str) -> None:
    store = open_store(database_url)
    try:
        store.sync_feeds([feed()])
        feed_id = store.feed_health()[0].id
        for i, written in enumerate(WRITTEN):
            item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                       language=written, content_hash=f"h{i}")
            store.save_article(feed_id, item, [], console_route)
        cfg = _alembic_config()
        with store.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0021")
            connection.execute(text("UPDATE articles SET stems = 'computed'"))
        upgrade(store.engine)
        with store.read() as session:
            rows = session.execute(text(
                "SELECT language, stems FROM articles ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            ("en", "computed"), ("id", "computed"),  # only respelt: the stems stand
            ("uk", None), ("ru", None),  # another language: stems to compute again
            ("zz", "computed"), ("ru", "computed"),
            (None, None)]  # no language: stems computed again for Arabic (migration 0024)
        assert TextIndex(store).pending()[0] == 3  # what `monitor db upgrade` computes next
    finally:
        store.close()


def test_a_detected_language_is_replayed_as_a_detection(database_url: str) -> None:
    store = open_store(database_url)
    try:
        store.sync_feeds([feed()])
        feed_id = store.feed_health()[0].id
        for i, detected in enumerate((True, False, False)):
            item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                       language="ms", language_detected=detected,
                                       content_hash=f"h{i}")
            store.save_article(feed_id, item, [], console_route)
        with store.write() as session:  # a row stored before 0023: NULL, taken as declared
            session.execute(text("UPDATE articles SET language_detected = NULL WHERE id = "
                                 "(SELECT max(id) FROM articles)"))
        assert [a.language_detected for a in store.articles()] == [True, False, None]
        book = RuleBook(rules=(Rule.from_query("gaza", "Gaza", languages=("id",)),))
        report = backtest_store(store, book, compile_rules(book), None)
        # Only the detected "ms" passes a rule for id (detection confuses the two).
        assert report.per_rule["gaza"] == 1
    finally:
        store.close()


def test_arabic_stems_are_computed_again_and_a_backtest_finds_the_article(
        database_url: str) -> None:
    """Migration 0024: stems stored for Arabic articles before the stemmer took the
    conjunction off ``والرهائن`` ("and the hostages") are computed again, so a stemmed
    backtest finds such an article; so are Ukrainian articles' (none: no stemmer before);
    other languages keep theirs."""
    store = open_store(database_url)
    try:
        texts = {"ar": "أكد الوسطاء أن الإفراج عن المحتجزين والرهائن سيبدأ الأحد.",
                 "en": "Mediators said the hostages would be freed on Sunday.",
                 None: "أكد الوسطاء أن الإفراج عن المحتجزين والرهائن سيبدأ الأحد.",
                 "uk": "Переговори про звільнення заручників тривають."}
        # As the stemmers before 0024 stored them: "والرهائن" kept whole; no Ukrainian.
        _stored_before(store, "0023", "الدوحة", texts,
                       "UPDATE articles SET stems = CASE WHEN language = 'uk' "
                       "THEN '' ELSE 'دوح والرهائن' END")
        rule = Rule.from_query("hostages", "الرهائن", stem=True, languages=("ar",))
        assert _found(store, rule) == {}
        upgrade(store.engine)
        with store.read() as session:
            stems = session.execute(text("SELECT stems FROM articles ORDER BY id")).scalars()
            assert list(stems) == [None, "دوح والرهائن", None, None]
        assert TextIndex(store).pending()[0] == 3
        # The backtest computes the missing stems, then finds both Arabic texts (the one
        # stored without a language is detected as Arabic).
        assert _found(store, rule) == {"hostages": 2}
        with store.read() as session:
            ukrainian = session.execute(text(
                "SELECT stems FROM articles WHERE language = 'uk'")).scalar_one()
        assert {"переговори", "заручник"} <= set(ukrainian.split())  # lemmas now
    finally:
        store.close()


def test_ukrainian_stems_are_computed_again_so_an_adjective_form_is_found(
        database_url: str) -> None:
    """Migration 0025: ``мирного`` was stored as its own stem (the dictionary also reads it
    as the noun ``мирне``); now it stems as ``мирний``, so a stemmed backtest for
    ``мирний план`` finds the article once its stems are computed again. Other languages keep
    theirs."""
    store = open_store(database_url)
    try:
        texts: dict[str | None, str] = {
            "uk": "Сторони обговорили деталі мирного плану в Женеві.",
            "en": "The sides discussed the peace plan in Geneva."}
        # As the stemmer before 0025 stored them: "мирного" kept as written.
        _stored_before(store, "0024", "Женева", texts,
                       "UPDATE articles SET stems = CASE WHEN language = 'uk' THEN "
                       "'женева сторона обговорити деталь мирного план в' ELSE 'geneva' END")
        rule = Rule.from_query("plan", '"мирний план"', stem=True, languages=("uk",))
        assert _found(store, rule) == {}
        upgrade(store.engine)
        assert [a.language for a in store.articles()] == ["uk", "en"]
        with store.read() as session:
            assert session.execute(text("SELECT stems FROM articles ORDER BY id")
                                   ).scalars().all() == [None, "geneva"]
        assert _found(store, rule) == {"plan": 1}  # the backtest computed the stems again
        with store.read() as session:
            assert {"мирний", "план"} <= set(session.execute(text(
                "SELECT stems FROM articles WHERE language = 'uk'")).scalar_one().split())
    finally:
        store.close()


# The letters the matcher folds where SQLite's tokenizer does not: an article stored before
# its migration (its lexemes, on PostgreSQL, and its stems as the code of then made them), the
# rules searched, what a backtest finds before the migration on SQLite and on PostgreSQL
# (SQLite's FTS5 is asked for each spelling, PostgreSQL's lexemes are the matcher's tokens),
# and what the lexemes (or a stemmed rule's stems) hold once the backtest computed them again.
FOLDED_LETTERS = [
    pytest.param(  # ё is е (migration 0026: lexemes)
        "0025", {"ru": "Пётр Иванов прилетел в Доху."}, "",
        "'визит', 'пётр', 'иванов', 'прилетел', 'в', 'доху'",
        (Rule.from_query("petr", '"Петр Иванов"'), Rule.from_query("arrived", "прилётел")),
        ({"petr": 1, "arrived": 1}, {"arrived": 1}), "петр", id="yo"),
    pytest.param(  # a last ى is ي (migration 0027: stems and lexemes)
        "0026", {"ar": "وقال مصدر للأمريكى إن المحادثات مستمرة."},
        "بيان قال مصدر للامريكى محادث مستمر", "'بيان', 'للأمريكى', '~للامريكى'",
        (Rule.from_query("us", "الأمريكي", stem=True, languages=("ar",)),),
        ({}, {}), "امريك", id="alef-maqsura"),
    pytest.param(  # Persian digits are ASCII ones (migration 0028: lexemes)
        "0027", {"fa": "طرح ۲۸ ماده برای پایان جنگ"}, "",
        "'طرح', '۲۸', 'ماده', 'برای', 'پایان', 'جنگ'",
        (Rule.from_query("plan", '"28 ماده"'),), ({"plan": 1}, {}), "28", id="digits"),
    pytest.param(  # أ إ آ are ا (migration 0029: stems and lexemes)
        "0028", {"ar": "قالت ألمانيا إن إسرائيل وافقت"}, "визит قال الماني ان اسراييل وافق",
        "'визит', 'قالت', 'ألمانيا', 'إن', 'إسرائيل', 'وافقت'",
        (Rule.from_query("israel", "اسرائيل"),
         Rule.from_query("de", "المانيا", stem=True, languages=("ar",))),
        ({"israel": 1, "de": 1}, {}), "ماني", id="hamza-alef"),
    pytest.param(  # an apostrophe inside a Ukrainian word (migration 0030: stems, lexemes)
        "0029", {"uk": "Сторони обговорили умови перемир’ю в Газі."},
        "сторона обговорити умова перемир ю в газ",
        "'визит', 'сторони', 'обговорили', 'умови', 'перемир', 'ю', 'в', 'газі'",
        (Rule.from_query("truce", '"перемир\'я"', stem=True, languages=("uk",)),
         Rule.from_query("dative", "перемирʼю")),
        ({"dative": 1}, {}), "перемирʼя", id="apostrophe"),
]


@pytest.mark.parametrize(("revision", "texts", "old_stems", "old_lexemes", "rules", "before",
                          "computed"), FOLDED_LETTERS)
def test_articles_with_a_letter_folded_since_are_found_once_indexed_again(
        database_url: str, revision: str, texts: dict[str | None, str], old_stems: str,
        old_lexemes: str, rules: tuple[Rule, ...], before: tuple[dict[str, int], ...],
        computed: str) -> None:
    """A rule written ``Петр`` finds "Пётр", ``الأمريكي`` (stemmed) "للأمريكى", ``"28 ماده"``
    "۲۸ ماده": through SQLite's index at once, through PostgreSQL's once the migration had
    the article's lexemes and stems computed again (before, they kept the letter)."""
    store = open_store(database_url)
    try:
        postgres = store.engine.dialect.name == "postgresql"
        changes = ([f"stems = '{old_stems}'"] if old_stems else []) + (
            [f"text_tokens = array_to_tsvector(ARRAY[{old_lexemes}])"] if postgres else [])
        _stored_before(store, revision, "Визит", texts,
                       f"UPDATE articles SET {', '.join(changes)}" if changes else "SELECT 1")
        assert _found(store, *rules) == before[postgres]
        upgrade(store.engine)
        assert _found(store, *rules) == {rule.id: 1 for rule in rules}
        if postgres or any(rule.stem for rule in rules):  # (SQLite stores no lexemes)
            column = "tsvector_to_array(text_tokens)" if postgres else "stems"
            with store.read() as session:
                held = session.execute(text(f"SELECT {column} FROM articles")).scalar_one()
            # (a stem on PostgreSQL is a lexeme with a mark before it)
            assert computed in {w.removeprefix("~") for w in (held if postgres else held.split())}
    finally:
        store.close()


def _found(store: Store, *rules: Rule) -> dict[str, int]:
    """Each rule's matches in a backtest of the store, each rule alone (its own candidates
    from the text index), the rules with none left out."""
    found = {}
    for rule in rules:
        book = RuleBook(rules=(rule,))
        found[rule.id] = backtest_store(store, book, compile_rules(book), None).per_rule[rule.id]
    return {rule_id: count for rule_id, count in found.items() if count}


def _stored_before(store: Store, revision: str, title: str, texts: dict[str | None, str],
                   old_stems: str) -> None:
    """Articles (one per language, in the text index) in a database taken back to
    ``revision``, their stems set as the stemmers of then stored them (``old_stems``)."""
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    for i, (language, body) in enumerate(texts.items()):
        item = dataclasses.replace(
            article(url=f"https://news.example/{i}", key=f"k{i}"), title=title,
            text=body, language=language, content_hash=f"h{i}")
        store.save_article(feed_id, item, [], console_route)
    TextIndex(store).index_pending()  # SQLite: into the FTS5 index (else all candidates)
    cfg = _alembic_config()
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        connection.execute(text(old_stems))
