"""``monitor backtest``: replay rules over the stored articles."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, fail, get_config
from monitor.cli.output import plural
from monitor.cli.service import open_store

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.rules import BacktestReport, RuleBook, UnseenWord


@app.command("backtest")
def backtest_command(
    ctx: typer.Context,
    rules: Annotated[Path | None, typer.Option(
        "--rules", metavar="PATH",
        help="Rule file or folder (default: the configured rules directory).")] = None,
    since: Annotated[str, typer.Option(
        "--since", metavar="DURATION",
        help="Only articles fetched this recently: 30d, 12h...")] = "30d",
    as_json: Annotated[bool, typer.Option(
        "--json", help='One JSON object per line per (article, rule): {"rule", "article", '
                       '"title", "url", "source", "published", "evidence"}.')] = False,
) -> None:
    """Replay rules over stored articles; sends nothing.

    Reports what would have matched, per rule and per day, with the words a stem or prefix
    took in that no alias writes (@deal: according 31); then any rule word that no stored
    article has while a close spelling is in several (ceasfire: ceasefire is in 340
    articles), a likely typo, which matches nothing and says nothing.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from monitor.config import parse_duration
    from monitor.rules import (  # the matcher's imports are heavy: load on use
        BacktestMatch,
        backtest_store,
        compile_rules,
        load_rules,
        unseen_words,
    )
    from monitor.store import Access, ArticleVocabulary, TextIndex

    config = get_config(ctx)
    try:
        start = datetime.now(UTC) - timedelta(seconds=parse_duration(since))
    except ValueError as exc:
        fail(f"--since: {exc}")
    target = rules or config.rules_path
    if not target.exists():
        fail(f"{target}: no such rule file or directory")
    book = load_rules(target, entities_from=config.rules_path)  # a file: the folder's entities
    for problem in book.problems:
        typer.echo(str(problem), err=True)
    matcher = compile_rules(book)
    store = open_store(config)

    def emit(m: BacktestMatch) -> None:  # --json streams each match: nothing is kept
        typer.echo(json.dumps({
            "rule": m.hit.rule_id, "article": m.article.id, "title": m.article.title,
            "url": m.article.url, "source": m.article.source,
            "published": m.article.published.isoformat() if m.article.published else None,
            "evidence": [asdict(e) for e in m.hit.evidence],  # as monitor match --json
        }, ensure_ascii=False))

    # A count on the terminal (stderr), none in a pipe or beside --json's lines: standard
    # output is the report alone.
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("matching stored articles: {task.completed}"),
                  console=console, transient=True, redirect_stdout=False,
                  disable=as_json or not console.is_terminal) as progress:
        task = progress.add_task("backtest", total=None)
        report = backtest_store(store, book, matcher, start,
                                lambda n: progress.advance(task, n),
                                emit if as_json else None)
    access = Access(store)
    verdicts = {r.id: access.verdicts_by_article(r.id) for r in book.rules}
    typos = unseen_words(book, ArticleVocabulary(TextIndex(store)))
    store.close()
    if not as_json:
        _print_report(report, book, start, verdicts)
    _print_typos(typos, err=as_json)  # standard output is --json's lines alone
    if book.problems:  # the good rules were replayed; the broken ones were not
        raise typer.Exit(1)


def _print_report(report: BacktestReport, book: RuleBook, start: datetime,
                  verdicts: dict[str, dict[int, bool]]) -> None:
    how = "candidates from the text index" if report.indexed else "every stored article"
    typer.echo(f"{plural(report.articles, 'article')} read ({how}) since "
               f"{start:%Y-%m-%d %H:%M} UTC, {plural(report.matches, 'match', 'matches')}")
    for rule in sorted(r.id for r in book.rules):
        judged = [verdicts[rule][a] for a in report.matched_ids.get(rule, [])
                  if a in verdicts[rule]]
        precision = (f"precision {sum(judged) / len(judged):.0%} "
                     f"({sum(judged)} relevant of {len(judged)} with feedback)"
                     if judged else "precision - (no feedback on these hits)")
        matched = plural(report.per_rule.get(rule, 0), "match", "matches")
        typer.echo(f"\n{rule}: {matched}; {precision}")
        days = sorted((d, n) for (r, d), n in report.per_day.items() if r == rule)
        for day, count in days:
            typer.echo(f"  {day}  {count}")
        _print_forms(report, rule)


def _print_forms(report: BacktestReport, rule: str) -> None:
    """The words the rule matched that no alias or term writes, for its author to read: a
    stem or prefix can take in a word said of anything ("according" for accord)."""
    from monitor.rules import FORM_SAMPLE, commonest_forms

    forms = commonest_forms(report.forms.get(rule, Counter()))
    if not forms:
        return
    total = report.per_rule.get(rule, 0)
    read = plural(min(total, FORM_SAMPLE), "match", "matches")
    if total > FORM_SAMPLE:
        read = f"the first {read} of {total:,}"
    typer.echo(f"  words matched through a stem or prefix, in {read} (is each one meant?):")
    for term, words in forms:
        typer.echo(f"    {term}: " + ", ".join(f"{word} {count}" for word, count in words))


def _print_typos(typos: list[UnseenWord], *, err: bool) -> None:
    """Rule words no stored article has, each beside the close spelling many have."""
    if not typos:
        return
    typer.echo("\nWords in no stored article, where a close spelling is in several "
               "(a typo matches nothing, silently):", err=err)
    for typo in typos:
        typer.echo(f"  {typo.rule_id}: {typo.word!r}; {typo.alike!r} is in "
                   f"{plural(typo.articles, 'article')}", err=err)
