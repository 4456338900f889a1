"""YAML documents: values, lines, and syntax errors in plain words at the line to look at,
the same on libyaml's C parser and PyYAML's pure-Python one."""

from __future__ import annotations

import pytest
import yaml

from monitor import yamldoc
from monitor.errors import YamlSyntaxError
from monitor.yamldoc import MappingNode, dump_yaml, line_of, read_yaml

LOADERS = [yaml.SafeLoader, *([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])]


@pytest.fixture(params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "Loader", request.param)


def test_values_and_lines(loader: None) -> None:
    document = read_yaml("# a comment\nrules:\n  - id: gaza\n    tests: {match: [x]}\n"
                         "    stem: yes\n    max: 3\n")
    assert document.data() == {"rules": [{"id": "gaza", "tests": {"match": ["x"]},
                                          "stem": True, "max": 3}]}
    assert isinstance(document.root, MappingNode)
    (key, rules), = document.root.value
    assert line_of(key) == 2 and line_of(rules.value[0]) == 3
    assert read_yaml("").root is None and read_yaml("").data() is None
    assert read_yaml("# only a comment\n").data() is None


@pytest.mark.parametrize(("text", "line", "words"), [
    ("feeds:\n  - url: a\n    name: [unclosed\n", 3,
     "a list opened with '[' is not closed with ']'"),
    ("a: {b: 1\nc: 2\n", 1, "a mapping opened with '{' is not closed with '}'"),
    ("a: b: c\n", 1, "a ':' where none can be: check this line's indentation, or quote a "
     "value that contains ': '"),
    ("feeds:\n\t- url: x\n", 2, "a tab character: indent with spaces"),
    ("a: @x\n", 1, "a value cannot start with '@': quote it"),
    ("x: \"abc\n", 1, "a quoted value is not closed"),
    ("polling:\n  tick: 5\n default_interval: 3\n", 3,
     "this line's indentation does not match the lines above it"),
    ("a:\n  - b\n  c: 1\n", 3, "a list item's indentation does not match the items above it"),
    ("a: *nope\n", 1, "an alias (*name) with no anchor (&name) before it"),
    ("a: &x 1\nb: &x 2\n", 2, "the same anchor (&name) twice"),
])
def test_syntax_errors_in_plain_words(loader: None, text: str, line: int, words: str) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(text)
    assert (info.value.line, info.value.message) == (line, words)
    assert str(info.value) == f"line {line}: {words}"


def test_a_second_document_is_an_error(loader: None) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml("a: 1\n---\nb: 2\n")
    assert info.value.line == 2


def test_dump_keeps_key_order_and_text_as_written() -> None:
    text = dump_yaml({"rules": [{"id": "ru", "query": "переговоры AND Путин"}]})
    assert text == "rules:\n- id: ru\n  query: переговоры AND Путин\n"
    assert read_yaml(text).data() == {"rules": [{"id": "ru", "query": "переговоры AND Путин"}]}


# -- found by the configuration and rule-file audit ----------------------------------------


@pytest.mark.parametrize(("text", "line"), [
    ("a: 1\nb: x\x00y\n", 2), ("a: 1\n\nb: \x07\n", 3), ("a: \x1b[0m\n", 1),
    ("a: 1\r\rb: \x07\r", 3), ("a: 1\r\n\r\nb: \x07\r\n", 3)])  # lines as an editor counts
def test_a_control_character_is_one_line_at_its_line(loader: None, text: str,
                                                      line: int) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(text)
    assert info.value.line == line
    assert "\n" not in info.value.message
    assert info.value.message.startswith("the control character U+00")


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_a_byte_that_is_not_utf8_is_at_its_line(newline: bytes) -> None:
    data = newline.join([b"a: 1", b"", b"b: caf\xe9", b""])
    with pytest.raises(UnicodeDecodeError) as info:
        data.decode("utf-8")
    assert yamldoc.not_utf8(info.value).line == 3


def test_utf16_is_named() -> None:
    data = "a: 1\n".encode("utf-16")
    with pytest.raises(UnicodeDecodeError) as info:
        data.decode("utf-8")
    error = yamldoc.not_utf8(info.value)
    assert (error.line, error.message) == (1, "not UTF-8 text (UTF-16, by its byte order "
                                               "mark): save the file as UTF-8")


BILLION_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['x'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True))


def test_an_alias_bomb_is_refused_before_anyone_walks_it(loader: None) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(BILLION_LAUGHS)
    assert info.value.line == 7  # the first list that holds more than a million values
    assert "expand to more than 1,000,000 values" in info.value.message
    # Aliases used the ordinary way are fine.
    assert read_yaml("a: &a [x, y]\nb: [*a, *a]\n").data() == {"a": ["x", "y"],
                                                               "b": [["x", "y"], ["x", "y"]]}


@pytest.mark.parametrize(("text", "value"), [
    ("a: 1:30\n", "1:30"), ("a: 0123\n", "0123"), ("a: -1:30:00\n", "-1:30:00"),
    ("a: 1:30.5\n", "1:30.5"), ("a:\n  0123: x\n", None)])
def test_yaml_1_1_sexagesimal_and_octal_numbers_are_texts(loader: None, text: str,
                                                           value: str | None) -> None:
    data = read_yaml(text).data()
    assert data == ({"a": value} if value is not None else {"a": {"0123": "x"}})
    # Numbers YAML 1.2 keeps are still numbers.
    assert read_yaml("a: 90\nb: 0x10\nc: 1.5\nd: 0\n").data() == {"a": 90, "b": 16, "c": 1.5,
                                                                  "d": 0}


def test_text_gives_plain_numbers_dates_and_booleans_as_written(loader: None) -> None:
    document = read_yaml("a: [0x1F, 1.50, no, 2024-01-01, 1_000, 'quoted', ~, 7]\n")
    assert isinstance(document.root, MappingNode)
    items = document.root.value[0][1].value
    assert [document.text(item) for item in items] == [
        "0x1F", "1.50", "no", "2024-01-01", "1_000", "quoted", None, "7"]


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_lines_are_counted_as_an_editor_counts_them(loader: None, char: str, newline: str,
                                                    bom: str) -> None:
    # YAML 1.1 breaks lines at NEL, LS and PS too; an editor and grep -n do not.
    text = bom + newline.join(["a: 'Gaza" + char + "ceasefire'", "b:", "  - x", "  - \"y " + char
                         + " z\"", "c: 1", ""])
    document = read_yaml(text)
    assert isinstance(document.root, MappingNode)
    assert [line_of(key) for key, _ in document.root.value] == [1, 2, 5]
    _, items = document.root.value[1]
    assert [line_of(item) for item in items.value] == [3, 4]
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(text + newline.join(["d: [1, 2", "e: 2", ""]))
    assert info.value.line == 6  # where the list opened; no such character near it
    assert info.value.message == "a list opened with '[' is not closed with ']'"


@pytest.mark.parametrize(("char", "name"), [
    ("\x85", "a next-line character (U+0085)"), ("\u2028", "a line separator (U+2028)")])
def test_an_error_beside_a_yaml_only_line_break_names_it(loader: None, char: str,
                                                          name: str) -> None:
    # A Windows-1252 ellipsis read as Latin-1 is NEL: inside a plain value it cuts the line,
    # and what follows it looks wrongly indented.
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(f"rules:\n  - id: a\n    query: Gaza{char} ceasefire\n  - id: b\n")
    assert info.value.line == 3
    assert info.value.message.endswith(
        f"(line 3 holds {name} at column 16, which YAML reads as a line break: remove it)")


@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_a_byte_order_mark_does_not_move_what_an_error_points_at(loader: None, bom: str) -> None:
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(f"{bom}feeds:\n\t- url: x\n")
    assert (info.value.line, info.value.message) == (2, "a tab character: indent with spaces")
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(f"{bom}a: 1\nb: [unclosed\n")
    assert info.value.line == 2


@pytest.mark.parametrize(("text", "line"), [
    ('q: "gaza \\ud800"\n', 1),  # half of a surrogate pair
    ('a: 1\nrules:\n  - "x"\n  - "b \\uDFFF"\n', 4),
    ('a: 1\nq: "\\ud83d\\ude00"\n', 2),  # JSON's way to write an emoji; YAML's is \U0001F600
    ('a: 1\n\nq: "past \\U00110000"\n', 3),
    ('{"\\udc00": 1}\n', 1),  # in a key
])
def test_an_escape_that_names_no_character_is_refused_at_its_line(
        loader: None, text: str, line: int) -> None:
    # libyaml refuses these; the pure-Python parser made a text no encoder takes (a rule's
    # words then failed to tokenize, with a traceback) or raised a bare ValueError.
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml(text)
    assert info.value.line == line
    assert info.value.message.startswith("an escape (\\u or \\U) that names no character")


def test_escapes_of_characters_and_backslashes_as_written_are_kept(loader: None) -> None:
    document = read_yaml('a: "\\U0001F600 \\u00e9"\nb: C:\\ud800\nc: \'\\ud800\'\n')
    assert document.data() == {"a": "\U0001F600 é", "b": "C:\\ud800", "c": "\\ud800"}


def test_text_with_a_lone_surrogate_is_refused_at_its_line(loader: None) -> None:
    # Not from a file (read as UTF-8, strictly), but a command-line name checked by reading it
    # as YAML: libyaml's UTF-8 copy of it raised UnicodeEncodeError.
    with pytest.raises(YamlSyntaxError) as info:
        read_yaml("a: 1\nb: caf\udce9\n")
    assert info.value.line == 2
