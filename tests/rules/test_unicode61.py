"""The tokenizer tables against the SQLite FTS5 ``unicode61 remove_diacritics 2`` tokenizer.

``monitor/rules/unicode61_data.py`` is generated from the live SQLite by this file::

    .venv/bin/python tests/rules/test_unicode61.py --write

The tests probe SQLite again (every BMP code point, a stride through the other planes) and
fail if a single code point is classified or folded differently, so a SQLite whose tables
changed is noticed at once. The departures (``ё`` folded to ``е``, Arabic-Indic and Persian
digits to ASCII ones, a last ``ى`` to ``ي``, ``أ إ آ`` to ``ا``, an apostrophe inside a
Ukrainian word to ``ʼ``) are applied to what SQLite is given
(:func:`~monitor.rules.unicode61.departed`), and tested on their own.
"""

from __future__ import annotations

import random
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from monitor.rules import unicode61, unicode61_data
from monitor.rules.unicode61 import departed, fold_token, split_tokens, token_spans, tokenize

# (continues a token -> folded text or None, starts a token -> folded text or None)
Probe = dict[int, tuple[str | None, str | None]]


def _codepoints(stride: int = 1) -> Iterable[int]:
    for cp in range(1, 0x110000, stride):
        if not 0xD800 <= cp <= 0xDFFF:
            yield cp


def probe(codepoints: Iterable[int], given: Callable[[str], str] = str) -> Probe:
    """How FTS5 treats each code point: inside a token (``q?z``) and at a token start (``?z``),
    each text ``given(text)`` (the departures, to compare with ours)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(inner, lead, "
               "tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    cps = list(codepoints)
    db.executemany("INSERT INTO t(rowid, inner, lead) VALUES (?, ?, ?)",
                   ((cp, given(f"q{chr(cp)}z"), given(f"{chr(cp)}z")) for cp in cps))
    seen: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for term, doc, col, offset in db.execute("SELECT term, doc, col, offset FROM v"):
        seen.setdefault((doc, col), []).append((offset, term))
    out: Probe = {}
    for cp in cps:
        inner = [t for _, t in sorted(seen.get((cp, "inner"), []))]
        lead = [t for _, t in sorted(seen.get((cp, "lead"), []))]
        cont = None if inner == ["q", "z"] else inner[0][1:-1]
        start = None if lead == ["z"] else lead[0][:-1]
        out[cp] = (cont, start)
    db.close()
    return out


def _ranges(cps: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if runs and runs[-1][1] == cp - 1:
            runs[-1] = (runs[-1][0], cp)
        else:
            runs.append((cp, cp))
    return runs


def _rows(items: list[str], indent: str = "    ", width: int = 96) -> str:
    lines, line = [], indent
    for item in items:
        if len(line) + len(item) + 1 > width:
            lines.append(line.rstrip())
            line = indent
        line += item + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


def render(result: Probe) -> str:
    """The source of ``unicode61_data.py`` for a full probe."""
    token = [cp for cp, (_, start) in result.items() if start is not None]
    diacritics = [cp for cp, (cont, start) in result.items() if start is None and cont is not None]
    assert all(result[cp][0] == "" for cp in diacritics), "a continuing mark is not removed"
    folds = {cp: start for cp, (_, start) in result.items()
             if start is not None and start != chr(cp)}
    assert all(len(v) == 1 for v in folds.values()), "a fold that is not one character"
    return (
        '"""SQLite FTS5 ``unicode61 remove_diacritics 2`` tables (generated; do not edit).\n\n'
        f"Probed from SQLite {sqlite3.sqlite_version} by "
        "``python tests/rules/test_unicode61.py --write``.\n"
        '"""\n\n'
        "# Code point ranges (inclusive) that are token characters.\n"
        "TOKEN_RANGES: tuple[tuple[int, int], ...] = (\n"
        + _rows([f"(0x{a:X}, 0x{b:X})," for a, b in _ranges(token)])
        + "\n)\n\n"
        "# Combining marks that continue a token (and are dropped) but never start one.\n"
        "DIACRITICS: tuple[int, ...] = (\n"
        + _rows([f"0x{cp:X}," for cp in sorted(diacritics)])
        + "\n)\n\n"
        "# Token characters whose folded form differs: lower case, diacritics removed.\n"
        "FOLDS: dict[int, int] = {\n"
        + _rows([f"0x{cp:X}: 0x{ord(v):X}," for cp, v in sorted(folds.items())])
        + "\n}\n"
    )


def _expected(cp: int) -> tuple[str | None, str | None]:
    """What our tables say for one code point, in the probe's terms."""
    text = chr(cp)
    if cp in unicode61_data.DIACRITICS:
        return "", None
    spans = token_spans(text)
    if not spans:
        return None, None
    # In the probe's own contexts: a letter may fold by where it stands (a last ى)
    return fold_token(f"q{text}z")[1:-1], fold_token(f"{text}z")[:-1]


def _compare(cps: Iterable[int]) -> list[str]:
    live = probe(cps, departed)  # SQLite given the letters ours folds apart as ours folds them
    return [f"U+{cp:04X}: sqlite {got!r}, ours {_expected(cp)!r}"
            for cp, got in live.items() if got != _expected(cp)][:20]


def test_yo_digits_alefs_and_a_last_alef_maqsura_fold_where_sqlite_keeps_them_apart() -> None:
    """Russian writes ``ё`` as ``е`` in most texts, Arabic and Persian texts write digits
    their own way or in ASCII, Egyptian print a last ``ي`` as ``ى``, many Arabic texts a bare
    alef for ``أ``, ``إ`` and ``آ``: the matcher takes each pair as one, SQLite does not.
    Inside a word ``ى`` stays (a letter of its own in Uyghur)."""
    assert probe([ord("ё"), ord("Ё"), 0x649]) == {
        ord("ё"): ("ё", "ё"), ord("Ё"): ("ё", "ё"), 0x649: ("\u0649", "\u0649")}
    assert tokenize("Пётр ПЁТР Петр ещё Ёлка") == ["петр", "петр", "петр", "еще", "елка"]
    assert token_spans("Пётр ещё") == [(0, 4), (5, 8)]
    assert tokenize("الأمريكى، الأمريكي على كوستارىكا فىً") == [
        "الامريكي", "الامريكي", "علي", "كوستارىكا", "في"]
    assert probe([0x622, 0x623, 0x625]) == {cp: (chr(cp), chr(cp)) for cp in (0x622, 0x623, 0x625)}
    assert tokenize("إسرائيل اسرائيل الأمم الآن أمم") == [
        "اسرائيل", "اسرائيل", "الامم", "الان", "امم"]
    assert tokenize("٢٨ ۲۸ 28 ٢٠٢٥م") == ["28", "28", "28", "2025م"]  # Arabic-Indic, Persian


def test_an_apostrophe_inside_a_ukrainian_word_continues_it_where_sqlite_cuts() -> None:
    """' ’ ‘ and ` after a Cyrillic letter and before я ю є ї е ё і are the letter ʼ (which
    texts also write there, and which SQLite takes as a letter): one word, spans and all."""
    text = "Перемир'я, перемир’ю, перемирʼям, об`єкт, сям‘і; д'Артаньян, Israel's, 'я', й''я"
    assert tokenize(text) == ["перемирʼя", "перемирʼю", "перемирʼям", "обʼєкт", "сямʼі", "д",
                              "артаньян", "israel", "s", "я", "й", "я"]
    assert [text[a:b] for a, b in token_spans(text)][:5] == [
        "Перемир'я", "перемир’ю", "перемирʼям", "об`єкт", "сям‘і"]
    fts5 = sqlite3.connect(":memory:")
    fts5.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    fts5.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    fts5.execute("INSERT INTO t(x) VALUES (?)", (text,))
    cut = [term for (term,) in fts5.execute("SELECT term FROM v ORDER BY offset")]
    assert cut[:4] == ["перемир", "я", "перемир", "ю"]  # SQLite's own reading
    fts5.execute("DELETE FROM t")
    fts5.execute("INSERT INTO t(x) VALUES (?)", (departed(text),))
    assert [term for (term,) in fts5.execute("SELECT term FROM v ORDER BY offset")] == (
        tokenize(text))


def test_every_bmp_code_point_is_tokenized_and_folded_as_sqlite_does() -> None:
    assert _compare(cp for cp in _codepoints() if cp < 0x10000) == []


def test_a_stride_through_the_other_planes_agrees_with_sqlite() -> None:
    assert _compare(cp for cp in _codepoints(13) if cp >= 0x10000) == []


def test_random_strings_tokenize_exactly_as_fts5() -> None:
    """Tokens in context (marks inside words, scripts side by side) match fts5vocab's."""
    rng = random.Random(61)
    pool = ("aZ9_-'. \u00e9E\u0301\u0308\u0130\u00df\u03a3\u03c2\u0419\u0439\u0644\u05d0"
            "\u4e2d\u00bd\u2167\ue000\u00ad\u200d\U0001f600\u02bc\u0640\u0e01\u0e31"
            "\u0451\u0649\u064a\u0662\u06f8"  # ё, ى, ي, ٢, ۸: the departures
            "\u2019\u044f\u0456`\u0482\u0483")  # ’, я, і, `, ҂, a mark: apostrophes
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 16))) for _ in range(3000)]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)",
                   ((i, departed(text)) for i, text in enumerate(texts)))
    got: dict[int, list[tuple[int, str]]] = {}
    for term, doc, offset in db.execute("SELECT term, doc, offset FROM v"):
        got.setdefault(doc, []).append((offset, term))
    for i, text in enumerate(texts):
        expected = [t for _, t in sorted(got.get(i, []))]
        assert tokenize(text) == expected, text
        assert len(token_spans(text)) == len(expected), text


def test_non_ascii_text_folds_alike_from_the_token_table_and_when_it_overflows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-ASCII tokens fold once per process and are then looked up; a full table starts
    afresh. Either way the stream is the fold of the whole text."""
    monkeypatch.setattr(unicode61, "_FOLDED", {})  # other tests may have filled the table
    text = "О мирном плане: Путин, ПУТИН и Erdoğan — CAFÉ café. " * 3
    expected = ["о", "мирном", "плане", "путин", "путин", "и", "erdogan", "cafe", "cafe"] * 3
    assert tokenize(text) == tokenize(text) == expected  # folded, then looked up
    assert len(unicode61._FOLDED) == 9  # each distinct token as written, once
    monkeypatch.setattr(unicode61, "_FOLDED_LIMIT", 3)
    assert tokenize(text + " Катар") == [*expected, "катар"]  # the table was full: refilled
    assert len(unicode61._FOLDED) == 10


def main() -> None:
    """``--write``: probe the live SQLite and regenerate ``monitor/rules/unicode61_data.py``."""
    target = Path(__file__).resolve().parents[2] / "monitor" / "rules" / "unicode61_data.py"
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: {sys.argv[0]} --write   (regenerates {target})")
    target.write_text(render(probe(_codepoints())), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()


def test_a_lone_surrogate_separates_tokens_instead_of_failing() -> None:
    # Cleaned text has none (clean_text removes them), but a Document built from anything
    # else reached the tokenizer's BMP check, which encoded it strictly: UnicodeEncodeError.
    assert tokenize("Gaza\ud800ceasefire Путин\udfff") == ["gaza", "ceasefire", "путин"]
    assert split_tokens("é\ud800x") == ["", "é", "\ud800", "x", ""]
