"""One document after the automaton pass, and what rules ask of it.

The automaton pass (in :mod:`monitor.rules.matcher`) leaves a :class:`DocIndex`: per field, which
automaton keys occur. A :class:`Pattern` (a phrase, prefix or alias) is one or more keys at
fixed token offsets, so most patterns are decided by a set lookup; only NEAR, ``^``,
case-sensitive aliases and evidence need token positions, which the index finds on demand.
A DocIndex lives for one ``match`` call, so concurrent calls are safe.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate, chain
from operator import add
from typing import Any, Protocol

from monitor.rules.sentences import sentence_ids
from monitor.rules.unicode61 import case_key, split_tokens

# Full position lookups (NEAR, ^, case checks) in one document after which every key's
# positions are found at once. The table walks every automaton match in Python (~3 us each;
# a long article has thousands), a lookup is a few C-level finds: only worth it for many keys.
TABLE_AFTER = 256
# Characters between two remembered counts of spaces (see DocIndex._spaces_before).
SPACES_STEP = 1024
PLAIN, STEM = 0, 1  # the two token streams: folded tokens, and their stems


class DocumentLanguage(Protocol):
    """A document's language, found on first call: (code, was it detected?)."""

    def __call__(self) -> tuple[str | None, bool]: ...

    def passes(self, wanted: frozenset[str]) -> bool:
        """Whether the document passes a rule's ``languages`` filter of ``wanted``."""
        ...


@dataclass(frozen=True, eq=False)
class Segment:
    """One automaton key expected ``offset`` tokens after the pattern's first token."""

    key: int
    offset: int


@dataclass(frozen=True, eq=False)
class Pattern:
    """What a phrase, prefix or alias must find: segments per stemming mode, and checks.

    ``modes[m]`` are the segments in a document of stemming mode ``m`` (``stem.MODES``: 0 is
    unstemmed, then one per Snowball language). ``simple``: one key in every mode and no
    ``^`` or case check, so the key's presence in a field is the whole answer and no position
    is ever computed.
    """

    pid: int
    modes: tuple[tuple[Segment, ...], ...]
    length: int
    caret: bool
    case_tokens: tuple[str, ...] | None  # case-sensitive alias: tokens as written
    simple: bool
    case_prefix: bool = False  # the last of case_tokens is a prefix


class DocIndex:
    """One document after the automaton pass; positions and spans are computed on demand.

    ``streams[field]`` are the field's padded token streams (``" tok tok ... tok "``: folded
    tokens, and their stems when the document is stemmed); ``found[field]`` the automaton
    keys found in them. Where a key occurs is only asked for a few keys (evidence, NEAR, ``^``,
    case checks), so it is found then, with ``str.find`` over the stream.
    """

    def __init__(self, texts: tuple[str, str],
                 parts: tuple[list[str] | None, list[str] | None],
                 streams: tuple[list[str], list[str]], found: tuple[set[int], set[int]],
                 keys: list[str], key_streams: list[int], mode: int,
                 language: DocumentLanguage,
                 automata: tuple[Any, Any] = (None, None),
                 first_ends: tuple[dict[int, int], dict[int, int]] = ({}, {})) -> None:
        self.texts = texts
        self.mode = mode
        self.language = language  # (code, detected?) computed on first call
        self.found = found
        self.found_all = found[0] | found[1]
        # split_tokens() of each field, for spans and sentences; None until asked for (a
        # body whose token stream came from the extraction worker, see Matcher._index)
        self._parts = list(parts)
        self._streams = streams
        self._keys = keys
        self._key_streams = key_streams
        self._starts: dict[tuple[int, int], list[int]] = {}
        self._first: dict[tuple[int, int], list[int]] = {}
        self._automata = automata  # per stream kind (PLAIN, STEM): for _table
        self._first_ends = first_ends  # per field, plain key -> end offset of its first place
        self._tables: dict[int, dict[int, list[int]]] = {}
        # per (field, stream kind): spaces before every SPACES_STEP-th character, or the
        # number of long counts done so far while still under two
        self._marks: dict[tuple[int, int], list[int] | int] = {}
        self._lookups = 0
        self._positions: dict[tuple[int, int], list[int]] = {}
        self._sentences: dict[int, list[int]] = {}
        # Leaf.shown's answers (leaf -> its Found): many rules share a leaf.
        self.shown: dict[Any, Any] = {}

    def tokens(self, field: int) -> list[str]:
        """The folded tokens of ``field``, in order."""
        return self._streams[field][0].split()

    def distinct_tokens(self) -> list[str]:
        """The folded tokens of both fields, each once, in order of first appearance."""
        return list(dict.fromkeys(chain(self.tokens(0), self.tokens(1))))

    def sentences(self, field: int) -> list[int]:
        """The sentence number of each token of ``field`` (split on first use)."""
        found = self._sentences.get(field)
        if found is None:
            found = self._sentences[field] = sentence_ids(self._split(field))
        return found

    def _split(self, field: int) -> list[str]:
        parts = self._parts[field]
        if parts is None:
            parts = self._parts[field] = split_tokens(self.texts[field])
        return parts

    def starts(self, field: int, key: int, limit: int = -1) -> list[int]:
        """Token indexes where ``key`` begins in ``field``, ascending (the first ``limit``)."""
        cached = self._starts.get((field, key))
        if cached is not None:
            return cached if limit < 0 else cached[:limit]
        table = self._tables.get(field)
        if limit == 1 and table is None:
            # Evidence: the first occurrence, asked again by every rule with the term. Cheaper
            # than the table, which walks every occurrence of every key.
            first = self._first.get((field, key))
            if first is None:
                end = self._first_ends[field].get(key)
                first = self._first[(field, key)] = (
                    self._find(field, key, 1) if end is None  # stemmed, or not in this field
                    else [self._token_at(field, key, end)])
            return first
        if table is None and self._lookups >= TABLE_AFTER and self._automata[PLAIN] is not None:
            table = self._tables[field] = self._table(field)
        if table is not None:
            result = table.get(key, [])
            return result if limit < 0 else result[:limit]
        self._lookups += 1
        result = self._find(field, key, limit)
        if limit < 0:
            self._starts[(field, key)] = result
        return result

    def _token_at(self, field: int, key: int, end: int) -> int:
        # The automaton pass saw where the plain key ends: count the tokens before it.
        return self._spaces_before(field, PLAIN, end - len(self._keys[key]) + 1)

    def _spaces_before(self, field: int, kind: int, offset: int) -> int:
        """The spaces in a stream before ``offset``: the index of the token starting there.

        Counting from the start each time cost a long article's evidence (hundreds of keys,
        each counted over tens of kilobytes) more than the rest of its matching; from the
        second long count on, the count resumes from the last mark before ``offset``.
        """
        stream = self._streams[field][kind]
        if offset <= SPACES_STEP:
            return stream.count(" ", 0, offset)
        marks = self._marks.get((field, kind), 0)
        if isinstance(marks, int):
            if marks == 0:
                self._marks[(field, kind)] = 1
                return stream.count(" ", 0, offset)
            marks = self._marks[(field, kind)] = [0, *accumulate(
                stream.count(" ", at, at + SPACES_STEP)
                for at in range(0, len(stream), SPACES_STEP))]
        mark = offset // SPACES_STEP
        return marks[mark] + stream.count(" ", mark * SPACES_STEP, offset)

    def _table(self, field: int) -> dict[int, list[int]]:
        """Where every key occurs in ``field``: one automaton pass per stream, then one
        left-to-right count of the spaces before them (many rules hit: a ``find`` and a
        ``count`` per key would each scan the text again)."""
        table: dict[int, list[int]] = {}
        keys = self._keys
        for kind, automaton in enumerate(self._automata):
            stream = self._streams[field][kind]
            if automaton is None or len(stream) < 3:
                continue
            # The position of every space: a token's index is the spaces before its start.
            parts = stream.split(" ")
            spaces = list(map(add, accumulate(map(len, parts)), range(len(parts) - 1)))
            for end, key in automaton.iter(stream):
                token = bisect_left(spaces, end - len(keys[key]) + 1)
                found = table.get(key)
                if found is None:
                    table[key] = [token]
                elif found[-1] != token:  # ascending: the automaton reports by end offset
                    found.append(token)
        return table

    def _find(self, field: int, key: int, limit: int) -> list[int]:
        result: list[int] = []
        if key in self.found[field]:
            kind = self._key_streams[key]
            stream = self._streams[field][kind]
            pattern = self._keys[key]
            end = self._first_ends[field].get(key) if kind == PLAIN else None
            # The automaton pass saw where a plain key first ends: search on from there.
            at = stream.find(pattern) if end is None else end - len(pattern) + 1
            token, counted = 0, -1
            while at >= 0:
                # spaces before = the token's index
                token = (self._spaces_before(field, kind, at) if counted < 0
                         else token + stream.count(" ", counted, at))
                counted = at
                result.append(token)
                if len(result) == limit:
                    break
                at = stream.find(pattern, at + 1)
        return result

    def token_spans(self, field: int, tokens: set[int]) -> dict[int, tuple[int, int]]:
        """Character offsets in ``field`` of the given tokens, in one pass over the text."""
        parts = self._split(field)  # [sep, tok, sep, tok, ..., sep]
        out: dict[int, tuple[int, int]] = {}
        offset, done = 0, 0
        for token in sorted(tokens):
            # Joining is a memory copy: cheaper than summing a long list of lengths.
            offset += len("".join(parts[done:2 * token + 1]))
            done = 2 * token + 1
            out[token] = (offset, offset + len(parts[done]))
        return out

    def case_matches(self, field: int, starts: list[int], expected: tuple[str, ...],
                     prefix: bool = False) -> list[int]:
        """The starts whose tokens, as written (diacritics removed, case kept), are
        ``expected`` (the last one only begins so if ``prefix``): the check of a
        case-sensitive alias, one pass for all occurrences. A token written in capitals also
        passes as ``expected`` in capitals: an all-caps headline or flash writes "Газе" as
        "ГАЗЕ", which is still not "газе" (gas)."""
        text, count = self.texts[field], len(expected)
        spans = self.token_spans(field, {p + i for p in starts for i in range(count)})
        last = count - 1 if prefix else count
        capitals = tuple(e.upper() for e in expected)

        def written(p: int) -> str:
            return case_key(text[spans[p][0]:spans[p][1]])

        def same(p: int) -> bool:
            for i in range(last):
                token = written(p + i)
                if token != expected[i] and not (token == capitals[i] and token.isupper()):
                    return False
            if last == count:
                return True
            token = written(p + last)
            return token.startswith(expected[last]) or (
                token.isupper() and token.startswith(capitals[last]))

        return [p for p in starts if same(p)]

    def positions(self, pattern: Pattern, field: int) -> list[int]:
        """Start tokens of every occurrence of ``pattern`` in ``field`` (cached per call)."""
        cache_key = (pattern.pid, field)
        cached = self._positions.get(cache_key)
        if cached is not None:
            return cached
        found = self.found[field]
        segments = pattern.modes[self.mode]
        result: list[int] = []
        if all(seg.key in found for seg in segments):
            result = self.starts(field, segments[0].key)
            for seg in segments[1:]:
                later = set(self.starts(field, seg.key))
                result = [p for p in result if p + seg.offset in later]
            if pattern.caret:
                result = result[:1] if result and result[0] == 0 else []
            if pattern.case_tokens is not None and result:
                result = self.case_matches(field, result, pattern.case_tokens,
                                           pattern.case_prefix)
        self._positions[cache_key] = result
        return result
