"""``proclitics: true``: Arabic and Hebrew phrases also found with a proclitic joined."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.models import Document
from monitor.rules import Rule, RuleBook, compile_rules, load_rules, rule_warnings, rule_yaml
from monitor.rules.model import Alias, Entity
from monitor.rules.proclitics import joined_forms, proclitic_forms

ARABIC_FORMS = ["وغزة", "فغزة", "بغزة", "كغزة", "لغزة", "وبغزة", "وكغزة", "ولغزة", "فبغزة",
                "فكغزة", "فلغزة"]


def test_each_arabic_proclitic_and_pair_is_joined_and_l_takes_the_articles_alef() -> None:
    assert joined_forms("غزة") == ARABIC_FORMS
    with_article = joined_forms("الدوحة")
    assert {"والدوحة", "بالدوحة", "كالدوحة", "للدوحة", "وللدوحة", "فللدوحة", "وبالدوحة"} <= set(
        with_article)
    assert not any(form.startswith(("لال", "ولال")) for form in with_article)
    assert len(with_article) == len(ARABIC_FORMS)


def test_hebrew_proclitics_and_the_article_they_replace() -> None:
    forms = joined_forms("ישראל")
    assert {"בישראל", "לישראל", "וישראל", "מישראל", "שבישראל", "ובישראל"} <= set(forms)
    assert len(forms) == 16 and "הישראל" not in forms  # not the article: a name never has it
    house = joined_forms("הבית")  # "the house": ב, כ, ל take the article's place
    assert {"בבית", "לבית", "ובבית", "והבית", "מהבית", "שהבית", "בהבית"} <= set(house)
    assert len(house) == 16 + 9


def test_other_scripts_and_single_letters_get_no_forms() -> None:
    assert joined_forms("gaza") == joined_forms("газа") == joined_forms("ب") == []
    assert proclitic_forms([]) == []
    # Only the first word of a phrase; a prefix stays a prefix.
    assert proclitic_forms([("وقف", False), ("النار", False)])[2] == [("بوقف", False),
                                                                      ("النار", False)]
    assert proclitic_forms([("المفاوض", True)])[4] == [("للمفاوض", True)]


def _hits(book: RuleBook, text: str) -> dict[str, list[str]]:
    return {h.rule_id: [e.matched for e in h.evidence]
            for h in compile_rules(book).match(Document(text, "", language="ar"))}


def test_an_entity_with_proclitics_matches_its_joined_forms_with_their_evidence() -> None:
    gaza = Entity("gaza", (Alias("غزة"),), proclitics=True)
    plain = Entity("doha", (Alias("الدوحة"),))
    book = RuleBook(rules=(Rule.from_query("gaza", "@gaza"), Rule.from_query("doha", "@doha"),
                           Rule.from_query("doha-all", "@doha", proclitics=True)),
                    entities=(gaza, plain))
    for form in ["غزة", *ARABIC_FORMS]:
        assert _hits(book, f"اجتماع {form} اليوم") == {"gaza": [form]}, form
    # The rule's proclitics: the default of the aliases of the entities it names.
    assert _hits(book, "وصل الوفد للدوحة") == {"doha-all": ["للدوحة"]}
    assert _hits(book, "وصل الوفد الدوحة") == {"doha": ["الدوحة"], "doha-all": ["الدوحة"]}
    # A word that only contains the alias is still no match: forms are whole tokens.
    assert _hits(book, "غزةاوي مغزة") == {}


def test_an_alias_says_last_and_a_case_sensitive_alias_is_never_joined() -> None:
    hamas = Entity("hamas", (Alias("حماس", proclitics=False), Alias("الحركة")),
                   proclitics=True)
    acronym = Entity("us", (Alias("أمريكا", case_sensitive=True),), proclitics=True)
    book = RuleBook(rules=(Rule.from_query("h", "@hamas", proclitics=True),
                           Rule.from_query("u", "@us")), entities=(hamas, acronym))
    assert _hits(book, "استقبل الضيوف بحماس") == {}  # "enthusiastically"
    assert _hits(book, "قال متحدث باسم وحماس والحركة") == {"h": ["والحركة"]}
    assert _hits(book, "وأمريكا") == {}
    assert _hits(book, "أمريكا") == {"u": ["أمريكا"]}


def test_a_rules_terms_phrases_and_stems_with_proclitics() -> None:
    """Snowball never takes ``ل`` off: a stemmed term finds its ل form through proclitics."""
    rules = (Rule.from_query("talks", "مفاوضات", stem=True),
             Rule.from_query("talks+", "مفاوضات", stem=True, proclitics=True),
             Rule.from_query("truce", '"وقف النار" AND NEAR(هدنة غزة, 3)', proclitics=True))
    book = RuleBook(rules=rules)
    assert _hits(book, "المفاوضات") == {"talks": ["المفاوضات"], "talks+": ["المفاوضات"]}
    assert _hits(book, "دعوة لمفاوضات جديدة") == {"talks+": ["لمفاوضات"]}
    assert _hits(book, "دعوة للمفاوضات") == {"talks": ["للمفاوضات"], "talks+": ["للمفاوضات"]}
    assert set(_hits(book, "دعوة لوقف النار ولهدنة في غزة")) == {"truce"}
    assert _hits(book, "دعوة لوقف إطلاق النار ولهدنة في غزة") == {}  # a phrase stays a phrase


def test_english_and_russian_are_untouched() -> None:
    book = RuleBook(rules=(Rule.from_query("r", "Gaza AND перемирие", proclitics=True),))
    assert set(_hits(book, "Gaza перемирие")) == {"r"}
    assert _hits(book, "bGaza вперемирие") == {}


def test_proclitics_load_on_rules_entities_and_aliases_and_typos_are_refused(
        tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(textwrap.dedent("""
        entities:
          - id: gaza
            proclitics: true
            aliases:
              - غزة
              - {text: حماس, proclitics: false}
        rules:
          - id: gaza
            query: "@gaza AND هدنة"
            stem: true
            proclitics: true
            tests:
              match: ["هدنة لغزة"]
              no_match: ["هدنة بحماس"]
        """).lstrip(), encoding="utf-8")
    book = load_rules(tmp_path)
    assert not book.problems, book.problems
    [rule] = book.rules
    [entity] = book.entities
    assert rule.proclitics and entity.proclitics is True
    assert [a.proclitics for a in entity.aliases] == [None, False]
    assert "proclitics: true" in rule_yaml(rule)
    assert load_rules(tmp_path).rules[0].tests.match
    (tmp_path / "rules.yaml").write_text(textwrap.dedent("""
        rules:
          - id: a
            query: غزة
            stem: true
            proclitic: true
          - id: b
            query: غزة
            stem: true
            proclitics: "yes please"
        """).lstrip(), encoding="utf-8")
    problems = [str(p) for p in load_rules(tmp_path).problems]
    assert any(":5:" in p and "unknown field 'proclitic'" in p and "proclitics" in p
               for p in problems), problems
    assert any(":9:" in p and "'proclitics' must be true or false" in p for p in problems), (
        problems)


@pytest.mark.parametrize("written", ["غزة", "الدوحة", "ישראל"])
def test_every_form_is_found_and_only_by_its_own_key(written: str) -> None:
    """Each form is a whole token: a text holding one form matches, through that form."""
    book = RuleBook(rules=(Rule.from_query("r", written, proclitics=True),))
    matcher = compile_rules(book)
    for form in [written, *joined_forms(written)]:
        [hit] = matcher.match(Document(f"x {form} y", ""))
        assert [e.matched for e in hit.evidence] == [form]


def test_a_hebrew_word_in_a_rule_that_does_not_say_proclitics_is_noted(tmp_path: Path) -> None:
    """No stemmer takes Hebrew prefixes off: ``ישראל`` misses ``בישראל`` without a word."""
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent("""
        rules:
          - id: silent
            query: ישראל AND Gaza
          - id: joined
            query: ישראל
            proclitics: true
          - id: exact
            query: ישראל
            proclitics: false
        """).lstrip(), encoding="utf-8")
    assert [str(p) for p in rule_warnings(load_rules(tmp_path))] == [
        f"{path}:3: rule silent: 'ישראל' matches only as written, not with a prefix joined to "
        "it (בישראל for ישראל): add proclitics: true (see rules/README.md, \"Arabic and Hebrew "
        "proclitics\"), or say proclitics: false where the exact words are meant"]
