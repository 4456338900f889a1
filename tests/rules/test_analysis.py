"""The extraction workers' analysis (:func:`analyze_text`) never changes what matches.

``Matcher.match_with_stems(doc, analysis)`` takes the body's token stream and stems from the
worker instead of computing them: the hits (with their evidence) and the stems it returns
must be exactly those of ``match_with_stems(doc)``, whatever language the analysis was made
for, on the multilingual test set, the seeds and the 181 real article texts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.models import Document
from monitor.rules import Matcher, analyze_text, compile_rules, load_rules
from monitor.rules.analysis import UNKNOWN_STEMMER
from tests.benchmarks.bench_rules_quality import load_set

# Stemmed rules in several languages: one-word and phrase keys (the stem table's two paths),
# a NEAR and a SENTENCE (positions: the body is split only then), an entity with a
# case-sensitive alias (the case check reads the text as written).
STEMMED_RULES = """
entities:
  - id: gas-ru
    aliases:
      - {text: "Газе", case_sensitive: true}
      - {text: "Gaza"}
rules:
  - id: talks
    query: negotiation OR переговоры OR perundingan OR "peace plan" OR "мирный план"
    stem: true
  - id: truce-near
    query: NEAR(ceasefire gaza, 8) OR NEAR(перемирие газа, 8)
    stem: true
  - id: same-sentence
    query: SENTENCE(hostage deal) OR SENTENCE(sandera kesepakatan)
    stem: true
  - id: gaza-case
    query: "@gas-ru"
  - id: plain-words
    query: the AND said
"""
# No stemmed rule: the stems the daemon stores come from the analysis' distinct stems.
PLAIN_RULES = """
rules:
  - id: gaza
    query: gaza OR газа OR "gencatan senjata"
  - id: said
    query: said AND the
"""


@pytest.fixture(scope="module")
def matchers(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Matcher]:
    books = []
    for name, rules in (("stemmed", STEMMED_RULES), ("plain", PLAIN_RULES)):
        folder = tmp_path_factory.mktemp(name)
        (folder / "rules.yaml").write_text(rules, encoding="utf-8")
        books.append(load_rules(folder))
        assert not books[-1].problems, books[-1].problems
    return [compile_rules(load_rules(repo_root / "rules")), *map(compile_rules, books)]


def _documents(shared: Path | None) -> Iterator[Document]:
    for text in load_set():
        yield Document(title=str(text["title"]), body=str(text.get("body", "")),
                       language=str(text["lang"]))
    if shared is None:
        return
    for seed in sorted((shared / "seeds").glob("*.txt")):
        title, _, body = seed.read_text(encoding="utf-8").partition("\n")
        yield Document(title=title, body=body, language="id")
    truth = json.loads((shared / "corpora" / "article-extraction-benchmark"
                        / "ground-truth.json").read_text(encoding="utf-8"))
    for page in truth.values():
        yield Document(title="", body=str(page.get("articleBody") or ""), language="en")


def _same(matcher: Matcher, doc: Document, told: str | None) -> None:
    expected = matcher.match_with_stems(doc)
    got = matcher.match_with_stems(doc, analyze_text(doc.body, told))
    assert got == expected, (doc.title, doc.body[:80], told)


def test_the_analysis_changes_no_hit_and_no_stem_on_the_test_set(
        matchers: list[Matcher]) -> None:
    docs = list(_documents(None))
    assert any(m.match_with_stems(d)[0] for m in matchers for d in docs)  # hits to compare
    for matcher in matchers:
        for doc in docs:
            # Told the document's language, another one, and none (detected by the daemon).
            for told in (doc.language, "ru" if doc.language != "ru" else "en", None):
                _same(matcher, doc, told)


def test_the_analysis_changes_no_hit_and_no_stem_on_real_articles(
        matchers: list[Matcher], shared_dir: Path) -> None:
    docs = [d for d in list(_documents(shared_dir))[len(load_set()):] if d.body]
    assert len(docs) >= 180
    for matcher in matchers:
        for doc in docs:
            _same(matcher, doc, doc.language)


def test_undetected_languages_and_empty_texts() -> None:
    assert analyze_text("Gencatan senjata di Gaza", None).stemmer == UNKNOWN_STEMMER
    unstemmed = analyze_text("Перамір'е", "be")  # no stemmer for Belarusian
    # (the Belarusian apostrophe continues the word, folded to ʼ, as the Ukrainian one)
    assert unstemmed.stemmer is None and unstemmed.stream == "перамірʼе" and not unstemmed.stems
    empty = analyze_text("", "en")
    assert (empty.stream, empty.stems, empty.distinct_stems) == ("", "", "")
    russian = analyze_text("Переговоры о переговорах", "ru")
    assert russian.stems.split() == ["переговор", "о", "переговор"]
    assert russian.distinct_stems.split() == ["переговор", "о"]
