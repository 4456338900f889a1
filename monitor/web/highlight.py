"""Evidence spans laid over stored text: the pieces a template shows plain or marked.

The text stays text: a template prints every piece through Jinja2's autoescaping, inside or
outside ``<mark>``, so highlighting never turns article text into markup.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.models import Evidence

_NEAR = 200  # how far from its stored offset a moved span is still looked for


@dataclass(frozen=True)
class Piece:
    text: str
    mark: bool
    term: str = ""


def _folded(text: str) -> tuple[str, Sequence[int]]:
    """``text`` case-folded, and for each folded character the index of the one it came
    from: a fold may be longer than its letter (``ß`` is ``ss``, ``İ`` is ``i`` and a dot)."""
    folded = text.casefold()
    if len(folded) == len(text):  # no letter folded longer (none folds to nothing)
        return folded, range(len(text))
    origin: list[int] = []
    parts: list[str] = []
    for i, ch in enumerate(text):
        fold = ch.casefold()
        parts.append(fold)
        origin.extend([i] * len(fold))
    return "".join(parts), origin


def _locate(text: str, e: Evidence) -> tuple[int, int] | None:
    """The span of ``e`` in ``text``: its stored offsets, or the nearest copy of its words."""
    if 0 <= e.start < e.end <= len(text) and (
            text[e.start:e.end].casefold() == e.matched.casefold()):
        return e.start, e.end
    needle = e.matched.casefold()
    if not needle:
        return None
    folded, origin = _folded(text)
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


def snippet_pieces(e: Evidence) -> list[Piece]:
    """An evidence snippet with the matched words marked in it."""
    moved = Evidence(term=e.term, matched=e.matched, field=e.field, start=-1, end=-1,
                     snippet=e.snippet, entity=e.entity)
    return pieces(e.snippet, [moved], e.field)
