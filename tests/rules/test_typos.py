"""Rule words in no stored article beside a common close spelling: the typos a backtest
reports. The store's vocabulary is stood in for here (tests/store/test_vocabulary.py asks
the text index; tests/cli/test_trying_rules.py and tests/daemon/test_service.py run both)."""

from __future__ import annotations

from collections.abc import Collection

from monitor.rules import Entity, Rule, RuleBook, UnseenWord, unseen_words
from monitor.rules.model import Alias
from monitor.rules.typos import ALIKE_ARTICLES, rule_words

STORED = {"ceasefire": 340, "negotiated": 120, "zelensky": 80, "bernie": 40,
          "gencatan": 25, "ceasefires": 2, "hostages": 2, "president": 300, "envoy": 50,
          "blocked": 60, "government": 200}


class Archive:
    """What the store's ArticleVocabulary answers over an archive of STORED words; records
    what it was asked."""

    def __init__(self, stored: dict[str, int] | None = None) -> None:
        self.stored = STORED if stored is None else stored
        self.asked: list[str] = []

    def absent(self, words: Collection[str]) -> set[str] | None:
        self.asked.append("absent")
        return {w for w in words if w not in self.stored}

    def alike(self, starts: Collection[str], least: int) -> dict[str, int] | None:
        self.asked.append("alike")
        return {w: n for w, n in self.stored.items() if n >= least and w[:2] in starts}


class Mute:
    """A store that cannot say (no text index, or the database gone)."""

    def absent(self, words: Collection[str]) -> set[str] | None:
        return None

    def alike(self, starts: Collection[str], least: int) -> dict[str, int] | None:
        return None


counts = Archive()


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
    assert unseen_words(book(Rule.from_query("r", "ceasfire")), Mute()) == []


def test_the_close_spellings_are_looked_for_only_when_a_word_is_in_no_article() -> None:
    """(On PostgreSQL that look costs about 2 s; a word's presence is an index lookup.)"""
    archive = Archive()
    assert unseen_words(book(Rule.from_query("r", "@qatar AND ceasefire")), archive) == []
    assert archive.asked == ["absent"]
    archive.asked.clear()
    assert unseen_words(book(Rule.from_query("r", "@qatar AND Gaza")), archive) == []
    assert archive.asked == []  # nothing to judge: the store is not asked
