"""``monitor init``: a commented starter configuration and one example rule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor import DEFAULT_CONFIG_FILE
from monitor.cli.app import app, fail

STARTER_CONFIG = """\
# newsmonitor configuration, written by `monitor init`. Every setting is described in the
# README ("Configuration"); unknown settings are refused with a suggestion. Paths are relative
# to this file. Check your edits with `monitor check`.

# Where hits, articles and the outbox are kept (MONITOR_DATABASE_URL overrides it).
database_url: sqlite:///var/monitor.db

# The folder of watch-rule files (see rules/example.yaml).
rules_dir: rules

# The feeds to poll: http(s) URLs or local files. `monitor feeds add URL` adds more from the
# command line (and finds the feed behind a web page).
feeds:
  - url: https://feeds.bbci.co.uk/news/world/rss.xml
    name: BBC News World
    language: en
    tags: [world]

polling:
  default_interval: 15m     # adaptive polling moves each feed's interval from here

delivery:
  console: true             # print every alert on standard output
  # default_channels: [team]

# Channels are apprise URLs. Keep secrets out of this file: write ${NAME} and set NAME in
# the environment (or in a secrets_file readable only by you).
# channels:
#   team:
#     urls: ["${TEAM_WEBHOOK_URL}"]
"""

STARTER_RULE = """\
# An example watch rule, written by `monitor init`. The query language is described in
# rules/README.md of newsmonitor; `monitor check` runs the tests below.
rules:
  - id: example-ceasefire
    name: Ceasefire talks
    query: (ceasefire OR truce) AND (talks OR negotiations OR mediators)
    languages: [en]
    tests:
      match:
        - Mediators resume ceasefire talks in Cairo
      no_match:
        - Football club agrees truce with its fans
"""


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(
        metavar="FOLDER", help="Where to write them (default: the current folder).",
        file_okay=False)] = Path(),
) -> None:
    """Write a commented starter monitor.yaml and an example rule.

    Existing files are never overwritten. Then: monitor check, monitor db upgrade,
    monitor run --once.
    """
    config = folder / DEFAULT_CONFIG_FILE
    rule = folder / "rules" / "example.yaml"
    existing = [str(p) for p in (config, rule) if p.exists()]
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        fail(f"{' and '.join(existing)} already {verb}; nothing written")
    rule.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(STARTER_CONFIG, encoding="utf-8")
    rule.write_text(STARTER_RULE, encoding="utf-8")
    typer.echo(f"wrote {config} and {rule}\n"
               "next: monitor check, then monitor db upgrade and monitor run --once")
