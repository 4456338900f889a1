"""``monitor hits``: what matched, newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, fail, get_config
from monitor.cli.service import open_store

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.store import StoredHit


def _since(value: str | None) -> datetime | None:
    from monitor.config import parse_duration
    if value is None:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r}: use a duration such as 2d or 12h, or an ISO date")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule id.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only hits this recent: 2d, 12h, 30m, or an ISO date.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List stored hits with their evidence."""
    config = get_config(ctx)
    store = open_store(config)
    found = store.hits(rule_id=rule, since=_since(since), limit=limit)
    store.close()
    if as_json:
        for hit in found:
            typer.echo(json.dumps(hit_json(hit), ensure_ascii=False))
        return
    if not found:
        typer.echo("no hits")
        return
    for hit in found:
        when = hit.published.strftime("%Y-%m-%d %H:%M") if hit.published else "-"
        typer.echo(f"[{hit.rule_id}] {hit.title}\n    {hit.source} | {when} | {hit.url}")
        terms = ", ".join(dict.fromkeys(e.term for e in hit.evidence))
        typer.echo(f"    matched: {terms}")
        for evidence in hit.evidence[:3]:
            typer.echo(f"    {evidence.snippet}")
