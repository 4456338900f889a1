"""Rule words in no stored article beside a common close spelling: the typos a backtest
reports. The store's counts are stood in for here (tests/store/test_vocabulary.py counts
them from the text index; tests/cli/test_backtest.py runs both)."""

from __future__ import annotations

from collections.abc import Collection

from monitor.rules import Entity, Rule, RuleBook, UnseenWord, unseen_words
from monitor.rules.model import Alias
from monitor.rules.typos import ALIKE_ARTICLES, rule_words

STORED = {"ceasefire": 340, "negotiated": 120, "zelensky": 80, "bernie": 40,
          "gencatan": 25, "ceasefires": 2, "hostages": 2, "president": 300, "envoy": 50,
          "blocked": 60, "government": 200}


def counts(words: Collection[str], least: int) -> dict[str, int]:
    """What word_articles answers over an archive of STORED words."""
    return {w: n for w, n in STORED.items()
            if w in words or (n >= least and any(w[:2] == x[:2] for x in words))}


def book(*rules: Rule) -> RuleBook:
    return RuleBook(rules=rules, entities=(Entity(id="qatar", aliases=(Alias("Qatr"),)),))


def test_a_misspelt_word_is_reported_with_the_spelling_the_articles_use() -> None:
    rules = book(Rule.from_query("gaza", 'Gaza AND (ceasfire OR "gencatan senjata")'),
                 Rule.from_query("ukraine", "Zelesnky AND governmnet"))
    assert unseen_words(rules, counts) == [
        UnseenWord("gaza", "ceasfire", "ceasefire", 340),  # a letter dropped
        UnseenWord("ukraine", "zelesnky", "zelensky", 80),  # two swapped
        UnseenWord("ukraine", "governmnet", "government", 200)]  # long: two edits


def test_what_is_not_judged_or_has_no_close_common_spelling_is_not_reported() -> None:
    rules = book(Rule.from_query("r", "@qatar OR negosi* OR Barnea OR Gaza OR 2025 OR "
                                      "ceasefire OR mossad OR presiden OR envoys OR blockade"))
    assert rule_words(rules.rules[0]) == [  # no alias, prefix, short word or number
        "barnea", "ceasefire", "mossad", "presiden", "envoys", "blockade"]
    # "barnea" is two edits from "bernie", "blockade" from "blocked"; "presiden" (Indonesian)
    # and "envoys" begin or end another word: other words or inflections, not slips
    assert unseen_words(rules, counts) == []


def test_an_inflection_a_stemmed_rule_matches_already_is_no_typo() -> None:
    stemmed = Rule.from_query("s", "negotiates", stem=True, languages=("en",))
    plain = Rule.from_query("p", "negotiates")
    assert unseen_words(book(stemmed, plain), counts) == [
        UnseenWord("p", "negotiates", "negotiated", 120)]


def test_a_close_spelling_must_be_common_and_the_store_able_to_count() -> None:
    rare = book(Rule.from_query("r", "hostagse"))  # "hostages" is in 2 articles only
    assert STORED["hostages"] < ALIKE_ARTICLES
    assert unseen_words(rare, counts) == []
    assert unseen_words(book(Rule.from_query("r", "ceasefirs")), counts) == [
        UnseenWord("r", "ceasefirs", "ceasefire", 340)]  # the common one of two alike
    assert unseen_words(book(Rule.from_query("r", "ceasfire")), lambda w, n: None) == []


def test_rules_without_words_to_judge_do_not_ask_the_store() -> None:
    def refuse(words: Collection[str], least: int) -> dict[str, int]:
        raise AssertionError("asked")

    assert unseen_words(book(Rule.from_query("r", "@qatar AND Gaza")), refuse) == []
