"""Matching articles against every rule at once.

:func:`compile_rules` turns a :class:`~monitor.rules.RuleBook` into a :class:`Matcher` once.
Per document, the cost is one tokenization and one Aho-Corasick pass (pyahocorasick) over
the joined folded tokens of each field, which finds every term, phrase, prefix and alias of
every rule together (stemmed keys are found from each token's cached stem: one-word keys by
set lookups, phrases by a pass over the stems only when a phrase's first word occurs, see
:class:`StemTable`); then only the candidate rules the presearcher picks from the found keys
are evaluated (:mod:`monitor.rules.plan` derives what each rule cannot match without,
:mod:`monitor.rules.presearch` indexes it). Nothing loops over all rules, and nothing loops
over regexes: ``regex:`` conditions run (with RE2) only for rules whose query already matched.
In the daemon the body's tokens and stems come from the extraction worker
(:mod:`monitor.rules.analysis`): the tokenization is then the title's alone.

A Matcher is immutable after construction, does no I/O, and may serve concurrent ``match``
calls from several threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from operator import itemgetter

import ahocorasick

from monitor.errors import RuleError, RuleProblem
from monitor.language import (
    document_language,
    language_matches,
    load_model,
    short_text_guesses,
)
from monitor.models import Document, Evidence, RuleHit, TextAnalysis
from monitor.rules.docindex import PLAIN, STEM, DocIndex
from monitor.rules.evidence import evidence_of, regex_evidence, select
from monitor.rules.model import RuleBook, gc_paused
from monitor.rules.nodes import Found
from monitor.rules.plan import Compiler, KeyTable, Program
from monitor.rules.presearch import Presearch
from monitor.rules.stem import (
    MODE_PLAIN,
    MODES,
    cached_stems,
    distinct_stems,
    stemmer_for,
)
from monitor.rules.unicode61 import split_tokens, stream_of

_END, _KEY = itemgetter(0), itemgetter(1)
TITLE, BODY = 0, 1  # the document's fields
_Match = tuple[Program, list[Found], list[Evidence]]  # a matching rule, before its hit


class _Language:
    """A document's language, found once and only if a rule asks: (code, was it detected?).
    ``passes`` applies a rule's filter to it."""

    __slots__ = ("_doc", "_guesses", "_value")

    def __init__(self, doc: Document) -> None:
        self._doc = doc
        self._value: tuple[str | None, bool] | None = None
        self._guesses: tuple[frozenset[str] | None] | None = None

    def __call__(self) -> tuple[str | None, bool]:
        if self._value is None:
            doc = self._doc
            self._value = document_language(doc.title, doc.body, doc.language,
                                            doc.language_detected)
        return self._value

    def passes(self, wanted: frozenset[str]) -> bool:
        """Whether the document passes a ``languages`` filter of ``wanted``."""
        code, detected = self()
        if language_matches(wanted, code, detected=detected):
            return True
        if not detected or code is None:
            return False
        if self._guesses is None:  # a detected language missed: is the text a title alone?
            self._guesses = (short_text_guesses(self._doc.title or "", self._doc.body or ""),)
        return language_matches(wanted, code, detected=True, guesses=self._guesses[0])


def _automaton(keys: KeyTable, stream: int,
               only: set[int] | None = None) -> ahocorasick.Automaton | None:
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    patterns, streams = keys.patterns, keys.streams
    chosen = range(len(patterns)) if only is None else only
    # Sorted: the same rules build the same automaton, whatever their order in the files.
    for pattern, key in sorted((patterns[k], k) for k in chosen if streams[k] == stream):
        automaton.add_word(pattern, key)
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _scan(automaton: ahocorasick.Automaton | None, stream: str) -> dict[int, int]:
    """The keys found in a padded stream, each with the end offset of its first occurrence
    (where evidence starts; found in the same C-level pass, reversed so the first wins)."""
    if automaton is None or len(stream) < 3:
        return {}
    found = list(automaton.iter(stream))
    found.reverse()
    return dict(zip(map(_KEY, found), map(_END, found), strict=True))


class StemTable:
    """The stemmed keys of one stemmer: one-word keys found by set lookups, phrase keys by an
    automaton of their own over the stem stream, and only when one may occur.

    Most stemmed keys are one word (``" negosiasi "``). Per field, each token's stem comes
    from the extraction worker's analysis or the process-wide stem cache (one C-level pass
    when every token was seen before; the daemon stores these stems anyway, for the text
    index), and the set of distinct stems is
    intersected with the one-word keys (``negosiasinya`` -> ``negosiasi``) and with the first
    words of phrase keys (``" rencana damai "``). Only when such a first word occurs is the
    field's stem stream searched for the phrase keys, with an automaton of those alone.
    Nothing is learnt or changed after construction, so concurrent ``match`` calls need no
    lock.
    """

    def __init__(self, stemmer: str, keys: KeyTable, key_ids: set[int]) -> None:
        self.stemmer = stemmer
        self.singles: dict[str, int] = {}
        phrases: set[int] = set()
        firsts: set[str] = set()
        for key in sorted(key_ids):
            words = keys.patterns[key].split()
            if len(words) == 1:
                self.singles[words[0]] = key
            else:
                phrases.add(key)
                firsts.add(words[0])
        self._single_words = frozenset(self.singles)
        self._firsts = frozenset(firsts)
        self._phrases = _automaton(keys, STEM, phrases) if phrases else None

    def found(self, stems: Iterable[str], joined: str | None = None) -> tuple[set[int], str]:
        """The keys present in a field, and its padded stem stream (``" "`` when no stemmed
        key occurs: nothing will look at it). ``stems``: its tokens' stems in order, or, with
        ``joined`` (all of them joined by spaces: the worker's), its distinct stems."""
        present = set(stems)
        # map() keeps the loop in C: in a long article hundreds of stems are keys.
        out = set(map(self.singles.__getitem__, self._single_words.intersection(present)))
        phrases = None if self._firsts.isdisjoint(present) else self._phrases
        if not out and phrases is None:
            return out, " "
        stream = f" {' '.join(stems) if joined is None else joined} "
        if phrases is not None:
            out.update(map(_KEY, phrases.iter(stream)))
        return out, stream


class Matcher:
    """The compiled rule set. ``match`` returns a hit per matching rule, with evidence."""

    def __init__(self, programs: list[Program], keys: KeyTable,
                 stem_keys: dict[str, set[int]] | None = None) -> None:
        self._programs = programs
        self._by_id = {p.rule.id: p for p in programs}
        self._plain = _automaton(keys, PLAIN)
        self._keys = list(keys.patterns)
        self._key_streams = list(keys.streams)
        # Per stemmer that some pattern uses, its stemmed keys.
        self._stem_tables = {stemmer: StemTable(stemmer, keys, ids)
                             for stemmer, ids in (stem_keys or {}).items() if ids}
        self._has_stem = bool(self._stem_tables)
        # Stemmed keys are found by StemTable lookups; these automata (one per stemmer, with
        # its keys only) serve DocIndex's position table when many rules hit one document.
        self._stem_automata = {stemmer: _automaton(keys, STEM, ids)
                               for stemmer, ids in (stem_keys or {}).items() if ids}
        self._presearch = Presearch(programs, len(keys.patterns))
        if self._has_stem or any(p.languages for p in programs):
            load_model()  # may detect languages: read the model now, so match() does no I/O

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The ids of the compiled rules, in rule-book order."""
        return tuple(p.rule.id for p in self._programs)

    def index(self, doc: Document) -> DocIndex:
        """Tokenize the document and run the automaton pass over each field."""
        return self._index(doc)[0]

    def _index(self, doc: Document, analysis: TextAnalysis | None = None
               ) -> tuple[DocIndex, list[list[str] | None]]:
        """:meth:`index`, and each field's token stems if finding stemmed keys computed them
        (None when no key is stemmed in the document's language, or the field is empty).
        ``analysis``: the body's, from :func:`~monitor.rules.analyze_text`."""
        texts = (doc.title or "", doc.body or "")
        language = _Language(doc)
        mode, table, stemmer = MODE_PLAIN, None, None
        if self._has_stem:
            stemmer = stemmer_for(language()[0])
            table = self._stem_tables.get(stemmer or "")
            if table is not None:
                mode = MODES[stemmer or ""]
            # else no pattern is stemmed in this language: its stems are never looked at
        parts: list[list[str] | None] = []
        streams: list[list[str]] = []
        found: list[set[int]] = []
        ends: list[dict[int, int]] = []
        stem_lists: list[list[str] | None] = []
        for field, text in enumerate(texts):
            given = analysis if field == BODY else None
            if given is None:
                tokens = split_tokens(text)
                parts.append(tokens)
                plain = f" {stream_of(tokens)} "
            else:  # the worker's tokens: the text is split again only if evidence asks
                parts.append(None)
                plain = f" {given.stream} "
            ends.append(_scan(self._plain, plain))
            keys = set(ends[-1])
            stems, stem_list = " ", None
            if table is not None and len(plain) > 2:
                if given is not None and given.stems and given.stemmer == stemmer:
                    # The worker's stems: its distinct ones are all a lookup needs (and
                    # match_with_stems takes the body's from the analysis, not this list).
                    stem_keys, stems = table.found(given.distinct_stems.split(" "),
                                                   given.stems)
                else:
                    stem_list = cached_stems(plain[1:-1].split(" "), table.stemmer)
                    stem_keys, stems = table.found(stem_list)
                keys |= stem_keys
            streams.append([plain, stems])
            found.append(keys)
            stem_lists.append(stem_list)
        return DocIndex(texts, (parts[0], parts[1]), (streams[0], streams[1]),
                        (found[0], found[1]), self._keys, self._key_streams, mode, language,
                        (self._plain, self._stem_automata.get(stemmer or "")),
                        (ends[0], ends[1])), stem_lists

    def match(self, doc: Document) -> list[RuleHit]:
        """Every rule that matches ``doc``, in rule-book order."""
        if not self._programs:
            return []
        index = self.index(doc)
        return self._hits(index, self._decide(index, evidence=True))

    def match_with_stems(self, doc: Document, analysis: TextAnalysis | None = None
                         ) -> tuple[list[RuleHit], list[str]]:
        """:meth:`match`, and ``doc``'s :func:`~monitor.rules.stem.article_stems` from the same
        tokenization: the daemon stores both (the stems for the text index).

        ``analysis`` is :func:`~monitor.rules.analyze_text`'s of ``doc.body`` exactly (the
        extraction worker's): its token stream stands in for tokenizing the body here, and
        its stems for stemming it when they are in the language the document is stemmed in.
        """
        index, stem_lists = self._index(doc, analysis)
        hits = self._hits(index, self._decide(index, evidence=True)) if self._programs else []
        stemmer = stemmer_for(index.language()[0])
        if stemmer is None:
            return hits, []
        if analysis is not None and analysis.stemmer == stemmer:
            # The title's stems (found with the stemmed keys, or from the cache), then the
            # body's distinct ones (the worker's): the same order as all the tokens' stems
            # made distinct, without walking the body's stems again.
            title = (stem_lists[0] if stem_lists[0] is not None
                     else cached_stems(index.tokens(TITLE), stemmer))
            body = analysis.distinct_stems.split(" ") if analysis.distinct_stems else []
            return hits, list(dict.fromkeys(chain(title, body)))
        if stem_lists[0] is None and stem_lists[1] is None:  # no stemmed key looked for
            return hits, distinct_stems(index.distinct_tokens(), stemmer)
        # Finding stemmed keys (in this language) stemmed every token of each field (None: an
        # empty field): those stems are not looked up again. In order of first appearance,
        # as article_stems gives them.
        return hits, list(dict.fromkeys(chain.from_iterable(
            listed or () for listed in stem_lists)))

    def matching(self, doc: Document) -> list[str]:
        """The ids of the rules that match ``doc``, in rule-book order: :meth:`match` without
        evidence (no positions, offsets or snippets), for what only counts (backtests)."""
        if not self._programs:
            return []
        return [program.rule.id for program, _chosen, _extra
                in self._decide(self.index(doc), evidence=False)]

    def _decide(self, index: DocIndex, *, evidence: bool) -> list[_Match]:
        """The matching programs; with the occurrences to show if ``evidence``."""
        programs, found_all = self._programs, index.found_all
        matched: list[_Match] = []
        for i in self._presearch.candidates(found_all):
            program = programs[i]
            flat = program.flat
            if flat is not None:  # _evaluate's first lines, inline: most rules take this path
                if program.required <= found_all:
                    matched.append((program, [leaf.shown(index) for leaf in flat]
                                    if evidence else [], []))
                continue
            result = self._evaluate(program, index, check_languages=True, evidence=evidence)
            if result is not None:
                matched.append(result)
        return matched

    def match_rule(self, rule_id: str, doc: Document, *,
                   check_languages: bool = True) -> RuleHit | None:
        """The hit of one rule on ``doc`` or None; ``check_languages=False`` skips its filter."""
        program = self._by_id.get(rule_id)
        if program is None:
            raise RuleError([RuleProblem("<rules>", 0, f"no compiled rule {rule_id!r}", rule_id)])
        index = self.index(doc)
        if program.anchor.isdisjoint(index.found_all):
            return None
        result = self._evaluate(program, index, check_languages=check_languages)
        return None if result is None else self._hits(index, [result])[0]

    def _evaluate(self, program: Program, index: DocIndex, *, check_languages: bool,
                  evidence: bool = True) -> _Match | None:
        """The program's chosen evidence occurrences (if ``evidence``) and regex evidence if
        it matches. Evidence is gathered in the same walk as the test: a rule that then fails
        its language or regex condition wasted it, but those are rare and most candidate
        rules match."""
        found_all = index.found_all
        if not program.required <= found_all:
            return None
        if program.flat is not None:
            return program, [leaf.shown(index) for leaf in program.flat] if evidence else [], []
        for clause in program.clauses:
            if clause.isdisjoint(found_all):
                return None
        found: list[Found] = []
        if not (program.root.gather(index, found) if evidence else program.root.test(index)):
            return None
        if check_languages and program.languages and not index.language.passes(
                program.languages):
            return None
        extra: list[Evidence] = []
        for regex in program.regexes:
            for field, text in enumerate(index.texts):
                span = regex.search(text)
                if span is not None:
                    extra.append(regex_evidence(regex.pattern, text, field, span))
                    break
            else:
                return None
        return program, select(found) if evidence else [], extra

    @staticmethod
    def _hits(index: DocIndex, matched: list[_Match]) -> list[RuleHit]:
        """Hits with evidence, each shown occurrence's built once for all the rules."""
        evidence = evidence_of(index, chain.from_iterable(chosen for _p, chosen, _x in matched))
        shown = evidence.__getitem__
        return [RuleHit.of(program.rule.id, program.rule.name,
                           (*map(shown, chosen), *extra) if extra else tuple(map(shown, chosen)),
                           program.rule.notify)
                for program, chosen, extra in matched]


def compile_rules(book: RuleBook) -> Matcher:
    """Compile the book's rules once; raises RuleError if a rule names an unknown entity."""
    with gc_paused():
        compiler = Compiler({e.id: e for e in book.entities})
        programs = [compiler.program(i, rule) for i, rule in enumerate(book.rules)]
        return Matcher(programs, compiler.keys, compiler.stem_keys)
