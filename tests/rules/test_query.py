"""The query parser: FTS5's grammar and precedence, our extensions, and clear errors."""

from __future__ import annotations

import pytest

from monitor.errors import QuerySyntaxError
from monitor.models import Document
from monitor.rules import Rule, RuleBook
from monitor.rules.expr import (
    And,
    EntityRef,
    Expr,
    Filter,
    Near,
    Not,
    Or,
    Phrase,
    PhraseToken,
    entity_refs,
)
from monitor.rules.matcher import compile_rules
from monitor.rules.query import DEFAULT_NEAR, parse_query


def show(expr: Expr) -> str:
    """A compact rendering that makes grouping visible."""
    if isinstance(expr, Phrase):
        words = " ".join(t.text + ("*" if t.prefix else "") for t in expr.tokens)
        return ("^" if expr.caret else "") + (words if len(expr.tokens) == 1 else f'"{words}"')
    if isinstance(expr, EntityRef):
        return f"@{expr.entity}"
    if isinstance(expr, Near):
        return f"NEAR({' '.join(show(i) for i in expr.items)}, {expr.distance})"
    if isinstance(expr, Filter):
        return f"{'+'.join(sorted(expr.columns))}:{show(expr.child)}"
    if isinstance(expr, And):
        return "(" + " & ".join(show(c) for c in expr.children) + ")"
    if isinstance(expr, Or):
        return "(" + " | ".join(show(c) for c in expr.children) + ")"
    assert isinstance(expr, Not)
    return f"({show(expr.left)} - {show(expr.right)})"


@pytest.mark.parametrize(("query", "tree"), [
    ("a OR b c", "(a | (b & c))"),
    ("a NOT b c", "(a - (b & c))"),
    ("a AND b NOT c", "(a & (b - c))"),
    ("a NOT b NOT c", "((a - b) - c)"),
    ("a OR b AND c OR d", "(a | (b & c) | d)"),
    ("(a OR b) AND c", "((a | b) & c)"),
    ('"gencatan senjata" Gaza', '("gencatan senjata" & gaza)'),
    ("title:a b", "(title:a & b)"),
    ("title:(a OR b)", "title:(a | b)"),
    ("-title:a", "body:a"),
    ("{title body}:a", "body+title:a"),
    ("TITLE : a", "title:a"),
    ("negosia*", "negosia*"),
    ("negosia *", "negosia*"),
    ('"peace plan"*', '"peace plan*"'),
    ("a* + b", '"a* b"'),
    ("^Gaza", "^gaza"),
    ("NEAR(a b)", f"NEAR(a b, {DEFAULT_NEAR})"),
    ('NEAR(a "b c" @us, 3)', 'NEAR(a "b c" @us, 3)'),
    ("NEAR (a b,0)", "NEAR(a b, 0)"),
    ("near OR and", "(near | and)"),  # lower-case operators are words
    ("NEAR", "near"),
    ("Gedung\u00a0Putih", '"gedung putih"'),  # a non-ASCII space is a bareword character
    ("Erdoğan ПУТИН", "(erdogan & путин)"),
    ('"say ""hi"""', '"say hi"'),
    ("@us AND @qatar-gov", "(@us & @qatar-gov)"),
])
def test_precedence_and_forms_follow_fts5(query: str, tree: str) -> None:
    assert show(parse_query(query)) == tree


def test_phrase_remembers_how_it_was_written_for_evidence() -> None:
    expr = parse_query('("gencatan senjata" OR ceasefire*) AND @qatar')
    assert isinstance(expr, And)
    first = expr.children[0]
    assert isinstance(first, Or)
    assert [c.written for c in first.children] == ['"gencatan senjata"', "ceasefire*"]  # type: ignore[union-attr]
    assert first.children[1] == Phrase((PhraseToken("ceasefire", True),), "ceasefire*")
    assert [r.entity for r in entity_refs(expr)] == ["qatar"]


@pytest.mark.parametrize(("query", "message", "column"), [
    ("(a OR b) c", "expected AND, OR or NOT before 'c'", 9),
    ("a (b)", "expected AND, OR or NOT before '('", 2),
    ("Gedung-Putih", 'quote it: "Gedung-Putih"', 6),
    ("a.b", "unexpected character '.'", 1),
    ("don't", "put text with punctuation in double quotes", 3),
    ("NOT a", "NOT needs a term on each side", 0),
    ("a AND", "expected a term but found the end of the query", 5),
    ("(a", "expected ')'", 2),
    ("a)", "unbalanced ')'", 1),
    ('"open', "unterminated string", 0),
    ('""', "has no letters or digits", 0),
    ("a _", "has no letters or digits", 2),
    ("x:a", "unknown field 'x'", 0),
    ("title:(body:a)", "leave no field", 0),
    ("-{title body}:a", "leaves no field", 0),
    ("NEAR(a b, x)", "NEAR distance must be a whole number", 10),
    ("NEAR()", "NEAR(...) needs at least one term", 5),
    ("near(a b)", "expected AND, OR or NOT before '('", 4),
    ("NAER(a b, 5)", "side by side) at column 5; did you mean NEAR(...)?", 4),
    ("gaza sentense(a b)", "at column 14; did you mean SENTENCE(...)?", 13),
    ("@Qatar", "entity ids are lower case", 0),
    ("@", "must be followed by an entity id", 0),
    ("@us*", "an entity cannot take '*'", 3),
    ("", "the query is empty", 0),
])
def test_errors_say_what_and_where(query: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert message in str(caught.value)
    assert caught.value.column == column


def test_no_group_is_suggested_for_a_plain_word_before_a_parenthesis() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("gaza (truce OR ceasefire)")
    assert "did you mean" not in str(caught.value)


def test_quoted_operators_and_near_are_words() -> None:
    assert show(parse_query('"AND" "NEAR"')) == "(and & near)"


@pytest.mark.parametrize("query", [
    "(" * 101 + "gaza" + ")" * 101,
    "(" * 5000 + "gaza" + ")" * 5000,  # was a RecursionError in the parser
    "gaza" + " NOT w" * 101,  # NOTs chained nest the tree without brackets
    " AND ".join(f"(gaza OR w{i}" for i in range(101)) + ")" * 101,
])
def test_a_query_nested_too_deep_is_a_syntax_error(query: str) -> None:
    with pytest.raises(QuerySyntaxError, match="nested more than 100"):
        parse_query(query)


def test_a_query_nested_100_deep_compiles_and_matches() -> None:
    # Each (x OR ... AND ...) level is two levels of the tree (an AND holding an OR).
    query = " AND ".join(f"(gaza OR w{i}" for i in range(49)) + ")" * 49
    book = RuleBook(rules=(Rule.from_query("deep", query),))
    hits = compile_rules(book).match(Document("gaza", ""))
    assert [h.rule_id for h in hits] == ["deep"]
