"""Evidence for a hit: each matched term, where it is, and a short snippet around it."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.models import Evidence
from monitor.rules.docindex import DocIndex
from monitor.rules.expr import FIELDS
from monitor.rules.nodes import EVIDENCE_PER_TERM, Found
from monitor.text import clean_line

SNIPPET_CONTEXT = 60  # characters kept on each side of the match
MAX_PER_TERM = EVIDENCE_PER_TERM
MAX_EVIDENCE = 20


def snippet(text: str, start: int, end: int, context: int = SNIPPET_CONTEXT) -> str:
    """``text[start:end]`` with about ``context`` characters each side, cut at spaces."""
    lo, hi = max(0, start - context), min(len(text), end + context)
    if lo > 0:
        cut = text.find(" ", lo, start)
        lo = cut + 1 if cut >= 0 else lo
    if hi < len(text):
        cut = text.rfind(" ", end, hi)
        hi = cut if cut >= 0 else hi
    body = " ".join(text[lo:hi].split())
    if not body.isprintable():  # controls or bidi overrides: never shown in an alert
        body = clean_line(body)
    return f"{'…' if lo > 0 else ''}{body}{'…' if hi < len(text) else ''}"


def _body_first(item: Found) -> tuple[int, int]:
    # Alerts show the title anyway: a snippet from the body says more.
    return -item[1], item[2]


def select(found: list[Found]) -> list[Found]:
    """The occurrences to show: per term in query order, the first in the body (else in the
    title), at most :data:`MAX_PER_TERM` each and :data:`MAX_EVIDENCE` in all."""
    if MAX_PER_TERM == 1:  # one pass, no sorting: the usual case, run for every hit
        best: dict[str, Found] = {}
        for item in found:
            kept = best.get(item[0].term)
            if kept is None or (-item[1], item[2]) < (-kept[1], kept[2]):
                best[item[0].term] = item
        return list(best.values())[:MAX_EVIDENCE]
    by_term: dict[str, list[Found]] = {}
    for item in found:
        by_term.setdefault(item[0].term, []).append(item)
    out: list[Found] = []
    for items in by_term.values():
        seen: set[tuple[int, int]] = set()
        for item in sorted(items, key=_body_first):
            if (item[1], item[2]) not in seen:
                seen.add((item[1], item[2]))
                out.append(item)
                if len(seen) == MAX_PER_TERM:
                    break
        if len(out) >= MAX_EVIDENCE:
            break
    return out[:MAX_EVIDENCE]


def evidence_of(doc: DocIndex, shown: Iterable[Found]) -> dict[Found, Evidence]:
    """Evidence for each distinct occurrence that matching rules show.

    Many rules show the same occurrence (a common term's first place, one shared leaf's
    ``Found``): each is cut into a snippet once, and the character offsets of all of them
    come from one pass over each field's tokens.
    """
    distinct = dict.fromkeys(shown)
    tokens: tuple[set[int], set[int]] = (set(), set())
    for _leaf, field, start, count in distinct:
        tokens[field].update((start, start + count - 1))
    spans = (doc.token_spans(0, tokens[0]) if tokens[0] else {},
             doc.token_spans(1, tokens[1]) if tokens[1] else {})
    texts = doc.texts
    out: dict[Found, Evidence] = {}
    for item in distinct:
        leaf, field, start, count = item
        text = texts[field]
        a, b = spans[field][start][0], spans[field][start + count - 1][1]
        out[item] = Evidence.of(leaf.term, text[a:b], FIELDS[field], a, b, snippet(text, a, b),
                                leaf.entity)
    return out


def regex_evidence(pattern: str, text: str, field: int, span: tuple[int, int]) -> Evidence:
    """Evidence for a ``regex:`` condition (the term is written ``/pattern/``)."""
    a, b = span
    return Evidence(term=f"/{pattern}/", matched=text[a:b], field=FIELDS[field],
                    start=a, end=b, snippet=snippet(text, a, b))
