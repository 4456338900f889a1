"""Evidence spans laid over stored text: the pieces a template shows plain or marked.

The text stays text: a template prints every piece through Jinja2's autoescaping, inside or
outside ``<mark>``, so highlighting never turns article text into markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.models import Evidence

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
    if not e.matched:
        return None
    folded, needle = text.casefold(), e.matched.casefold()
    at = folded.find(needle, max(0, e.start - _NEAR))
    if at < 0:
        at = folded.find(needle)
    return (at, at + len(needle)) if at >= 0 else None


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
