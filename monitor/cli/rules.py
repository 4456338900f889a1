"""``monitor check`` and ``monitor match``: validate rules, and dry-run them on files or
standard input.

Neither command touches the database or the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from monitor.cli.app import app, fail, get_config, read_config
from monitor.cli.hits import matched_words
from monitor.cli.inputs import (
    STDIN,
    STDIN_NAME,
    check_file,
    decode_text,
    input_name,
    is_stdin,
    over_cap,
    read_input,
    text_document,
)
from monitor.cli.output import plural
from monitor.errors import ConfigError, ExtractError, RuleProblem
from monitor.language_codes import language_problem, normalize_language

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.models import Document


@app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(
        metavar="PATH",
        help="Rule file or folder (default: the configured rules directory).")] = None,
    rules: Annotated[Path | None, typer.Option(
        "--rules", metavar="PATH",
        help="The same as PATH, as match and backtest take it.")] = None,
) -> None:
    """Validate the configuration and rules; run rule tests.

    Checks the configuration and the rules, and runs each rule's test examples.
    Exit 0 when everything holds; otherwise exit 1 and print one path:line: message line per
    problem, all of them at once: the configuration file (unknown settings, bad values, feed
    URLs that cannot be fetched, and what only a stage can judge: channel URLs, digest
    schedules, templates, private networks, the web address), the rules, channel names in
    notify: lists (when a configuration file is in use), the rules' test examples, entity
    aliases that can never match, and/or/not/near in lower case (searched as words, not
    operators), words mixing look-alike Latin, Cyrillic or Greek letters, and polling
    intervals written as a number under 60 without a unit (seconds: 15s or 15m?).
    """
    from monitor.rules import (
        alias_problems,
        channel_problems,
        compile_rules,
        load_rules,
        rule_warnings,
        run_rule_tests,
    )
    try:
        config = read_config(ctx, deliverable=True)
    except ConfigError as exc:  # reported like rule problems: all of them, exit 1
        for config_problem in exc.problems:
            typer.echo(str(config_problem))
        raise typer.Exit(1) from None
    if path is not None and rules is not None and path != rules:
        fail(f"two rule paths given, {path} and --rules {rules}: give one")
    target = path or rules or config.rules_path
    if not target.exists():
        fail(f"{target}: no such rule file or directory")
    book = load_rules(target, entities_from=config.rules_path)  # a file: the folder's entities
    problems = list(book.problems)
    if config.source != "<defaults>":
        problems += channel_problems(book, config.channels)
    problems += run_rule_tests(book, compile_rules(book))
    problems += alias_problems(book)
    problems += rule_warnings(book)
    for note in config.notes:  # valid, but rarely what was meant
        typer.echo(note)
    for problem in sorted(problems, key=lambda p: (p.path, p.line)):
        typer.echo(str(problem))
    if problems or config.notes:
        raise typer.Exit(1)
    examples = sum(len(r.tests.match) + len(r.tests.no_match) for r in book.rules)
    typer.echo(f"{target}: {plural(len(book.rules), 'rule')}, "
               f"{plural(len(book.entities), 'entity', 'entities')}, "
               f"{plural(examples, 'example')}: all hold")


INPUT_SUFFIXES = (".txt", ".html", ".htm", ".jsonl")
_LINE_BREAK = re.compile(r"\r\n?|\n")
InputType = Literal["txt", "html", "jsonl"]


def read_text(path: Path, problems: list[RuleProblem]) -> str | None:
    """A text file's contents, decoded as :func:`.inputs.decode_text` says."""
    return decode_text(path.read_bytes(), str(path), problems)


def read_txt(path: Path) -> Document:
    """An article in a text file: the first non-empty line is the title, the rest the body."""
    return text_document(read_text(path, []) or "")


@dataclass(frozen=True)
class _Input:
    """A file or standard input to match, with how to read it."""

    path: Path
    kind: InputType
    data: bytes | None = None  # standard input, read before anything is printed

    @property
    def name(self) -> str:  # in messages: the path as given
        return input_name(self.path)

    @property
    def ident(self) -> str:  # in output: the file's name
        return STDIN_NAME if is_stdin(self.path) else self.path.name

    def read(self, cap: int) -> bytes:
        """The input's bytes. A .jsonl batch is capped per article (per line, in
        :func:`_read_jsonl`), not whole: 5,000 articles in 32 MB matched in 6 s and 275 MB,
        where one article of 32 MB took 12 s and 1.2 GB."""
        if self.data is not None:
            return self.data
        return read_input(self.path, None if self.kind == "jsonl" else cap)


def _prepare(paths: list[Path], stdin_type: InputType, cap: int) -> list[_Input]:
    """The inputs, each checked (type, size) and standard input read, so that a refused input
    is the only thing said (exit 2)."""
    if sum(is_stdin(p) for p in paths) > 1:
        fail(f"standard input ({STDIN}) can be read once")
    inputs = []
    for path in paths:
        if is_stdin(path):
            inputs.append(_Input(path, stdin_type, read_input(
                path, None if stdin_type == "jsonl" else cap)))
            continue
        suffix = path.suffix.lower()
        if suffix not in INPUT_SUFFIXES and not path.exists():  # a typo: not a type problem
            fail(f"{path}: cannot read: No such file or directory")
        if suffix not in INPUT_SUFFIXES:
            fail(f"{path}: unsupported input (use .txt, .html or .jsonl)")
        kind: InputType = "txt" if suffix == ".txt" else "jsonl" if suffix == ".jsonl" else "html"
        check_file(path, None if kind == "jsonl" else cap)
        inputs.append(_Input(path, kind))
    return inputs


_JSONL_FIELDS = ("id", "title", "text", "lang", "url")
# What other tools call the fields, for the hint (difflib finds no likeness in these).
_JSONL_SYNONYMS = {"body": "text", "content": "text", "description": "text",
                   "summary": "text", "language": "lang", "link": "url", "headline": "title"}


def _unknown_keys(keys: list[str]) -> str:
    """``unknown key "body" (did you mean "text"?)`` for each key, then the expected ones."""
    from monitor.text import closest
    parts = []
    for key in keys:
        close = _JSONL_SYNONYMS.get(key.casefold()) or closest(key, _JSONL_FIELDS)
        parts.append(f'unknown key "{key}"' + (f' (did you mean "{close}"?)' if close else ""))
    return ", ".join(parts) + '; the keys are "id", "title", "text", "lang" and "url"'


def _read_jsonl(source: _Input, text: str, cap: int,
                problems: list[RuleProblem]) -> Iterator[tuple[str, Document]]:
    from monitor.models import Document
    from monitor.text import clean_prose
    # Line breaks only: splitlines() also cuts at U+2028, U+2029 and U+0085, which JSON
    # keeps raw inside a text.
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        if not line.strip():
            continue
        size = len(line.encode("utf-8", "replace"))
        if size > cap:
            problems.append(RuleProblem(source.name, number, over_cap(cap, size)))
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(RuleProblem(source.name, number, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str | int | type(None)) for k in _JSONL_FIELDS):
            problems.append(RuleProblem(source.name, number, 'expected {"id", "title", '
                                        '"text", "lang"?, "url"?} with text values'))
            continue
        # A misnamed key ("body" for "text") would match the title alone and say nothing.
        unknown = [key for key in item if key not in _JSONL_FIELDS]
        if unknown:
            problems.append(RuleProblem(source.name, number, _unknown_keys(unknown)))
            continue
        if item.get("lang") and (problem := language_problem(str(item["lang"]))) is not None:
            problems.append(RuleProblem(source.name, number, f"lang: {problem}"))
            continue  # as a rule file refuses it: "russian" would be read as no language
        ident = item.get("id")
        yield (str(ident) if ident is not None else f"{source.ident}:{number}",
               Document(title=clean_prose(str(item.get("title") or "")),
                        body=clean_prose(str(item.get("text") or "")),
                        language=normalize_language(item.get("lang") or None)))


def _documents(inputs: list[_Input], cap: int,
               problems: list[RuleProblem]) -> Iterator[tuple[str, Document]]:
    from monitor.extract import extract_html
    from monitor.models import Document
    for source in inputs:
        raw = source.read(cap)
        if source.kind == "html":
            try:
                extracted = extract_html(raw, None)
            except ExtractError as exc:  # binary content, a page too complex to parse
                problems.append(RuleProblem(source.name, 0, str(exc)))
                continue
            if extracted is None:
                problems.append(RuleProblem(source.name, 0,
                                            "no article text could be extracted"))
                continue
            yield source.ident, Document(title=extracted.title or "", body=extracted.text,
                                         language=extracted.language)
            continue
        text = decode_text(raw, source.name, problems)
        if text is None:
            continue
        if source.kind == "txt":
            yield source.ident, text_document(text)
        else:
            yield from _read_jsonl(source, text, cap, problems)


@app.command("match")
def match(
    ctx: typer.Context,
    # Existence is checked in _prepare: typer's exists=True refuses - even with allow_dash
    # (typer 0.29 compares Path("-") with "-").
    inputs: Annotated[list[Path], typer.Argument(
        metavar="FILE", help=".txt (first non-empty line is the title), .html, or .jsonl "
             '({"id", "title", "text", "lang"?, "url"?} per line); - reads standard input '
             "(as --stdin-type says).",
        dir_okay=False, allow_dash=True)],
    rules: Annotated[Path | None, typer.Option(
        "--rules", metavar="PATH",
        help="Rule file or folder (default: the configured rules directory).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help='One JSON object per line per (article, rule): {"id", "rule", '
                       '"evidence"}.')] = False,
    stdin_type: Annotated[InputType, typer.Option(
        "--stdin-type", metavar="TYPE",
        help="What - holds: txt, html or jsonl.")] = "txt",
) -> None:
    """Dry-run rules on articles in files or standard input.

    No database, no network, nothing sent. Rule and input problems go to stderr as
    path:line: message lines and make the exit code 1;
    the good rules are still applied. An article over http.page_max_bytes (5 MiB by
    default) is refused: a .txt or .html file or standard input with exit 2 before
    anything is printed, a line of a .jsonl file as a problem at its line.
    """
    from monitor.rules import compile_rules, load_rules
    from monitor.text import clean_line
    config = get_config(ctx)
    cap = config.http.page_max_bytes
    sources = _prepare(inputs, stdin_type, cap)
    target = rules if rules is not None else config.rules_path
    if not target.exists():
        fail(f"{target}: no such rule file or directory")
    book = load_rules(target, entities_from=config.rules_path)  # a file: the folder's entities
    problems = list(book.problems)
    matcher = compile_rules(book)
    for ident, doc in _documents(sources, cap, problems):
        hits = matcher.match(doc)
        if as_json:
            for hit in hits:
                typer.echo(json.dumps({"id": ident, "rule": hit.rule_id,
                                       "evidence": [asdict(e) for e in hit.evidence]},
                                      ensure_ascii=False))
            continue
        if not hits:
            typer.echo(f"{ident}: no rule matched")
        for hit in hits:
            typer.echo(f"{ident}: {hit.rule_id} ({clean_line(hit.rule_name)})")
            for ev in hit.evidence:
                typer.echo(f"    {ev.field:<5} {matched_words(ev)}: {clean_line(ev.snippet)}")
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        raise typer.Exit(1)
