"""One rules file as YAML nodes with their lines (:mod:`monitor.yamldoc`), and the checks of
a mapping's fields that turn every mistake into a :class:`RuleProblem` ``path:line: message``
instead of an exception. :mod:`monitor.rules.loader` builds entities and rules from them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import RuleProblem, YamlSyntaxError
from monitor.rules.model import Rule
from monitor.text import closest, shown_path
from monitor.yamldoc import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlDocument,
    dump_yaml,
    line_of,
    mapping_pairs,
    merge_keys,
    not_utf8,
    read_yaml,
)

TOP_FIELDS = ("entities", "rules")
RULE_SUFFIXES = (".yaml", ".yml")


class Problems:
    def __init__(self) -> None:
        self.items: list[RuleProblem] = []
        self.warnings: list[RuleProblem] = []  # valid, but rarely meant: nothing is left out

    def add(self, path: str, line: int, message: str, rule_id: str | None = None) -> None:
        self.items.append(RuleProblem(path=path, line=line, message=message, rule_id=rule_id))

    def warn(self, path: str, line: int, message: str) -> None:
        self.warnings.append(RuleProblem(path=path, line=line, message=message))


@dataclass
class Source:
    """One parsed file: its display path, its top-level sections and its document."""

    path: str
    sections: dict[str, Node]
    document: YamlDocument

    def value(self, node: Node) -> Any:
        return self.document.value(node)

    def text(self, node: Node) -> Any:
        """Where a text is wanted: ``0x1F``, ``1.50``, ``no`` as written (see
        :meth:`YamlDocument.text`)."""
        return self.document.text(node)


class Fields:
    """The keys of one mapping node, checked against the known ones; keys merged in with
    ``<<: *name`` count as written there, unless the mapping writes them itself."""

    def __init__(self, src: Source, node: MappingNode, known: tuple[str, ...],
                 what: str, problems: Problems, rule_id: str | None = None) -> None:
        self.src, self.problems, self.what, self.rule_id = src, problems, what, rule_id
        self.nodes: dict[str, Node] = {}
        self.ok = True
        self.line = line_of(node)
        for key in merge_keys(node)[1:]:
            self.fail(key, "'<<' is given twice: merge several mappings as <<: [*a, *b]")
        for key, value in mapping_pairs(node):
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            if name in self.nodes:
                self.fail(key, f"{name!r} is given twice")
            elif name not in known:
                close = closest(name, known)
                hint = f"; did you mean {close}?" if close else ""
                self.fail(key, f"unknown field {name!r}{hint} (known: {', '.join(known)})")
            else:
                self.nodes[name] = value

    def fail(self, node: Node, message: str) -> None:
        self.ok = False
        self.problems.add(self.src.path, line_of(node), f"{self.what}: {message}", self.rule_id)

    def string(self, name: str, required: bool = False) -> str | None:
        node = self.nodes.get(name)
        if node is None:
            if required:
                self.ok = False
                self.problems.add(self.src.path, self.line, f"{self.what}: {name!r} is missing",
                                  self.rule_id)
            return None
        value = self.src.text(node)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
            return str(value)
        self.fail(node, f"{name!r} must be a non-empty text")
        return None

    def flag(self, name: str) -> bool:
        return bool(self.optional_flag(name))

    def optional_flag(self, name: str) -> bool | None:
        node = self.nodes.get(name)
        if node is None:
            return None
        value = self.src.value(node)
        if not isinstance(value, bool):
            self.fail(node, f"{name!r} must be true or false")
            return None
        return value

    def positive_int(self, name: str) -> int | None:
        node = self.nodes.get(name)
        if node is None:
            return None
        value = self.src.value(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(node, f"{name!r} must be a whole number of at least 1")
            return None
        return value

    def strings(self, name: str) -> list[tuple[str, Node]]:
        """A text or a list of texts, each with its node (for its line)."""
        node = self.nodes.get(name)
        if node is None:
            return []
        out = []
        for item in one_or_list(node):
            value = self.src.text(item)
            if isinstance(value, str) and value:
                out.append((value, item))
            else:
                self.fail(item, f"{name!r} must be a text or a list of texts")
        return out


def fields_of(src: Source, node: Node, known: tuple[str, ...], what: str,
            problems: Problems, rule_id: str | None = None) -> Fields | None:
    if not isinstance(node, MappingNode):
        problems.add(src.path, line_of(node), f"{what}: expected a mapping of fields", rule_id)
        return None
    return Fields(src, node, known, what, problems, rule_id)


_NOT_REGULAR = "not a regular file (a pipe, socket or device)"


def rule_files(path: Path, problems: Problems) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        problems.add(shown_path(path), 0, _NOT_REGULAR if path.exists()
                     else "no such rule file or directory")
        return []
    found: list[Path] = []
    walked: set[str] = set()
    # Linked folders are read too (rglob skips them silently); a link back up is read once.
    for folder, dirs, names in os.walk(path, followlinks=True):
        real = os.path.realpath(folder)
        if real in walked:
            dirs.clear()
            continue
        walked.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            file = Path(folder, name)
            suffix = file.suffix
            if name.startswith(".") or suffix.lower() not in RULE_SUFFIXES:
                continue  # editors' backups (x.yaml~, x.yaml.swp, .#x.yaml) and other files
            if suffix not in RULE_SUFFIXES:
                problems.add(shown_path(file), 0, f"not read: a rule file's name ends in .yaml or "
                             f".yml, in lower case (rename it to {file.stem}{suffix.lower()})")
            elif file.is_file():
                found.append(file)
            elif file.is_symlink() and not file.exists():
                problems.add(shown_path(file), 0, "not read: a symbolic link to "
                             f"{file.readlink()}, which does not exist")
            elif file.exists():  # a pipe would block every reload; a device never ends
                problems.add(shown_path(file), 0, f"not read: {_NOT_REGULAR}")
    return sorted(found)


def read_rule_file(path: Path, problems: Problems) -> Source | None:
    shown = shown_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.add(shown, 0, f"cannot read the rule file: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError as exc:
        error = not_utf8(exc)
        problems.add(shown, error.line or 0, error.message)
        return None
    try:
        document = read_yaml(text)
    except YamlSyntaxError as exc:
        problems.add(shown, exc.line or 0, f"invalid YAML: {exc.message}")
        return None
    root = document.root
    src = Source(shown, {}, document)
    found = len(problems.items)
    if root is not None and not _null(root):  # `---` and nothing else: empty as well
        top = fields_of(src, root, TOP_FIELDS, "file", problems)
        if top is None:
            return None
        for name, node in top.nodes.items():
            if isinstance(node, SequenceNode):
                src.sections[name] = node
            elif not _null(node):
                problems.add(shown, line_of(node), f"{name}: expected a list")
    if len(problems.items) == found and not any(s.value for s in src.sections.values()):
        # A file emptied by mistake would drop its rules without a word (a broken one is
        # reported already).
        problems.warn(shown, 1, "the file defines no rules or entities")
    return src


def _null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


def one_or_list(node: Node) -> list[Node]:
    """A list's items, or a value written alone as a list of one (``languages: en``)."""
    return list(node.value) if isinstance(node, SequenceNode) else [node]


def items(src: Source, name: str) -> Iterator[Node]:
    node = src.sections.get(name)
    if isinstance(node, SequenceNode):
        yield from node.value


def rule_yaml(rule: Rule) -> str:
    """A rules file holding ``rule`` (its id, name, query, languages, stem and proclitics), as
    :func:`load_rules` reads it: what the web search's "save as rule" shows to paste."""
    fields: dict[str, object] = {"id": rule.id, "name": rule.name, "query": rule.query}
    if rule.languages:
        fields["languages"] = list(rule.languages)
    if rule.stem:
        fields["stem"] = True
    if rule.proclitics:
        fields["proclitics"] = True
    return dump_yaml({"rules": [fields]})
