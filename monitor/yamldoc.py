"""YAML documents with the line of every node: the only module that imports PyYAML.

The configuration and the rule files are read here, on libyaml's C parser when PyYAML is built
with it (as its wheels are: 3x faster than the pure-Python parser on a 10,000-rule file, with
the same nodes, marks and errors). A syntax error becomes a :class:`YamlSyntaxError` in plain
words, at the line a person would look at; each caller adds its file's path.

A document that parses but holds what plain data cannot (a tag such as ``!duration``, a list
or mapping as a key, ``!!int abc``, a merge ``<<`` of a text) is refused the same way when it
is read, so a caller asking for a node's value later never meets a constructor error; so is
one whose aliases (``*name``) would expand it past :data:`MAX_EXPANDED_VALUES` values (a
"billion laughs"), before a caller walks it. Numbers YAML 1.2 no longer has, sexagesimal
``1:30`` (90) and octal ``0123`` (83), are read as the texts they look like.

Lines are counted as an editor counts them. YAML 1.1 also breaks lines at NEL (U+0085, what
a Windows-1252 ellipsis becomes when read as Latin-1), LS (U+2028) and PS (U+2029), which
editors and ``grep -n`` show inside a line; a text holding one has its nodes' and errors'
lines counted again at LF, CR LF and CR only, and an error near one says it is there.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any

import yaml

from monitor.errors import YamlSyntaxError
from monitor.text import first_surrogate

# The parser (a SafeLoader: plain data only, no Python objects). A module attribute so that
# the rule-loading benchmark can run its peer, the pure-Python parser, through the same code.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LIBYAML: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)

# The node types a composed document is made of.
Node = yaml.Node
MappingNode = yaml.MappingNode
ScalarNode = yaml.ScalarNode
SequenceNode = yaml.SequenceNode

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
# YAML 1.1 numbers that YAML 1.2 reads as texts: `1:30` (90, meant as 1h30 or 1m30s) and
# `0123` (83, meant as an id or a number with a leading zero).
_YAML11_NUMBER = re.compile(r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0[0-7_]+)")

# Plain values that a text field takes as written.
_WRITTEN = frozenset({_INT, _FLOAT, "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"})

# The most values (texts, numbers, lists, mappings) a document may hold once its aliases are
# expanded: a configuration or a rules file with anchors stays far below it.
MAX_EXPANDED_VALUES = 1_000_000

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
    ("found invalid Unicode character escape code", "an escape (\\u or \\U) that names no "
     "character (half of a surrogate pair, or past U+10FFFF): write the character itself"),
)
_TAB = "a tab character: indent with spaces"
# A double-quoted escape libyaml refuses and the pure-Python parser does not: a UTF-16
# surrogate (it makes a text no encoder takes, which broke tokenizing a rule's words) or a
# number past U+10FFFF (a bare ValueError). Both are refused alike, at the escape's line.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")
# Problems found where the file ends or the next item starts: the line to look at is where
# the bracket or quote was opened.
_UNCLOSED = ("expected ',' or ']'", "expected ',' or '}'", "did not find expected ',' or",
             "found unexpected end of stream")


# Line breaks to YAML 1.1 that are not line breaks to an editor, and their names.
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")
_BREAK_NAMES = {"\x85": "a next-line character (U+0085)", "\u2028": "a line separator (U+2028)",
                "\u2029": "a paragraph separator (U+2029)"}
_EDITOR_BREAKS = re.compile("\r\n|\r|\n")  # an old Mac file's lone CRs are lines too
_EDITOR_BYTE_BREAKS = re.compile(b"\r\n|\r|\n")


class _EditorLines:
    """Where each line of a text starts, as an editor counts lines: YAML marks (which hold
    the character index) are recounted from it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in _EDITOR_BREAKS.finditer(text))]

    def _line(self, index: int) -> int:
        """The 0-based line holding the character at ``index``."""
        return bisect_right(self.starts, index) - 1

    def mark(self, mark: yaml.Mark) -> yaml.Mark:
        line = self._line(mark.index)
        return yaml.Mark(mark.name, mark.index, line, mark.index - self.starts[line], None, 0)

    def recount(self, root: Node) -> None:
        """Every node's marks recounted."""
        for node in _each_node(root):
            node.start_mark = self.mark(node.start_mark)
            node.end_mark = self.mark(node.end_mark)

    def hint(self, mark: yaml.Mark) -> str | None:
        """Where a YAML-only line break sits on the line of ``mark`` (recounted) or the one
        before it, said as a hint: the likeliest cause of an error there."""
        line = self._line(mark.index)
        start = self.starts[max(0, line - 1)]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        found = _YAML_ONLY_BREAKS.search(self.text, start, end)
        if found is None:
            return None
        at = self._line(found.start())
        return (f"line {at + 1} holds {_BREAK_NAMES[found.group()]} at column "
                f"{found.start() - self.starts[at] + 1}, which YAML reads as a line break: "
                "remove it")


def _editor_lines(text: str) -> _EditorLines | None:
    """The text's lines as an editor counts them, if YAML would count them otherwise."""
    return _EditorLines(text) if _YAML_ONLY_BREAKS.search(text) else None


class YamlDocument:
    """One parsed document: its root node (None when empty), and its values on demand."""

    def __init__(self, root: Node | None, loader: yaml.SafeLoader) -> None:
        self.root = root
        self._loader = loader

    def value(self, node: Node) -> Any:
        """The Python value of ``node`` (a string, number, list, mapping...)."""
        if isinstance(node, ScalarNode) and node.tag == _STR:
            return node.value  # most values: no constructor round trip
        if isinstance(node, MappingNode | SequenceNode):
            _apply_merges(node)
        return self._loader.construct_object(node, deep=True)

    def text(self, node: Node) -> Any:
        """The value of ``node`` where a text is wanted: a plain value that YAML reads as a
        number, a date or a yes/no is the text as written (``1.50``, ``0x1F``, ``no`` for
        Norwegian); any other node is :meth:`value`."""
        if isinstance(node, ScalarNode) and not node.style and node.tag in _WRITTEN:
            return node.value
        return self.value(node)

    def data(self) -> Any:
        """The whole document's value; None when it is empty."""
        return None if self.root is None else self.value(self.root)


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; raises :class:`YamlSyntaxError` (plain words, a line), also
    for a node that is not plain data (see :func:`_check_constructible`)."""
    # A byte-order mark is not content; libyaml leaves it out of its marks' character
    # indexes and the pure-Python parser counts it: without it both count alike.
    text = text.removeprefix("\ufeff")
    try:
        loader = Loader(text)  # the pure-Python reader checks the characters here
    except yaml.reader.ReaderError as exc:
        raise _character_error(exc, text) from None
    except UnicodeEncodeError:  # libyaml's UTF-8 copy: a lone surrogate (not from a file)
        found = first_surrogate(text)
        raise YamlSyntaxError("a byte that is not UTF-8 text is not allowed: remove it",
                              None if found is None else _line_at(text, found)) from None
    lines = _editor_lines(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            if lines is not None:
                lines.recount(root)
            if Loader is not _LIBYAML:  # libyaml refuses those escapes itself
                _check_characters(root, text)
            _check_constructible(root, loader)
        return YamlDocument(root, loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, lines) from None
    except yaml.reader.ReaderError as exc:
        raise _character_error(exc, text) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc)) from None
    except ValueError:  # the pure-Python parser's chr() of an escape past U+10FFFF
        error = _no_character(text, None)
        if error.line is None:  # not that: a fault of ours, not of the file
            raise
        raise error from None
    finally:
        loader.dispose()


def _line_at(text: str, index: int) -> int:
    """The 1-based line of ``text[index]``, counting line breaks as editors do."""
    return len(_EDITOR_BREAKS.findall(text, 0, index)) + 1


def _no_character(text: str, line: int | None) -> YamlSyntaxError:
    """The error for an escape that names no character, at ``line`` (else the first such
    escape's line in ``text``)."""
    if line is None:
        for found in _ESCAPE.finditer(text):
            code = int(found.group(1) or found.group(2), 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                line = _line_at(text, found.start())
                break
    return YamlSyntaxError(dict(_PLAIN_WORDS)["found invalid Unicode character escape code"],
                           line)


def _check_characters(root: Node, text: str) -> None:
    """Raise YamlSyntaxError at a text an escape made a surrogate in (see :data:`_ESCAPE`):
    asked of the pure-Python parser's nodes, and walked only when the file has an escape."""
    if "\\u" not in text and "\\U" not in text:
        return
    for node in _each_node(root):
        if isinstance(node, ScalarNode) and first_surrogate(node.value) is not None:
            raise _no_character(text, line_of(node))


_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"


def _check_constructible(root: Node, loader: yaml.SafeLoader) -> None:
    """Raise YamlSyntaxError at the first node the safe constructor cannot turn into a value.

    Plain mappings and lists are walked (their texts need no check); every other node is
    constructed once here, and the constructor keeps the value for :meth:`YamlDocument.value`.
    """
    known = loader.yaml_constructors
    done: set[int] = set()
    aliased = False
    open_now: set[int] = set()  # the collections around the node being checked
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            open_now.discard(id(node))
            done.add(id(node))
            continue
        if id(node) in open_now:
            raise YamlSyntaxError("an alias (*name) inside the list or mapping its anchor "
                                  "(&name) names: it would never end", line_of(node))
        if id(node) in done:  # an alias: checked where its anchor is
            aliased = True
            continue
        if node.tag not in known:
            raise YamlSyntaxError(f"the tag {node.tag} is not supported: remove it (or quote "
                                  "the value)", line_of(node))
        if isinstance(node, MappingNode | SequenceNode) and node.tag in (_MAP, _SEQ):
            open_now.add(id(node))
            stack.append((node, True))
            # Plain texts, most of a file, need no check: only the other nodes are stacked.
            children: list[Node] = []
            if isinstance(node, SequenceNode):
                children = [v for v in node.value
                            if not (type(v) is ScalarNode and v.tag == _STR)]
            for key, value in node.value if isinstance(node, MappingNode) else ():
                if type(key) is not ScalarNode:
                    raise YamlSyntaxError("a key must be a plain value, not a list or a "
                                          "mapping", line_of(key))
                if key.tag in (_MERGE, _VALUE):
                    if key.tag == _MERGE and not (isinstance(value, MappingNode) or (
                            isinstance(value, SequenceNode)
                            and all(isinstance(v, MappingNode) for v in value.value))):
                        raise YamlSyntaxError("a merge (<<) takes a mapping or a list of "
                                              "mappings", line_of(key))
                elif key.tag != _STR:
                    children.append(key)
                if not (type(value) is ScalarNode and value.tag == _STR):
                    children.append(value)
            stack.extend((child, False) for child in reversed(children))
        elif (isinstance(node, ScalarNode) and not node.style
              and node.tag in (_INT, _FLOAT) and _YAML11_NUMBER.fullmatch(node.value)):
            node.tag = _STR  # read as written, as YAML 1.2 does
            done.add(id(node))
        elif not (isinstance(node, ScalarNode) and node.tag == _STR):
            done.add(id(node))
            try:
                loader.construct_object(node, deep=True)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                raise YamlSyntaxError(exc.problem or str(exc),
                                      mark.line + 1 if mark else line_of(node)) from None
            except (ValueError, TypeError, OverflowError) as exc:
                kind = node.tag.rsplit(":", 1)[-1]
                raise YamlSyntaxError(f"{node.value!r} is not a valid {kind} ({exc})",
                                      line_of(node)) from None
    if aliased:
        _check_expansion(root)


def _check_expansion(root: Node) -> None:
    """Raise YamlSyntaxError where aliases make a collection hold more than
    MAX_EXPANDED_VALUES values once expanded (the document has no cycle: checked first)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if id(node) in sizes:
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        if not leaving:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        size = 1 + sum(sizes[id(child)] for child in children)
        if size > MAX_EXPANDED_VALUES:
            raise YamlSyntaxError(f"the aliases (*name) here expand to more than "
                                  f"{MAX_EXPANDED_VALUES:,} values: refused", line_of(node))
        sizes[id(node)] = size


def mapping_pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """The key and value nodes of ``node`` with its merges (``<<: *name``) applied as YAML's
    merge key type says: a key written in the mapping wins over a merged one, and of the
    mappings merged (``<<: [*a, *b]``) the first listed wins (PyYAML 6.0.4's constructor lets
    the last win for keys longer than one character). A key written twice in one mapping stays
    twice, for the caller to report; merged nodes keep their lines, where they are written.

    ``node`` is left as it is: the constructor's merge rewrites a mapping in place, after
    which a key it overrides looks written twice.
    """
    written: list[tuple[Node, Node]] = []
    sources: list[Node] = []
    for key, value in node.value:
        if key.tag != _MERGE:
            written.append((key, value))
        else:  # a mapping or a list of mappings: checked when the document was read
            sources.extend(value.value if isinstance(value, SequenceNode) else [value])
    if not sources:
        return written
    taken = {key.value for key, _ in written}
    merged: list[tuple[Node, Node]] = []
    for source in sources:
        if isinstance(source, MappingNode):
            pairs = mapping_pairs(source)  # ends: an alias inside its own anchor is refused
            merged.extend(pair for pair in pairs if pair[0].value not in taken)
            taken.update(key.value for key, _ in pairs)
    return merged + written


def _apply_merges(root: Node) -> None:
    """Write every merge under ``root`` into its mapping as :func:`mapping_pairs` reads it,
    before PyYAML's constructor merges them its own way: PyYAML 6.0.4 lets the last mapping of
    ``<<: [*a, *b]`` win for a key longer than one character (it compares the keys' objects),
    and a value would not be the one at the line its problems name."""
    for node in _each_node(root, keys=False):
        if isinstance(node, MappingNode) and merge_keys(node):
            node.value = mapping_pairs(node)


def _each_node(root: Node, *, keys: bool = True) -> Iterator[Node]:
    """``root`` and every node under it (mapping keys only if ``keys``), each once (an
    alias's target is reached twice). A node's children are read when the walk moves on from
    it, so the caller may rewrite them."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode) and keys:
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, MappingNode):
            stack.extend(value for _key, value in node.value)


def merge_keys(node: MappingNode) -> list[Node]:
    """The merge keys (``<<``, unquoted) of a mapping, in order: more than one is a mistake
    (``<<: [*a, *b]`` merges several), which its readers report at the second one's line."""
    return [key for key, _ in node.value if key.tag == _MERGE]


def line_of(node: Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def not_utf8(exc: UnicodeDecodeError) -> YamlSyntaxError:
    """The error for a file that is not UTF-8 text, at the line of its first bad byte (the
    configuration and the rule files say it alike)."""
    data = exc.object if isinstance(exc.object, bytes) else bytes(exc.object)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return YamlSyntaxError("not UTF-8 text (UTF-16, by its byte order mark): save the "
                               "file as UTF-8", 1)
    return YamlSyntaxError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                           len(_EDITOR_BYTE_BREAKS.findall(data, 0, exc.start)) + 1)


def _character_error(exc: yaml.reader.ReaderError, text: str) -> YamlSyntaxError:
    """A character YAML does not allow (a control character), at its line."""
    char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
    found = text.find(char)
    line = _line_at(text, found) if found >= 0 else None
    words = f"the control character U+{ord(char[:1] or chr(0)):04X} is not allowed: remove it"
    if char == "\0":
        words += " (or, if the file is UTF-16 text, save it as UTF-8)"
    return YamlSyntaxError(words, line)


def dump_yaml(data: object) -> str:
    """``data`` as YAML, keys in their order, non-ASCII text as written."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _syntax_error(exc: yaml.MarkedYAMLError, text: str,
                  lines: _EditorLines | None = None) -> YamlSyntaxError:
    problem = exc.problem or str(exc)
    words = next((plain for start, plain in _PLAIN_WORDS if problem.startswith(start)), None)
    mark = exc.problem_mark or exc.context_mark
    if problem.startswith("expected <block end>") and "collection" in (exc.context or ""):
        # The pure-Python parser's wording of libyaml's "did not find expected '-' indicator".
        words = dict(_PLAIN_WORDS)["did not find expected '-' indicator"]
    if mark is not None and "cannot start any token" in problem:
        char = text[mark.index] if mark.index < len(text) else ""
        words = _TAB if char == "\t" else (
            f"a value cannot start with {char!r}: quote it" if char.strip() else None)
    if words is not None and problem.startswith(_UNCLOSED) and exc.context_mark is not None:
        mark = exc.context_mark  # where the unclosed bracket or quote opened
    words = words or problem
    if lines is not None and mark is not None:
        hint = lines.hint(mark)
        words = words if hint is None else f"{words} ({hint})"
        mark = lines.mark(mark)
    return YamlSyntaxError(words, line=mark.line + 1 if mark else None)
