"""The bundled rules in rules/: they load cleanly, their examples hold, and each seed article
matches its own topic and not the other one."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.rules import read_txt
from monitor.models import Document
from monitor.rules import Rule, RuleBook, load_rules
from monitor.rules.checks import rule_warnings, run_rule_tests
from monitor.rules.matcher import Matcher, compile_rules

GAZA_RULES = {"gaza-ceasefire"}
UKRAINE_RULES = {"ukraine-peace-plan"}
REQUIRED_ENTITIES = {"witkoff", "dmitriev", "barnea", "mossad", "hamas", "qatar", "us", "russia",
                     "ukraine", "israel", "putin", "zelensky", "trump"}


@pytest.fixture(scope="module")
def bundled(repo_root: Path) -> tuple[RuleBook, Matcher]:
    book = load_rules(repo_root / "rules")
    return book, compile_rules(book)


@pytest.fixture(scope="module")
def seeds(request: pytest.FixtureRequest, repo_root: Path) -> dict[str, Path]:
    """The two seed articles: the repository's copy, else ../shared (skips without either)."""
    folder = repo_root / "seeds" / "articles"
    if not sorted(folder.glob("*.txt")):
        folder = request.getfixturevalue("shared_dir") / "seeds"
    return {"gaza": next(folder.glob("000_*.txt")), "ukraine": next(folder.glob("004_*.txt"))}


def test_bundled_rules_load_without_problems_and_every_example_holds(
        bundled: tuple[RuleBook, Matcher]) -> None:
    book, matcher = bundled
    assert [str(p) for p in book.problems] == []
    assert [str(p) for p in run_rule_tests(book, matcher)] == []
    assert [str(w) for w in rule_warnings(book)] == []  # no file that defines nothing, either
    assert set(matcher.rule_ids) == GAZA_RULES | UKRAINE_RULES
    assert {e.id for e in book.entities} >= REQUIRED_ENTITIES


def test_entities_have_aliases_in_several_scripts(bundled: tuple[RuleBook, Matcher]) -> None:
    book, _ = bundled
    scripts = {"cyrillic": "\u0400", "hebrew": "\u0590", "arabic": "\u0600"}
    for entity_id in REQUIRED_ENTITIES:
        entity = book.entity(entity_id)
        assert entity is not None
        for script, start in scripts.items():
            block = range(ord(start), ord(start) + 0x100)
            assert any(ord(a.text[0]) in block for a in entity.aliases), (entity_id, script)
    us = book.entity("us")
    assert us is not None
    assert any(a.text == "AS" and a.case_sensitive for a in us.aliases)
    assert any(a.text == "Amerika Serikat" for a in us.aliases)


@pytest.mark.parametrize(("seed", "own", "other"), [
    ("gaza", GAZA_RULES, UKRAINE_RULES),
    ("ukraine", UKRAINE_RULES, GAZA_RULES),
])
def test_each_seed_matches_its_own_topic_only(bundled: tuple[RuleBook, Matcher],
                                              seeds: dict[str, Path], seed: str,
                                              own: set[str], other: set[str]) -> None:
    _, matcher = bundled
    hits = {h.rule_id: h for h in matcher.match(read_txt(seeds[seed]))}
    assert set(hits) == own
    assert not set(hits) & other
    for hit in hits.values():
        assert hit.evidence and all(e.snippet for e in hit.evidence)


def test_seed_evidence_points_at_the_text(bundled: tuple[RuleBook, Matcher],
                                          seeds: dict[str, Path]) -> None:
    _, matcher = bundled
    doc = read_txt(seeds["ukraine"])
    [hit] = [h for h in matcher.match(doc) if h.rule_id == "ukraine-peace-plan"]
    by_term = {e.term: e for e in hit.evidence}
    us = by_term["@us-side"]  # the body's first name of the US side (a group: sides.yaml)
    assert (us.field, us.matched, us.entity) == ("body", "Trump", "us-side")
    plan = by_term["@peace-plan"]  # an alias of two words: the offsets span both
    assert (plan.matched, plan.entity) == ("proposal perdamaian", "peace-plan")
    for evidence in hit.evidence:
        text = doc.title if evidence.field == "title" else doc.body
        assert text[evidence.start:evidence.end] == evidence.matched
    # The title "AS dan Rusia Gelar Negosiasi Rahasia, Bahas Apa?" holds both sides in one
    # sentence with talk ("bahas") and negotiations.
    assert [(e.term, e.matched) for e in hit.evidence if e.field == "title"] == [
        ("@ukraine-war-sides", "AS"), ("@talk", "Bahas")]


# Words whose stem, or whose beginning, a bundled alias shares, said of anything: a long
# article says them in passing. (language, word, the entity that must not take it in, a form
# it must still match.)
TRAPS = [
    ("en", "according", "deal", "accords"),
    ("en", "dealings", "deal", "deals"),
    ("en", "talked", "negotiations", "talks"),
    ("en", "discussed", "negotiations", "negotiations"),
    ("id", "berbicara", "negotiations", "pembicaraannya"),
    ("id", "berjanji", "deal", "perjanjiannya"),
    ("ru", "угодно", "deal", "соглашения"),
    ("uk", "угодно", "deal", "угоди"),
    ("ru", "угодья", "deal", "сделки"),
    ("ar", "الأسرة", "hostages", "الأسرى"),
    ("ar", "المباحث", "negotiations", "المباحثات"),
    ("ar", "المعادية", "commodity", "المعادن"),
    ("ar", "روبية", "rubio", "روبيو"),
    ("ar", "بوتان", "putin", "بوتين"),
    ("ar", "التركيز", "turkey", "التركية"),
    ("ar", "ترك", "turkey", "تركي"),
    ("ar", "قطرة", "qatar", "وقطر"),
    ("ar", "لغز", "gaza", "لغزة"),
    ("ar", "لبن", "lebanon", "لبنان"),
    ("ar", "يروي", "lebanon", "بيروت"),
    ("ar", "الكرمل", "russia", "الكرملين"),
    ("ar", "انقر", "turkey", "أنقرة"),
    ("ar", "السلامة", "peace", "السلام"),
    ("ar", "مسيرة", "commodity", "المسيرات"),
    ("ar", "المحادثة", "negotiations", "المحادثات"),
    ("en", "Hama", "hamas", "Hamas"),
    ("en", "trumped", "trump", "Trump's"),
    ("ru", "трамплина", "trump", "Трампом"),
    ("uk", "трамплін", "trump", "Трампові"),
    ("ru", "Катарина", "qatar", "Катаре"),
    ("ru", "Дмитриевич", "dmitriev", "Дмитриевым"),
    ("ru", "Дмитрий", "dmitriev", "Дмитриева"),
    ("ru", "Ливанов", "lebanon", "Ливане"),
    ("ar", "روسيف", "russia", "روسية"),
    ("ar", "الفروسية", "russia", "الروس"),
    ("ar", "القاهر", "egypt", "بالقاهرة"),
]


@pytest.mark.parametrize(("lang", "word", "entity", "form"), TRAPS)
def test_no_bundled_alias_takes_in_a_word_said_of_anything(
        bundled: tuple[RuleBook, Matcher], lang: str, word: str, entity: str,
        form: str) -> None:
    book = bundled[0]
    # As the bundled rules use the entity: stemmed, in their languages.
    languages = tuple(sorted({lang for rule in book.rules for lang in rule.languages}))
    alone = compile_rules(RuleBook(rules=(Rule.from_query(
        "r", f"@{entity}", stem=True, languages=languages),), entities=book.entities))
    assert alone.match(Document(title=word, body="", language=lang)) == []
    assert alone.match(Document(title=form, body="", language=lang)) != []
