"""Entity groups: ``includes:`` makes one entity of several, each member's aliases matched as
the member says, problems reported at the group's line, checks read where aliases are written."""

from __future__ import annotations

from pathlib import Path

from monitor.models import Document
from monitor.rules import RuleBook, load_rules
from monitor.rules.checks import mixed_alphabet_problems
from monitor.rules.matcher import compile_rules
from tests.rules.test_loader import messages, write

MEMBERS = """
entities:
  - id: talks
    stem: false                    # as written, even in a stemmed rule
    aliases: [negotiations]
  - id: putin
    aliases: [Putin, Путин*]
  - id: us
    aliases:
      - text: AS                   # Indonesian for the USA, not the English "as"
        case_sensitive: true
      - United States
  - id: russia-side
    includes: [putin]
    aliases: [Kremlin]
  - id: either-side
    includes: ["@russia-side", us]
  - id: all
    includes: [either-side, talks]
"""


def _book(tmp_path: Path, query: str, extra: str = "") -> RuleBook:
    write(tmp_path, "rules.yaml", MEMBERS + extra + f"""
rules:
  - id: r
    query: '{query}'
    stem: true
""")
    return load_rules(tmp_path)


def _matches(book: RuleBook, *texts: str) -> list[bool]:
    matcher = compile_rules(book)
    return [bool(matcher.match(Document(title=text, body="", language="en"))) for text in texts]


def test_a_group_matches_each_members_aliases_as_the_member_says(tmp_path: Path) -> None:
    book = _book(tmp_path, "@all")
    assert book.problems == ()
    assert _matches(book, "Kremlin", "Путину", "Putin's", "AS", "the United States",
                    "negotiations") == [True] * 6
    # Stemmed where the member is (the rule stems), not where it says otherwise.
    assert _matches(book, "negotiation", "as expected", "Vladimir") == [False] * 3
    assert _matches(book, "unite state") == [True]  # United States, stemmed as the rule says


def test_a_group_works_inside_near_and_sentence_and_evidence_names_it(tmp_path: Path) -> None:
    book = _book(tmp_path, "SENTENCE(ceasefire @russia-side @us)")
    matcher = compile_rules(book)
    hits = matcher.match(Document(title="Путин and the United States discuss a ceasefire",
                                  body="", language="en"))
    assert [(e.entity, e.matched) for e in hits[0].evidence if e.entity] == [
        ("russia-side", "Путин"), ("us", "United States")]
    assert _matches(book, "Putin spoke. The United States wants a ceasefire.") == [False]


def test_unknown_members_loops_and_bad_includes_are_reported_at_the_group(
        tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    book = _book(tmp_path, "@broken OR @loop-a", """
  - id: broken
    includes: [putinn, broken, talks]
  - id: loop-a
    includes: [loop-b]
  - id: loop-b
    includes: [loop-a, us]
  - id: empty
    includes: []
  - id: odd
    includes: [{x: 1}, "Not an id"]
  - id: nothing
    type: person
""")
    assert messages(book) == [
        f"{path}:20: entity broken: includes itself",
        f"{path}:20: entity broken: includes unknown entity @putinn; did you mean @putin?",
        f"{path}:24: entity loop-b: includes @loop-a, which includes @loop-b (a loop)",
        f"{path}:27: entity empty: 'includes' must be a non-empty list of entity ids",
        f"{path}:29: entity odd: includes: {{'x': 1}} is not an entity id",
        f"{path}:29: entity odd: includes: 'Not an id' is not an entity id",
        f"{path}:30: entity nothing: 'aliases' is missing (or 'includes', for a group)",
    ]
    # The members that resolve still count: the rule loads and matches through them.
    assert [r.id for r in book.rules] == ["r"]
    assert _matches(book, "negotiations", "the United States", "Kremlin") == [True, True, False]


def test_checks_read_each_alias_where_it_is_written_once(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    # zelensky is named only through the group, yet its alias is checked, at its own line.
    book = _book(tmp_path, "@sides OR @all", """
  - id: zelensky
    aliases: [Зеленcкийs]
  - id: sides
    includes: [zelensky, all]
""")
    assert book.problems == ()
    assert [str(p) for p in mixed_alphabet_problems(book)] == [
        f"{path}:21: entity zelensky: alias 'Зеленcкийs' mixes alphabets (Latin cs among "
        "Cyrillic letters): retype it in one",
    ]


def test_an_unknown_member_is_a_problem_once_a_rule_uses_the_group(tmp_path: Path) -> None:
    # As `monitor init` leaves a folder: the user's own people.yaml, without the bundled
    # people that the bundled sides.yaml names.
    path = write(tmp_path, "sides.yaml", """
        entities:
          - id: us-side
            includes: [us, trump]
    """)
    write(tmp_path, "places.yaml", """
        entities:
          - id: us
            aliases: [United States]
    """)
    assert load_rules(tmp_path).problems == ()
    write(tmp_path, "rule.yaml", """
        rules:
          - id: r
            query: '@us-side'
    """)
    book = load_rules(tmp_path)
    assert messages(book) == [f"{path}:2: entity us-side: includes unknown entity @trump"]
    assert _matches(book, "the United States") == [True]  # its other members still count
