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
    Sentence,
    entity_refs,
)
from monitor.rules.matcher import compile_rules
from monitor.rules.query import DEFAULT_NEAR, UNICODE_SPACES, parse_query, unicode_spaces


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
    # FTS5 reads a no-break space as a bareword character, "gedung putih"; we, as a space
    ("Gedung\u00a0Putih", "(gedung & putih)"),
    ('"Gedung\u00a0Putih"', '"gedung putih"'),
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


# -- no-break and other Unicode spaces ------------------------------------------------------

def test_unicode_spaces_are_the_space_separators_line_and_paragraph_separators_and_nel() -> None:
    import sys
    import unicodedata
    zs = {chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Zs"}
    expected = (zs - {" "}) | {"\u2028", "\u2029", "\u0085"}
    assert expected == UNICODE_SPACES


GAZA_TRUCE = Document(title="t", body="Gaza talks. A ceasefire later.")


def _matches(query: str, doc: Document) -> bool:
    book = RuleBook(rules=(Rule.from_query("x", query),))
    return [h.rule_id for h in compile_rules(book).match(doc)] == ["x"]


@pytest.mark.parametrize("space", sorted(UNICODE_SPACES), ids=lambda c: f"U+{ord(c):04X}")
def test_a_query_pasted_with_unicode_spaces_means_what_it_says(space: str) -> None:
    # FTS5 reads "gaza\u00a0AND\u00a0ceasefire" as the one phrase "gaza and ceasefire".
    query = f"gaza{space}AND{space}ceasefire"
    assert parse_query(query) == parse_query("gaza AND ceasefire")
    assert _matches(query, GAZA_TRUCE)
    assert parse_query(f"gaza{space}ceasefire") == parse_query("gaza ceasefire")
    assert unicode_spaces(query) == [4, 8]


@pytest.mark.parametrize("query", [
    "gaza AND (ceasefire OR truce) NOT football",
    "title:gaza body : ceasefire*",
    "{title body}:(a OR b) AND -title:c",
    'gaza + ceasefire AND "peace plan" *',
    "^gaza AND @us",
])
def test_unicode_spaces_parse_as_ascii_spaces_do(query: str) -> None:
    for space in ("\u00a0", "\u3000", "\u2028", "\u202f\u2009"):
        assert show(parse_query(query.replace(" ", space))) == show(parse_query(query))


def test_near_and_sentence_with_unicode_spaces_keep_their_items() -> None:
    near = parse_query("NEAR\u00a0(gaza\u00a0ceasefire,\u00a03)")
    assert isinstance(near, Near)
    assert show(near) == "NEAR(gaza ceasefire, 3)"
    assert near.written == "NEAR\u00a0(gaza\u00a0ceasefire,\u00a03)"  # as written, for evidence
    sentence = parse_query("SENTENCE(gaza\u2002truce)")
    assert isinstance(sentence, Sentence)
    assert [show(item) for item in sentence.items] == ["gaza", "truce"]


def test_a_quoted_phrase_with_a_no_break_space_is_still_the_phrase() -> None:
    query = '"gencatan\u00a0senjata"'
    expr = parse_query(query)
    assert expr == Phrase((PhraseToken("gencatan"), PhraseToken("senjata")), query)
    assert unicode_spaces(query) == []  # separates there for FTS5 too: nothing to note
    assert _matches(query, Document("Gencatan senjata di Gaza", ""))
    assert not _matches(query, Document("Senjata dan gencatan", ""))
    assert unicode_spaces('"a\u00a0""b""" c\u00a0d') == [11]  # "" stays inside the string


@pytest.mark.parametrize("query", [
    "“gaza ceasefire”",  # English
    "«gaza ceasefire»",  # Russian, French
    "„gaza ceasefire“",  # German
    "„gaza ceasefire”",  # Polish
    "”gaza ceasefire”",  # Swedish
])
def test_typographic_quotes_make_a_phrase_as_straight_ones_do(query: str) -> None:
    # FTS5 would read the marks as separators: gaza AND ceasefire, an article that has both
    # anywhere; the writer meant the phrase.
    assert show(parse_query(query)) == show(parse_query('"gaza ceasefire"'))
    assert _matches(f"{query} AND talks", Document("Gaza ceasefire talks", ""))
    assert not _matches(query, GAZA_TRUCE)
    assert show(parse_query(f"title:{query}* OR «перемир’я» NOT “a AND b”")) == show(
        parse_query('title:"gaza ceasefire"* OR "перемир’я" NOT "a AND b"'))


def test_a_typographic_string_keeps_apostrophes_and_its_spaces_and_must_end() -> None:
    assert show(parse_query("перемир’я")) == show(parse_query('"перемир’я"'))  # not a quote
    assert unicode_spaces("«gencatan\u00a0senjata» a\u00a0b") == [20]
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("gaza AND “ceasefire talks")
    assert "unterminated string starting at column 10" in str(caught.value)


@pytest.mark.parametrize(("query", "message", "column"), [
    ("gaza\u00a0AND\u00a0", "expected a term but found the end of the query", 9),
    ("a\u00a0(b)", "expected AND, OR or NOT before '('", 2),
    ("NOT\u3000a", "NOT needs a term on each side", 0),
    ("a\u00a0b.c", "unexpected character '.' at column 4", 3),
])
def test_errors_after_unicode_spaces_keep_their_columns(query: str, message: str,
                                                        column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert message in str(caught.value)
    assert caught.value.column == column
