"""Loading rule files: every ``*.yaml``/``*.yml`` under the rules directory, recursively.

A file holds ``entities:``, ``rules:`` or both; ids are unique across files. Loading never
raises for a bad rule: each problem (YAML syntax, unknown field, duplicate id, query syntax,
unknown entity, invalid regex...) becomes a :class:`RuleProblem` ``path:line: message`` and
the rule is left out, so the daemon keeps every other rule working and ``monitor check``
lists them all. Entities are read from every file before any rule, so a rule may use an
entity defined in another file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import QuerySyntaxError, RuleProblem
from monitor.language import normalize_language
from monitor.rules.model import Alias, Entity, Example, Rule, RuleBook, RuleTests, gc_paused
from monitor.rules.query import entity_refs, parse_query
from monitor.rules.regex import regex_problem

TOP_FIELDS = ("entities", "rules")
ENTITY_FIELDS = ("id", "type", "aliases", "stem")
ALIAS_FIELDS = ("text", "case_sensitive", "stem")
# A new per-rule option is added here and on Rule.
RULE_FIELDS = ("id", "name", "query", "languages", "notify", "stem", "regex", "tests",
               "delivery", "max_per_hour")
DELIVERY_MODES = ("immediate", "digest")
TESTS_FIELDS = ("match", "no_match")
EXAMPLE_FIELDS = ("title", "body", "lang")

# libyaml's C parser (PyYAML built with it, as the wheels are): 3x faster than the pure-Python
# one on a 10,000-rule file, with the same nodes, marks (line numbers) and errors.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_ID = re.compile(r"^[a-z0-9_-]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Problems:
    def __init__(self) -> None:
        self.items: list[RuleProblem] = []

    def add(self, path: str, line: int, message: str, rule_id: str | None = None) -> None:
        self.items.append(RuleProblem(path=path, line=line, message=message, rule_id=rule_id))


@dataclass
class _Source:
    """One parsed file: its display path, its top-level sections and a constructor."""

    path: str
    sections: dict[str, yaml.Node]
    loader: yaml.SafeLoader

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            return node.value  # most values: no constructor round trip
        return self.loader.construct_object(node, deep=True)


class _Fields:
    """The keys of one mapping node, checked against the known ones."""

    def __init__(self, src: _Source, node: yaml.MappingNode, known: tuple[str, ...],
                 what: str, problems: _Problems, rule_id: str | None = None) -> None:
        self.src, self.problems, self.what, self.rule_id = src, problems, what, rule_id
        self.nodes: dict[str, yaml.Node] = {}
        self.ok = True
        self.line = _line(node)
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if name in self.nodes:
                self.fail(key, f"{name!r} is given twice")
            elif name not in known:
                self.fail(key, f"unknown field {name!r} (known: {', '.join(known)})")
            else:
                self.nodes[name] = value

    def fail(self, node: yaml.Node, message: str) -> None:
        self.ok = False
        self.problems.add(self.src.path, _line(node), f"{self.what}: {message}", self.rule_id)

    def string(self, name: str, required: bool = False) -> str | None:
        node = self.nodes.get(name)
        if node is None:
            if required:
                self.ok = False
                self.problems.add(self.src.path, self.line, f"{self.what}: {name!r} is missing",
                                  self.rule_id)
            return None
        value = self.src.value(node)
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

    def strings(self, name: str) -> list[tuple[str, yaml.Node]]:
        """A text or a list of texts, each with its node (for its line)."""
        node = self.nodes.get(name)
        if node is None:
            return []
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out = []
        for item in items:
            value = self.src.value(item)
            if isinstance(value, str) and value:
                out.append((value, item))
            else:
                self.fail(item, f"{name!r} must be a text or a list of texts")
        return out


def _fields(src: _Source, node: yaml.Node, known: tuple[str, ...], what: str,
            problems: _Problems, rule_id: str | None = None) -> _Fields | None:
    if not isinstance(node, yaml.MappingNode):
        problems.add(src.path, _line(node), f"{what}: expected a mapping of fields", rule_id)
        return None
    return _Fields(src, node, known, what, problems, rule_id)


def _rule_files(path: Path, problems: _Problems) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        problems.add(str(path), 0, "no such rule file or directory")
        return []
    found = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(path).parts)]
    return sorted(found)


def _read(path: Path, problems: _Problems) -> _Source | None:
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(shown, 0, f"cannot read the rule file: {exc}")
        return None
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(shown, mark.line + 1 if mark else 0, f"invalid YAML: {exc.problem or exc}")
        return None
    except yaml.YAMLError as exc:
        problems.add(shown, 0, f"invalid YAML: {exc}")
        return None
    finally:
        loader.dispose()
    src = _Source(shown, {}, loader)
    if root is None:
        return src
    top = _fields(src, root, TOP_FIELDS, "file", problems)
    if top is None:
        return None
    for name, node in top.nodes.items():
        if isinstance(node, yaml.SequenceNode):
            src.sections[name] = node
        elif not (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            problems.add(shown, _line(node), f"{name}: expected a list")
    return src


def _items(src: _Source, name: str) -> Iterator[yaml.Node]:
    node = src.sections.get(name)
    if isinstance(node, yaml.SequenceNode):
        yield from node.value


def _alias(src: _Source, node: yaml.Node, what: str, problems: _Problems) -> Alias | None:
    if isinstance(node, yaml.MappingNode):
        fields = _fields(src, node, ALIAS_FIELDS, what, problems)
        if fields is None:
            return None
        text = fields.string("text", required=True)
        alias = Alias(text or "", fields.flag("case_sensitive"), _line(node),
                      fields.optional_flag("stem"))
        if not fields.ok:
            return None
    else:
        value = src.value(node)
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.add(src.path, _line(node), f"{what}: an alias must be a text or "
                         "{text: ..., case_sensitive: true}")
            return None
        alias = Alias(str(value), False, _line(node))
    if not alias.tokens:
        problems.add(src.path, alias.line, f"{what}: alias {alias.text!r} has no letters or "
                     "digits to search for")
        return None
    star = alias.star_problem()
    if star is not None:
        problems.add(src.path, alias.line, f"{what}: alias {alias.text!r} can never match: "
                     f"{star}")
        return None
    return alias


def _peek_id(node: yaml.Node) -> str | None:
    """The ``id:`` of a mapping, read first so that every problem can name its owner."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def _entity(src: _Source, node: yaml.Node, problems: _Problems) -> Entity | None:
    peeked = _peek_id(node)
    fields = _fields(src, node, ENTITY_FIELDS, f"entity {peeked}" if peeked else "entity",
                     problems)
    if fields is None:
        return None
    entity_id = fields.string("id", required=True)
    if entity_id is not None and not _ID.match(entity_id):
        fields.fail(fields.nodes["id"], f"id {entity_id!r} must use only a-z, 0-9, _ and -")
    kind = fields.string("type")
    aliases: list[Alias] = []
    alias_node = fields.nodes.get("aliases")
    if alias_node is None:
        fields.fail(node, "'aliases' is missing")
    elif not isinstance(alias_node, yaml.SequenceNode) or not alias_node.value:
        fields.fail(alias_node, "'aliases' must be a non-empty list")
    else:
        for item in alias_node.value:
            alias = _alias(src, item, fields.what, problems)
            if alias is not None:
                aliases.append(alias)  # a bad alias is reported; the others still work
    stem = fields.optional_flag("stem")
    if not fields.ok or entity_id is None or not aliases:
        return None
    return Entity(entity_id, tuple(aliases), kind, src.path, fields.line, stem)


def _example(src: _Source, node: yaml.Node, fields: _Fields) -> Example | None:
    if isinstance(node, yaml.ScalarNode):
        value = src.value(node)
        if isinstance(value, str) and value.strip():
            return Example(title=value, line=_line(node))
        fields.fail(node, "an example must be a text or {title: ..., body: ..., lang: ...}")
        return None
    sub = _fields(src, node, EXAMPLE_FIELDS, fields.what, fields.problems, fields.rule_id)
    if sub is None:
        fields.ok = False
        return None
    title, body = sub.string("title") or "", sub.string("body") or ""
    lang = sub.string("lang")
    if not (title or body):
        sub.fail(node, "an example needs a title or a body")
    if lang is not None and not _LANGUAGE.match(normalize_language(lang) or ""):
        sub.fail(sub.nodes["lang"], f"{lang!r} is not a language code such as id or en")
    if not sub.ok:
        fields.ok = False
        return None
    return Example(title, body, normalize_language(lang), _line(node))


def _tests(src: _Source, fields: _Fields) -> RuleTests:
    node = fields.nodes.get("tests")
    if node is None:
        return RuleTests()
    sub = _fields(src, node, TESTS_FIELDS, fields.what, fields.problems, fields.rule_id)
    if sub is None:
        fields.ok = False
        return RuleTests()
    groups: dict[str, list[Example]] = {"match": [], "no_match": []}
    for name, examples in groups.items():
        group = sub.nodes.get(name)
        if group is None:
            continue
        if not isinstance(group, yaml.SequenceNode):
            sub.fail(group, f"tests.{name} must be a list of examples")
            continue
        for item in group.value:
            example = _example(src, item, sub)
            if example is not None:
                examples.append(example)
    if not sub.ok:
        fields.ok = False
    return RuleTests(tuple(groups["match"]), tuple(groups["no_match"]))


def _query_line(node: yaml.Node, column: int, query: str) -> int:
    """The file line of a query column: exact for ``|`` blocks, else the value's line."""
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        return _line(node) + 1 + query[:column].rstrip("\n").count("\n")
    return _line(node)


def _rule(src: _Source, node: yaml.Node, entities: dict[str, Entity],
          problems: _Problems) -> Rule | None:
    rule_id = _peek_id(node)
    fields = _fields(src, node, RULE_FIELDS, f"rule {rule_id}" if rule_id else "rule",
                     problems, rule_id)
    if fields is None:
        return None
    rule_id = fields.string("id", required=True)
    if rule_id is not None and not _ID.match(rule_id):
        fields.fail(fields.nodes["id"], f"id {rule_id!r} must use only a-z, 0-9, _ and -")
    query = fields.string("query", required=True)
    expr = None
    if query is not None:
        query_node = fields.nodes["query"]
        try:
            expr = parse_query(query)
        except QuerySyntaxError as exc:
            fields.ok = False
            problems.add(src.path, _query_line(query_node, exc.column, query),
                         f"{fields.what}: query: {exc.detail}", rule_id)
        else:
            for ref in entity_refs(expr):
                if ref.entity not in entities:
                    fields.fail(query_node, f"unknown entity @{ref.entity}")
    languages = []
    for code, item in fields.strings("languages"):
        language = normalize_language(code) or ""
        if _LANGUAGE.match(language):
            languages.append(language)
        else:
            fields.fail(item, f"{code!r} is not a language code such as id or en")
    notify = [name for name, _ in fields.strings("notify")]
    patterns = []
    for pattern, item in fields.strings("regex"):
        problem = regex_problem(pattern)
        if problem is None:
            patterns.append(pattern)
        else:
            fields.fail(item, f"regex {pattern!r} {problem}")
    stem = fields.flag("stem")
    tests = _tests(src, fields)
    name = fields.string("name")
    delivery = fields.string("delivery")
    if delivery is not None and delivery not in DELIVERY_MODES:
        fields.fail(fields.nodes["delivery"], f"delivery must be {' or '.join(DELIVERY_MODES)}")
    max_per_hour = fields.positive_int("max_per_hour")
    if not fields.ok or rule_id is None or query is None or expr is None:
        return None
    return Rule(id=rule_id, name=name or rule_id, query=query, expr=expr,
                notify=tuple(dict.fromkeys(notify)), languages=tuple(dict.fromkeys(languages)),
                stem=stem, regex=tuple(patterns), tests=tests, path=src.path, line=fields.line,
                delivery=delivery, max_per_hour=max_per_hour)


def load_rules(path: Path) -> RuleBook:
    """Load a rule file or every rule file under a directory; problems are returned, not raised."""
    with gc_paused():
        return _load_rules(path)


def _load_rules(path: Path) -> RuleBook:
    problems = _Problems()
    sources = [src for file in _rule_files(path, problems)
               if (src := _read(file, problems)) is not None]
    entities: dict[str, Entity] = {}
    for src in sources:
        for node in _items(src, "entities"):
            entity = _entity(src, node, problems)
            if entity is None:
                continue
            first = entities.get(entity.id)
            if first is not None:
                problems.add(src.path, entity.line, f"entity {entity.id}: duplicate id (first "
                             f"defined at {first.path}:{first.line})")
                continue
            entities[entity.id] = entity
    rules: dict[str, Rule] = {}
    for src in sources:
        for node in _items(src, "rules"):
            rule = _rule(src, node, entities, problems)
            if rule is None:
                continue
            first_rule = rules.get(rule.id)
            if first_rule is not None:
                problems.add(src.path, rule.line, f"rule {rule.id}: duplicate id (first defined "
                             f"at {first_rule.path}:{first_rule.line})", rule.id)
                continue
            rules[rule.id] = rule
    ordered = sorted(problems.items, key=lambda p: (p.path, p.line))
    return RuleBook(tuple(rules.values()), tuple(entities.values()), tuple(ordered))


def rule_yaml(rule: Rule) -> str:
    """A rules file holding ``rule`` (its id, name, query and languages), as
    :func:`load_rules` reads it: what the web search's "save as rule" shows to paste."""
    fields: dict[str, object] = {"id": rule.id, "name": rule.name, "query": rule.query}
    if rule.languages:
        fields["languages"] = list(rule.languages)
    return yaml.safe_dump({"rules": [fields]}, allow_unicode=True, sort_keys=False)
