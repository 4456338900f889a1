"""The query language: SQLite FTS5 query syntax over the columns ``title`` and ``body``.

The grammar follows FTS5's own (``fts5parse.y``), so a query means here what it means to
FTS5 and what FTS5 rejects is rejected here, with a clearer message::

    expr      := expr OR expr | expr AND expr | expr NOT expr     NOT > AND > OR, left to right
               | colset ":" "(" expr ")" | "(" expr ")" | cnearset+    side by side: AND
    cnearset  := [colset ":"] nearset
    nearset   := ["^"] phrase | NEAR "(" item+ ["," N] ")" | SENTENCE "(" item+ ")"
    phrase    := STRING ["*"] ("+" STRING ["*"])*  |  @entity       (@entity: our extension)
    colset    := ["-"] (name | "{" name+ "}")

Side-by-side terms are an AND that binds tighter than NOT (``a NOT b c`` is
``a NOT (b AND c)``), and only terms, phrases and NEAR groups may stand side by side:
``(a OR b) c`` is a syntax error, as in FTS5. A STRING is a bareword (letters, digits, ``_``
and any non-ASCII character) or a double-quoted string; it is split into tokens by the
unicode61 tokenizer, and several tokens form a phrase. Operators are upper case only. One
departure from FTS5: a Unicode space (a no-break space, U+3000...: :data:`UNICODE_SPACES`)
separates as a space does rather than being part of a bareword, and typographic double
quotes (“...”, «...», „...“) delimit a string as ``"..."`` does.
``SENTENCE(a b ...)`` (all items in one sentence) is our extension, like ``@entity``: FTS5
rejects it. Two things FTS5 accepts are refused because a rule using them is a mistake: a
string with no token (``""``), and column filters that leave no column (``title:(body:x)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import QuerySyntaxError
from monitor.rules.expr import (
    ALL_FIELDS,
    And,
    EntityRef,
    Expr,
    Filter,
    Near,
    Not,
    Or,
    Phrase,
    PhraseToken,
    Sentence,
)
from monitor.rules.unicode61 import tokenize
from monitor.text import clean_prose, closest

DEFAULT_NEAR = 10
MAX_NEAR = 1_000_000

# Unicode spaces: every space separator (category Zs) but the ASCII space, the line and
# paragraph separators and NEL. FTS5 takes them as bareword characters (any character from
# U+0080 is one), so "gaza\u00a0AND\u00a0ceasefire" would be the single phrase "gaza and
# ceasefire" and match nothing; pasted from a web page, a word processor or a chat, nobody
# means that. Outside double quotes they separate as a space does (inside, the tokenizer
# splits on them as on a space already), and ``monitor check`` notes them.
UNICODE_SPACES = frozenset("\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                           "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WHITESPACE = frozenset(" \t\n\r") | UNICODE_SPACES
_PUNCT = {"(": "LP", ")": "RP", "{": "LCP", "}": "RCP", ":": "COLON", ",": "COMMA",
          "+": "PLUS", "*": "STAR", "-": "MINUS", "^": "CARET"}
_OPERATORS = {"AND", "OR", "NOT"}
_ENTITY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


# Typographic double quotes, as a word processor, a phone keyboard or a Russian, German or
# French writer types them (“Gaza ceasefire”, «перемирие в Газе», „Waffenruhe Gaza“): a
# string as "..." is. FTS5 would read “Gaza and ceasefire” as two barewords with the quote
# marks as token separators, an AND the writer did not mean. The string runs to the next
# closing mark of any of these styles (German closes with “); a " inside is text. Single
# quotes are left alone: ’ is an apostrophe inside Ukrainian words (перемир’я).
_TYPOGRAPHIC_OPEN = frozenset("“„«”")
_TYPOGRAPHIC_CLOSE = "“”»"
QUOTE_MARKS = '"“„«”»'  # every mark that opens or closes a string


def _typographic_end(query: str, start: int) -> int:
    """The offset of the mark closing the typographic string opened at ``start``."""
    for end in range(start + 1, len(query)):
        if query[end] in _TYPOGRAPHIC_CLOSE:
            return end
    raise QuerySyntaxError(f"unterminated string starting at column {start + 1}", start)


@dataclass(frozen=True)
class _Tok:
    kind: str  # STRING, QSTRING, ENTITY, AND, OR, NOT, EOF or a _PUNCT kind
    value: str
    start: int
    end: int


def _non_ascii_class() -> str:
    """The characters from U+0080 up, less :data:`UNICODE_SPACES`, as a regex class body."""
    ranges, start = [], 0x80
    for cp in sorted(map(ord, UNICODE_SPACES)):
        if start < cp:
            ranges.append(f"\\U{start:08x}-\\U{cp - 1:08x}")
        start = cp + 1
    ranges.append(f"\\U{start:08x}-\\U0010ffff")
    return "".join(ranges)


# A bareword: ASCII letters, digits and _, and every character from U+0080 but the Unicode
# spaces, in one regex step.
_BAREWORD = re.compile(f"[A-Za-z0-9_\x1a{_non_ascii_class()}]+")


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch in _PUNCT:
            toks.append(_Tok(_PUNCT[ch], ch, i, i + 1))
            i += 1
        elif ch in _TYPOGRAPHIC_OPEN:
            end = _typographic_end(query, i)
            toks.append(_Tok("QSTRING", query[i + 1:end], i, end + 1))
            i = end + 1
        elif ch == '"':
            j, parts = i + 1, []
            while True:
                end = query.find('"', j)
                if end < 0:
                    raise QuerySyntaxError(f"unterminated string starting at column {i + 1}", i)
                parts.append(query[j:end])
                if query.startswith('"', end + 1):  # "" inside quotes is one quote
                    parts.append('"')
                    j = end + 2
                    continue
                break
            toks.append(_Tok("QSTRING", "".join(parts), i, end + 1))
            i = end + 1
        elif ch == "@":
            j = i + 1
            while j < n and query[j] in _ENTITY_CHARS:
                j += 1
            name = query[i + 1:j]
            if not name:
                raise QuerySyntaxError(f"'@' at column {i + 1} must be followed by an entity id", i)
            if name != name.lower():
                raise QuerySyntaxError(f"entity ids are lower case: write @{name.lower()}", i)
            toks.append(_Tok("ENTITY", name, i, j))
            i = j
        elif found := _BAREWORD.match(query, i):
            j = found.end()
            word = query[i:j]
            toks.append(_Tok(word if word in _OPERATORS else "STRING", word, i, j))
            i = j
        else:
            hint = " (put text with punctuation in double quotes)" if ch.isprintable() else ""
            raise QuerySyntaxError(f"unexpected character {ch!r} at column {i + 1}{hint}", i)
    toks.append(_Tok("EOF", "", n, n))
    return toks


def unicode_spaces(query: str) -> list[int]:
    """The offsets of the :data:`UNICODE_SPACES` that separate terms in ``query``: those
    outside quoted strings (inside, one separates tokens as a space does, for FTS5 too)."""
    if not UNICODE_SPACES.intersection(query):  # nearly every query
        return []
    try:
        strings = [(tok.start, tok.end) for tok in _lex(query) if tok.kind == "QSTRING"]
    except QuerySyntaxError:
        strings = []
    return [i for i, ch in enumerate(query) if ch in UNICODE_SPACES
            and not any(start < i < end for start, end in strings)]


# The deepest query tree accepted: compiling and evaluating walk it recursively, and a few
# hundred nested brackets (or NOTs chained) overflowed Python's stack in every one of them.
MAX_DEPTH = 100


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.i = 0
        self.depth = 0  # brackets open

    # -- helpers ---------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Tok:
        at, toks = self.i + ahead, self.toks
        return toks[at] if at < len(toks) else toks[-1]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok | None = None, hint: str = "") -> QuerySyntaxError:
        tok = tok or self.peek()
        return QuerySyntaxError(f"{message} at column {tok.start + 1}{hint}", tok.start)

    def near(self, tok: _Tok) -> str:
        return "the end of the query" if tok.kind == "EOF" else repr(tok.value)

    def expect(self, kind: str, what: str) -> _Tok:
        if self.peek().kind != kind:
            raise self.error(f"expected {what} but found {self.near(self.peek())}")
        return self.take()

    def misspelt_group(self, tok: _Tok) -> str:
        """``; did you mean NEAR(...)?`` when a word before ``(`` looks like NEAR or SENTENCE
        (``near(``, ``NAER(``: FTS5 takes only the capitals as the group)."""
        before = self.toks[self.i - 1] if tok.kind == "LP" and self.i > 0 else None
        if before is None or before.kind != "STRING":
            return ""
        close = closest(before.value.upper(), ("NEAR", "SENTENCE"))
        return f"; did you mean {close}(...)?" if close else ""

    def starts_cnearset(self) -> bool:
        return self.peek().kind in ("STRING", "QSTRING", "ENTITY", "CARET", "MINUS", "LCP")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.peek().kind == "EOF":
            raise self.error("the query is empty")
        expr = self.parse_or()
        tok = self.peek()
        if tok.kind == "RP":
            raise self.error("unbalanced ')'")
        if tok.kind != "EOF":
            if tok.kind in ("STRING", "QSTRING", "ENTITY", "LP", "CARET", "MINUS", "LCP"):
                raise self.error(f"expected AND, OR or NOT before {self.near(tok)} (only terms, "
                                 "phrases and NEAR groups may stand side by side)",
                                 hint=self.misspelt_group(tok))
            raise self.error(f"unexpected {self.near(tok)}")
        return expr

    def parse_or(self) -> Expr:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Expr:
        children = [self.parse_not()]
        while self.peek().kind == "AND":
            self.take()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self) -> Expr:
        left = self.parse_unit()
        while self.peek().kind == "NOT":
            self.take()
            left = Not(left, self.parse_unit())
        return left

    def parse_unit(self) -> Expr:
        tok = self.peek()
        if tok.kind == "LP":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"brackets nested more than {MAX_DEPTH} deep", tok)
            inner = self.parse_or()
            self.expect("RP", "')'")
            self.depth -= 1
            return inner
        if self.is_colset_start():
            columns = self.parse_colset()
            if self.peek().kind == "LP":
                self.take()
                inner = self.parse_or()
                self.expect("RP", "')'")
                return Filter(columns, inner)
            first: Expr = Filter(columns, self.parse_nearset())
        elif tok.kind in ("AND", "OR", "NOT"):
            raise self.error(f"{tok.value} needs a term on each side")
        elif tok.kind in ("EOF", "RP"):
            raise self.error(f"expected a term but found {self.near(tok)}")
        else:
            first = self.parse_nearset()
        items = [first]
        while self.starts_cnearset():
            if self.is_colset_start():
                columns = self.parse_colset()
                if self.peek().kind == "LP":
                    raise self.error("a field filter with '(...)' cannot follow a term without "
                                     "an operator; write AND before it")
                items.append(Filter(columns, self.parse_nearset()))
            else:
                items.append(self.parse_nearset())
        return items[0] if len(items) == 1 else And(tuple(items))

    def is_colset_start(self) -> bool:
        tok = self.peek()
        if tok.kind in ("MINUS", "LCP"):
            return True
        return tok.kind in ("STRING", "QSTRING") and self.peek(1).kind == "COLON"

    def parse_colset(self) -> frozenset[str]:
        first = self.peek()
        negate = first.kind == "MINUS"
        if negate:
            minus = self.take()
            if self.peek().kind not in ("STRING", "QSTRING", "LCP") or (
                    self.peek().kind != "LCP" and self.peek(1).kind != "COLON"):
                raise self.error("'-' must start a field exclusion such as -title:word; to "
                                 "search for a hyphenated word, quote it: \"Gedung-Putih\"",
                                 minus)
        names: list[_Tok] = []
        if self.peek().kind == "LCP":
            self.take()
            while self.peek().kind in ("STRING", "QSTRING"):
                names.append(self.take())
            if not names:
                raise self.error("expected field names inside '{...}'")
            self.expect("RCP", "'}'")
        else:
            names.append(self.take())
        columns: set[str] = set()
        for name in names:
            field = name.value.lower()
            if field not in ALL_FIELDS:
                raise self.error(f"unknown field {name.value!r} (fields are title and body)", name)
            columns.add(field)
        self.expect("COLON", "':' after the field name")
        result = ALL_FIELDS - columns if negate else frozenset(columns)
        if not result:
            raise self.error("this field filter leaves no field to search", first)
        return result

    def parse_nearset(self) -> Expr:
        tok = self.peek()
        if tok.kind == "CARET":
            self.take()
            item = self.parse_phrase()
            if isinstance(item, EntityRef):
                return EntityRef(item.entity, item.written, caret=True)
            return Phrase(item.tokens, item.written, caret=True)
        if tok.kind == "STRING" and tok.value == "NEAR" and self.peek(1).kind == "LP":
            return self.parse_near()
        if tok.kind == "STRING" and tok.value == "SENTENCE" and self.peek(1).kind == "LP":
            return self.parse_sentence()
        return self.parse_phrase()

    def parse_sentence(self) -> Sentence:
        start = self.take()
        self.take()  # (
        items: list[Phrase | EntityRef] = []
        while self.peek().kind in ("STRING", "QSTRING", "ENTITY"):
            items.append(self.parse_phrase())
        if not items:
            raise self.error("SENTENCE(...) needs at least one term")
        if self.peek().kind == "COMMA":
            raise self.error("SENTENCE(...) takes no distance: its terms share one sentence")
        end = self.expect("RP", "')' to close SENTENCE(")
        return Sentence(tuple(items), self.query[start.start:end.end])

    def parse_near(self) -> Near:
        start = self.take()
        self.take()  # (
        items: list[Phrase | EntityRef] = []
        while self.peek().kind in ("STRING", "QSTRING", "ENTITY"):
            items.append(self.parse_phrase())
        if not items:
            raise self.error("NEAR(...) needs at least one term")
        distance = DEFAULT_NEAR
        if self.peek().kind == "COMMA":
            self.take()
            num = self.peek()
            if num.kind != "STRING" or not num.value.isascii() or not num.value.isdigit():
                raise self.error(f"NEAR distance must be a whole number, not {self.near(num)}")
            self.take()
            distance = int(num.value)
            if distance > MAX_NEAR:
                raise self.error(f"NEAR distance is larger than {MAX_NEAR}", num)
        end = self.expect("RP", "')' to close NEAR(")
        return Near(tuple(items), distance, self.query[start.start:end.end])

    def parse_phrase(self) -> Phrase | EntityRef:
        tok = self.peek()
        if tok.kind == "ENTITY":
            self.take()
            if self.peek().kind in ("STAR", "PLUS"):
                raise self.error(f"an entity cannot take {self.peek().value!r}")
            return EntityRef(tok.value, self.query[tok.start:tok.end])
        if tok.kind not in ("STRING", "QSTRING"):
            raise self.error(f"expected a term but found {self.near(tok)}")
        tokens: list[PhraseToken] = []
        end = tok.end
        while True:
            string = self.take()
            # Cleaned as article text is (composed; Arabic vowel marks, tatweel, soft hyphens
            # and zero-width spaces inside words dropped; a word of two alphabets in one).
            words = tokenize(clean_prose(string.value))
            if not words:
                raise self.error(f"{self.query[string.start:string.end]!r} has no letters or "
                                 "digits to search for", string)
            end = string.end
            prefix = self.peek().kind == "STAR"
            if prefix:
                end = self.take().end
            tokens.extend(PhraseToken(w) for w in words[:-1])
            tokens.append(PhraseToken(words[-1], prefix))
            if self.peek().kind != "PLUS":
                break
            self.take()
            if self.peek().kind not in ("STRING", "QSTRING"):
                raise self.error(f"expected a term after '+' but found {self.near(self.peek())}")
        return Phrase(tuple(tokens), self.query[tok.start:end])


def _check_columns(expr: Expr, allowed: frozenset[str]) -> None:
    if isinstance(expr, Filter):
        inner = allowed & expr.columns
        if not inner:
            raise QuerySyntaxError("nested field filters leave no field to search", 0)
        _check_columns(expr.child, inner)
    elif isinstance(expr, And | Or):
        for child in expr.children:
            _check_columns(child, allowed)
    elif isinstance(expr, Not):
        _check_columns(expr.left, allowed)
        _check_columns(expr.right, allowed)


def query_depth(expr: Expr) -> int:
    """How deep the tree is: brackets, and NOTs chained (without recursion: it is what is
    being checked)."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, And | Or):
            stack.extend((child, depth + 1) for child in node.children)
        elif isinstance(node, Not):
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, Filter):
            stack.append((node.child, depth + 1))
    return deepest


def parse_query(query: str) -> Expr:
    """Parse a query into its syntax tree; raise :class:`QuerySyntaxError` with a column."""
    expr = _Parser(query).parse()
    if query_depth(expr) > MAX_DEPTH:  # NOTs chained (a NOT b NOT c...) nest without brackets
        raise QuerySyntaxError(f"the query is nested more than {MAX_DEPTH} levels deep "
                               "(write a NOT (b OR c ...) rather than a NOT b NOT c ...)", 0)
    _check_columns(expr, ALL_FIELDS)
    return expr
