"""What the command line prints: help pages, --version, read commands on a folder without a
database, unknown rule ids, human durations."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

from monitor import __version__
from monitor.cli import app
from monitor.cli.output import (
    _aligned,
    _fitted,
    _rich_table,
    human_duration,
    plural,
    print_table,
    when,
)


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _paths(command: Any, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, sub in (getattr(command, "commands", {}) or {}).items():
        found += _paths(sub, [*path, name])
    return found


ARTEFACTS = re.compile(r"`|<(?:str|bool|int|path|file|float|list)\b|\{[a-z_]+\}|:mod:|^\s*\.\. ")


def test_every_help_page_is_free_of_markup_artefacts_and_truncated_lines() -> None:
    for path in _paths(typer.main.get_command(app), []):
        code, out, _ = run(*path, "--help")
        assert code == 0, path
        bad = [line for line in out.splitlines() if ARTEFACTS.search(line)]
        assert bad == [], (path, bad)
        listed = out.partition("\nCommands:\n")[2].splitlines()
        assert [line for line in listed if line.endswith("...")] == [], path


def test_help_uses_conventional_metavars() -> None:
    _, out, _ = run("feeds", "add", "--help")
    assert out.startswith("Usage: monitor feeds add [OPTIONS] URL\n")
    assert "  --interval DURATION " in out and "  --tag TAG " in out and "\n  URL  " in out
    _, out, _ = run("--help")
    assert out.startswith("Usage: monitor [OPTIONS] COMMAND [ARGS]...\n")
    assert "--install-completion" in out and "--version" in out


def test_version_and_completion() -> None:
    assert run("--version") == (0, f"newsmonitor {__version__}\n", "")
    env = {"_MONITOR_COMPLETE": "complete_bash", "COMP_WORDS": "monitor fe", "COMP_CWORD": "1",
           "PATH": str(Path(sys.executable).parent)}
    script = Path(sys.executable).parent / "monitor"  # the installed console script
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.stdout.split() == ["feeds"]


@pytest.mark.parametrize("command", [["hits"], ["feeds"], ["notifications"], ["db", "status"],
                                     ["feeds", "export"], ["hits", "--rule", "x"]])
def test_read_commands_never_create_a_database(tmp_path: Path, command: list[str]) -> None:
    code, out, err = run(*command)
    assert (code, out) == (2, "")
    assert err == (f"monitor: no database at {tmp_path / 'var' / 'monitor.db'} yet; run "
                   "`monitor db upgrade` to create it\n")
    assert list(tmp_path.iterdir()) == []


def test_health_on_a_folder_without_a_database_creates_none(tmp_path: Path) -> None:
    code, _, err = run("health")
    assert code == 1
    assert err == (f"monitor: not ready: no database at {tmp_path / 'var' / 'monitor.db'}; "
                   "run `monitor db upgrade`\n")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_rule_id_exits_2_with_a_suggestion(repo_root: Path, tmp_path: Path) -> None:
    Path("monitor.yaml").write_text(f"rules_dir: {repo_root / 'rules'}\n", encoding="utf-8")
    assert run("db", "upgrade")[0] == 0
    assert run("hits", "--rule", "gaza-ceasfire") == (
        2, "", "monitor: --rule: no rule with id 'gaza-ceasfire' (did you mean gaza-ceasefire?)\n")
    assert run("hits", "--rule", "nosuch") == (2, "", "monitor: --rule: no rule with id "
                                                      "'nosuch'\n")
    assert run("hits", "--rule", "gaza-ceasefire") == (0, "no hits for gaza-ceasefire\n", "")


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """``monitor ... | head -1``: exit 0 and nothing on stderr (it exited 1: typer's handling
    of the BrokenPipeError)."""
    import json
    import os

    from tests.daemon_support import monitor_cmd

    (tmp_path / "r.yaml").write_text("rules:\n  - id: gaza\n    query: Gaza\n", encoding="utf-8")
    batch = tmp_path / "many.jsonl"  # 170 KB of output: well past a pipe's 64 KiB buffer
    batch.write_text("".join(json.dumps({"id": f"{n:05d}" + "x" * 150, "text": "no"}) + "\n"
                             for n in range(1000)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_CONFIG",
                                                              "MONITOR_DATABASE_URL")}
    proc = subprocess.Popen(monitor_cmd("match", "--rules", "r.yaml", str(batch)), cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("00000x")
    proc.stdout.close()  # as head -1 does: the writer's next write meets a closed pipe
    err = proc.stderr.read()
    assert (proc.wait(timeout=60), err) == (0, "")


def test_a_command_run_with_stdout_closed_still_works(tmp_path: Path) -> None:
    """``monitor run >&-`` (or a service manager that closes it): Python then has no
    sys.stdout at all, and flushing it raised AttributeError, a traceback, at every exit."""
    import os

    from tests.daemon_support import monitor_cmd

    (tmp_path / "r.yaml").write_text("rules:\n  - id: gaza\n    query: Gaza\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Gaza talks\nbody\n", encoding="utf-8")
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh",
                           *monitor_cmd("match", "--rules", "r.yaml", "a.txt")],
                          cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                          env={k: v for k, v in os.environ.items()
                               if k not in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL")},
                          timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_durations_times_and_plurals_read_as_words() -> None:
    assert [human_duration(s) for s in (45, 171, 900, 3600, 4500, 5400, 7200, 86400,
                                        129600)] == [
        "45s", "3m", "15m", "1h", "75m", "1h30m", "2h", "1d", "1d12h"]
    from datetime import UTC, datetime
    assert when(datetime(2026, 12, 1, 14, 3, tzinfo=UTC)) == "2026-12-01 14:03 UTC"
    assert (plural(1, "rule"), plural(2, "failure"), plural(3, "entry", "entries")) == (
        "1 rule", "2 failures", "3 entries")


def test_db_upgrade_computes_missing_stems_once_and_keeps_its_output_plain(
        tmp_path: Path) -> None:
    from tests.store_support import article, console_route
    from tests.web_support import seeded_store

    (tmp_path / "var").mkdir()
    store = seeded_store(f"sqlite:///{tmp_path / 'var' / 'monitor.db'}")  # saved without stems
    store.save_article(store.feed_health()[0].id, article(url="https://news.example/late"),
                       [], console_route)  # waits for its FTS5 batch (a daemon stopped)
    count = store.count("articles")
    store.close()
    code, out, err = run("db", "upgrade")
    assert code == 0 and err == ""  # the progress bar is for a terminal only
    assert f"text index: stems of {count} articles computed" in out.splitlines()
    assert "text index: 1 article indexed" in out.splitlines()
    code, out, _ = run("db", "upgrade")
    assert code == 0 and "stems of" not in out and "indexed" not in out


def test_tables_print_on_a_terminal_that_is_not_utf8(tmp_path: Path) -> None:
    """A terminal in ASCII (PYTHONIOENCODING, an old locale): the feed and outbox tables were
    written to sys.stdout as they are, and a Cyrillic feed name ended `monitor feeds` in a
    UnicodeEncodeError traceback."""
    import os

    from tests.daemon_support import monitor_cmd

    (tmp_path / "monitor.yaml").write_text(
        f"database_url: sqlite:///{tmp_path / 'm.db'}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_CONFIG",
                                                              "MONITOR_DATABASE_URL")}

    def monitor(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(monitor_cmd(*args), cwd=tmp_path, env={**env, **extra},
                              capture_output=True, text=True, timeout=60, check=False,
                              encoding="utf-8", errors="replace")

    assert monitor("db", "upgrade").returncode == 0
    assert monitor("feeds", "add", "--no-fetch", "https://n.example/rss",
                   "--name", "Новости Дохи").returncode == 0
    listed = monitor("feeds", PYTHONIOENCODING="ascii")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "https://n.example/rss" in listed.stdout


_CELL = st.text(st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")),
                max_size=12).filter(str.isprintable)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5).flatmap(lambda columns: st.lists(
    st.lists(_CELL, min_size=columns, max_size=columns), min_size=1, max_size=6)),
    st.integers(20, 160))
def test_tables_are_laid_out_as_rich_lays_them_out(table: list[list[str]], width: int) -> None:
    """The quick layout (rich took 9 s and 250 MB for 20,000 feeds) prints what rich prints
    when the table fits, and leaves to rich only the cells that take no width."""
    from rich.console import Console

    console = Console(highlight=False, width=width, file=io.StringIO())
    quick = _aligned(table, width)
    widths = [max(cell_len(row[i]) for row in table) for i in range(len(table[0]))]
    if quick is None:
        assert any(cell and not cell_len(cell) for row in table for cell in row)
    elif sum(max(w, 1) for w in widths) + 2 * (len(widths) - 1) <= width:
        assert [line for row in quick for line in row] == _rich_table(console, table)


_WORDY = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")),
                 max_size=60).filter(lambda cell: cell.isprintable() and all(
                     cell_len(c) for c in cell))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5).flatmap(lambda columns: st.lists(
    st.lists(_WORDY, min_size=columns, max_size=columns), min_size=1, max_size=6)),
    st.integers(20, 100))
def test_a_table_wider_than_the_screen_folds_its_widest_cells(table: list[list[str]],
                                                              width: int) -> None:
    """Each row's cells fold within their column: no line is wider than the screen (when a
    column can hold a character), and reading a column's pieces in order gives the cell."""
    laid = _aligned(table, width)
    assert laid is not None and len(laid) == len(table)
    natural = [max(cell_len(row[i]) for row in table) for i in range(len(table[0]))]
    room = width - 2 * (len(natural) - 1)
    fits = sum(max(n, 1) for n in natural) <= room  # (rich's empty column takes one cell)
    widths = natural if fits else _fitted([max(n, 1) for n in natural], room)
    if room >= 2 * len(natural):  # every column can hold a wide character
        assert sum(widths) <= room
        assert all(cell_len(line) <= width for lines in laid for line in lines)
    cap = max(widths)  # only the widest columns are narrowed, all to about the same width
    assert fits or all(w >= min(max(n, 1), cap - 1) for w, n in zip(widths, natural,
                                                                     strict=True))
    starts = [sum(widths[:i]) + 2 * i for i in range(len(widths))]
    for row, lines in zip(table, laid, strict=True):
        for index, cell in enumerate(row):  # the column's text, whitespace aside
            pieces = [_cells(line, starts[index], starts[index] + widths[index])
                      for line in lines]
            assert "".join("".join(p.split()) for p in pieces) == "".join(cell.split())


def _cells(line: str, start: int, end: int) -> str:
    """The characters of ``line`` that begin between screen cells ``start`` and ``end``."""
    taken, at = [], 0
    for char in line:
        if start <= at < end:
            taken.append(char)
        at += cell_len(char)
    return "".join(taken)


def test_a_long_feed_name_folds_in_its_column(capsys: pytest.CaptureFixture[str]) -> None:
    """A 512-character name among 20,000 feeds: rich took 13 s to wrap it. It folds in its
    column; the other rows stay one line each."""
    rows = [(f"Feed {i}", f"https://site{i % 500}.example/feed/{i}.xml", "never", "15m")
            for i in range(20_000)]
    rows[5] = ("N" * 512, rows[5][1], "never", "15m")
    started = time.monotonic()
    print_table(["NAME", "URL", "LAST", "EVERY"], rows)
    assert time.monotonic() - started < 3
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 160
    folded = lines[6:lines.index(next(line for line in lines if line.startswith("Feed 6 ")))]
    assert 1 < len(folded) < 10 and "".join(line.split()[0] for line in folded) == "N" * 512
    assert lines[6].split()[1:] == ["https://site5.example/feed/5.xml", "never", "15m"]
    assert len(lines) == 20_000 + len(folded) and lines[-1].split()[1] == "19999"


def test_a_large_table_is_printed_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [(f"Feed {i}", f"https://site{i % 500}.example/feed/{i}.xml", "never", "15m")
            for i in range(20_000)]
    started = time.monotonic()
    print_table(["NAME", "URL", "LAST", "EVERY"], rows)
    assert time.monotonic() - started < 3  # rich alone: 9 s
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 20_001 and lines[-1].split() == ["Feed", "19999",
                                                          "https://site499.example/feed/"
                                                          "19999.xml", "never", "15m"]
