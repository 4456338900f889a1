"""YAML documents with the line of every node: the only module that imports PyYAML.

The configuration and the rule files are read here, on libyaml's C parser when PyYAML is built
with it (as its wheels are: 3x faster than the pure-Python parser on a 10,000-rule file, with
the same nodes, marks and errors). A syntax error becomes a :class:`YamlSyntaxError` in plain
words, at the line a person would look at; each caller adds its file's path.
"""

from __future__ import annotations

from typing import Any

import yaml

from monitor.errors import YamlSyntaxError

# The parser (a SafeLoader: plain data only, no Python objects). A module attribute so that
# the rule-loading benchmark can run its peer, the pure-Python parser, through the same code.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The node types a composed document is made of.
Node = yaml.Node
MappingNode = yaml.MappingNode
ScalarNode = yaml.ScalarNode
SequenceNode = yaml.SequenceNode

_STR = "tag:yaml.org,2002:str"

# PyYAML's and libyaml's problems, in plain words (matched on the start of the problem text).
_PLAIN_WORDS = (
    ("mapping values are not allowed", "a ':' where none can be: check this line's "
     "indentation, or quote a value that contains ': '"),
    ("could not find expected ':'", "a line that is not `key: value`: is a ':' missing?"),
    ("expected ',' or ']'", "a list opened with '[' is not closed with ']'"),
    ("did not find expected ',' or ']'", "a list opened with '[' is not closed with ']'"),
    ("expected ',' or '}'", "a mapping opened with '{' is not closed with '}'"),
    ("did not find expected ',' or '}'", "a mapping opened with '{' is not closed with '}'"),
    ("found unexpected end of stream", "a quoted value is not closed"),
    ("expected <block end>", "this line's indentation does not match the lines above it"),
    ("did not find expected key", "this line's indentation does not match the lines above it"),
    ("did not find expected '-' indicator", "a list item's indentation does not match the "
     "items above it"),
    ("found undefined alias", "an alias (*name) with no anchor (&name) before it"),
    ("second occurrence", "the same anchor (&name) twice"),
)
_TAB = "a tab character: indent with spaces"
# Problems found where the file ends or the next item starts: the line to look at is where
# the bracket or quote was opened.
_UNCLOSED = ("expected ',' or ']'", "expected ',' or '}'", "did not find expected ',' or",
             "found unexpected end of stream")


class YamlDocument:
    """One parsed document: its root node (None when empty), and its values on demand."""

    def __init__(self, root: Node | None, loader: yaml.SafeLoader) -> None:
        self.root = root
        self._loader = loader

    def value(self, node: Node) -> Any:
        """The Python value of ``node`` (a string, number, list, mapping...)."""
        if isinstance(node, ScalarNode) and node.tag == _STR:
            return node.value  # most values: no constructor round trip
        return self._loader.construct_object(node, deep=True)

    def data(self) -> Any:
        """The whole document's value; None when it is empty."""
        return None if self.root is None else self.value(self.root)


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; raises :class:`YamlSyntaxError` (plain words, a line)."""
    loader = Loader(text)
    try:
        return YamlDocument(loader.get_single_node(), loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc)) from None
    finally:
        loader.dispose()


def line_of(node: Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def dump_yaml(data: object) -> str:
    """``data`` as YAML, keys in their order, non-ASCII text as written."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> YamlSyntaxError:
    problem = exc.problem or str(exc)
    words = next((plain for start, plain in _PLAIN_WORDS if problem.startswith(start)), None)
    mark = exc.problem_mark or exc.context_mark
    if problem.startswith("expected <block end>") and "collection" in (exc.context or ""):
        # The pure-Python parser's wording of libyaml's "did not find expected '-' indicator".
        words = dict(_PLAIN_WORDS)["did not find expected '-' indicator"]
    if mark is not None and "cannot start any token" in problem:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        char = line[mark.column] if mark.column < len(line) else ""
        words = _TAB if char == "\t" else (
            f"a value cannot start with {char!r}: quote it" if char else None)
    if words is not None and problem.startswith(_UNCLOSED) and exc.context_mark is not None:
        mark = exc.context_mark  # where the unclosed bracket or quote opened
    return YamlSyntaxError(words or problem, line=mark.line + 1 if mark else None)
