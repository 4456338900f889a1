"""``tests:`` examples, ``notify:`` channel names, lower-case operators, words mixing
alphabets and Unicode spaces in queries, as ``monitor check`` verifies them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.errors import RuleProblem
from monitor.models import Document
from monitor.rules import RuleBook, alias_problems, load_rules, parse_query, rule_warnings
from monitor.rules.checks import (
    channel_problems,
    invisible_problems,
    mixed_alphabet_problems,
    operator_word_problems,
    query_notes,
    run_rule_tests,
    unicode_space_note,
    unicode_space_problems,
)
from monitor.rules.matcher import compile_rules
from monitor.rules.spellings import zwnj_problems
from tests.cli_support import cli

RULES = """
entities:
  - id: us
    aliases: [Amerika Serikat, {text: AS, case_sensitive: true}]
rules:
  - id: us-russia
    query: '@us AND Rusia'
    languages: [id]
    notify: [team-chat, pager]
    tests:
      match:
        - AS dan Rusia gelar negosiasi        # no lang: the languages filter is not applied
        - Rusia saja                           # fails: no @us
        - title: AS dan Rusia
          lang: en                             # fails: declared English, rule wants id
      no_match:
        - As Rusia sees it                     # holds: "As" is not AS
        - Amerika Serikat dan Rusia            # fails: it matches
"""


def load_clean(tmp_path: Path, text: str) -> tuple[Path, RuleBook]:
    """``text`` (dedented) as ``r.yaml``, loaded; the file must load without a problem."""
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    book = load_rules(tmp_path)
    assert book.problems == ()
    return path, book


def test_each_failing_example_is_one_problem_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(RULES).lstrip(), encoding="utf-8")
    book = load_rules(tmp_path)
    assert book.problems == ()
    problems = run_rule_tests(book, compile_rules(book))
    assert [str(p) for p in problems] == [
        f"{path}:12: rule us-russia: match example 2 'Rusia saja' does not match",
        f"{path}:13: rule us-russia: match example 3 'AS dan Rusia' does not match",
        f"{path}:17: rule us-russia: no_match example 2 'Amerika Serikat dan Rusia' matches "
        "(on @us, Rusia)",
    ]
    assert {p.rule_id for p in problems} == {"us-russia"}


def test_notify_names_unknown_channels(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent(RULES).lstrip(), encoding="utf-8")
    book = load_rules(tmp_path)
    assert [str(p) for p in channel_problems(book, {"team-chat"})] == [
        f"{path}:5: rule us-russia: notify: unknown channel 'pager' (configured: team-chat)"]
    assert channel_problems(book, {"team-chat", "pager"}) == []


def test_aliases_that_can_never_match_are_reported(tmp_path: Path) -> None:
    from monitor.rules import alias_problems, load_rules
    (tmp_path / "r.yaml").write_text(
        "entities:\n"
        "  - id: putin\n"
        "    aliases: [Путин*, 'Пу*тин', {text: Putin, case_sensitive: true, stem: true}]\n"
        "rules:\n"
        "  - id: r\n"
        "    query: '@putin'\n", encoding="utf-8")
    book = load_rules(tmp_path)
    assert [p.message for p in book.problems] == [
        "entity putin: alias 'Пу*тин' can never match: '*' makes a prefix only right after "
        "a word (Путин*, мирн* план*)"]
    assert alias_problems(book) == []
    assert [a.prefix for a in book.entities[0].aliases] == [True, False]


def test_operators_in_lower_case_are_problems_unless_quoted(tmp_path: Path) -> None:
    # FTS5 searches them as words: "gaza and ceasefire" needs "and" in the article.
    path, book = load_clean(tmp_path, """
        rules:
          - id: lower
            query: gaza and ceasefire or truce
          - id: near
            query: NEAR(gaza Near truce, 5) AND title:(x not y)
          - id: quoted
            query: '"and" AND "or" AND gaza AND "not" AND band AND nor'
    """)
    assert [str(p) for p in operator_word_problems(book)] == [
        f"{path}:2: rule lower: 'and' is searched as a word, not as the operator AND: write "
        'AND, or "and" in quotes to search the word',
        f"{path}:2: rule lower: 'or' is searched as a word, not as the operator OR: write OR, "
        'or "or" in quotes to search the word',
        f"{path}:4: rule near: 'Near' is searched as a word, not as the operator NEAR: write "
        'NEAR, or "Near" in quotes to search the word',
        f"{path}:4: rule near: 'not' is searched as a word, not as the operator NOT: write "
        'NOT, or "not" in quotes to search the word',
    ]


def test_a_near_of_one_term_or_with_its_distance_as_a_word_is_a_problem(tmp_path: Path) -> None:
    """FTS5 reads NEAR(gaza hamas 5) as three terms within 10 words (the word "5" needed:
    alerts silently missed), and NEAR(gaza, 5) as gaza anywhere."""
    path, book = load_clean(tmp_path, """
        rules:
          - id: comma
            query: NEAR(gaza hamas 5) OR title:(NEAR(gaza, 5))
          - id: meant
            query: NEAR(gaza hamas, 5) OR NEAR(gaza "5" hamas) OR NEAR(gaza hamas "5")
          - id: between
            query: gaza NEAR hamas
    """)
    assert [str(p) for p in rule_warnings(book)] == [
        f"{path}:6: rule between: 'NEAR' is searched as a word: NEAR takes its terms in "
        'brackets, NEAR(a b) or NEAR(a b, 5) (or "NEAR" in quotes to search the word)',
        f"{path}:2: rule comma: NEAR(gaza hamas 5) searches the word '5' near the others "
        "(within 10 words): for a distance of 5, write NEAR(gaza hamas, 5)",
        f"{path}:2: rule comma: NEAR(gaza, 5) holds one term, so it matches that term "
        "anywhere: put two or more terms in it"]


def test_stem_true_in_languages_without_a_stemmer_is_a_problem(tmp_path: Path) -> None:
    """Belarusian has no stemmer: ``stem: true`` in a Belarusian-only rule stems nothing,
    and "перамовах" goes unmatched with no sign why."""
    path, book = load_clean(tmp_path, """
        rules:
          - id: be
            query: перамовы
            languages: [be]
            stem: true
          - id: be-he
            query: перамовы
            languages: [be, he]
            stem: true
          - id: be-ru
            query: перамовы
            languages: [be, ru]
            stem: true
          - id: every
            query: перамовы
            stem: true
          - id: exact
            query: перамовы
            languages: [be]
    """)
    assert [str(p) for p in rule_warnings(book)] == [
        f"{path}:2: rule be: stem: true does nothing in be: no stemmer for it (see "
        'rules/README.md, "Stemming"); write prefix terms (word*) or list the forms',
        f"{path}:6: rule be-he: stem: true does nothing in be, he: no stemmer for them (see "
        'rules/README.md, "Stemming"); write prefix terms (word*) or list the forms; '
        "proclitics: true finds Hebrew words with a prefix joined (בישראל)"]
    # The stemmed Russian half, no languages (every stemmer) and no stem: nothing to say.
    # The note is right: in a Belarusian article no rule finds the inflected form (the rule
    # without languages stems it in every language that has a stemmer, Belarusian not one).
    matcher = compile_rules(book)
    assert matcher.match(Document("На перамовах", "", language="be")) == []


def test_a_star_inside_a_word_or_a_weight_is_a_problem(tmp_path: Path) -> None:
    """Zelen*kyy, meant to cover Zelensky and Zelenskyy, is read as Zelen* AND kyy; gaza^2,
    a weight elsewhere, as gaza AND a field starting with 2."""
    path, book = load_clean(tmp_path, """
        rules:
          - id: inner
            query: Zelen*kyy OR Ukraine
          - id: weight
            query: gaza^2 OR truce
          - id: fine
            query: Zelen* OR "a*b" OR Ukrain* OR ^Gaza OR "x^2"
    """)
    assert [str(p) for p in rule_warnings(book)] == [
        f"{path}:2: rule inner: 'Zelen*kyy' is searched as Zelen* and kyy: a * makes a prefix "
        "only at the end of a word (write Zelen*, or each spelling with OR)",
        f"{path}:4: rule weight: 'gaza^2' is searched as gaza and a title or body starting "
        "with 2: ^ marks a field's first word, not a weight (write gaza)"]


def test_words_mixing_look_alike_letters_of_two_alphabets_are_problems(tmp_path: Path) -> None:
    # Typed with the wrong keyboard layout: a Greek ο in Doha never matches the printed name.
    # A Latin and Cyrillic mix that cleaning writes in one alphabet (a Latin y in Путин, a c
    # in Зеленский) is read as the word, so it is not one; a mix it cannot is.
    path, book = load_clean(tmp_path, """
        entities:
          - id: zelensky
            aliases: [Зеленский, Зеленcкий, Зеленcкийs]
          - id: unused
            aliases: [Dοha]
          - id: chuvash
            aliases: [Федеративлă]
        rules:
          - id: putin
            query: Пyтин AND @zelensky AND @chuvash AND Kyiv AND Київ AND Dοha
    """)
    assert sorted(str(p) for p in mixed_alphabet_problems(book)) == [
        f"{path}:3: entity zelensky: alias 'Зеленcкийs' mixes alphabets (Latin cs among "
        "Cyrillic letters): retype it in one",
        f"{path}:9: rule putin: 'Dοha' mixes alphabets (Greek ο among Latin letters): "
        "retype it in one",
    ]
    matcher = compile_rules(book)
    assert matcher.match(Document(title="Путин, Зеленский, Федеративлă, Kyiv, Київ, Dοha", body=""))


def test_words_hiding_an_invisible_character_that_splits_them_are_problems(
        tmp_path: Path) -> None:
    # Cleaning drops a soft hyphen or zero-width space inside a word (it reads as the word);
    # what it keeps, as a zero-width joiner or a left-to-right mark, splits the word in two.
    path, book = load_clean(tmp_path, """
        entities:
          - id: doha
            aliases: ["Do\\u200dha", Doha]
          - id: unused
            aliases: ["Ga\\u200dza"]
        rules:
          - id: t
            query: '"Qa\u200etar" AND @doha AND "Ga\u00adza" AND "ข่าว\u200bการเมือง"
                    AND "نخست\u200cوزیر"'
    """)
    assert sorted(str(p) for p in invisible_problems(book)) == [
        f"{path}:3: entity doha: alias 'Do\\u200dha' has an invisible zero width joiner "
        "(U+200D) inside a word, which splits it (searched as 'do ha'): texts without it "
        "write one word: delete it",
        f"{path}:7: rule t: '\"Qa\\u200etar\"' has an invisible left-to-right mark (U+200E) "
        "inside a word, which splits it (searched as 'qa tar'): texts without it write one "
        "word: delete it",
    ]
    assert {str(p) for p in invisible_problems(book)} <= {str(p) for p in rule_warnings(book)}
    notes = query_notes(parse_query("Ga\u200dza AND Gaza"))
    assert any("U+200D" in note for note in notes)


@pytest.mark.parametrize(("check", "rules", "expected"), [
    # A zero-width non-joiner ends a token (as in SQLite); Persian texts as often leave it out
    # and write one word.
    (zwnj_problems, """
        entities:
          - id: ps
            aliases: ["سرزمین\u200cهای فلسطینی", "سرزمینهای فلسطینی"]
          - id: alone
            aliases: ["می\u200cخواهد"]
        rules:
          - id: r
            query: (@ps OR @alone OR "نخست\u200cوزیر") AND x
    """, [
        "5: entity alone: alias 'می\\u200cخواهد' has a zero-width non-joiner, which ends a "
        "word: texts that leave it out write one word: add 'میخواهد' beside it",
        "7: rule r: '\"نخست\\u200cوزیر\"' has a zero-width non-joiner, which ends a word: "
        "texts that leave it out write one word: add '\"نخستوزیر\"' beside it",
    ]),
])
def test_words_written_one_way_only_are_problems(
        tmp_path: Path, check: Callable[[RuleBook], list[RuleProblem]], rules: str,
        expected: list[str]) -> None:
    """A word written one way only misses the texts that write it the other way: each term
    and alias without its sibling spelling is named, as ``monitor check`` names it."""
    path, book = load_clean(tmp_path, rules)
    assert sorted(str(p) for p in check(book)) == [f"{path}:{line}" for line in expected]
    assert {str(p) for p in check(book)} <= {str(p) for p in rule_warnings(book)}


def test_an_example_is_cleaned_as_the_daemon_cleans_an_article(tmp_path: Path) -> None:
    # A soft hyphen (German and Dutch pages have them) is removed from an article's text
    # before matching; an example holding one must hold as that article would.
    _path, book = load_clean(tmp_path, """
        rules:
          - id: truce
            query: gencatan
            tests:
              match:
                - "gen\\u00adcatan senjata"
                - title: "Gaza"
                  body: "gen\\u00adcatan senjata"
    """)
    assert run_rule_tests(book, compile_rules(book)) == []


# -- no-break and other Unicode spaces (pasted from web pages, word processors, chats) ------

def test_a_query_with_unicode_spaces_gets_one_note_naming_the_first() -> None:
    assert unicode_space_note("gaza\u00a0AND\u00a0ceasefire") == (
        "query has a no-break space (U+00A0) at column 5 and 1 more Unicode space: read as "
        "spaces")
    assert unicode_space_note("Gaza AND\u3000ceasefire") == (
        "query has an ideographic space (U+3000) at column 9: read as a space")
    assert unicode_space_note("a\u202fb\u2009c\u2028d") == (
        "query has a narrow no-break space (U+202F) at column 2 and 2 more Unicode spaces: "
        "read as spaces")
    assert unicode_space_note("a\x85b") == (
        "query has a next line character (U+0085) at column 2: read as a space")
    # Inside quotes a no-break space separates tokens for FTS5 too: nothing changed, no note.
    assert unicode_space_note('"gencatan\u00a0senjata" AND gaza') is None
    assert unicode_space_note("gaza AND ceasefire") is None


def test_query_notes_name_unicode_spaces_given_the_query() -> None:
    query = "gaza and\u00a0ceasefire"
    expr = parse_query(query)
    assert query_notes(expr, query) == [
        "'and' is searched as a word, not as the operator AND: write AND, or \"and\" in "
        "quotes to search the word",
        "query has a no-break space (U+00A0) at column 9: read as a space"]
    assert query_notes(expr) == query_notes(expr)[:1]  # without the text, only what the tree says


NBSP_RULES = """
    rules:
      - id: truce
        query: gaza\u00a0AND\u00a0ceasefire
        tests:
          match: ["Gaza talks. A ceasefire later."]
          no_match: ["Gaza talks"]
"""


def test_a_rule_file_query_with_no_break_spaces_loads_matches_and_is_noted(
        tmp_path: Path) -> None:
    # The no-break spaces are in the file as pasted, not as YAML escapes.
    path, book = load_clean(tmp_path, NBSP_RULES.replace("\\u00a0", "\u00a0"))
    assert "\u00a0" in book.rules[0].query
    matcher = compile_rules(book)
    assert [h.rule_id for h in matcher.match(Document("t", "Gaza talks. A ceasefire later."))] \
        == ["truce"]
    assert matcher.match(Document("t", "Gaza talks")) == []
    assert run_rule_tests(book, matcher) == []
    note = ("rule truce: query has a no-break space (U+00A0) at column 5 and 1 more Unicode "
            "space: read as spaces")
    assert [str(p) for p in unicode_space_problems(book)] == [f"{path}:2: {note}"]
    assert [str(p) for p in rule_warnings(book)] == [f"{path}:2: {note}"]


def test_monitor_check_prints_the_unicode_space_note_at_the_rule_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./monitor.yaml
    rules = tmp_path / "rules"
    rules.mkdir()
    path = rules / "r.yaml"
    path.write_text(textwrap.dedent(NBSP_RULES.replace("\\u00a0", "\u00a0")).lstrip(),
                    encoding="utf-8")
    code, out, _ = cli("check", str(rules))
    assert out.splitlines() == [
        f"{path}:2: rule truce: query has a no-break space (U+00A0) at column 5 and 1 more "
        "Unicode space: read as spaces"]
    assert code == 1  # as for every warning: valid, but rarely what was meant


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u3000", "\u2009"])
def test_an_alias_with_a_no_break_space_matches_the_name_with_a_space(
        tmp_path: Path, space: str) -> None:
    # The tokenizer splits on every Unicode space, in an alias as in the text.
    _path, book = load_clean(tmp_path, f"""
        entities:
          - id: us
            aliases: [Amerika{space}Serikat, {{text: AS{space}RI, case_sensitive: true}}]
        rules:
          - id: us
            query: '@us'
            tests:
              match: [Amerika Serikat dan Rusia, "Amerika{space}Serikat", AS RI]
              no_match: [Amerika dan Serikat, as ri]
    """)
    assert book.entities[0].aliases[0].tokens == ("amerika", "serikat")
    assert run_rule_tests(book, compile_rules(book)) == []
    assert alias_problems(book) == []
    assert rule_warnings(book) == []


def test_a_cyrillic_or_arabic_word_in_a_rule_that_does_not_say_stem_is_noted(
        tmp_path: Path) -> None:
    """"переговоры" written whole misses "переговорах" and "غزة" misses "بغزة" ("in Gaza"),
    with no sign why; a rule that says ``stem:`` either way has chosen, and a prefix, an
    acronym, a Latin word or a language without a stemmer need no stemming."""
    path, book = load_clean(tmp_path, """
        rules:
          - id: ru
            query: США AND переговоры
          - id: ar
            query: 'NEAR(Qatar "في غزة", 5)'
          - id: chosen
            query: переговоры
            stem: false
          - id: stemmed
            query: переговоры
            stem: true
          - id: quiet
            query: переговор* OR ХАМАС OR "США" OR Gaza
          - id: belarusian
            query: перамовы
            languages: [be]
    """)
    assert [str(p) for p in rule_warnings(book)] == [
        f"{path}:3: rule ru: 'переговоры' matches only as written, not its inflected forms "
        '(переговорах for переговоры): add stem: true (see rules/README.md, "Stemming") or a '
        "prefix (word*), or say stem: false where the exact words are meant",
        f"{path}:5: rule ar: 'في غزة' matches only as written, not with the article or a "
        "particle joined to it (الهدنة for هدنة, بغزة for غزة): add stem: true (see "
        'rules/README.md, "Stemming": it takes the article off) and proclitics: true (for '
        "the particles), or say stem: false where the exact words are meant"]
    matcher = compile_rules(book)
    assert [h.rule_id for h in matcher.match(Document("США", "На переговорах в Катаре"))] == [
        "stemmed", "quiet"]
