"""scripts/alias_words.py: the everyday words an alias takes in through its stem or prefix."""

from __future__ import annotations

import sys

from monitor.rules import RuleBook
from monitor.rules.model import Alias, Entity, Rule
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from alias_words import taken_in


def test_a_stem_and_a_prefix_are_listed_with_the_words_they_take_in() -> None:
    book = RuleBook(
        rules=(Rule.from_query("r", "@deal AND @pact", stem=True, languages=("en", "ru")),),
        entities=(Entity("deal", (Alias("accord"), Alias("accords", stem=False))),
                  Entity("pact", (Alias("угод*"), Alias("agreement", case_sensitive=True),
                                  Alias("deal", stem=False))),
                  Entity("unused", (Alias("talks"),))))
    found = {(entity, alias, lang): words for entity, alias, lang, words in taken_in(book, 20_000)}
    assert "according" in found[("deal", "accord", "en")]
    assert "accords" not in found[("deal", "accord", "en")]  # an alias writes it
    assert "угодно" in found[("pact", "угод*", "ru")]
    # Written out, case-sensitive, or of an entity no rule names: nothing to read.
    assert {key[:2] for key in found} == {("deal", "accord"), ("pact", "угод*")}
