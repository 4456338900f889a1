"""Evidence laid over text: the marked piece is the matched words, wherever they moved; the
passages a story shows are an alert's, with every matched word marked whole."""

from __future__ import annotations

from typing import Literal

import pytest

from monitor.models import Evidence
from monitor.web.highlight import Piece, passages, pieces


def _texts(parts: list[Piece]) -> list[tuple[str, bool]]:
    return [(p.text, p.mark) for p in parts]


@pytest.mark.parametrize(("snippet", "matched", "marked"), [
    ("Die Straße nach Gaza heute", "Gaza", "Gaza"),  # ß folds to "ss": one letter more
    ("İSRAİL ve Gazze görüşmeleri", "Gazze", "Gazze"),  # İ folds to i and a combining dot
    ("ﬁnal Gaza talks", "gaza", "Gaza"),  # the ligature folds to "fi"; another case
    ("Der STRASSE Ende", "Straße", "STRASSE"),  # the match folds longer than it is
])
def test_a_snippet_marks_the_matched_words_after_letters_that_fold_longer(
        snippet: str, matched: str, marked: str) -> None:
    e = Evidence(term=matched.lower(), matched=matched, field="body", start=-1, end=-1,
                 snippet=snippet)
    [parts] = passages([e], 2)
    assert "".join(p.text for p in parts) == snippet
    assert [p.text for p in parts if p.mark] == [marked]


def test_moved_evidence_is_marked_whole_after_a_letter_that_folds_longer() -> None:
    text = "Straße. Gaza heute; später wieder Gaza."
    moved = Evidence(term="gaza", matched="Gaza", field="body", start=30, end=34,
                     snippet="")  # offsets from before an edit: "eder" now
    assert _texts(pieces(text, [moved], "body")) == [
        ("Straße. ", False), ("Gaza", True), (" heute; später wieder Gaza.", False)]


def test_passages_are_the_alerts_with_every_matched_word_marked_whole() -> None:
    first = "Pejabat AS membahas rencana damai Ukraina dengan Rusia pasca pertemuan"
    far = "Utusan Trump bertemu utusan Putin di Jenewa"

    def e(term: str, matched: str, snippet: str, field: Literal["title", "body"] = "body",
          start: int = 0) -> Evidence:
        return Evidence(term=term, matched=matched, field=field, start=start,
                        end=start + len(matched), snippet=snippet)

    evidence = [e("@us", "AS", "AS dan Rusia", "title"), e("@us", "AS", first, start=8),
                e("@ukraine", "Ukraina", first, start=34),  # the same passage: once
                e("@trump", "Trump", far, start=900), e("@putin", "Putin", far, start=922)]
    shown = passages(evidence, 3)
    assert ["".join(p.text for p in parts) for parts in shown] == [first, far]
    assert [[(p.text, p.term) for p in parts if p.mark] for parts in shown] == [
        [("AS", "@us"), ("Ukraina", "@ukraine")],  # not the "as" of membahas or pasca
        [("Trump", "@trump"), ("Putin", "@putin")]]
    assert passages(evidence, 1) == shown[:1]
