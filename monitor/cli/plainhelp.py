"""Plain ``--help`` pages: click's layout with conventional metavars and no markup.

Typer's plain help writes a type after every value (``--name <str>``, ``url <str>``) and
puts required arguments in braces (``{url}``). These command and group classes print
``--name NAME`` and ``URL`` instead, as most command-line tools do, and keep rich out of
``--help`` (its import alone costs 0.1 s). They also word a refused option value as the rest
of the tool does, and :class:`ListingGroup` answers ``monitor feeds list``.
"""

from __future__ import annotations

import re
from typing import Any

from typer import _click
from typer.core import TyperCommand, TyperGroup


def _name_metavars(params: list[Any]) -> None:
    for param in params:
        if param.metavar is not None:
            continue
        takes_value = not getattr(param, "is_flag", False) and not getattr(param, "count", False)
        if param.param_type_name == "argument" or takes_value:
            param.metavar = (param.name or "value").upper()


def _format_params(command: Any, ctx: Any, formatter: Any) -> None:
    args: list[tuple[str, str]] = []
    opts: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            dots = "..." if param.nargs != 1 else ""
            args.append((f"{param.metavar}{dots}", record[1]))
        else:
            opts.append(record)
    if args:
        with formatter.section("Arguments"):
            formatter.write_dl(args)
    if opts:
        with formatter.section("Options"):
            formatter.write_dl(opts)


def _usage(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            pieces.extend(param.get_usage_pieces(ctx))
            continue
        name = param.metavar + ("..." if param.nargs != 1 else "")
        pieces.append(name if param.required else f"[{name}]")
    return pieces


# Typer checks option values with pydantic, whose messages read "Input should be ...".
_REWORDED = (
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Input should be greater than or equal to (.+)$"), r"must be at least \1"),
    (re.compile(r"^Input should be greater than (.+)$"), r"must be more than \1"),
    (re.compile(r"^Input should be less than or equal to (.+)$"), r"must be at most \1"),
    (re.compile(r"^Input should be a valid integer\b.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number\b.*$"), "must be a number"),
)


def _parsed(parse: Any, ctx: _click.Context, args: list[str]) -> Any:
    """``parse(ctx, args)``, its refusals in the words of the rest of the tool (``--limit
    0``: "must be at least 1"; ``--status nope``: "'nope' is not one of ...")."""
    try:
        return parse(ctx, args)
    except _click.exceptions.BadParameter as exc:
        for pattern, words in _REWORDED:
            exc.message = pattern.sub(words, exc.message)
        raise


class PlainCommand(TyperCommand):
    """A command whose help reads ``--name NAME`` and ``URL``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_metavars(self.params)

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        parsed: list[str] = _parsed(super().parse_args, ctx, args)
        return parsed

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_params(self, ctx, formatter)

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage(self, ctx)


class PlainGroup(TyperGroup):
    """A command group whose help reads ``--name NAME``, then lists its commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_metavars(self.params)

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        parsed: list[str] = _parsed(super().parse_args, ctx, args)
        return parsed

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return [*_usage(self, ctx), self.subcommand_metavar]


# What people type to list a group's items (``monitor feeds list``, ``notifications ls``).
LIST_WORDS = frozenset({"list", "ls", "show", "all"})


class ListingGroup(PlainGroup):
    """A group that lists its items when given no command (``monitor feeds``): ``list`` and
    its like, refused as unknown commands, say so instead of only "No such command"."""

    def resolve_command(self, ctx: _click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:
            if args and args[0].casefold() in LIST_WORDS:
                exc.message = (f"{exc.message.rstrip('.')}. `{ctx.command_path}` with no "
                               "command lists them (see --help for its options).")
            raise
