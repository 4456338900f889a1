"""``monitor check`` and ``monitor match``: validate rules, and dry-run them on files.

Neither command touches the database or the network.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, fail, get_config, read_config
from monitor.cli.hits import matched_words
from monitor.cli.output import plural
from monitor.errors import ConfigError, ExtractError, RuleProblem

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.models import Document


def _rules_path(ctx: typer.Context, path: Path | None) -> Path:
    target = path if path is not None else get_config(ctx).rules_path
    if not target.exists():
        fail(f"{target}: no such rule file or directory")
    return target


@app.command("check")
def check(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(
        metavar="PATH",
        help="Rule file or folder (default: the configured rules directory).")] = None,
) -> None:
    """Validate the configuration and rules; run rule tests.

    Checks the configuration and the rules, and runs each rule's test examples.
    Exit 0 when everything holds; otherwise exit 1 and print one path:line: message line per
    problem, all of them at once: the configuration file (unknown settings, bad values, feed
    URLs that cannot be fetched, and what only a stage can judge: channel URLs, digest
    schedules, templates, private networks, the web address), the rules, channel names in
    notify: lists (when a configuration file is in use), the rules' test examples, entity
    aliases that can never match, and/or/not/near in lower case (searched as words, not
    operators), and words mixing look-alike Latin, Cyrillic or Greek letters.
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
    target = path if path is not None else config.rules_path
    if not target.exists():
        fail(f"{target}: no such rule file or directory")
    book = load_rules(target)
    problems = list(book.problems)
    if config.source != "<defaults>":
        problems += channel_problems(book, config.channels)
    problems += run_rule_tests(book, compile_rules(book))
    problems += alias_problems(book)
    problems += rule_warnings(book)
    for problem in sorted(problems, key=lambda p: (p.path, p.line)):
        typer.echo(str(problem))
    if problems:
        raise typer.Exit(1)
    examples = sum(len(r.tests.match) + len(r.tests.no_match) for r in book.rules)
    typer.echo(f"{target}: {plural(len(book.rules), 'rule')}, "
               f"{plural(len(book.entities), 'entity', 'entities')}, "
               f"{plural(examples, 'example')}: all hold")


# Byte-order marks and their codecs; UTF-32's comes first (it starts as UTF-16's does).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
INPUT_SUFFIXES = (".txt", ".html", ".htm", ".jsonl")


def read_text(path: Path, problems: list[RuleProblem]) -> str | None:
    """A text file's contents: UTF-8, or UTF-8, UTF-16 or UTF-32 after a byte-order mark.

    Bytes that are not in that encoding (a windows-1251 file) are read as U+FFFD and
    reported, as is binary content (NUL bytes), which is not read at all (None): either
    would otherwise match nothing without a word.
    """
    raw = path.read_bytes()
    codec = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")
    data = raw.removeprefix(codecs.BOM_UTF8)  # UTF-16 and UTF-32 read their own
    text = data.decode(codec, "replace")
    if "\x00" in text:
        problems.append(RuleProblem(str(path), 0, "binary content, not text"))
        return None
    try:
        data.decode(codec)
    except UnicodeDecodeError as exc:
        replaced = text.count("\ufffd") - data.decode(codec, "ignore").count("\ufffd")
        more = f" and {replaced - 1} more" if replaced > 1 else ""
        problems.append(RuleProblem(str(path), 0, (
            f"not {codec.upper()} text (the byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start + len(raw) - len(data)}{more} {'were' if more else 'was'} replaced): "
            "save it as UTF-8")))
    return text


def read_txt(path: Path) -> Document:
    """An article in a text file: the first non-empty line is the title, the rest the body."""
    return _txt_document(read_text(path, []) or "")


def _txt_document(text: str) -> Document:
    from monitor.models import Document
    from monitor.text import clean_text
    lines = clean_text(text).splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    title = lines[0].strip() if lines else ""
    return Document(title=title, body="\n".join(lines[1:]).strip())


def _read_jsonl(path: Path, problems: list[RuleProblem]) -> Iterator[tuple[str, Document]]:
    from monitor.models import Document
    from monitor.text import clean_text
    text = read_text(path, problems) or ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(RuleProblem(str(path), number, f"not JSON: {exc.msg}"))
            continue
        fields = ("id", "title", "text", "lang", "url")
        if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str | int | type(None)) for k in fields):
            problems.append(RuleProblem(str(path), number, 'expected {"id", "title", "text", '
                                        '"lang"?, "url"?} with text values'))
            continue
        ident = item.get("id")
        yield (str(ident) if ident is not None else f"{path.name}:{number}",
               Document(title=clean_text(str(item.get("title") or "")),
                        body=clean_text(str(item.get("text") or "")),
                        language=str(item["lang"]) if item.get("lang") else None))


def _inputs(paths: list[Path], problems: list[RuleProblem]) -> Iterator[tuple[str, Document]]:
    from monitor.extract import extract_html
    from monitor.models import Document
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".txt":
            text = read_text(path, problems)
            if text is not None:
                yield path.name, _txt_document(text)
        elif suffix in (".html", ".htm"):
            try:
                extracted = extract_html(path.read_bytes(), None)
            except ExtractError as exc:  # binary content, a page too complex to parse
                problems.append(RuleProblem(str(path), 0, str(exc)))
                continue
            if extracted is None:
                problems.append(RuleProblem(str(path), 0, "no article text could be extracted"))
                continue
            yield path.name, Document(title=extracted.title or "", body=extracted.text,
                                      language=extracted.language)
        elif suffix == ".jsonl":
            yield from _read_jsonl(path, problems)


@app.command("match")
def match(
    ctx: typer.Context,
    inputs: Annotated[list[Path], typer.Argument(
        metavar="FILE", help=".txt (first non-empty line is the title), .html, or .jsonl "
             '({"id", "title", "text", "lang"?, "url"?} per line).',
        exists=True, dir_okay=False, readable=True)],
    rules: Annotated[Path | None, typer.Option(
        "--rules", metavar="PATH",
        help="Rule file or folder (default: the configured rules directory).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help='One JSON object per line per (article, rule): {"id", "rule", '
                       '"evidence"}.')] = False,
) -> None:
    """Dry-run rules on articles in files.

    No database, no network, nothing sent. Rule and input problems go to stderr as
    path:line: message lines and make the exit code 1;
    the good rules are still applied.
    """
    from monitor.rules import compile_rules, load_rules
    from monitor.text import clean_line
    for path in inputs:  # before any output: a refused input is the only thing said
        if path.suffix.lower() not in INPUT_SUFFIXES:
            fail(f"{path}: unsupported input (use .txt, .html or .jsonl)")
    book = load_rules(_rules_path(ctx, rules))
    problems = list(book.problems)
    matcher = compile_rules(book)
    for ident, doc in _inputs(inputs, problems):
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
