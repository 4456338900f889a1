"""The user docs stay true to the code: every command and every setting is documented."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import typer.main
from pydantic import BaseModel

from monitor.cli import app
from monitor.config import Config

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _subcommands(command: Any) -> dict[str, Any]:
    # typer vendors its own click, so groups are recognised by their ``commands`` mapping
    return dict(getattr(command, "commands", {}) or {})


def _commands(group: Any, prefix: str = "monitor") -> list[str]:
    found = []
    for name, command in _subcommands(group).items():
        path = f"{prefix} {name}"
        found.append(path)
        found.extend(_commands(command, path))
    return found


def _settings(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf setting's dotted name; sections count through their settings."""
    found = []
    for name, field in model.model_fields.items():
        if name in {"base_dir", "source"}:
            continue
        dotted = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(_settings(annotation, f"{dotted}."))
            continue
        nested = [a for a in typing.get_args(annotation)
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        for arg in nested:
            inner = f"{dotted}[]." if typing.get_origin(annotation) is list else (
                f"{dotted}.<name>.")
            found.extend(_settings(arg, inner))
        if not nested:
            found.append(dotted)
    return found


def test_every_command_is_documented_in_the_readme() -> None:
    root = typer.main.get_command(app)
    missing = [c for c in _commands(root) if f"`{c}" not in README]
    assert missing == [], f"commands missing from README.md: {missing}"


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)

    def walk(group: Any, path: str) -> list[str]:
        bare = []
        for name, command in _subcommands(group).items():
            if not (command.help or command.short_help):
                bare.append(f"{path} {name}")
            bare.extend(walk(command, f"{path} {name}"))
        return bare

    assert walk(root, "monitor") == []


def test_every_setting_is_documented_in_the_readme() -> None:
    settings = [*_settings(Config), "secrets_file", "feeds[].url", "channels.<name>.urls"]
    documented = set(re.findall(r"`([a-z_\[\]<>.]+)`", README))
    missing = [s for s in settings if s not in documented]
    assert missing == [], f"settings missing from README.md: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:1500]
    assert "make run" in head and "make test" in head


def _flags(command: Any) -> list[str]:
    """The long options a command's --help lists (--help itself aside)."""
    return [opt for param in command.params if getattr(param, "param_type_name", "") == "option"
            and not getattr(param, "hidden", False)
            for opt in param.opts if opt.startswith("--") and opt != "--help"]


def _readme_row(path: str) -> str | None:
    match = re.search(rf"^\| `{re.escape(path)}` \|(.*)$", README, re.MULTILINE)
    return match.group(1) if match else None


def test_every_flag_in_help_is_documented_in_the_readme() -> None:
    root = typer.main.get_command(app)
    commands = README.partition("## Commands")[2].partition("\n## ")[0]
    missing = [f"monitor {flag}" for flag in _flags(root) if f"`{flag}" not in commands]

    def walk(group: Any, prefix: str) -> None:
        for name, command in _subcommands(group).items():
            path = f"{prefix} {name}"
            row = _readme_row(path) or ""
            missing.extend(f"{path} {flag}" for flag in _flags(command)
                           if f"`{flag}" not in row)
            walk(command, path)

    walk(root, "monitor")
    assert missing == [], f"flags missing from their command's row in README.md: {missing}"
