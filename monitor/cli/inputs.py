"""The articles ``monitor match`` and ``monitor try`` read: files or standard input (``-``),
capped in size and decoded with every problem said.

The cap is ``http.page_max_bytes``, the largest page the daemon ever fetches: matching one
32 MB text took 12 s and 1.2 GB, so a larger input is refused before it is read.
"""

from __future__ import annotations

import codecs
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli.app import fail
from monitor.errors import RuleProblem

if TYPE_CHECKING:
    from monitor.models import Document

STDIN = "-"  # the file argument that means standard input
STDIN_NAME = "<stdin>"  # standard input in output and messages
CAP_SETTING = "http.page_max_bytes"

# Byte-order marks and their codecs; UTF-32's comes first (it starts as UTF-16's does).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def is_stdin(path: Path | str) -> bool:
    return str(path) == STDIN


def input_name(path: Path) -> str:
    """How messages name an input: its path as given, or ``<stdin>``."""
    return STDIN_NAME if is_stdin(path) else str(path)


def over_cap(cap: int, size: int | None = None) -> str:
    """Why an article is refused: ``33,648,390 bytes, over the 5,242,880-byte limit...``."""
    sized = f"{size:,} bytes, " if size is not None else ""
    return f"{sized}over the {cap:,}-byte limit on an article ({CAP_SETTING})"


def check_file(path: Path, cap: int | None) -> None:
    """Exit 2 with one line if the file at ``path`` cannot be read or is over ``cap`` (None:
    no cap), before reading any of it."""
    try:
        with path.open("rb") as stream:  # opened: a file that is there but not readable
            size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    if cap is not None and size > cap:
        fail(f"{path}: {over_cap(cap, size)}")


def read_input(path: Path, cap: int | None) -> bytes:
    """The bytes of a file, or of standard input for ``-``; more than ``cap`` (None: no cap)
    exits 2 with one line. At most ``cap + 1`` bytes are read (standard input has no size to
    check first, and a file may have grown since :func:`check_file`)."""
    name = input_name(path)
    limit = -1 if cap is None else cap + 1
    try:
        if is_stdin(path):
            if sys.stdin is None:  # the process started with it closed (`<&-`)
                fail(f"{name}: cannot read: standard input is closed")
            data = sys.stdin.buffer.read(limit)
        else:
            with path.open("rb") as stream:
                data = stream.read(limit)
    except OSError as exc:
        fail(f"{name}: cannot read: {exc.strerror or exc}")
    if cap is not None and len(data) > cap:
        fail(f"{name}: {over_cap(cap)}")
    return data


def decode_text(raw: bytes, name: str, problems: list[RuleProblem]) -> str | None:
    """Text as bytes: UTF-8, or UTF-8, UTF-16 or UTF-32 after a byte-order mark.

    Bytes that are not in that encoding (a windows-1251 file) are read as U+FFFD and
    reported, as is binary content (NUL bytes), which is not read at all (None): either
    would otherwise match nothing without a word. ``name`` names the input in problems.
    """
    codec = next((found for bom, found in _BOMS if raw.startswith(bom)), "utf-8")
    data = raw.removeprefix(codecs.BOM_UTF8)  # UTF-16 and UTF-32 read their own
    text = data.decode(codec, "replace")
    if "\x00" in text:
        problems.append(RuleProblem(name, 0, "binary content, not text"))
        return None
    try:
        data.decode(codec)
    except UnicodeDecodeError as exc:
        replaced = text.count("\ufffd") - data.decode(codec, "ignore").count("\ufffd")
        more = f" and {replaced - 1} more" if replaced > 1 else ""
        problems.append(RuleProblem(name, 0, (
            f"not {codec.upper()} text (the byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start + len(raw) - len(data)}{more} {'were' if more else 'was'} replaced): "
            "save it as UTF-8")))
    return text


def text_document(text: str) -> Document:
    """An article as a text file holds it: the first non-empty line is the title, the rest
    the body."""
    from monitor.models import Document
    from monitor.text import clean_prose
    lines = clean_prose(text).splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    title = lines[0].strip() if lines else ""
    return Document(title=title, body="\n".join(lines[1:]).strip())
