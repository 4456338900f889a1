"""What commands print: aligned tables, human durations, times with their zone, plurals.

rich is imported inside :func:`print_table`, when a command prints a table, never at import
(``monitor --help`` stays fast).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer

from monitor.text import closest


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 rule``, ``2 rules`` (``nouns`` for an irregular plural)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def human_duration(seconds: float) -> str:
    """``45s``, ``15m``, ``75m``, ``1h``, ``2h``, ``1h30m``, ``2d``, ``1d12h``: rounded to the
    unit below; a whole hour is written in hours (``1h``, as monitor.yaml would write it)."""
    total = round(seconds)
    if total < 90:
        return f"{total}s"
    minutes = round(total / 60)
    if minutes < 60 or (minutes < 90 and minutes % 60):
        return f"{minutes}m"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    hours = round(total / 3600)
    days, rest = divmod(hours, 24)
    return f"{days}d{rest}h" if rest else f"{days}d"


def when(moment: datetime | None, empty: str = "-") -> str:
    """``2026-12-01 14:03 UTC``: a stored time with its zone (naive times are UTC)."""
    if moment is None:
        return empty
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def suggestion(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """`` (did you mean X?)`` for the closest choice, else for the one choice that begins
    with ``word`` (``gaza`` for ``gaza-ceasefire``), or an empty string."""
    choices = list(choices)
    close = closest(word, choices, cutoff)
    if close is None and word:
        starting = [c for c in choices if c.startswith(word)]
        close = starting[0] if len(starting) == 1 else None
    return f" (did you mean {close}?)" if close else ""


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns two spaces apart; text is printed as is (no markup), one row per line.

    On a terminal the table fits its width; into a pipe or file lines are not wrapped below
    160 columns, so each row stays one line for grep. A table wider than that keeps its
    narrow columns whole and folds the cells of its widest ones within their column.
    """
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160,
                      file=sys.stdout)
    table = [list(headers), *(list(row) for row in rows)]
    laid = _aligned(table, console.width)
    if laid is not None:  # the header in bold, as rich prints it (on a terminal)
        with console.capture() as captured:
            for line in laid[0]:
                console.print(Text(line, style="bold"))
        laid[0] = captured.get().splitlines()
        lines = [line for row in laid for line in row]
    else:
        lines = _rich_table(console, table)
    # click's echo, not sys.stdout: on a terminal in ASCII or Latin-1 it prints "?" for what
    # the terminal cannot show, where a plain write raised UnicodeEncodeError (a traceback).
    typer.echo("".join(f"{line}\n" for line in lines), nl=False)


def _aligned(table: list[list[str]], width: int) -> list[list[str]] | None:
    """The lines of each row of ``table``, in columns two spaces apart within ``width`` where
    that can be done; None for what only rich lays out (control characters, cells that take
    no width).

    A table that fits prints as rich prints it. One that does not keeps its narrow columns
    whole and narrows the widest ones alike, folding their cells at spaces (a word longer
    than its column is cut). rich laid out 20,000 feeds in 9 s and 250 MB, 13 s when one
    cell needed wrapping; this takes a fraction of a second.
    """
    from rich.cells import cell_len

    columns = len(table[0])
    if any(len(row) != columns or not all(cell.isprintable() for cell in row)
           for row in table):
        return None
    lengths = [[cell_len(cell) for cell in row] for row in table]
    if any(cell and not n for row, ns in zip(table, lengths, strict=True)
           for cell, n in zip(row, ns, strict=True)):
        return None  # rich drops what takes no width alone
    widths = [max(row[i] for row in lengths) for i in range(columns)]
    room = width - 2 * (columns - 1)
    # (rich gives an empty column one cell when it decides whether the table fits)
    if sum(max(w, 1) for w in widths) > room:
        widths = _fitted([max(w, 1) for w in widths], room)
    rows: list[list[str]] = []
    for row, ns in zip(table, lengths, strict=True):
        if all(n <= w for n, w in zip(ns, widths, strict=True)):
            rows.append(["  ".join(cell + " " * (w - n) for cell, n, w
                                   in zip(row, ns, widths, strict=True)).rstrip()])
            continue
        folded = [_fold(cell, w) if n > w else [cell]
                  for cell, n, w in zip(row, ns, widths, strict=True)]
        rows.append(["  ".join(part + " " * (w - cell_len(part)) for part, w in zip(
            (cell[k] if k < len(cell) else "" for cell in folded), widths, strict=True)).rstrip()
            for k in range(max(map(len, folded)))])
    return rows


def _fitted(widths: list[int], room: int) -> list[int]:
    """Column widths within ``room`` cells: every column wider than some cap is cut to it
    (the spare cells go to the first of them), the others keep their width."""
    if sum(widths) <= room:
        return widths
    cap = 1
    while sum(min(w, cap + 1) for w in widths) <= room:
        cap += 1
    spare = room - sum(min(w, cap) for w in widths)
    fitted = []
    for w in widths:
        extra = 1 if w > cap and spare > 0 else 0
        spare -= extra
        fitted.append(min(w, cap) + extra)
    return fitted


_WORD = re.compile(r"\S+\s*")


def _fold(cell: str, width: int) -> list[str]:
    """``cell`` in lines of at most ``width`` cells, broken at spaces; a longer word is cut."""
    from rich.cells import cell_len

    lines: list[str] = []
    line, used = "", 0
    for found in _WORD.findall(cell):
        token, word = found, found.rstrip()
        if line and used + cell_len(word) > width:
            lines.append(line.rstrip())
            line, used = "", 0
        while not line and cell_len(word) > width:  # a word wider than the column
            cut = _cut(word, width)
            lines.append(word[:cut])
            word, token = word[cut:], token[cut:]
        line += token
        used += cell_len(token)
    if line or not lines:
        lines.append(line.rstrip())
    return lines


def _cut(word: str, width: int) -> int:
    """How many characters of ``word`` fill ``width`` cells (at least one)."""
    from rich.cells import cell_len

    used = 0
    for index, char in enumerate(word):
        used += cell_len(char)
        if used > width:
            return max(index, 1)
    return len(word)


def _rich_table(console: Any, table: list[list[str]]) -> list[str]:
    from rich.table import Table
    from rich.text import Text

    rich_table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold",
                       padding=(0, 2, 0, 0))
    for header in table[0]:
        rich_table.add_column(Text(header), overflow="fold")
    for row in table[1:]:
        rich_table.add_row(*(Text(cell) for cell in row))
    with console.capture() as captured:
        console.print(rich_table)
    return [line.rstrip() for line in captured.get().splitlines()]
