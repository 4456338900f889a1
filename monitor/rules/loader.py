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
from dataclasses import replace
from pathlib import Path

from monitor.errors import QuerySyntaxError
from monitor.language_codes import language_problem, normalize_language
from monitor.models import MAX_RULE_ID_CHARS, MAX_RULE_NAME_CHARS
from monitor.rules.expr import entity_refs
from monitor.rules.model import Alias, Entity, Example, Rule, RuleBook, RuleTests, gc_paused
from monitor.rules.query import parse_query
from monitor.rules.regex import regex_problem
from monitor.rules.rulefile import (
    Fields,
    Problems,
    Source,
    fields_of,
    items,
    one_or_list,
    read_rule_file,
    rule_files,
)
from monitor.rules.spellings import inflection_note, proclitic_note
from monitor.text import closest
from monitor.yamldoc import MappingNode, Node, ScalarNode, SequenceNode, line_of, mapping_pairs

ENTITY_FIELDS = ("id", "type", "aliases", "includes", "stem", "proclitics")
ALIAS_FIELDS = ("text", "case_sensitive", "stem", "proclitics")
# A new per-rule option is added here and on Rule.
RULE_FIELDS = ("id", "name", "query", "languages", "notify", "stem", "proclitics", "regex",
               "tests", "delivery", "max_per_hour")
DELIVERY_MODES = ("immediate", "digest")
TESTS_FIELDS = ("match", "no_match")
EXAMPLE_FIELDS = ("title", "body", "lang")

_ID = re.compile(r"^[a-z0-9_-]+$")
# The built-in country entities' ids (rules/entities/countries.yaml, `make entities`).
_COUNTRY_ID = re.compile(r"^country-[a-z]{2}$")


def _alias(src: Source, node: Node, what: str, problems: Problems) -> Alias | None:
    if isinstance(node, MappingNode):
        fields = fields_of(src, node, ALIAS_FIELDS, what, problems)
        if fields is None:
            return None
        text = fields.string("text", required=True)
        alias = Alias(text or "", fields.flag("case_sensitive"), line_of(node),
                      fields.optional_flag("stem"), fields.optional_flag("proclitics"))
        if not fields.ok:
            return None
    else:
        value = src.text(node)
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.add(src.path, line_of(node), f"{what}: an alias must be a text or "
                         "{text: ..., case_sensitive: true}")
            return None
        alias = Alias(str(value), False, line_of(node))
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


def _peek_id(node: Node) -> str | None:
    """The ``id:`` of a mapping, read first so that every problem can name its owner."""
    if isinstance(node, MappingNode):
        for key, value in mapping_pairs(node):
            if getattr(key, "value", None) == "id" and isinstance(value, ScalarNode):
                return str(value.value)
    return None


def _duplicate(path: str, node: Node, kind: str, seen: dict[str, tuple[str, int]],
               problems: Problems, owner: str | None) -> bool:
    """Whether the definition at ``node`` reuses an id already defined (reported if so)."""
    found = _peek_id(node)
    if found is None:
        return False
    first = seen.setdefault(found, (path, line_of(node)))
    if first == (path, line_of(node)):
        return False
    problems.add(path, line_of(node), f"{kind} {found}: duplicate id (first defined at "
                 f"{first[0]}:{first[1]})", owner)
    return True


def _entity(src: Source, node: Node, problems: Problems) -> Entity | None:
    peeked = _peek_id(node)
    fields = fields_of(src, node, ENTITY_FIELDS, f"entity {peeked}" if peeked else "entity",
                     problems)
    if fields is None:
        return None
    entity_id = fields.string("id", required=True)
    if entity_id is not None and not _ID.match(entity_id):
        fields.fail(fields.nodes["id"], f"id {entity_id!r} must use only a-z, 0-9, _ and -")
    kind = fields.string("type")
    aliases: list[Alias] = []
    alias_node = fields.nodes.get("aliases")
    includes = _includes(src, fields)
    if alias_node is None:
        if "includes" not in fields.nodes:
            fields.fail(node, "'aliases' is missing (or 'includes', for a group)")
    elif isinstance(alias_node, MappingNode) or (isinstance(alias_node, SequenceNode)
                                                 and not alias_node.value):
        fields.fail(alias_node, "'aliases' must be a non-empty list")
    else:  # a list, or one alias written alone (`aliases: Mossad`)
        for item in one_or_list(alias_node):
            alias = _alias(src, item, fields.what, problems)
            if alias is not None:
                aliases.append(alias)  # a bad alias is reported; the others still work
    stem = fields.optional_flag("stem")
    proclitics = fields.optional_flag("proclitics")
    if not fields.ok or entity_id is None or not (aliases or includes):
        return None
    return Entity(entity_id, tuple(aliases), kind, src.path, fields.line, stem, proclitics,
                  includes or ())


def _includes(src: Source, fields: Fields) -> tuple[str, ...] | None:
    """A group's ``includes:``, the ids of its members (``@`` before one is allowed)."""
    node = fields.nodes.get("includes")
    if node is None:
        return None
    if isinstance(node, MappingNode) or (isinstance(node, SequenceNode) and not node.value):
        fields.fail(node, "'includes' must be a non-empty list of entity ids")
        return None
    ids = []
    for item in one_or_list(node):
        value = src.text(item)
        if not isinstance(value, str) or not _ID.match(value.removeprefix("@")):
            fields.fail(item, f"includes: {value!r} is not an entity id")
            continue
        ids.append(value.removeprefix("@"))
    return tuple(dict.fromkeys(ids))


def _with_members(entities: dict[str, Entity], problems: Problems
                  ) -> tuple[dict[str, Entity], dict[str, list[str]]]:
    """Each group with its members' aliases appended, each alias stemmed (and given
    proclitics) as its member says, so the group matches what naming each member matches;
    and per group, what to say of its unknown members if a rule uses it (a folder whose own
    people.yaml lacks someone the bundled sides.yaml names is not broken by the file). A
    loop is reported at the group. Such a member is left out; the others still count."""
    done: dict[str, Entity] = {}
    unknown: dict[str, list[str]] = {}

    def resolve(entity: Entity, trail: tuple[str, ...]) -> Entity:
        if entity.id in done:
            return done[entity.id]
        members: dict[Alias, None] = {}
        for member_id in entity.includes:
            member = entities.get(member_id)
            if member is None:
                others = {k: e for k, e in entities.items() if k != entity.id}
                unknown.setdefault(entity.id, []).append(
                    f"entity {entity.id}: includes unknown entity "
                    f"@{member_id}{_entity_hint(member_id, others)}")
                continue
            if member_id == entity.id or member_id in trail:
                problems.add(entity.path, entity.line, f"entity {entity.id}: includes "
                             + ("itself" if member_id == entity.id else
                                f"@{member_id}, which includes @{entity.id} (a loop)"))
                continue
            member = resolve(member, (*trail, entity.id))
            for alias in member.aliases:
                members[replace(alias, stem=_said(alias.stem, member.stem),
                                proclitics=_said(alias.proclitics, member.proclitics))] = None
        own = entity.aliases
        done[entity.id] = replace(entity, own=len(own),
                                  aliases=own + tuple(a for a in members if a not in own))
        return done[entity.id]

    return {entity_id: resolve(entity, ()) if entity.includes else entity
            for entity_id, entity in entities.items()}, unknown


def _said(first: bool | None, then: bool | None) -> bool | None:
    """The first of two settings that is said."""
    return first if first is not None else then


def _example(src: Source, node: Node, fields: Fields) -> Example | None:
    if isinstance(node, ScalarNode):
        value = src.text(node)
        if isinstance(value, str) and value.strip():
            return Example(title=value, line=line_of(node))
        fields.fail(node, "an example must be a text or {title: ..., body: ..., lang: ...}")
        return None
    sub = fields_of(src, node, EXAMPLE_FIELDS, fields.what, fields.problems, fields.rule_id)
    if sub is None:
        fields.ok = False
        return None
    title, body = sub.string("title") or "", sub.string("body") or ""
    lang = sub.string("lang")
    if not (title or body):
        sub.fail(node, "an example needs a title or a body")
    if lang is not None and (problem := language_problem(lang)) is not None:
        sub.fail(sub.nodes["lang"], problem)
    if not sub.ok:
        fields.ok = False
        return None
    return Example(title, body, normalize_language(lang), line_of(node))


def _tests(src: Source, fields: Fields) -> RuleTests:
    node = fields.nodes.get("tests")
    if node is None:
        return RuleTests()
    if not isinstance(node, MappingNode):  # `tests: [example]`: which kind is it?
        fields.fail(node, "tests must hold `match:` and `no_match:`, each a list of examples")
        return RuleTests()
    sub = fields_of(src, node, TESTS_FIELDS, fields.what, fields.problems, fields.rule_id)
    if sub is None:
        fields.ok = False
        return RuleTests()
    groups: dict[str, list[Example]] = {"match": [], "no_match": []}
    for name, examples in groups.items():
        group = sub.nodes.get(name)
        if group is None:
            continue
        if isinstance(group, MappingNode):
            sub.fail(group, f"tests.{name} must be a list of examples")
            continue
        # A list, or one example written alone (`match: Mediators resume ceasefire talks`).
        for item in one_or_list(group):
            example = _example(src, item, sub)
            if example is not None:
                examples.append(example)
    if not sub.ok:
        fields.ok = False
    return RuleTests(tuple(groups["match"]), tuple(groups["no_match"]))


def _queryline_of(node: Node, column: int, query: str) -> int:
    """The file line of a query column: exact for ``|`` blocks, else the value's line."""
    if isinstance(node, ScalarNode) and node.style == "|":
        return line_of(node) + 1 + query[:column].rstrip("\n").count("\n")
    return line_of(node)


def _rule(src: Source, node: Node, entities: dict[str, Entity],
          problems: Problems) -> Rule | None:
    rule_id = _peek_id(node)
    fields = fields_of(src, node, RULE_FIELDS, f"rule {rule_id}" if rule_id else "rule",
                     problems, rule_id)
    if fields is None:
        return None
    rule_id = fields.string("id", required=True)
    if rule_id is not None and not _ID.match(rule_id):
        fields.fail(fields.nodes["id"], f"id {rule_id!r} must use only a-z, 0-9, _ and -")
    elif rule_id is not None and len(rule_id) > MAX_RULE_ID_CHARS:
        fields.fail(fields.nodes["id"], f"id is {len(rule_id)} characters long; the most "
                    f"is {MAX_RULE_ID_CHARS}")
    query = fields.string("query", required=True)
    expr = None
    if query is not None:
        query_node = fields.nodes["query"]
        try:
            expr = parse_query(query)
        except QuerySyntaxError as exc:
            fields.ok = False
            problems.add(src.path, _queryline_of(query_node, exc.column, query),
                         f"{fields.what}: query: {exc.detail}", rule_id)
        else:
            for ref in entity_refs(expr):
                if ref.entity not in entities:
                    fields.fail(query_node, f"unknown entity @{ref.entity}"
                                + _entity_hint(ref.entity, entities))
    languages = []
    for code, item in fields.strings("languages"):
        problem = language_problem(code)  # a typo here would silently match nothing
        if problem is None:
            languages.append(normalize_language(code) or code)
        else:
            fields.fail(item, problem)
    notify = [name for name, _ in fields.strings("notify")]
    patterns = []
    for pattern, item in fields.strings("regex"):
        problem = regex_problem(pattern)
        if problem is None:
            patterns.append(pattern)
        else:
            fields.fail(item, f"regex {pattern!r} {problem}")
    stem_said = fields.optional_flag("stem")
    proclitics = fields.optional_flag("proclitics")
    if expr is not None:
        notes = [inflection_note(expr, tuple(languages)) if stem_said is None else None,
                 proclitic_note(expr) if proclitics is None else None]
        for note in notes:
            if note is not None:
                problems.warn(src.path, line_of(fields.nodes["query"]),
                              f"{fields.what}: {note}")
    tests = _tests(src, fields)
    name = fields.string("name")
    if name is not None and len(name) > MAX_RULE_NAME_CHARS:
        fields.fail(fields.nodes["name"], f"name is {len(name)} characters long; the most "
                    f"is {MAX_RULE_NAME_CHARS}")
    delivery = fields.string("delivery")
    if delivery is not None and delivery not in DELIVERY_MODES:
        fields.fail(fields.nodes["delivery"], f"delivery must be {' or '.join(DELIVERY_MODES)}")
    max_per_hour = fields.positive_int("max_per_hour")
    if not fields.ok or rule_id is None or query is None or expr is None:
        return None
    return Rule(id=rule_id, name=name or rule_id, query=query, expr=expr,
                notify=tuple(dict.fromkeys(notify)), languages=tuple(dict.fromkeys(languages)),
                stem=bool(stem_said), regex=tuple(patterns), tests=tests, path=src.path,
                line=fields.line, delivery=delivery, max_per_hour=max_per_hour,
                proclitics=bool(proclitics))


def _entity_hint(name: str, entities: dict[str, Entity]) -> str:
    """``; did you mean @country-qa?`` for an unknown ``@name``: an entity with a close id, or
    one with an alias spelt like the name (``@qatar`` for the entity named Qatar)."""
    close = closest(name, entities)
    if close is None:
        wanted = name.replace("-", " ").replace("_", " ").casefold()
        close = next((e.id for e in entities.values()
                      if any(a.text.rstrip("*").casefold() == wanted for a in e.aliases)), None)
    if close:
        return f"; did you mean @{close}?"
    if _COUNTRY_ID.match(name) and not any(_COUNTRY_ID.match(e) for e in entities):
        # A rules folder of its own (`monitor init`) has no built-in countries.
        return ("; the built-in @country-<code> entities are in newsmonitor's "
                "rules/entities/countries.yaml: copy that file into this rules folder")
    return ""


def load_rules(path: Path, *, entities_from: Path | None = None) -> RuleBook:
    """Load a rule file or every rule file under a directory; problems are returned, not raised.

    ``entities_from``: a rules folder whose other files' entities a single rule file may use
    (``monitor backtest --rules rules/topics/gaza.yaml`` with the entities of ``rules/``);
    their rules are not loaded.
    """
    with gc_paused():
        return _load_rules(path, entities_from)


def _load_rules(path: Path, entities_from: Path | None = None) -> RuleBook:
    problems = Problems()
    files = rule_files(path, problems)
    sources = [src for file in files if (src := read_rule_file(file, problems)) is not None]
    entity_sources = list(sources)
    if entities_from is not None and path.is_file() and entities_from.is_dir():
        own = {file.resolve() for file in files}
        entity_sources += [src for file in rule_files(entities_from, problems)
                           if file.resolve() not in own
                           and (src := read_rule_file(file, problems)) is not None]
    entities: dict[str, Entity] = {}
    # Every id defined, broken definitions included: a second `gaza` after a broken first
    # one is a duplicate too (else it would load silently, and fixing the first one later
    # would turn up the clash).
    seen: dict[str, tuple[str, int]] = {}
    for src in entity_sources:
        for node in items(src, "entities"):
            entity = _entity(src, node, problems)
            if _duplicate(src.path, node, "entity", seen, problems, None) or entity is None:
                continue
            entities[entity.id] = entity
    entities, unknown = _with_members(entities, problems)
    rules: dict[str, Rule] = {}
    seen.clear()
    for src in sources:
        for node in items(src, "rules"):
            rule = _rule(src, node, entities, problems)
            if _duplicate(src.path, node, "rule", seen, problems, _peek_id(node)) or rule is None:
                continue
            rules[rule.id] = rule
    for entity in RuleBook(tuple(rules.values()), tuple(entities.values())).used_entities():
        for message in unknown.get(entity.id, ()):
            problems.add(entity.path, entity.line, message)
    ordered = sorted(problems.items, key=lambda p: (p.path, p.line))
    return RuleBook(tuple(rules.values()), tuple(entities.values()), tuple(ordered),
                    tuple(problems.warnings))
