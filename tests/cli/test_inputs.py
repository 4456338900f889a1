"""What ``monitor match`` and ``monitor try`` read: standard input for ``-``, decoded as files
are, and no article over ``http.page_max_bytes`` (a 32 MB text took 12 s and 1.2 GB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import cli

RULES = "rules:\n  - id: gaza\n    query: Gaza AND Qatar\n"
ARTICLE = "Gencatan senjata di Gaza\nQatar menyambut baik.\n"
HTML = ("<html><head><title>Gencatan senjata di Gaza</title></head><body><article><p>Qatar "
        "menyambut baik.</p></article></body></html>")
CAP = 1024  # http.page_max_bytes in the small configuration


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A folder with a rule and a configuration whose page cap is 1 KiB."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "monitor.yaml").write_text("rules_dir: rules\nhttp:\n  page_max_bytes: 1KiB\n",
                                           encoding="utf-8")


run = cli


def test_match_reads_standard_input_for_a_dash(tmp_path: Path) -> None:
    other = tmp_path / "b.txt"
    other.write_text("Cuaca\nCerah.\n", encoding="utf-8")
    code, out, err = run("match", "-", str(other), stdin=ARTICLE.encode())
    assert (code, err) == (0, "")
    assert out.splitlines() == ["<stdin>: gaza (gaza)", "    title Gaza: Gencatan senjata di Gaza",
                                "    body  Qatar: Qatar menyambut baik.", "b.txt: no rule matched"]


@pytest.mark.parametrize(("kind", "data", "ident"), [
    ("jsonl", json.dumps({"id": "a1", "title": "Gaza", "text": "Qatar"}) + "\n"
     + json.dumps({"title": "Gaza", "text": "Qatar"}), ["a1", "<stdin>:2"]),
    ("html", HTML, ["<stdin>"]),
])
def test_match_reads_standard_input_as_the_type_given(kind: str, data: str,
                                                      ident: list[str]) -> None:
    code, out, err = run("match", "--json", "--stdin-type", kind, "-", stdin=data.encode())
    assert (code, err) == (0, "")
    assert [json.loads(line)["id"] for line in out.splitlines()] == ident


def test_match_decodes_standard_input_as_it_decodes_files() -> None:
    code, out, err = run("match", "-", stdin=ARTICLE.encode("utf-16"))
    assert (code, err) == (0, "")
    assert out.startswith("<stdin>: gaza (gaza)\n")
    code, out, err = run("match", "-", stdin="Газа\nКатар\n".encode("windows-1251"))
    assert (code, out) == (1, "<stdin>: no rule matched\n")
    assert err == ("<stdin>: not UTF-8 text (the byte 0xc3 at offset 0 and 8 more were "
                   "replaced): save it as UTF-8\n")
    code, out, err = run("match", "-", stdin=b"\x00\x01binary")
    assert (code, out, err) == (1, "", "<stdin>: binary content, not text\n")


def test_match_reads_standard_input_once() -> None:
    code, out, err = run("match", "-", "-", stdin=ARTICLE.encode())
    assert (code, out) == (2, "")
    assert err == "monitor: standard input (-) can be read once\n"


def test_match_refuses_a_file_over_the_cap_before_reading_it(tmp_path: Path) -> None:
    (tmp_path / "monitor.yaml").write_text("rules_dir: rules\n", encoding="utf-8")  # 5 MiB
    good = tmp_path / "a.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as sparse:  # 64 MiB of NUL bytes, sparse: refused by its size
        sparse.truncate(64 * 2**20)
    code, out, err = run("match", str(good), str(huge))
    assert (code, out) == (2, "")
    assert err == (f"monitor: {huge}: 67,108,864 bytes, over the 5,242,880-byte limit on "
                   "an article (http.page_max_bytes)\n")


@pytest.mark.parametrize("suffix", [".txt", ".html"])
def test_match_takes_an_article_of_the_cap_and_refuses_one_byte_more(tmp_path: Path,
                                                                    suffix: str) -> None:
    page = tmp_path / f"a{suffix}"
    text = ARTICLE if suffix == ".txt" else HTML
    page.write_text(text.ljust(CAP), encoding="utf-8")
    code, out, err = run("match", str(page))
    assert (code, out.splitlines()[0], err) == (0, f"a{suffix}: gaza (gaza)", "")
    page.write_text(text.ljust(CAP + 1), encoding="utf-8")
    assert run("match", str(page)) == (
        2, "", f"monitor: {page}: 1,025 bytes, over the 1,024-byte limit on an article "
               "(http.page_max_bytes)\n")


def test_match_refuses_standard_input_over_the_cap() -> None:
    assert run("match", "-", stdin=ARTICLE.ljust(CAP).encode())[0] == 0
    assert run("match", "-", stdin=ARTICLE.ljust(50 * CAP).encode()) == (
        2, "", "monitor: <stdin>: over the 1,024-byte limit on an article "
               "(http.page_max_bytes)\n")


def test_match_skips_a_jsonl_article_over_the_cap_and_matches_the_others(
        tmp_path: Path) -> None:
    """The cap is per article: a batch may hold many (5,000 in 32 MB took 6 s and 275 MB)."""
    batch = tmp_path / "b.jsonl"
    small = [json.dumps({"id": f"a{n}", "title": "Gaza", "text": "Qatar " * 100})
             for n in range(4)]  # 2.5 KiB in all, over the cap together
    big = json.dumps({"id": "big", "title": "Gaza", "text": "Qatar " * 200})
    batch.write_text("\n".join([small[0], big, *small[1:]]), encoding="utf-8")
    code, out, err = run("match", "--json", str(batch))
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a0", "a1", "a2", "a3"]
    assert err == (f"{batch}:2: {len(big):,} bytes, over the 1,024-byte limit on an article "
                   "(http.page_max_bytes)\n")


def test_try_reads_a_page_from_standard_input(repo_root: Path) -> None:
    page = repo_root / "seeds" / "pages" / "gaza-trilateral-new-york.html"
    Path("monitor.yaml").write_text("rules_dir: rules\n", encoding="utf-8")  # 5 MiB
    code, out, err = run("try", "-", "--lines", "0", stdin=page.read_bytes())
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "<stdin>: 3419 characters of text, language: id"
    assert lines[3:6] == ["", "matched:", "  gaza (gaza)"]


def test_try_refuses_a_page_over_the_cap(repo_root: Path, tmp_path: Path) -> None:
    page = repo_root / "seeds" / "pages" / "gaza-trilateral-new-york.html"
    size = page.stat().st_size
    assert size > CAP
    assert run("try", str(page)) == (
        2, "", f"monitor: {page}: {size:,} bytes, over the 1,024-byte limit on an article "
               "(http.page_max_bytes)\n")
    assert run("try", "-", stdin=page.read_bytes()) == (
        2, "", "monitor: <stdin>: over the 1,024-byte limit on an article "
               "(http.page_max_bytes)\n")


def test_a_jsonl_line_is_ended_by_a_line_break_only(tmp_path: Path) -> None:
    """JSON keeps U+2028, U+2029 and U+0085 raw in a text (json.dumps with ensure_ascii=False
    writes them so, and pages hold them): splitlines() cut the article there, each half "not
    JSON". Windows line ends still end lines."""
    items = [{"id": "a", "title": "Gaza", "text": "Qatar\u2028menyambut\u2029baik\x85."},
             {"id": "b", "title": "Gaza", "text": "Qatar"}]
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes("".join(json.dumps(i, ensure_ascii=False) + "\r\n"
                              for i in items).encode())
    code, out, err = run("match", "--json", str(batch))
    assert (code, err) == (0, "")
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "b"]


@pytest.mark.parametrize("command", [["match", "-"], ["try", "-"]])
def test_a_closed_standard_input_is_one_line_not_a_traceback(command: list[str]) -> None:
    """``monitor match - <&-`` (a cron job or service without standard input): Python has
    no sys.stdin then, and reading it raised AttributeError."""
    import os
    import subprocess

    from tests.daemon_support import monitor_cmd

    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    done = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", *monitor_cmd(*command)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "monitor: <stdin>: cannot read: standard input is closed\n"
