"""``monitor try URL``: fetch, extract and match one article page; store nothing.

For a rule that did not match, the query is split at its top-level ``AND`` and ``NOT`` into
conditions, each compiled as a rule of its own and matched on the same text: the rules with
the most conditions holding are the nearest misses, and the conditions that do not hold (or
the ``NOT`` part that does) say why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, fail, get_config
from monitor.cli.hits import matched_words
from monitor.cli.inputs import (
    STDIN_NAME,
    check_file,
    decode_text,
    is_stdin,
    read_input,
    text_document,
)
from monitor.cli.output import plural
from monitor.errors import ExtractError, FetchError, MonitorError, RuleProblem

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.config import Config
    from monitor.models import Document
    from monitor.net import Fetcher
    from monitor.rules import RuleBook

TEXT_LINES = 8
NEAREST = 3
# A quoted string (straight or typographic, as the query parser reads them), a regex, a
# bracket or a bare run.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[“„«”][^“”»]*[“”»]|/(?:[^/\\]|\\.)*/|[()]|[^\s()"]+')


@app.command("try")
def try_url(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(
        help="An article page: http(s) URL, a local file, or - for standard input. A .txt "
             "file, or input with no HTML markup, is an article's text, its first non-empty "
             "line the title.")],
    lines: Annotated[int, typer.Option(
        "--lines", metavar="N", min=0, help="How many lines of the extracted text to show.")
    ] = TEXT_LINES,
) -> None:
    """Fetch, extract and match one article page; store nothing.

    Prints the start of the extracted text, its language, each rule that matched with its
    evidence, and for the nearest rules that did not match, the conditions that failed.
    Nothing is stored or sent. Rule problems go to stderr as path:line: message lines and
    make the exit code 1; the good rules are still tried. A local file or standard input
    over http.page_max_bytes (5 MiB by default), the most a page may be, exits 2.
    """
    from monitor.language import article_language
    from monitor.models import Document
    from monitor.rules import compile_rules, load_rules
    from monitor.text import clean_line

    config = get_config(ctx)
    if not config.rules_path.exists():  # as check and match say it: "0 rules tried" did not
        fail(f"{config.rules_path}: no such rule file or directory")
    url = url.strip()
    content, final_url, content_type = _fetch(config, url)
    problems: list[RuleProblem] = []
    if _is_text(url, content):
        doc_title, body, language = _read_text(content, STDIN_NAME if is_stdin(url) else url,
                                               problems)
    else:
        doc_title, body, language = _extract(content, final_url, content_type)
    # As the daemon reads it: the page's declared language if the text could be in it.
    language, detected = article_language(doc_title, body, language)
    typer.echo(f"{final_url}: {plural(len(body), 'character')} of text, language: "
               f"{language or 'unknown'}")
    typer.echo(f"title: {clean_line(doc_title) or '(none)'}")
    text_lines = [line.strip() for line in body.splitlines() if line.strip()]
    for line in text_lines[:lines]:
        typer.echo(f"  {clean_line(line)[:200]}")
    if len(text_lines) > lines:
        typer.echo(f"  ... {plural(len(text_lines) - lines, 'more line')}")

    book = load_rules(config.rules_path)
    matcher = compile_rules(book)
    doc = Document(title=doc_title, body=body, language=language, language_detected=detected)
    hits = matcher.match(doc)
    typer.echo("")
    if hits:
        typer.echo("matched:")
    for hit in hits:
        typer.echo(f"  {hit.rule_id} ({clean_line(hit.rule_name)})")
        for ev in hit.evidence:
            typer.echo(f"    {ev.field:<5} {matched_words(ev)}: {clean_line(ev.snippet)}")
    if not hits:
        typer.echo(f"no rule matched ({plural(len(book.rules), 'rule')} tried)")
    matched = {h.rule_id for h in hits}
    misses = _near_misses(book, doc, language, [r.id for r in book.rules if r.id not in matched])
    if misses:
        typer.echo("\nnearest rules that did not match:")
    for miss in misses[:NEAREST]:
        typer.echo(f"  {miss.rule_id} ({clean_line(miss.name)}): {miss.summary}")
        for reason in miss.reasons:
            typer.echo(f"    {reason}")
    for problem in [*problems, *book.problems]:
        typer.echo(str(problem), err=True)
    if problems or book.problems:
        raise typer.Exit(1)


def _fetch(config: Config, url: str) -> tuple[bytes, str, str | None]:
    """The page's bytes, final URL and Content-Type: a local file (or standard input, named
    ``<stdin>``) as it is (no type), capped as the fetcher caps pages; a URL through the
    fetcher."""
    cap = config.http.page_max_bytes
    if is_stdin(url):
        return read_input(Path(url), cap), STDIN_NAME, None
    local = Path(url.removeprefix("file://"))
    if "://" not in url or url.startswith("file://"):
        check_file(local, cap)
        return read_input(local, cap), local.resolve().as_uri(), None
    from monitor.net import Fetcher, check_url, shown_url
    try:
        check_url(url)
    except FetchError as exc:
        fail(f"{shown_url(url)}: {exc}")
    fetcher = Fetcher(config.http)
    try:
        page = fetcher.fetch_page(_publisher(config, fetcher, url))
    except FetchError as exc:
        fail(f"{shown_url(url)}: {exc.code}: {exc}", code=1)
    finally:
        fetcher.close()
    return page.content, page.url, page.content_type


def _publisher(config: Config, fetcher: Fetcher, url: str) -> str:
    """The page the daemon would fetch for ``url``: an aggregator's wrapper unwrapped, and a
    Google News link resolved by Google when ``http.resolve_google_news`` is set (said on
    standard error)."""
    from monitor.net import GoogleNewsResolver, resolve_aggregator_link, shown_url
    link = resolve_aggregator_link(url)
    if config.http.resolve_google_news:
        target = GoogleNewsResolver(fetcher, config.http.google_news_url).resolve(link)
        if target is not None:
            typer.echo(f"Google News link resolved to {shown_url(target)}", err=True)
            return target
    return link


# Markup that any HTML page has near its start; text piped in has none.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|meta|title|p|div|article)\b", re.I)


def _is_text(url: str, content: bytes) -> bool:
    """Whether a local input is an article's text rather than a page: a .txt file, or standard
    input or a file of another name without HTML markup in its first 4 KB (an HTML parser
    finds no page in such text)."""
    if "://" in url:
        return False
    suffix = Path(url).suffix.lower()
    return suffix == ".txt" or (suffix not in (".html", ".htm")
                                and _MARKUP.search(content[:4096]) is None)


def _read_text(content: bytes, path: str,
               problems: list[RuleProblem]) -> tuple[str, str, str | None]:
    """Text (a .txt file, or input without markup) as ``monitor match`` reads a .txt file,
    its language left to detection: an HTML parser would find no page in it."""
    text = decode_text(content, path, problems)
    if text is None:  # binary content
        fail(str(problems[0]), code=1)
    doc = text_document(text)
    if not (doc.title or doc.body):
        fail(f"{path}: no text", code=1)
    return doc.title, doc.body, None


def _extract(content: bytes, url: str, content_type: str | None) -> tuple[str, str, str | None]:
    from monitor.extract import extract_html
    from monitor.net import shown_url
    try:
        extracted = extract_html(content, None if url == STDIN_NAME else url,
                                 content_type=content_type)
    except ExtractError as exc:
        fail(f"{shown_url(url)}: {exc.code}: {exc}", code=1)
    if extracted is None or not extracted.text.strip():
        fail(f"{shown_url(url)}: no article text could be extracted", code=1)
    return extracted.title or "", extracted.text, extracted.language


@dataclass
class _Miss:
    rule_id: str
    name: str
    held: int
    total: int
    reasons: list[str]
    excluded: bool = False
    noted: bool = False  # the query has what is rarely meant (a lower-case "and")

    @property
    def summary(self) -> str:
        if self.excluded:
            return "every condition holds, but a NOT part matched"
        verb = "holds" if self.total == 1 else "hold"
        return f"{self.held} of {plural(self.total, 'condition')} {verb}"


def _near_misses(book: RuleBook, doc: Document, language: str | None,
                 rule_ids: list[str]) -> list[_Miss]:
    """The rules in ``rule_ids``, nearest miss first, each with why it did not match."""
    from monitor.rules import Rule, RuleBook, compile_rules, query_notes

    probes: list[Rule] = []
    plans: dict[str, tuple[list[str], list[str]]] = {}
    for rule_id in rule_ids:
        rule = book.rule(rule_id)
        if rule is None:
            continue
        positive, negative = _conditions(rule.query)
        plans[rule_id] = (positive, negative)
        for number, part in enumerate([*positive, *negative]):
            try:
                probes.append(Rule.from_query(f"{rule_id}#{number}", part, stem=rule.stem,
                                              proclitics=rule.proclitics))
            except MonitorError:  # a part that is no query on its own: not explained
                continue
    try:
        found = {h.rule_id for h in compile_rules(
            RuleBook(rules=tuple(probes), entities=book.entities)).match(doc)}
    except MonitorError:
        return []
    misses = []
    for rule_id, (positive, negative) in plans.items():
        rule = book.rule(rule_id)
        assert rule is not None
        holds = [f"{rule_id}#{i}" in found for i in range(len(positive))]
        hits_not = [part for j, part in enumerate(negative)
                    if f"{rule_id}#{len(positive) + j}" in found]
        reasons = [f"missing: {part}" for part, ok in zip(positive, holds, strict=True)
                   if not ok]
        reasons += [f"excluded by: NOT {part}" for part in hits_not]
        if rule.languages and language not in rule.languages and all(holds):
            reasons.append(f"language {language or 'unknown'} is not one of the rule's "
                           f"({', '.join(rule.languages)})")
        notes = query_notes(rule.expr, rule.query)  # "'and' is searched as a word..."
        reasons += [f"note: {note}" for note in notes]
        miss = _Miss(rule_id, rule.name, sum(holds), len(positive), reasons,
                     excluded=all(holds) and bool(hits_not), noted=bool(notes))
        misses.append(miss)
    misses.sort(key=lambda m: (-(m.held / max(m.total, 1)), -m.held, m.rule_id))
    return [m for m in misses if m.held > 0 or m.excluded or m.noted]


def _conditions(query: str) -> tuple[list[str], list[str]]:
    """A query split at its top-level AND and NOT: (conditions, NOT parts). A query whose
    top level is an OR (or has no operator) is one condition."""
    tokens = _TOKEN.findall(" ".join(query.split()))
    positive: list[list[str]] = [[]]
    negative: list[list[str]] = []
    depth = 0
    current = positive[0]
    for word in tokens:
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        if depth == 0 and word in ("AND", "NOT"):  # upper case only, as the parser reads them
            if word == "AND":
                current = []
                positive.append(current)
            else:
                if not current and positive and positive[-1] is current:
                    positive.pop()  # "AND NOT x": the empty conjunct goes
                current = []
                negative.append(current)
            continue
        current.append(word)
    if "OR" in _top_level(tokens):
        return [" ".join(query.split())], []
    return [_written(p) for p in positive if p], [_written(p) for p in negative if p]


def _top_level(tokens: list[str]) -> list[str]:
    depth, out = 0, []
    for word in tokens:
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif depth == 0:
            out.append(word)
    return out


def _written(tokens: list[str]) -> str:
    """Tokens back as a person writes them: ``(a OR b)``, ``NEAR(a b, 30)``."""
    text = " ".join(tokens)
    for spaced, tight in (("( ", "("), (" )", ")"), (" ,", ","), ("NEAR (", "NEAR(")):
        text = text.replace(spaced, tight)
    return text
