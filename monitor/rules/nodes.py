"""The compiled query nodes, evaluated against one :class:`~monitor.rules.docindex.DocIndex`:
leaves (a pattern in some fields), entities (any alias), NEAR and SENTENCE windows, and
AND / OR / NOT. Nodes are immutable and shared by every ``match`` call.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from monitor.rules.docindex import DocIndex, Pattern

EVIDENCE_PER_TERM = 1  # occurrences of a term kept as evidence (see evidence.select)

Found = tuple["Leaf", int, int, int]  # (leaf, field, start token, token count)


class Node:
    """A compiled query node."""

    def test(self, doc: DocIndex) -> bool:
        """Whether this node matches the document."""
        raise NotImplementedError

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        """:meth:`test`, appending to ``out`` the occurrences that make the node match (a few
        per term) when it does; ``out`` is left as it was when it does not. One walk gives a
        matching rule its evidence (most candidate rules match)."""
        raise NotImplementedError


def _gather_each(nodes: tuple[Node, ...], doc: DocIndex, out: list[Found]) -> bool:
    """Gather every one of ``nodes`` that matches (an OR, an entity's aliases); did any?"""
    found = False
    for node in nodes:
        if node.gather(doc, out):
            found = True
    return found


@dataclass(frozen=True, eq=False)
class Leaf(Node):
    """A pattern searched in some fields; ``term`` and ``entity`` label its evidence."""

    pattern: Pattern
    fields: tuple[int, ...]
    term: str
    entity: str | None = None

    def test(self, doc: DocIndex) -> bool:
        pattern = self.pattern
        # Plain loops: this runs for every candidate rule, and any() costs a generator.
        if pattern.simple:
            key = pattern.modes[doc.mode][0].key
            if len(self.fields) == 2:  # the usual case: no field filter
                return key in doc.found_all
            for f in self.fields:  # noqa: SIM110
                if key in doc.found[f]:
                    return True
            return False
        for f in self.fields:  # noqa: SIM110
            if doc.positions(pattern, f):
                return True
        return False

    def shown(self, doc: DocIndex) -> Found:
        """What ``evidence.select`` keeps of ``gather`` for a simple, unfiltered leaf that
        matches: its first occurrence in the body, else in the title. Remembered per document,
        since the compiler shares one leaf between all the rules that name the same term."""
        found = doc.shown.get(self)
        if found is None:
            key = self.pattern.modes[doc.mode][0].key
            field = 1 if key in doc.found[1] else 0
            found = doc.shown[self] = (self, field, doc.starts(field, key, 1)[0],
                                       self.pattern.length)
        return found

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        pattern = self.pattern
        if pattern.simple:  # no need to find every occurrence of a common word
            key = pattern.modes[doc.mode][0].key
            if len(self.fields) == 2 and EVIDENCE_PER_TERM == 1:
                # select() keeps the body's first occurrence, else the title's: shown, found
                # once per document for every rule sharing this leaf (an entity's aliases).
                if key in doc.found_all:
                    out.append(self.shown(doc))
                    return True
                return False
            found = False
            for f in self.fields:
                if key in doc.found[f]:
                    found = True
                    for p in doc.starts(f, key, EVIDENCE_PER_TERM):
                        out.append((self, f, p, pattern.length))
            return found
        mark = len(out)
        for f in self.fields:
            out.extend((self, f, p, pattern.length)
                       for p in doc.positions(pattern, f)[:EVIDENCE_PER_TERM])
        return len(out) > mark


@dataclass(frozen=True, eq=False)
class AnyOf(Node):
    """An entity: any of its aliases."""

    leaves: tuple[Leaf, ...]

    def test(self, doc: DocIndex) -> bool:
        for leaf in self.leaves:  # noqa: SIM110 (see Leaf.test)
            if leaf.test(doc):
                return True
        return False

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        return _gather_each(self.leaves, doc, out)  # every alias that occurs is evidence


class WindowNode(Node):
    """Matches where every slot falls in one window of a field: NEAR's span, SENTENCE's."""

    fields: tuple[int, ...]

    def window(self, doc: DocIndex, field: int) -> list[Found] | None:
        """One occurrence per slot forming a match in ``field``, or None."""
        raise NotImplementedError

    def test(self, doc: DocIndex) -> bool:
        return any(self.window(doc, f) is not None for f in self.fields)

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        for f in self.fields:
            found = self.window(doc, f)
            if found is not None:
                out.extend(found)
                return True
        return False


@dataclass(frozen=True, eq=False)
class Near(WindowNode):
    """All slots within ``distance`` tokens (FTS5 NEAR); a slot is a phrase or an entity."""

    slots: tuple[tuple[Leaf, ...], ...]
    distance: int
    fields: tuple[int, ...]

    def window(self, doc: DocIndex, field: int) -> list[Found] | None:
        """One occurrence per slot forming a match in ``field``, or None.

        FTS5's condition: with q the latest start among the chosen occurrences, every chosen
        occurrence (start p, length n) has p <= q and p + n + distance >= q. For each
        candidate q it suffices to take, per slot, the occurrence with p <= q that ends last.
        """
        prepared = []
        candidates: set[int] = set()
        for slot in self.slots:
            occurrences = sorted((p, leaf.pattern.length, i) for i, leaf in enumerate(slot)
                                 for p in doc.positions(leaf.pattern, field))
            if not occurrences:
                return None
            best: list[tuple[int, int, int]] = []
            for occ in occurrences:  # running "ends last" over occurrences sorted by start
                best.append(occ if not best or occ[0] + occ[1] > best[-1][0] + best[-1][1]
                            else best[-1])
            prepared.append(([occ[0] for occ in occurrences], best, slot))
            candidates.update(occ[0] for occ in occurrences)
        for q in sorted(candidates):
            chosen: list[Found] = []
            for starts, best, slot in prepared:
                i = bisect_right(starts, q) - 1
                if i < 0 or best[i][0] + best[i][1] + self.distance < q:
                    break
                p, n, which = best[i]
                chosen.append((slot[which], field, p, n))
            else:
                return chosen
        return None



@dataclass(frozen=True, eq=False)
class AllOf(Node):
    """``AND``."""

    children: tuple[Node, ...]

    def test(self, doc: DocIndex) -> bool:
        for child in self.children:  # noqa: SIM110 (see Leaf.test)
            if not child.test(doc):
                return False
        return True

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        mark = len(out)
        for child in self.children:
            if not child.gather(doc, out):
                del out[mark:]
                return False
        return True


@dataclass(frozen=True, eq=False)
class OneOf(Node):
    """``OR``."""

    children: tuple[Node, ...]

    def test(self, doc: DocIndex) -> bool:
        for child in self.children:  # noqa: SIM110 (see Leaf.test)
            if child.test(doc):
                return True
        return False

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        return _gather_each(self.children, doc, out)  # every branch that matches is evidence


@dataclass(frozen=True, eq=False)
class Without(Node):
    """``left NOT right``."""

    left: Node
    right: Node

    def test(self, doc: DocIndex) -> bool:
        return self.left.test(doc) and not self.right.test(doc)

    def gather(self, doc: DocIndex, out: list[Found]) -> bool:
        if self.right.test(doc):
            return False
        return self.left.gather(doc, out)


@dataclass(frozen=True, eq=False)
class SameSentence(WindowNode):
    """``SENTENCE(...)``: every slot (a phrase or an entity) within one sentence of a field."""

    slots: tuple[tuple[Leaf, ...], ...]
    fields: tuple[int, ...]

    def window(self, doc: DocIndex, field: int) -> list[Found] | None:
        """The first occurrence of each slot in the first sentence holding all, or None."""
        sentence = None
        firsts: list[dict[int, Found]] = []
        for slot in self.slots:
            here: dict[int, Found] = {}
            for leaf in slot:
                for p in doc.positions(leaf.pattern, field):
                    if sentence is None:
                        sentence = doc.sentences(field)
                    n = leaf.pattern.length
                    s = sentence[p]
                    if sentence[p + n - 1] == s and (s not in here or here[s][2] > p):
                        here[s] = (leaf, field, p, n)
            if not here:
                return None
            firsts.append(here)
        common = set(firsts[0]).intersection(*firsts[1:])
        if not common:
            return None
        s = min(common)
        return [here[s] for here in firsts]

