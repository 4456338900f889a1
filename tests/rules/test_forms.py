"""The words a rule matched that no alias or term writes (under each rule in monitor backtest)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from monitor.models import Document
from monitor.rules import RuleBook, backtest, commonest_forms, compile_rules
from monitor.rules import replay as replay_module
from monitor.rules.forms import WrittenForms
from monitor.rules.model import Alias, Entity, Rule
from monitor.store import StoredArticle

ENTITIES = (
    Entity("deal", (Alias("accord"), Alias("deal", stem=False))),
    Entity("us", (Alias("AS", case_sensitive=True), Alias("United States"))),
    Entity("putin", (Alias("Путин*"),)),
)


def _forms(query: str, title: str, body: str = "", *, lang: str = "en",
           stem: bool = True, regex: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    book = RuleBook(rules=(Rule.from_query("r", query, stem=stem, regex=regex),),
                    entities=ENTITIES)
    hits = compile_rules(book).match(Document(title=title, body=body, language=lang))
    assert len(hits) == 1, "the rule should match"
    return WrittenForms(book).unwritten(hits[0])


def test_a_stemmed_alias_that_took_in_another_word_is_named() -> None:
    assert _forms("@deal AND Gaza", "Gaza, according to the ministry") == [
        ("@deal", "according")]


def test_words_as_an_alias_or_the_term_writes_them_are_not() -> None:
    assert _forms("@deal AND Gaza", "Gaza deal and an accord") == []
    assert _forms("@us AND Gaza", "AS kirim utusan ke Gaza", lang="id") == []  # case-kept
    assert _forms('"united states" AND Gaza', "The United States and Gaza") == []


def test_a_stemmed_term_and_a_prefix_name_the_form_they_matched() -> None:
    assert _forms("ceasefire AND Gaza", "Gaza ceasefires hold") == [("ceasefire", "ceasefires")]
    assert _forms("negosia* AND Gaza", "Negosiasi Gaza", lang="id") == [
        ("negosia*", "negosiasi")]
    assert _forms("@putin AND Украина", "Украина и Путина", lang="ru", stem=False) == [
        ("@putin", "путина")]


def test_a_regex_match_is_not_a_form() -> None:
    assert _forms("Gaza", "Gaza 28-poin", regex=(r"\b28-poin",)) == []


def test_commonest_forms_ranks_terms_by_matches_and_caps_both() -> None:
    forms = Counter({("@deal", "according"): 9, ("@deal", "dealings"): 2,
                     ("talks", "talked"): 4, ("talks", "talking"): 4, ("x", "y"): 1})
    assert commonest_forms(forms, terms=2, per_term=1) == [
        ("@deal", [("according", 9)]), ("talks", [("talked", 4)])]


def _article(i: int, body: str) -> StoredArticle:
    return StoredArticle(id=i, url=f"https://n.example/{i}", title="Gaza", text=body,
                         source="n", fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                         published=None, language="en")


@pytest.mark.parametrize("bound", ["FORM_SAMPLE", "FORM_ARTICLES"])
def test_backtest_reads_the_forms_of_a_bounded_sample(
        monkeypatch: pytest.MonkeyPatch, bound: str) -> None:
    book = RuleBook(rules=(Rule.from_query("r", "@deal AND Gaza", stem=True),),
                    entities=ENTITIES)
    articles = [_article(1, "According to the UN."), _article(2, "Accordingly, a deal.")]
    report = backtest(compile_rules(book), articles, written=WrittenForms(book))
    assert report.per_rule["r"] == 2
    assert report.forms["r"] == Counter({("@deal", "according"): 1,
                                         ("@deal", "accordingly"): 1})
    monkeypatch.setattr(replay_module, bound, 1)  # the first match's words only
    report = backtest(compile_rules(book), articles, written=WrittenForms(book))
    assert report.per_rule["r"] == 2
    assert report.forms["r"] == Counter({("@deal", "according"): 1})


def test_backtest_without_written_forms_reads_no_evidence() -> None:
    book = RuleBook(rules=(Rule.from_query("r", "@deal AND Gaza", stem=True),),
                    entities=ENTITIES)
    report = backtest(compile_rules(book), [_article(1, "According to the UN.")])
    assert report.per_rule["r"] == 1 and not report.forms
