"""Loading rule files: good rules load, every problem is reported as path:line: message."""

from __future__ import annotations

import logging
import os
import textwrap
from pathlib import Path

import pytest

from monitor.models import MAX_RULE_ID_CHARS, MAX_RULE_NAME_CHARS
from monitor.rules import Example, Rule, RuleBook, load_rules, rule_warnings, rule_yaml
from monitor.rules.regex import MAX_PATTERN_BYTES


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def messages(book: RuleBook) -> list[str]:
    return [str(p) for p in book.problems]


ENTITIES = """
entities:
  - id: qatar
    type: country
    aliases: [Qatar, Katar, "قطر"]
  - id: us
    type: country
    aliases:
      - Amerika Serikat
      - text: AS
        case_sensitive: true
"""


def test_rules_and_entities_load_from_all_files_recursively(tmp_path: Path) -> None:
    write(tmp_path, "entities/places.yaml", ENTITIES)
    write(tmp_path, "topics/gaza.yml", """
        rules:
          - id: gaza
            name: Gaza ceasefire
            query: '("gencatan senjata" OR ceasefire) AND @qatar'
            languages: [ID, en-US]
            notify: [team-chat, team-chat]
            delivery: digest
            max_per_hour: 5
            tests:
              match: ["Qatar desak gencatan senjata"]
              no_match:
                - title: Timnas Qatar kalah
                  body: di Piala Dunia
                  lang: id
    """)
    write(tmp_path, ".hidden/skipped.yaml", "rules: [oops")
    write(tmp_path, "notes.txt", "not a rule file")
    book = load_rules(tmp_path)
    assert book.problems == ()
    assert [e.id for e in book.entities] == ["qatar", "us"]
    assert book.entity("us") is not None
    assert book.entity("us").aliases[1].case_sensitive  # type: ignore[union-attr]
    [rule] = book.rules
    assert (rule.id, rule.name, rule.languages, rule.notify) == (
        "gaza", "Gaza ceasefire", ("id", "en"), ("team-chat",))
    assert (rule.delivery, rule.max_per_hour) == ("digest", 5)
    assert rule.path == str(tmp_path / "topics/gaza.yml") and rule.line == 2
    assert rule.tests.match == (Example("Qatar desak gencatan senjata", line=10),)
    assert rule.tests.no_match == (Example("Timnas Qatar kalah", "di Piala Dunia", "id", 12),)


def test_a_single_file_loads_and_defaults_apply(tmp_path: Path) -> None:
    path = write(tmp_path, "one.yaml", """
        rules:
          - id: r1
            query: a
    """)
    [rule] = load_rules(path).rules
    assert (rule.name, rule.languages, rule.stem, rule.regex, rule.delivery) == (
        "r1", (), False, (), None)


def test_a_single_file_may_use_the_entities_of_its_rules_folder(tmp_path: Path) -> None:
    """``monitor backtest --rules rules/topics/gaza.yaml``: the file's rules, with the entities
    of the folder's other files (their rules not loaded), the file's own entities once."""
    write(tmp_path, "entities/places.yaml", """
        entities:
          - id: gaza
            aliases: [Gaza, Газа]
    """)
    write(tmp_path, "topics/other.yaml", """
        rules:
          - id: other
            query: '@gaza'
    """)
    topic = write(tmp_path, "topics/gaza.yaml", """
        entities:
          - id: truce
            aliases: [truce, ceasefire]
        rules:
          - id: gaza
            query: '@gaza AND @truce'
    """)
    alone = load_rules(topic)
    assert [p.message for p in alone.problems] == ["rule gaza: unknown entity @gaza"]
    book = load_rules(topic, entities_from=tmp_path)
    assert book.problems == () and [r.id for r in book.rules] == ["gaza"]
    assert sorted(e.id for e in book.entities) == ["gaza", "truce"]
    # A folder is read whole, and the folder itself adds nothing twice.
    assert load_rules(tmp_path, entities_from=tmp_path).problems == ()


def test_every_problem_is_reported_with_its_line_and_good_rules_still_load(
        tmp_path: Path) -> None:
    write(tmp_path, "entities.yaml", ENTITIES)
    path = write(tmp_path, "rules.yaml", """
        rules:
          - id: good
            query: Qatar
          - id: side-by-side
            query: (a OR b) c
          - id: unknown-entity
            query: '@nobody AND x'
          - id: typo
            query: x
            langauges: [id]
          - id: Bad Id
            query: x
          - id: bad-language
            query: x
            languages: [indonesian, zz]
          - id: bad-delivery
            query: x
            delivery: sometimes
            max_per_hour: 0
          - id: no-query
          - id: good
            query: y
          - id: block
            query: |
              a AND
              (b OR
    """)
    book = load_rules(tmp_path)
    p = str(path)
    assert [r.id for r in book.rules] == ["good"]
    assert messages(book) == [
        f"{p}:5: rule side-by-side: query: expected AND, OR or NOT before 'c' (only terms, "
        "phrases and NEAR groups may stand side by side) at column 10",
        f"{p}:7: rule unknown-entity: unknown entity @nobody",
        f"{p}:10: rule typo: unknown field 'langauges'; did you mean languages? (known: id, "
        "name, query, languages, notify, stem, proclitics, regex, tests, delivery, max_per_hour)",
        f"{p}:11: rule Bad Id: id 'Bad Id' must use only a-z, 0-9, _ and -",
        f"{p}:15: rule bad-language: 'indonesian' is a language's name, not a language "
        "code: write id",
        f"{p}:15: rule bad-language: 'zz' is not an ISO 639-1 language code (id, en, ru, uk, "
        "ar...)",
        f"{p}:18: rule bad-delivery: delivery must be immediate or digest",
        f"{p}:19: rule bad-delivery: 'max_per_hour' must be a whole number of at least 1",
        f"{p}:20: rule no-query: 'query' is missing",
        f"{p}:21: rule good: duplicate id (first defined at {p}:2)",
        f"{p}:26: rule block: query: expected a term but found the end of the query at column 13",
    ]
    assert {pr.rule_id for pr in book.problems} == {
        "side-by-side", "unknown-entity", "typo", "Bad Id", "bad-language", "bad-delivery",
        "no-query", "good", "block"}


def test_an_id_defined_again_after_a_broken_definition_is_a_duplicate(tmp_path: Path) -> None:
    """Else the second `gaza` would load silently, and fixing the first later would turn up
    the clash (and the daemon would have run the wrong rule meanwhile)."""
    path = write(tmp_path, "a.yaml", """\
        entities:
          - id: qatar
            aliases: []
          - id: qatar
            aliases: [Qatar]
        rules:
          - id: gaza
            query: gaza AND
          - id: gaza
            query: gaza
    """)
    book = load_rules(tmp_path)
    p = str(path)
    assert messages(book) == [
        f"{p}:3: entity qatar: 'aliases' must be a non-empty list",
        f"{p}:4: entity qatar: duplicate id (first defined at {p}:2)",
        f"{p}:8: rule gaza: query: expected a term but found the end of the query at column 9",
        f"{p}:9: rule gaza: duplicate id (first defined at {p}:7)",
    ]
    assert book.rules == () and book.entities == ()


def test_sec_E5_regexes_re2_cannot_run_are_load_problems_naming_the_rule(tmp_path: Path) -> None:
    """E5: back-reference, look-ahead, look-behind, repetition over 1000, unbalanced '('."""
    patterns = [r"(a)\1", "(?=x)", "(?<!x)", "a{1001}", "(", "a" * (MAX_PATTERN_BYTES + 1)]
    rules = "\n".join(f"  - id: e5-{i}\n    query: a\n    regex: ['{p}']"
                      for i, p in enumerate(patterns))
    write(tmp_path, "e5.yaml", f"rules:\n  - id: fine\n    query: a\n    regex: ['^(a+)+$']\n"
                               f"{rules}\n")
    book = load_rules(tmp_path)
    assert [r.id for r in book.rules] == ["fine"]
    assert [p.rule_id for p in book.problems] == [f"e5-{i}" for i in range(len(patterns))]
    text = messages(book)
    assert "invalid escape sequence: \\1" in text[0]
    assert "invalid perl operator: (?=" in text[1]
    assert "invalid perl operator: (?<" in text[2]
    assert "invalid repetition size: {1001}" in text[3]
    assert "missing )" in text[4]
    assert f"the limit is {MAX_PATTERN_BYTES}" in text[5]
    assert all(f"rule e5-{i}: regex" in m for i, m in enumerate(text))


def test_duplicate_entities_bad_aliases_and_duplicate_keys(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ENTITIES)
    path = write(tmp_path, "b.yaml", """
        entities:
          - id: qatar
            aliases: [Doha]
          - id: gaza
            aliases: [Gaza, "—", {text: Ghazzah, case_sensitive: maybe}, {txt: x}]
          - id: empty
            aliases: []
          - id: gaza2
            aliases: [Gaza]
            aliases: [Jalur Gaza]
    """)
    book = load_rules(tmp_path)
    p = str(path)
    assert messages(book) == [
        f"{p}:2: entity qatar: duplicate id (first defined at {tmp_path / 'a.yaml'}:2)",
        f"{p}:5: entity gaza: alias '—' has no letters or digits to search for",
        f"{p}:5: entity gaza: 'case_sensitive' must be true or false",
        f"{p}:5: entity gaza: unknown field 'txt'; did you mean text? (known: text, "
        "case_sensitive, stem, proclitics)",
        f"{p}:5: entity gaza: 'text' is missing",
        f"{p}:7: entity empty: 'aliases' must be a non-empty list",
        f"{p}:10: entity gaza2: 'aliases' is given twice",
    ]
    gaza = book.entity("gaza")
    assert gaza is not None and [a.text for a in gaza.aliases] == ["Gaza"]  # bad aliases dropped
    assert book.entity("empty") is None and book.entity("gaza2") is None


def test_file_level_problems(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", "rules:\n  - id: x\n    query: [unclosed\n")
    write(tmp_path, "list.yaml", "- just\n- a list\n")
    write(tmp_path, "extra.yaml", "rules: []\nsettings: {}\n")
    write(tmp_path, "scalar.yaml", "rules: nope\n")
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "nulls.yaml", "entities:\nrules:\n")
    write(tmp_path, "latin1.yaml", "")
    (tmp_path / "latin1.yaml").write_bytes(b"rules:\n  - id: caf\xe9\n")
    got = messages(load_rules(tmp_path))
    root = str(tmp_path)
    # The line where the unclosed bracket opened, in plain words (monitor.yamldoc).
    assert got[0] == (f"{root}/broken.yaml:3: invalid YAML: a list opened with '[' is not "
                      "closed with ']'")
    assert got[1] == f"{root}/extra.yaml:2: file: unknown field 'settings' (known: entities, rules)"
    assert got[2] == (f"{root}/latin1.yaml:2: not UTF-8 text (invalid continuation byte at "
                      "byte 18)")
    assert got[3] == f"{root}/list.yaml:1: file: expected a mapping of fields"
    assert got[4] == f"{root}/scalar.yaml:1: rules: expected a list"
    assert len(got) == 5


def test_missing_path_is_one_problem(tmp_path: Path) -> None:
    book = load_rules(tmp_path / "nowhere")
    assert messages(book) == [f"{tmp_path / 'nowhere'}: no such rule file or directory"]


def test_examples_are_checked_for_shape(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", """
        rules:
          - id: r
            query: a
            tests:
              match: [{title: a, lang: english}, {colour: red}, {}]
              maybe: [a]
          - id: s
            query: a
            tests: [a]
    """)
    p = str(path)
    assert messages(load_rules(tmp_path)) == [
        f"{p}:5: rule r: 'english' is a language's name, not a language code: write en",
        f"{p}:5: rule r: unknown field 'colour' (known: title, body, lang)",
        f"{p}:5: rule r: an example needs a title or a body",
        f"{p}:5: rule r: an example needs a title or a body",
        f"{p}:6: rule r: unknown field 'maybe' (known: match, no_match)",
        f"{p}:9: rule s: tests must hold `match:` and `no_match:`, each a list of examples",
    ]


def test_rule_yaml_is_a_rules_file_that_loads_back(tmp_path: Path) -> None:
    """What the web search's "save as rule" shows, pasted into a file, is the same rule."""
    rule = Rule.from_query("my-search", '"gencatan senjata" AND (Qatar OR Катар)',
                           name="My search", languages=("id", "ru"))
    (tmp_path / "saved.yaml").write_text(rule_yaml(rule), encoding="utf-8")
    book = load_rules(tmp_path)
    assert not book.problems
    [loaded] = book.rules
    assert (loaded.id, loaded.name, loaded.query, loaded.languages) == (
        rule.id, rule.name, rule.query, rule.languages)


def test_an_unknown_entity_gets_the_entity_it_probably_means(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", """
        entities:
          - id: ceasefire
            aliases: [ceasefire, truce]
          - id: country-us
            aliases: [United States, Amerika Serikat]
        rules:
          - id: r
            query: '@ceasfire AND @amerika-serikat AND @nobody'
    """)
    p = str(path)
    assert messages(load_rules(tmp_path)) == [
        f"{p}:8: rule r: unknown entity @ceasfire; did you mean @ceasefire?",
        f"{p}:8: rule r: unknown entity @amerika-serikat; did you mean @country-us?",
        f"{p}:8: rule r: unknown entity @nobody",
    ]


def test_a_country_entity_missing_from_a_rules_folder_of_its_own_says_where_it_is(
        tmp_path: Path) -> None:
    # `monitor init` writes a rules folder without the bundled entity files.
    path = write(tmp_path, "r.yaml", """
        rules:
          - id: r
            query: '@country-qa AND talks'
    """)
    assert messages(load_rules(tmp_path)) == [
        f"{path}:3: rule r: unknown entity @country-qa; the built-in @country-<code> entities "
        "are in newsmonitor's rules/entities/countries.yaml: copy that file into this rules "
        "folder"]
    # With the countries loaded, an unknown code is a typo: no advice to copy them.
    write(tmp_path, "countries.yaml", """
        entities:
          - id: country-qa
            aliases: [Qatar]
    """)
    write(tmp_path, "r.yaml", """
        rules:
          - id: r
            query: '@country-xq AND talks'
    """)
    assert messages(load_rules(tmp_path)) == [
        f"{path}:3: rule r: unknown entity @country-xq; did you mean @country-qa?"]


def test_ids_and_names_longer_than_the_store_keeps_are_refused(tmp_path: Path) -> None:
    # hits.rule_id is VARCHAR(128) and rule_name VARCHAR(512): PostgreSQL refused such a hit,
    # and every article the rule matched was given up after its retries.
    long_id, long_name = "a" * (MAX_RULE_ID_CHARS + 1), "N" * (MAX_RULE_NAME_CHARS + 1)
    path = write(tmp_path, "r.yaml", f"""
        rules:
          - id: {long_id}
            query: x
          - id: long-name
            name: {long_name}
            query: x
          - id: {"b" * MAX_RULE_ID_CHARS}
            name: {"M" * MAX_RULE_NAME_CHARS}
            query: x
    """)
    book = load_rules(tmp_path)
    assert [r.id for r in book.rules] == ["b" * MAX_RULE_ID_CHARS]
    assert messages(book) == [
        f"{path}:2: rule {long_id}: id is 129 characters long; the most is 128",
        f"{path}:5: rule long-name: name is 513 characters long; the most is 512",
    ]


# -- found by the configuration and rule-file audit ----------------------------------------


def test_ids_aliases_queries_and_languages_are_read_as_written(tmp_path: Path) -> None:
    # YAML 1.1 read these as numbers, dates or booleans: 0123 as 83, 0x1f as 31, 12:30 as
    # 750, 1.50 as 1.5, no as false (Norwegian).
    write(tmp_path, "a.yaml", """
        entities:
          - id: 007
            aliases: [0123, 1.50, on, 2024-01-01]
        rules:
          - id: 0123
            query: '@007 OR 0x1f'
            languages: [en, no]
            tests:
              match: [0123, "1.50"]
              no_match: [83, "1.5"]
          - id: 0x1f
            query: 0123
          - id: 12:30
            query: x
        """)
    book = load_rules(tmp_path)
    entity = book.entity("007")
    assert entity is not None
    assert [a.text for a in entity.aliases] == ["0123", "1.50", "on", "2024-01-01"]
    assert [r.id for r in book.rules] == ["0123", "0x1f"]
    rule = book.rule("0123")
    assert rule is not None and rule.languages == ("en", "no")
    assert [e.title for e in rule.tests.match] == ["0123", "1.50"]
    hex_id = book.rule("0x1f")
    assert hex_id is not None and hex_id.query == "0123"
    assert messages(book) == [f"{tmp_path / 'a.yaml'}:13: rule 12:30: id '12:30' must use "
                              "only a-z, 0-9, _ and -"]


def test_a_broken_link_or_an_upper_case_suffix_is_reported_and_a_linked_folder_read(
        tmp_path: Path) -> None:
    rules, shared = tmp_path / "rules", tmp_path / "shared"
    write(rules, "a.yaml", "rules:\n  - id: a\n    query: x\n")
    write(rules, "Gaza.YAML", "rules:\n  - id: gaza\n    query: Gaza\n")
    write(shared, "s.yml", "rules:\n  - id: s\n    query: x\n")
    (rules / "gone.yaml").symlink_to(tmp_path / "moved.yaml")
    (rules / "shared").symlink_to(shared)
    (rules / "shared" / "up").symlink_to(rules)  # a loop: read once
    for ignored in ("a.yaml~", "a.yaml.swp", ".#a.yaml", "a.yaml.bak"):
        write(rules, ignored, "rules:\n  - id: backup\n    query: x\n")
    book = load_rules(rules)
    assert sorted(r.id for r in book.rules) == ["a", "s"]
    assert messages(book) == [
        f"{rules / 'Gaza.YAML'}: not read: a rule file's name ends in .yaml or .yml, in lower "
        "case (rename it to Gaza.yaml)",
        f"{rules / 'gone.yaml'}: not read: a symbolic link to {tmp_path / 'moved.yaml'}, "
        "which does not exist"]


def test_a_pipe_among_the_rules_is_named_not_skipped_or_read(tmp_path: Path) -> None:
    """A named pipe called *.yaml was skipped without a word (its rules silently missing);
    read, it would block the loader until someone wrote to it."""
    rules = tmp_path / "rules"
    write(rules, "a.yaml", "rules:\n  - id: a\n    query: x\n")
    os.mkfifo(rules / "pipe.yaml")
    book = load_rules(rules)
    assert [r.id for r in book.rules] == ["a"]
    assert messages(book) == [
        f"{rules / 'pipe.yaml'}: not read: not a regular file (a pipe, socket or device)"]
    assert messages(load_rules(rules / "pipe.yaml")) == [
        f"{rules / 'pipe.yaml'}: not a regular file (a pipe, socket or device)"]
    assert messages(load_rules(rules / "none.yaml")) == [
        f"{rules / 'none.yaml'}: no such rule file or directory"]


def test_a_file_name_that_is_not_utf8_is_shown_with_a_replacement_character(
        tmp_path: Path) -> None:
    """A rule file named in Latin-1 (``\xe9`` for é): Python hands the name over with a lone
    surrogate, which no log, database row or web page can encode (the daemon's notice of the
    file's problem crashed it). It is shown with U+FFFD, and its rules still load."""
    import os

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / os.fsdecode(b"tr\xeave.yaml")).write_text("rules:\n  - id: x\n    query: (a AND\n")
    (rules / os.fsdecode(b"pa\xefx.yaml")).write_text("rules:\n  - id: y\n    query: peace\n")
    book = load_rules(tmp_path / "rules")
    assert [r.id for r in book.rules] == ["y"]
    assert book.rules[0].path == f"{tmp_path / 'rules'}/pa\ufffdx.yaml"
    (problem,) = messages(book)
    assert problem.startswith(f"{tmp_path / 'rules'}/tr\ufffdve.yaml:3: rule x: query:")
    problem.encode("utf-8")  # strict: what a log line, a row or a page needs


# -- files that define nothing --------------------------------------------------------------


def test_a_file_that_defines_nothing_is_a_warning_not_a_problem(tmp_path: Path) -> None:
    emptied = [write(tmp_path, name, text) for name, text in (
        ("empty.yaml", ""), ("comments.yaml", "# rules:\n#   - id: gaza\n"),
        ("nulls.yaml", "entities:\nrules:\n"), ("lists.yaml", "rules: []\nentities: []\n"),
        ("braces.yaml", "{}\n"), ("rules-only.yaml", "rules:\n"))]
    write(tmp_path, "entities.yaml", ENTITIES + "rules: []\n")  # entities alone: fine
    write(tmp_path, "gaza.yaml", "rules:\n  - id: gaza\n    query: Gaza\n")
    broken = write(tmp_path, "broken.yaml", "rules: nope\n")  # a problem already says it
    book = load_rules(tmp_path)
    assert messages(book) == [f"{broken}:1: rules: expected a list"]
    warnings = [f"{path}:1: the file defines no rules or entities" for path in sorted(emptied)]
    assert [str(w) for w in book.warnings] == warnings
    assert [str(w) for w in rule_warnings(book)] == warnings  # what check prints, the daemon logs
    assert [r.id for r in book.rules] == ["gaza"]


def test_a_file_emptied_below_its_document_marker_is_empty_too(tmp_path: Path) -> None:
    """``---`` then every line commented out is an empty document (a null), as monitor.yaml
    reads it: it was "file: expected a mapping of fields", a broken file whose last good rules
    the daemon keeps, where the same file without the marker drops them with a warning."""
    marked = [write(tmp_path, name, text) for name, text in (
        ("marker.yaml", "---\n# rules:\n#   - id: gaza\n"), ("ended.yaml", "--- # off\n...\n"))]
    book = load_rules(tmp_path)
    assert messages(book) == []
    assert [str(w) for w in book.warnings] == [
        f"{path}:1: the file defines no rules or entities" for path in sorted(marked)]


def test_the_daemons_reload_logs_a_file_emptied_by_mistake(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from monitor.daemon.active_rules import ActiveRules

    path = write(tmp_path, "gaza.yaml", "rules:\n  - id: gaza\n    query: Gaza\n")
    active = ActiveRules(tmp_path)
    assert active.reload() == []
    path.write_text("", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="monitor.daemon.active_rules"):
        assert active.reload() == []  # a warning: the file's rules are gone, as written
    assert f"rule warning: {path}:1: the file defines no rules or entities" in caplog.messages


# -- merge keys (<<: *name) -----------------------------------------------------------------


def test_merge_keys_share_fields_and_a_rules_own_fields_win(tmp_path: Path) -> None:
    path = write(tmp_path, "desk.yaml", """
        rules:
          - id: truce
            query: Gaza AND truce
            <<: &desk
              languages: [id, en]
              notify: [asia-desk]
          - <<: *desk
            id: hostages
            query: Gaza AND hostages
          - id: aid
            query: Gaza AND aid
            <<: *desk
            languages: [en]
          - id: both
            query: Gaza
            <<: [*desk, {stem: true, languages: [ru]}]
        entities:
          - id: hamas
            <<: &named {type: organisation}
            aliases: [Hamas]
    """)
    book = load_rules(path)
    assert messages(book) == []
    got = {r.id: (r.languages, r.notify, r.stem, r.line) for r in book.rules}
    assert got == {"truce": (("id", "en"), ("asia-desk",), False, 2),
                   "hostages": (("id", "en"), ("asia-desk",), False, 7),
                   "aid": (("en",), ("asia-desk",), False, 10),
                   "both": (("id", "en"), ("asia-desk",), True, 14)}  # the first listed wins
    hamas = book.entity("hamas")
    assert hamas is not None and hamas.type == "organisation"


def test_problems_in_merged_fields_are_at_the_line_they_are_written(tmp_path: Path) -> None:
    path = write(tmp_path, "desk.yaml", """
        rules:
          - id: one
            query: Gaza
            <<: &desk
              langauges: [en]
              stem: maybe
          - id: two
            query: Gaza
            query: Qatar
            <<: *desk
            <<: {stem: true}
          - id: three
            query: Gaza
            <<: {stem: maybe, stem: true}
    """)
    p = str(path)
    known = ("(known: id, name, query, languages, notify, stem, proclitics, regex, tests, "
             "delivery, max_per_hour)")
    assert messages(load_rules(path)) == [
        f"{p}:5: rule one: unknown field 'langauges'; did you mean languages? {known}",
        f"{p}:5: rule two: unknown field 'langauges'; did you mean languages? {known}",
        f"{p}:6: rule one: 'stem' must be true or false",
        f"{p}:6: rule two: 'stem' must be true or false",
        f"{p}:9: rule two: 'query' is given twice",  # written twice: still an error
        f"{p}:11: rule two: '<<' is given twice: merge several mappings as <<: [*a, *b]",
        f"{p}:14: rule three: 'stem' is given twice",  # inside a merged mapping too
        f"{p}:14: rule three: 'stem' must be true or false",
    ]


def test_one_alias_or_example_may_be_written_alone(tmp_path: Path) -> None:
    # As `languages: en` is one language; these were refused as "must be a (non-empty) list".
    write(tmp_path, "r.yaml", """
        entities:
          - id: mossad
            aliases: Mossad
        rules:
          - id: r
            query: '@mossad AND talks'
            tests:
              match: Mossad chief joins the talks
              no_match: Talks without the spy agency
    """)
    book = load_rules(tmp_path)
    assert messages(book) == []
    mossad = book.entity("mossad")
    assert mossad is not None and [a.text for a in mossad.aliases] == ["Mossad"]
    (rule,) = book.rules
    assert [e.title for e in rule.tests.match] == ["Mossad chief joins the talks"]
    assert [e.title for e in rule.tests.no_match] == ["Talks without the spy agency"]


def test_tests_written_as_a_list_say_what_they_hold(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", """
        rules:
          - id: r
            query: gaza
            tests: [Gaza talks resume]
    """)
    assert messages(load_rules(tmp_path)) == [
        f"{path}:4: rule r: tests must hold `match:` and `no_match:`, each a list of examples"]
