"""Differential test: our matcher against SQLite FTS5 itself.

Thousands of random queries over random multilingual documents (mixed case, diacritics and
combining marks, Cyrillic, Greek, Arabic, Hebrew, CJK, punctuation, hyphens, apostrophes)
must give exactly the documents FTS5 gives, for a table ``fts5(title, body,
tokenize='unicode61 remove_diacritics 2')`` queried with the very same query string. Random
token soup must be accepted or rejected alike. Deterministic: fixed seeds.

The tokenizer's departures, ``ё`` folded to ``е``, a last ``ى`` to ``ي``, an apostrophe inside
a Ukrainian word to ``ʼ`` and the others (see :mod:`monitor.rules.unicode61`), are applied to
what FTS5 is given, documents and queries alike
(:func:`~monitor.rules.unicode61.departed`): FTS5 after those folds is the reference.
Documents are cleaned as the daemon stores articles, and FTS5's queries as a rule's words are
(:func:`~monitor.text.clean_prose`: a soft hyphen or zero-width space inside a word goes, a
word of Latin and Cyrillic letters of the same look is written in one alphabet).
"""

from __future__ import annotations

import random
import sqlite3

import pytest

from monitor.errors import QuerySyntaxError
from monitor.models import Document
from monitor.rules import Rule, RuleBook, parse_query, token_spans
from monitor.rules.expr import Filter
from monitor.rules.matcher import compile_rules
from monitor.rules.query import UNICODE_SPACES
from monitor.rules.unicode61 import departed
from monitor.text import clean_prose

WORDS = [
    "gaza", "Gaza", "GAZA", "gazа",  # the last one ends in Cyrillic а: cleaned, it is gaza
    "Erdoğan", "erdogan", "ERDOĞAN", "Erdog\u0306an", "путин", "Путин", "ПУТИН", "Йемен",
    "йемен", "ёлка", "Ёлка", "елка", "café", "CAFÉ", "cafe", "cafe\u0301", "naïve", "naive",
    "İstanbul", "istanbul", "straße", "STRASSE", "ΣΟΦΙΑ", "σοφιας", "σοφιαϲ", "قطر", "القطرية",
    "الأمريكى", "الأمريكي", "على", "٢٨", "۲۸", "٢٨x",
    "ישראל", "מוסד", "中国", "中国人", "gencatan", "senjata", "Gedung-Putih", "gedung", "putih",
    "AS", "as", "As", "2025", "28", "x2", "a1b", "negosiasi", "negosiasinya", "ceasefire",
    "cease", "fire", "Witkoff", "witkoff’s", "don’t", "l'état", "ʼokina", "Ⅻ", "½", "x²",
    "\ue000pua", "Doha", "doha", "NEAR", "near", "and", "or", "not", "AND", "OR", "NOT",
    "title", "body", "a", "b", "c", "ab", "abc", "Mossad", "mossad", "Barnea", "Qatar", "Katar",
    "перемир'я", "перемир’я", "перемирʼя", "перемир`ю", "Об'єднані", "д'Арк", "ям", "є",
]
SEPARATORS = [" ", " ", " ", "  ", ", ", ". ", "-", "—", "/", "\n", " (", ") ", "'", "’", "_",
              "\u00ad", "\u200b", "…", "! ", "? ", ": ", "; ", " & ", "\t", "\u00a0", "·"]
FILTERS = ["title:", "body:", "{title body}:", "-title:", "-body:", "{body}:", "TITLE:",
           "{title}:", "- title:", "Body :"]


def _field(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(0, 14))]
    out = ""
    for word in words:
        out += word + rng.choice(SEPARATORS)
    return out.strip() if rng.random() < 0.8 else out


def make_docs(rng: random.Random, count: int) -> list[tuple[str, str]]:
    return [(_field(rng), _field(rng)) for _ in range(count)]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _is_bare(text: str) -> bool:
    """Whether ``text`` is one bareword both to FTS5 and to us: FTS5 takes a no-break space
    as a bareword character, we take it as a space (so such a piece is quoted)."""
    return bool(text) and text not in ("AND", "OR", "NOT") and all(
        ch not in UNICODE_SPACES if ch >= "\x80" else ch.isalnum() or ch == "_" for ch in text)


def _columns(spec: str) -> frozenset[str]:
    """The fields a filter prefix such as ``-title:`` leaves."""
    expr = parse_query(f"{spec}x")
    assert isinstance(expr, Filter)
    return expr.columns


class QueryGen:
    """Random FTS5 queries; phrases are often cut from the documents so that some match."""

    def __init__(self, rng: random.Random, docs: list[tuple[str, str]]) -> None:
        self.rng = rng
        self.docs = docs

    def word(self) -> str:
        """A query string with at least one token, bare when FTS5 allows it."""
        rng = self.rng
        while True:
            if rng.random() < 0.6:
                title, body = rng.choice(self.docs)
                text = rng.choice((title, body))
                spans = token_spans(text)
                if not spans:
                    continue
                i = rng.randrange(len(spans))
                j = min(len(spans), i + rng.choice((1, 1, 1, 2, 3)))
                piece = text[spans[i][0]:spans[j - 1][1]]
            else:
                piece = rng.choice(WORDS)
            if not token_spans(piece):
                continue
            if _is_bare(piece) and piece != "NEAR" and rng.random() < 0.7:
                return piece
            return _quote(piece)

    def phrase(self, in_near: bool = False) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            base = self.word()
            # a prefix: cut the last token short (at least one character is kept)
            inner = base[1:-1].replace('""', '"') if base.startswith('"') else base
            spans = token_spans(inner)
            a, b = spans[-1]
            cut = inner[:a + rng.randint(1, b - a)]
            text = cut if _is_bare(cut) and cut != "NEAR" else _quote(cut)
            out = text + rng.choice(("*", " *"))
        elif roll < 0.25:
            out = f"{self.word()} + {self.word()}"
        else:
            out = self.word()
        if not in_near and rng.random() < 0.07:
            out = "^" + out
        return out

    def near(self) -> str:
        rng = self.rng
        items = " ".join(self.phrase(in_near=True) for _ in range(rng.randint(1, 3)))
        dist = rng.choice(("", ", 0", ", 1", ", 2", ", 3", ",5", ", 10"))
        return f"NEAR({items}{dist})"

    def cnear(self, columns: frozenset[str]) -> str:
        rng = self.rng
        item = self.near() if rng.random() < 0.15 else self.phrase()
        spec = rng.choice(FILTERS) if rng.random() < 0.2 else ""
        if spec and not columns & _columns(spec):
            spec = ""
        return spec + item

    def expr(self, depth: int, columns: frozenset[str] = frozenset({"title", "body"})) -> str:
        rng = self.rng
        roll = rng.random()
        if depth <= 0 or roll < 0.35:
            return " ".join(self.cnear(columns) for _ in range(rng.choice((1, 1, 1, 2, 3))))
        if roll < 0.45:
            spec = rng.choice(FILTERS)
            cols = _columns(spec)
            if columns & cols:
                return f"{spec}({self.expr(depth - 1, columns & cols)})"
        op = rng.choice(("AND", "OR", "NOT", "AND", "OR"))
        left, right = self.expr(depth - 1, columns), self.expr(depth - 1, columns)
        if rng.random() < 0.5:
            left = f"({left})"
        if rng.random() < 0.5:
            right = f"({right})"
        return f"{left} {op} {right}"


def fts5_table(docs: list[tuple[str, str]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, "
               "tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO t(rowid, title, body) VALUES (?, ?, ?)",
                   ((i, departed(t), departed(b)) for i, (t, b) in enumerate(docs)))
    return db


def fts5_match(db: sqlite3.Connection, query: str) -> set[int] | str:
    try:
        return {row[0] for row in db.execute("SELECT rowid FROM t WHERE t MATCH ?",
                                             (departed(clean_prose(query)),))}
    except sqlite3.OperationalError as exc:
        return f"error: {exc}"


def _generate(seed: int, n_docs: int, n_queries: int) -> tuple[list[tuple[str, str]], list[str]]:
    rng = random.Random(seed)
    docs = [(clean_prose(t), clean_prose(b)) for t, b in make_docs(rng, n_docs)]
    gen = QueryGen(rng, docs)
    queries: list[str] = []
    while len(queries) < n_queries:
        query = gen.expr(rng.choice((0, 1, 1, 2, 2, 3)))
        try:
            parse_query(query)
        except QuerySyntaxError:
            continue  # the few random parenthesisations FTS5 also refuses (checked below)
        queries.append(query)
    return docs, queries


def _ours(queries: list[str], docs: list[tuple[str, str]]) -> list[set[int]]:
    """The documents each query matches, by our matcher (all queries compiled as one book)."""
    matcher = compile_rules(RuleBook(rules=tuple(Rule.from_query(f"q{i}", q)
                                                 for i, q in enumerate(queries))))
    found: list[set[int]] = [set() for _ in queries]
    for d, (title, body) in enumerate(docs):
        for hit in matcher.match(Document(title=title, body=body)):
            found[int(hit.rule_id[1:])].add(d)
    return found


def _parses(query: str) -> bool:
    try:
        parse_query(query)
    except QuerySyntaxError:
        return False
    return True


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_queries_match_exactly_what_fts5_matches(seed: int) -> None:
    docs, queries = _generate(seed, n_docs=70, n_queries=1500)
    db = fts5_table(docs)
    ours = _ours(queries, docs)
    mismatches = []
    positives = 0
    for i, query in enumerate(queries):
        expected = fts5_match(db, query)
        positives += bool(expected)
        if ours[i] != expected:
            mismatches.append((query, expected, ours[i]))
    assert mismatches[:5] == []
    assert positives > len(queries) // 4, "too few matching queries to mean much"


SOUP = ["a", "b", "ab*", '"c d"', "AND", "OR", "NOT", "(", ")", "NEAR(", "NEAR", ",", "2", "*",
        "+", "^", "title:", "body :", "-", "{title}", "{", "}", ":", "x", "near(", "Gedung-Putih"]


def test_random_token_soup_is_accepted_or_rejected_as_fts5_does() -> None:
    rng = random.Random(7)
    db = fts5_table([("a b", "c d")])
    disagreements = []
    for _ in range(4000):
        query = " ".join(rng.choice(SOUP) for _ in range(rng.randint(1, 6)))
        fts5_ok = not isinstance(fts5_match(db, query), str)
        if fts5_ok != _parses(query):
            disagreements.append((query, fts5_ok))
    assert disagreements[:10] == []


def test_near_boundaries_match_fts5() -> None:
    """NEAR with repeated, overlapping, multi-token phrases and distances around the limit."""
    rng = random.Random(11)
    vocab = ["a", "b", "c", "d", "e"]
    docs = [(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 6))),
             " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 24)))) for _ in range(80)]
    queries: list[str] = []
    for _ in range(1200):
        items = []
        for _ in range(rng.randint(1, 4)):
            words = " ".join(rng.choice(vocab) for _ in range(rng.choice((1, 1, 2, 3))))
            items.append(f'"{words}"' + ("*" if rng.random() < 0.1 else ""))
        dist = rng.choice(("", ", 0", ", 1", ", 2", ", 3", ", 4", ", 5"))
        spec = rng.choice(("", "", "title:", "body:"))
        queries.append(f"{spec}NEAR({' '.join(items)}{dist})")
    db = fts5_table(docs)
    ours = _ours(queries, docs)
    expected = [fts5_match(db, q) for q in queries]
    mismatches = [(q, expected[i], ours[i]) for i, q in enumerate(queries)
                  if expected[i] != ours[i]]
    assert mismatches[:5] == []
    assert sum(bool(e) for e in expected) > len(queries) // 3


def _unicode_spaced(query: str, rng: random.Random) -> str:
    """``query`` with each ASCII space replaced by a random no-break or other Unicode space
    (inside quotes too, where FTS5's tokenizer splits on them as on a space)."""
    spaces = sorted(UNICODE_SPACES)
    return "".join(rng.choice(spaces) if ch == " " else ch for ch in query)


def test_unicode_spaces_separate_as_fts5_separates_ascii_spaces() -> None:
    """Our one departure from FTS5: a query pasted with no-break spaces (FTS5 reads
    ``gaza\\u00a0AND\\u00a0ceasefire`` as one phrase) means what it means with ASCII spaces."""
    docs, queries = _generate(4, n_docs=70, n_queries=800)
    rng = random.Random(5)
    spaced = [_unicode_spaced(q, rng) for q in queries]
    assert sum(s != q for s, q in zip(spaced, queries, strict=True)) > len(queries) // 2
    db = fts5_table(docs)
    ours = _ours(spaced, docs)
    expected = [fts5_match(db, q) for q in queries]  # the same query with ASCII spaces
    mismatches = [(s, expected[i], ours[i]) for i, s in enumerate(spaced)
                  if expected[i] != ours[i]]
    assert mismatches[:5] == []
    assert sum(bool(e) for e in expected) > len(queries) // 4


def test_token_soup_with_unicode_spaces_is_accepted_or_rejected_as_with_ascii_ones() -> None:
    rng = random.Random(8)
    db = fts5_table([("a b", "c d")])
    disagreements = []
    for _ in range(2000):
        query = " ".join(rng.choice(SOUP) for _ in range(rng.randint(1, 6)))
        spaced = _unicode_spaced(query, rng)
        fts5_ok = not isinstance(fts5_match(db, query), str)
        if fts5_ok != _parses(spaced):
            disagreements.append((spaced, fts5_ok))
    assert disagreements[:10] == []
