"""Evidence laid over text: the marked piece is the matched words, wherever they moved."""

from __future__ import annotations

import pytest

from monitor.models import Evidence
from monitor.web.highlight import Piece, pieces, snippet_pieces


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
    parts = snippet_pieces(e)
    assert "".join(p.text for p in parts) == snippet
    assert [p.text for p in parts if p.mark] == [marked]


def test_moved_evidence_is_marked_whole_after_a_letter_that_folds_longer() -> None:
    text = "Straße. Gaza heute; später wieder Gaza."
    moved = Evidence(term="gaza", matched="Gaza", field="body", start=30, end=34,
                     snippet="")  # offsets from before an edit: "eder" now
    assert _texts(pieces(text, [moved], "body")) == [
        ("Straße. ", False), ("Gaza", True), (" heute; später wieder Gaza.", False)]
