"""Trying rules before trusting them, at their edges: ``monitor match`` on files in other
encodings or not text at all, ``monitor try`` with broken rules, ``monitor backtest`` piped
or pointed at a missing folder, and ``monitor hits`` with extreme filters. Human output names
each matched term with the words the article used."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import pytest

from tests.cli_support import cli
from tests.web_support import REPO, seeded_store

RULES = """rules:
  - id: gaza
    query: '"прекращении огня" AND (Газа OR Газе OR غزة)'
"""
RUSSIAN = "Переговоры в Каире\nКатар добивается прекращения огня; о прекращении огня в Газе.\n"


run = cli


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "r.yaml").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture
def store_config(tmp_path: Path) -> Path:
    """A configuration whose database holds the seed articles and their hits."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    seeded_store(url).close()
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"database_url: {url}\nrules_dir: {REPO / 'rules'}\n", encoding="utf-8")
    return cfg


@pytest.mark.parametrize("codec", ["utf-16", "utf-8-sig", "utf-32"])
def test_match_reads_text_with_a_byte_order_mark(rules: Path, tmp_path: Path,
                                                 codec: str) -> None:
    article = tmp_path / "a.txt"
    article.write_bytes(RUSSIAN.encode(codec))
    code, out, err = run("match", "--rules", str(rules), str(article))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "a.txt: gaza (gaza)"


def test_match_reads_jsonl_with_a_byte_order_mark(rules: Path, tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    line = json.dumps({"id": "x", "title": "Каир", "text": RUSSIAN}, ensure_ascii=False)
    batch.write_bytes(codecs.BOM_UTF8 + line.encode())
    code, out, err = run("match", "--rules", str(rules), "--json", str(batch))
    assert (code, err) == (0, "")
    assert [json.loads(o)["id"] for o in out.splitlines()] == ["x"]


def test_match_says_a_file_is_not_utf8_instead_of_matching_nothing(
        rules: Path, tmp_path: Path) -> None:
    article = tmp_path / "cp1251.txt"
    article.write_bytes(RUSSIAN.encode("windows-1251"))
    code, out, err = run("match", "--rules", str(rules), str(article))
    assert code == 1
    assert err.splitlines() == [
        f"{article}: not UTF-8 text (the byte 0xcf at offset 0 and 66 more were replaced): "
        "save it as UTF-8"]
    assert out == "cp1251.txt: no rule matched\n"


def test_match_refuses_a_binary_file(rules: Path, tmp_path: Path) -> None:
    blob = tmp_path / "blob.txt"
    blob.write_bytes(bytes(range(256)) * 4)
    code, out, err = run("match", "--rules", str(rules), str(blob))
    assert (code, out) == (1, "")
    assert err == f"{blob}: binary content, not text\n"


def test_match_says_a_page_without_text_once_without_the_extractors_own_log(
        rules: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("only words, no markup", encoding="utf-8")  # trafilatura finds no tree
    code, out, err = run("match", "--rules", str(rules), str(page))
    assert (code, out, err) == (1, "", f"{page}: no article text could be extracted\n")


def test_match_refuses_unknown_types_before_printing_anything(rules: Path,
                                                              tmp_path: Path) -> None:
    good = tmp_path / "a.txt"
    good.write_text(RUSSIAN, encoding="utf-8")
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    code, out, err = run("match", "--rules", str(rules), str(good), str(pdf))
    assert (code, out) == (2, "")
    assert err == f"monitor: {pdf}: unsupported input (use .txt, .html or .jsonl)\n"
    # A misspelt name is said to be missing, whatever its suffix.
    for missing in (tmp_path / "artcle", tmp_path / "a.pdff", tmp_path / "artcle.txt"):
        code, out, err = run("match", "--rules", str(rules), str(good), str(missing))
        assert (code, out, err) == (
            2, "", f"monitor: {missing}: cannot read: No such file or directory\n")


def test_match_shows_the_words_each_term_matched(rules: Path, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(RUSSIAN, encoding="utf-8")
    code, out, _ = run("match", "--rules", str(rules), str(article))
    assert code == 0
    assert out.splitlines()[1:] == [
        '    body  "прекращении огня": Катар добивается прекращения огня; о прекращении '
        "огня в Газе.",
        "    body  Газе: Катар добивается прекращения огня; о прекращении огня в Газе.",
    ]
    arabic = tmp_path / "ar.txt"
    arabic.write_text("محادثات\nقطر تدعو حماس إلى وقف إطلاق النار في غزة\n", encoding="utf-8")
    code, out, _ = run("match", "--rules", str(REPO / "rules"), str(arabic))
    assert code == 0
    lines = out.splitlines()
    assert "    body  @gaza (غزة): قطر تدعو حماس إلى وقف إطلاق النار في غزة" in lines, lines
    assert "    body  @ceasefire (وقف إطلاق النار): قطر تدعو حماس إلى وقف إطلاق النار في غزة" \
        in lines, lines


def test_try_reports_broken_rules_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              rules: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (rules / "bad.yaml").write_text("rules:\n  - id: broken\n    query: 'Gaza AND ('\n",
                                    encoding="utf-8")
    Path("monitor.yaml").write_text(f"rules_dir: {rules}\n", encoding="utf-8")
    page = REPO / "seeds" / "pages" / "gaza-trilateral-new-york.html"
    code, out, err = run("try", str(page), "--lines", "0")
    assert code == 1
    assert out.splitlines()[0].endswith("3419 characters of text, language: id")
    assert err.startswith(f"{rules / 'bad.yaml'}:3: rule broken: query: ")


def test_try_refuses_a_negative_line_count(tmp_path: Path) -> None:
    page = REPO / "seeds" / "pages" / "gaza-trilateral-new-york.html"
    code, out, err = run("try", str(page), "--lines", "-3")
    assert (code, out) == (2, "")
    assert "--lines" in err


def test_backtest_into_a_pipe_prints_the_report_alone(store_config: Path) -> None:
    code, out, err = run("-c", str(store_config), "backtest", "--since", "36500d")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("3 articles read (")


def test_backtest_of_one_rule_file_uses_the_configured_folders_entities(
        store_config: Path) -> None:
    topic = REPO / "rules" / "topics" / "gaza-ceasefire.yaml"
    code, out, err = run("-c", str(store_config), "backtest", "--since", "36500d", "--rules",
                         str(topic))
    assert (code, err) == (0, "")  # it said "unknown entity @gaza" and matched nothing
    assert "gaza-ceasefire: 2 matches" in out and "ukraine" not in out


def test_backtest_names_the_words_a_prefix_or_stem_took_in(store_config: Path,
                                                             tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "r.yaml").write_text(
        "rules:\n  - id: talks\n    query: negosia* AND (Ukraina OR Rusia)\n"
        "  - id: plain\n    query: Ukraina\n", encoding="utf-8")
    code, out, err = run("-c", str(store_config), "backtest", "--rules", str(folder),
                         "--since", "36500d")
    assert (code, err) == (0, "")
    talks = out[out.index("\ntalks: "):]
    assert ("  words matched through a stem or prefix, in 1 match (is each one meant?):\n"
            "    negosia*: negosiasi 1\n") in talks
    assert "words matched" not in out[:out.index("\ntalks: ")]  # "plain": as written


def test_backtest_says_when_it_read_the_words_of_some_matches_only(
        store_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.rules
    import monitor.rules.replay

    for module in (monitor.rules, monitor.rules.replay):
        monkeypatch.setattr(module, "FORM_SAMPLE", 1)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "r.yaml").write_text("rules:\n  - id: both\n    query: Ga* AND AS\n",
                                   encoding="utf-8")
    code, out, err = run("-c", str(store_config), "backtest", "--rules", str(folder),
                         "--since", "36500d")
    assert (code, err) == (0, "")
    assert "\nboth: 3 matches;" in out
    assert "words matched through a stem or prefix, in the first 1 match of 3 " in out


def test_backtest_of_a_missing_rules_folder_is_a_usage_error(store_config: Path) -> None:
    missing = store_config.parent / "nowhere"
    code, out, err = run("-c", str(store_config), "backtest", "--rules", str(missing))
    assert (code, out) == (2, "")
    assert err == f"monitor: {missing}: no such rule file or directory\n"


def test_backtest_with_a_broken_rule_reports_the_others_and_exits_1(
        store_config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "r.yaml").write_text("rules:\n  - id: gaza\n    query: Gaza\n"
                                   "  - id: broken\n    query: 'Gaza AND ('\n", encoding="utf-8")
    code, out, err = run("-c", str(store_config), "backtest", "--rules", str(folder),
                         "--since", "36500d")
    assert code == 1
    assert "\ngaza: 3 matches;" in out
    assert err.startswith(f"{folder / 'r.yaml'}:5: rule broken: query: ")


@pytest.mark.parametrize("limit", ["99999999999999999999", "9223372036854775807"])
def test_hits_with_a_huge_limit_lists_them_all(store_config: Path, limit: str) -> None:
    code, out, err = run("-c", str(store_config), "hits", "--json", "--limit", limit)
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 3
    # the outbox too (past 2**63 - 1 its table was an OverflowError traceback)
    code, every, err = run("-c", str(store_config), "notifications", "--json", "--limit", "100")
    assert code == 0 and every.strip()
    assert run("-c", str(store_config), "notifications", "--json", "--limit", limit) == (
        0, every, "")
    code, table, err = run("-c", str(store_config), "notifications", "--limit", limit)
    assert (code, err) == (0, "") and table.count("\n") > every.count("\n")


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_hits_since_a_date_past_the_calendar_is_one_line(store_config: Path,
                                                         since: str) -> None:
    code, out, err = run("-c", str(store_config), "hits", "--since", since)
    assert (code, out) == (2, "")
    assert err == f"monitor: --since {since!r}: out of range\n"


def test_hits_suggests_a_rule_id_typed_in_capitals(store_config: Path) -> None:
    code, _, err = run("-c", str(store_config), "hits", "--rule", "GAZA-CEASEFIRE")
    assert code == 2
    assert err == ("monitor: --rule: no rule with id 'GAZA-CEASEFIRE' "
                   "(did you mean gaza-ceasefire?)\n")
    # the start of the one id that begins so ("gaza" is too short for a likeness)
    code, _, err = run("-c", str(store_config), "hits", "--rule", "gaza")
    assert (code, err) == (2, "monitor: --rule: no rule with id 'gaza' (did you mean "
                              "gaza-ceasefire?)\n")
    code, _, err = run("-c", str(store_config), "hits", "--rule", "peace")  # none begins so
    assert (code, err) == (2, "monitor: --rule: no rule with id 'peace'\n")


def test_hits_shows_the_words_each_term_matched(store_config: Path) -> None:
    code, out, _ = run("-c", str(store_config), "hits", "--rule", "gaza-ceasefire")
    assert code == 0
    matched = [line for line in out.splitlines() if line.startswith("    matched: ")]
    assert matched and all("@ceasefire (" in line for line in matched), matched
    assert "@gaza (Gaza)" in matched[0]


def test_hits_show_each_passage_once_as_alerts_do(store_config: Path) -> None:
    # Several words found in one sentence were one snippet each, the same passage repeated.
    code, out, _ = run("-c", str(store_config), "hits", "--rule", "gaza-ceasefire")
    assert code == 0
    blocks = out.split("\n\n")
    for block in blocks:
        snippets = [line for line in block.splitlines() if line.startswith("    - ")]
        matched = next(line for line in block.splitlines() if line.startswith("    matched: "))
        assert 1 <= len(snippets) < matched.count("(") and len(snippets) <= 3, block
        leads = [" ".join(s.split()[1:6]) for s in snippets]
        assert len(set(leads)) == len(leads), block


def test_hits_link_their_page_in_the_web_view_when_public_url_is_set(
        store_config: Path) -> None:
    _, plain, _ = run("-c", str(store_config), "hits")
    assert "/hits/" not in plain
    with store_config.open("a", encoding="utf-8") as file:
        file.write("web:\n  public_url: https://news.example.org/monitor\n")
    code, out, err = run("-c", str(store_config), "hits", "--rule", "gaza-ceasefire")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    pages = [line.strip() for line in lines if "news.example.org" in line]
    assert pages and all(re.fullmatch(r"https://news\.example\.org/monitor/hits/\d+", p)
                         for p in pages)
    assert lines.index("    " + pages[0]) == 3  # under the article's own link


def test_backtest_json_evidence_has_the_words_matched(store_config: Path) -> None:
    code, out, err = run("-c", str(store_config), "backtest", "--since", "36500d", "--json")
    assert (code, err) == (0, "")
    rows = [json.loads(line) for line in out.splitlines()]
    gaza = next(r for r in rows if r["rule"] == "gaza-ceasefire")
    evidence = {e["term"]: e for e in gaza["evidence"]}
    assert evidence["@ceasefire"]["matched"].lower() == "gencatan senjata"
    assert set(evidence["@ceasefire"]) == {"term", "matched", "field", "start", "end",
                                           "snippet", "entity"}


def test_backtest_names_a_rule_word_no_article_has_beside_the_one_they_use(
        tmp_path: Path) -> None:
    import dataclasses

    from monitor.store import TextIndex
    from tests.store_support import article, console_route, feed, open_store
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = open_store(url)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    for i in range(4):
        item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                   title=f"Talks {i}", text="Qatar presses for a ceasefire.",
                                   content_hash=f"h{i}", language="en")
        store.save_article(feed_id, item, [], console_route)
    TextIndex(store).index_pending()  # as the daemon does at the end of each cycle
    store.close()
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "r.yaml").write_text(
        "rules:\n  - id: truce\n    query: Qatar AND (ceasfire OR truce)\n", encoding="utf-8")
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"database_url: {url}\nrules_dir: {folder}\n", encoding="utf-8")
    code, out, err = run("-c", str(cfg), "backtest", "--since", "36500d")
    assert (code, err) == (0, "")
    assert "\ntruce: 0 matches;" in out
    assert out.endswith("\nWords in no stored article, where a close spelling is in several "
                        "(a typo matches nothing, silently):\n"
                        "  truce: 'ceasfire'; 'ceasefire' is in 4 articles\n")
    code, out, err = run("-c", str(cfg), "backtest", "--since", "36500d", "--json")
    assert (code, out) == (0, "")  # no match; the note goes to standard error
    assert "  truce: 'ceasfire'; 'ceasefire' is in 4 articles\n" in err
