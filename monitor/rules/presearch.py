"""The presearcher: from the keys found in a document to the few rules worth evaluating.

Each rule is indexed under the keys of one clause of its necessary condition (its *anchor*,
see :mod:`monitor.rules.plan`) together with a *second* clause it also needs. Per document,
a found key names the rules it anchors and the second clauses it satisfies; a rule is a
candidate when one of its anchor keys and one key of its second clause were found.

At 10,000 rules a document's few hundred found keys touch thousands of index entries, so the
index is kept as compressed sparse rows in numpy arrays: the lookups are a handful of
vectorized gathers over contiguous memory instead of thousands of Python objects scattered
through the heap (which costs mostly cache misses).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from monitor.rules.plan import Program

_Ints = npt.NDArray[np.int64]


def _csr(rows: Sequence[Sequence[int]]) -> tuple[_Ints, _Ints]:
    """(row pointers, values): row r is ``values[ptr[r]:ptr[r + 1]]``."""
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=ptr[1:])
    values = np.fromiter((v for r in rows for v in r), dtype=np.int64, count=int(ptr[-1]))
    return ptr, values


def _entries(ptr: _Ints, sizes: _Ints, keys: _Ints) -> _Ints:
    """Positions in the values array of every entry of the given rows."""
    counts = sizes[keys]
    ends = np.cumsum(counts)
    total = int(ends[-1])
    if total == 0:
        return np.empty(0, dtype=np.int64)
    return np.repeat(ptr[keys] - ends + counts, counts) + np.arange(total, dtype=np.int64)


class Presearch:
    """Anchor and second-clause index over automaton key ids ``0..key_count-1``.

    One row per key; an entry ``e >= 0`` is anchor ``e`` (rule ``_rules[e]`` needing second
    clause ``_seconds[e]``), an entry ``e < 0`` says the key satisfies clause ``-e - 1``.
    """

    def __init__(self, programs: Sequence[Program], key_count: int) -> None:
        clause_ids: dict[frozenset[int], int] = {}
        rows: list[list[int]] = [[] for _ in range(key_count)]
        rules: list[int] = []
        seconds: list[int] = []
        for program in programs:
            second = -1  # replaced below by the id meaning "nothing to check"
            if program.second is not None:
                second = clause_ids.setdefault(program.second, len(clause_ids))
            for key in program.anchor:
                rows[key].append(len(rules))
                rules.append(program.index)
                seconds.append(second)
        for clause, clause_id in clause_ids.items():
            for key in clause:
                rows[key].append(-clause_id - 1)
        self._always = len(clause_ids)  # a clause id every document satisfies
        self._ptr, self._entries = _csr(rows)
        self._sizes = np.diff(self._ptr)
        self._rules = np.array(rules, dtype=np.int64)
        self._seconds = np.array([self._always if s < 0 else s for s in seconds],
                                 dtype=np.int64)

    def candidates(self, found: set[int]) -> list[int]:
        """Indexes of the rules to evaluate for a document with these keys, ascending."""
        if not found:
            return []
        keys = np.fromiter(found, dtype=np.int64, count=len(found))
        entries = self._entries[_entries(self._ptr, self._sizes, keys)]
        is_anchor = entries >= 0
        satisfied = np.zeros(self._always + 1, dtype=bool)
        satisfied[self._always] = True
        satisfied[-1 - entries[~is_anchor]] = True
        anchors = entries[is_anchor]
        chosen = self._rules[anchors[satisfied[self._seconds[anchors]]]]
        return sorted(set(chosen.tolist()))  # few: faster than np.unique
