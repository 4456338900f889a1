"""``monitor hits``: what matched, newest first."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, fail, get_config
from monitor.cli.output import suggestion, when
from monitor.cli.service import open_store
from monitor.text import clean_line

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.config import Config
    from monitor.models import Evidence
    from monitor.store import Store, StoredHit


def matched_words(evidence: Evidence) -> str:
    """A matched term with the words the article used when they differ from it:
    ``@gaza (Газе)``, ``"gencatan senjata"``, ``Gaza``."""
    term, words = clean_line(evidence.term), clean_line(evidence.matched)
    if not words or words.casefold() == term.strip('"').casefold():
        return term
    return f"{term} ({words})"


def _since(value: str | None) -> datetime | None:
    from monitor.config import parse_duration
    if value is None:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        as_duration = str(exc)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        reason = f" ({as_duration})" if value[:1].isdigit() and "-" not in value else ""
        fail(f"--since {value!r}: use a duration such as 2d or 12h, or an ISO date{reason}")
    try:  # 0001-01-01T00:00+01:00 is before the first day Python's calendar has in UTC
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        fail(f"--since {value!r}: out of range")


def hit_json(hit: StoredHit) -> dict[str, object]:
    """The JSON form of a hit (one object per line in ``--json`` output)."""
    return {
        "id": hit.id,
        "rule": hit.rule_id,
        "rule_name": hit.rule_name,
        "title": hit.title,
        "url": hit.url,
        "source": hit.source,
        "language": hit.language,
        "published": hit.published.isoformat() if hit.published else None,
        "matched_at": hit.matched_at.isoformat(),
        "story": hit.story_id,
        "evidence": [
            {"term": e.term, "matched": e.matched, "field": e.field, "start": e.start,
             "end": e.end, "snippet": e.snippet, "entity": e.entity}
            for e in hit.evidence
        ],
    }


@app.command("hits")
def hits(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(
        "--rule", metavar="ID", help="Only this rule id.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN",
        help="Only hits this recent: 2d, 12h, 30m, or an ISO date.")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1,
                                       help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List stored hits with their evidence."""
    config = get_config(ctx)
    store = open_store(config)
    if rule is not None:
        _known_rule(config, store, rule)
    # a batch at a time: an export of every hit (--limit 1000000000 --json) stays small, and
    # any --limit is fine (the databases' LIMIT is a signed 64-bit integer; each read asks
    # for a batch)
    try:
        _print_hits(config, store.iter_hits(rule_id=rule, since=_since(since), limit=limit),
                    as_json, "no hits" + (f" for {rule}" if rule else "")
                    + (f" since {since}" if since else ""))
    finally:
        store.close()


def _print_hits(config: Config, found: Iterable[StoredHit], as_json: bool, none: str) -> None:
    from monitor.delivery import distinct_snippets

    number = -1
    for number, hit in enumerate(found):
        if as_json:
            typer.echo(json.dumps(hit_json(hit), ensure_ascii=False))
            continue
        typer.echo(("\n" if number else "") + f"[{hit.rule_id}] {clean_line(hit.title)}")
        typer.echo(f"    {clean_line(hit.source)} | published {when(hit.published)} | "
                   f"matched {when(hit.matched_at)}")
        typer.echo(f"    {hit.url}")
        if config.web.public_url:  # where its evidence is shown whole and marked relevant
            typer.echo(f"    {config.web.public_url}hits/{hit.id}")
        terms = list(dict.fromkeys(matched_words(e) for e in hit.evidence))
        typer.echo(f"    matched: {', '.join(terms)}")
        # The passages an alert shows: one per passage, not one per word found in it.
        for snippet in distinct_snippets(hit.evidence, clean_line)[:3]:
            typer.echo(f"    - {snippet}")
    if number < 0 and not as_json:
        typer.echo(none)


def _known_rule(config: Config, store: Store, rule: str) -> None:
    """Exit 2 with a suggestion when no rule file and no stored hit knows ``rule``."""
    from monitor.rules import load_rules
    known = set(store.hit_rule_ids())
    if config.rules_path.exists():
        known |= {r.id for r in load_rules(config.rules_path).rules}
    if rule not in known:
        store.close()
        fail(f"--rule: no rule with id {rule!r}"  # ids are lower case: GAZA is gaza
             f"{suggestion(rule, known) or suggestion(rule.lower(), known)}")
