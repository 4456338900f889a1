"""SENTENCE(...) and the sentence splitter: abbreviations, numbers, quotes, four scripts."""

from __future__ import annotations

import pytest

from monitor.errors import QuerySyntaxError
from monitor.models import Document
from monitor.rules import Rule, RuleBook, parse_query
from monitor.rules.matcher import compile_rules
from monitor.rules.sentences import sentence_ids
from monitor.rules.unicode61 import split_tokens, tokenize


def sentences(text: str) -> list[str]:
    """The text's tokens grouped into sentences, each joined by spaces."""
    tokens, ids = tokenize(text), sentence_ids(split_tokens(text))
    out: dict[int, list[str]] = {}
    for token, sid in zip(tokens, ids, strict=True):
        out.setdefault(sid, []).append(token)
    return [" ".join(words) for words in out.values()]


@pytest.mark.parametrize(("text", "expected"), [
    ("Gaza is calm. A ceasefire holds.", ["gaza is calm", "a ceasefire holds"]),
    ("The U.S. envoy met H.E. the Emir. Talks went on.",
     ["the u s envoy met h e the emir", "talks went on"]),
    ("Dr. Smith and Prof. Lee spoke. Then they left.",
     ["dr smith and prof lee spoke", "then they left"]),
    ("Growth was 3.5 percent in 2024. Prices rose 2,5%.",
     ["growth was 3 5 percent in 2024", "prices rose 2 5"]),
    ('"We want a ceasefire." Gaza waits.', ["we want a ceasefire", "gaza waits"]),
    ('"Stop!" he said in Gaza.', ["stop he said in gaza"]),
    ("Is it over? No. 5 is next.", ["is it over", "no 5 is next"]),
    ("Jend. Andika tiba di Gaza. Gencatan senjata berlaku.",
     ["jend andika tiba di gaza", "gencatan senjata berlaku"]),
    ("Harga naik Rp. 5 juta. Warga protes!", ["harga naik rp 5 juta", "warga protes"]),
    ("В. В. Путин прибыл в Москву. Переговоры начались.",
     ["в в путин прибыл в москву", "переговоры начались"]),
    ("Это т. е. важно. «Мир возможен». Газа ждёт.",  # (ё folds to е, a last ى to ي, إ to ا)
     ["это т е важно", "мир возможен", "газа ждет"]),
    ("وصل الوفد إلى غزة. بدأ وقف إطلاق النار؟ نعم", ["وصل الوفد الي غزة", "بدا وقف اطلاق النار",
                                                    "نعم"]),
    ("A headline\nThe body starts", ["a headline", "the body starts"]),
    # Every line break ends a sentence, not only LF.
    ("Gaza talks\rCeasefire holds", ["gaza talks", "ceasefire holds"]),
    ("Gaza talks\u2029Ceasefire holds\u2028Next", ["gaza talks", "ceasefire holds", "next"]),
    # An initial is one letter however it is encoded (NFD: E + U+0301).
    ("Talks with \u00c9. Philippe on Gaza.", ["talks with e philippe on gaza"]),
    ("Talks with E\u0301. Philippe on Gaza.", ["talks with e philippe on gaza"]),
])
def test_the_splitter(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentence_matches_within_one_sentence_only() -> None:
    matcher = compile_rules(RuleBook(rules=(
        Rule.from_query("s", "SENTENCE(Gaza ceasefire)"),
        Rule.from_query("n", "NEAR(Gaza ceasefire)"),
    )))

    def hits(body: str) -> set[str]:
        return {h.rule_id for h in matcher.match(Document("", body, language="en"))}

    assert hits("Rain fell on Gaza. The ceasefire in Sudan holds.") == {"n"}
    assert hits("The U.S. says the Gaza ceasefire holds.") == {"s", "n"}
    assert hits("Dr. Lee: Gaza needs a ceasefire, said H.E. Al-Thani.") == {"s", "n"}
    hit = next(h for h in matcher.match(Document("", "Calm. Gaza truce and ceasefire now.",
                                                  language="en")) if h.rule_id == "s")
    assert [e.matched for e in hit.evidence] == ["Gaza", "ceasefire"]


def test_sentence_with_entities_phrases_and_fields() -> None:
    from monitor.rules import Alias, Entity
    book = RuleBook(rules=(Rule.from_query("s", 'title:SENTENCE(@gaza "gencatan senjata")'),),
                    entities=(Entity("gaza", (Alias("Gaza"), Alias("غزة"))),))
    matcher = compile_rules(book)
    assert matcher.match(Document("Gencatan senjata di Gaza dimulai", ""))
    assert not matcher.match(Document("Gaza. Gencatan senjata di Sudan", ""))
    assert not matcher.match(Document("", "Gencatan senjata di Gaza"))


@pytest.mark.parametrize(("query", "message"), [
    ("SENTENCE()", "SENTENCE(...) needs at least one term"),
    ("SENTENCE(a b, 3)", "SENTENCE(...) takes no distance"),
    ("SENTENCE(a b", "expected ')' to close SENTENCE("),
])
def test_sentence_syntax_errors(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        parse_query(query)
