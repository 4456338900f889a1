"""``monitor init``: a commented starter configuration, one example rule, and copies of the
bundled entity files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

import monitor
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


def bundled_entities() -> Path | None:
    """The bundled entity files: ``monitor/bundled/entities``, in a checkout a link to
    ``rules/entities``, in an installed wheel a copy of its files; None if it is missing
    (a package copied without its data)."""
    folder = Path(monitor.__file__).resolve().parent / "bundled" / "entities"
    return folder if folder.is_dir() else None


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(
        metavar="FOLDER", help="Where to write them (default: the current folder).",
        file_okay=False)] = Path(),
    entities: Annotated[bool, typer.Option(
        "--entities/--no-entities",
        help="Copy the bundled entity files (people, places, organisations, concepts, sides and "
             "the built-in @country-<code> entities) into rules/entities/.")] = True,
) -> None:
    """Write a starter monitor.yaml, a rule and the entity files.

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
    written = f"wrote {config} and {rule}"
    source = bundled_entities() if entities else None
    if source is not None:
        target = rule.parent / "entities"
        target.mkdir(exist_ok=True)
        copied = [shutil.copyfile(path, target / path.name)
                  for path in sorted(source.glob("*.yaml")) if not (target / path.name).exists()]
        written = (f"wrote {config}, {rule} and {len(copied)} entity "
                   f"file{'' if len(copied) == 1 else 's'} in {target}")
    elif entities:
        written += ("\nthe bundled entity files are not installed with the program: copy "
                    "rules/entities/ from newsmonitor's source into "
                    f"{rule.parent} to use them")
    typer.echo(f"{written}\nnext: monitor check, then monitor db upgrade and "
               "monitor run --once")
