"""Evidence spans laid over stored text: the pieces a template shows plain or marked.

The text stays text: a template prints every piece through Jinja2's autoescaping, inside or
outside ``<mark>``, so highlighting never turns article text into markup.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.delivery import distinct_snippets
from monitor.models import Evidence
from monitor.text import clean_line, fold_with_origins, word_spans

_NEAR = 200  # how far from its stored offset a moved span is still looked for


@dataclass(frozen=True)
class Piece:
    text: str
    mark: bool
    term: str = ""


def _locate(text: str, e: Evidence) -> tuple[int, int] | None:
    """The span of ``e`` in ``text``: its stored offsets, or the nearest copy of its words."""
    if 0 <= e.start < e.end <= len(text) and (
            text[e.start:e.end].casefold() == e.matched.casefold()):
        return e.start, e.end
    needle = e.matched.casefold()
    if not needle:
        return None
    folded, origin = fold_with_origins(text)
    at = folded.find(needle, bisect_left(origin, e.start - _NEAR))  # origin is sorted
    if at < 0:
        at = folded.find(needle)
    if at < 0:
        return None
    return origin[at], origin[at + len(needle) - 1] + 1


def pieces(text: str, evidence: Iterable[Evidence], field: str) -> list[Piece]:
    """``text`` cut into plain and marked pieces, overlapping spans merged."""
    spans: list[tuple[int, int, str]] = []
    for e in evidence:
        if e.field != field:
            continue
        found = _locate(text, e)
        if found is not None:
            spans.append((*found, e.term))
    return _cut(text, spans)


def passages(evidence: Sequence[Evidence], limit: int) -> list[list[Piece]]:
    """The body passages an alert shows for this evidence (one per passage: see
    :func:`~monitor.delivery.distinct_snippets`), the first ``limit``, each with every word
    the rule matched marked where it stands whole (a ``regex:`` condition's match wherever it
    stands), titled with its term."""
    terms: dict[str, str] = {}
    for e in evidence:
        terms.setdefault(e.matched, e.term)
    words = [e.matched for e in evidence if not e.regex]
    parts = [e.matched for e in evidence if e.regex]
    return [_cut(text, [(start, end, terms[word])
                        for start, end, word in word_spans(text, words, parts)])
            for text in distinct_snippets(evidence, clean_line)[:limit]]


def _cut(text: str, spans: list[tuple[int, int, str]]) -> list[Piece]:
    """``text`` as plain pieces and marked ``(start, end, term)`` spans, overlaps merged."""
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, term in spans:
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            terms = last[2] if term in last[2].split(", ") else f"{last[2]}, {term}"
            merged[-1] = (last[0], max(last[1], end), terms)
        else:
            merged.append((start, end, term))
    out: list[Piece] = []
    at = 0
    for start, end, term in merged:
        if start > at:
            out.append(Piece(text[at:start], False))
        out.append(Piece(text[start:end], True, term))
        at = end
    if at < len(text):
        out.append(Piece(text[at:], False))
    return out
