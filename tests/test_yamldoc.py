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
