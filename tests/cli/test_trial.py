"""``monitor try`` on a seed page: the text, the rule that matched and the near miss."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo_root: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    Path("monitor.yaml").write_text(f"rules_dir: {repo_root / 'rules'}\n", encoding="utf-8")


def test_try_shows_text_language_matches_and_the_nearest_miss(repo_root: Path,
                                                              tmp_path: Path) -> None:
    page = repo_root / "seeds" / "pages" / "gaza-trilateral-new-york.html"
    result = CliRunner().invoke(app, ["try", str(page), "--lines", "2"])
    assert result.exit_code == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == f"{page.as_uri()}: 3419 characters of text, language: id"
    assert out[1].startswith("title: Diplomasi Tingkat Tinggi Pasca-Konflik: AS, Israel, dan ")
    assert out[2].startswith("  New York (usmnews) – Dikutip dari detiknews")
    assert out[4].startswith("  ... ") and out[4].endswith(" more lines")
    assert out[6:8] == ["matched:", "  gaza-ceasefire (Gaza ceasefire diplomacy)"]
    assert ("    body  @ceasefire (gencatan senjata): …damai Gaza”. Langkah ini diambil karena "
            "kesepakatan gencatan senjata komprehensif") in result.stdout
    miss = out.index("nearest rules that did not match:")
    assert out[miss + 1:miss + 4] == [
        "  ukraine-peace-plan (US-Russia peace plan for Ukraine): 2 of 4 conditions hold",
        "    missing: (@ukraine OR (@zelensky NOT @gaza) OR @umerov OR (NEAR(@witkoff "
        "@dmitriev, 30) AND (@peace-plan OR @negotiations)) OR ((NEAR(@witkoff @putin, 30) OR "
        "NEAR(@witkoff @russia, 30) OR SENTENCE (@envoy @putin)) AND @peace-plan NOT @gaza))",
        "    missing: (@russia-side OR SENTENCE (@ukraine @peace-plan) OR SENTENCE (@zelensky "
        "@peace-plan) OR SENTENCE (@umerov @peace-plan) OR (@zelensky AND @peace-plan NOT "
        "@gaza) OR (@witkoff AND NEAR(@ukraine @deal, 2) NOT @commodity))",
    ]
    assert list(tmp_path.iterdir()) == [tmp_path / "monitor.yaml"]  # nothing stored


def test_try_reads_a_text_file_as_text_not_as_a_page(tmp_path: Path) -> None:
    """A .txt file is matched as ``monitor match`` reads one (an HTML parser finds no page in
    it); its language is detected."""
    article = tmp_path / "article.txt"
    article.write_text("\nНетаньяху: Израиль не выведет войска из Газы\n"
                       "Переговоры о второй фазе перемирия с ХАМАС зашли в тупик.\n",
                       encoding="utf-8")
    result = CliRunner().invoke(app, ["try", str(article)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == f"{article.resolve().as_uri()}: 57 characters of text, language: ru"
    assert out[1] == "title: Нетаньяху: Израиль не выведет войска из Газы"
    assert "  gaza-ceasefire (Gaza ceasefire diplomacy)" in out
    assert result.stderr == ""
    article.write_bytes(b"Gaza\n\x00\x01")
    result = CliRunner().invoke(app, ["try", str(article)])
    assert (result.exit_code, result.stderr) == (
        1, f"monitor: {article}: binary content, not text\n")


def test_try_reads_text_piped_in_as_text_and_a_page_as_a_page(repo_root: Path) -> None:
    text = "Hamas and Israel agree Gaza ceasefire\nQatar mediated the truce talks in Doha.\n"
    result = CliRunner().invoke(app, ["try", "-"], input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<stdin>: 39 characters of text, language: en\n"
                                    "title: Hamas and Israel agree Gaza ceasefire\n")
    assert "  gaza-ceasefire (Gaza ceasefire diplomacy)" in result.stdout
    page = (repo_root / "seeds" / "pages" / "gaza-trilateral-new-york.html").read_bytes()
    result = CliRunner().invoke(app, ["try", "-", "--lines", "0"], input=page)
    assert result.stdout.startswith("<stdin>: 3419 characters of text, language: id\n")
    result = CliRunner().invoke(app, ["try", "-"], input=b"\x00\x01binary")
    assert (result.exit_code, result.stderr) == (1, "monitor: <stdin>: binary content, not text\n")


def _try_text(tmp_path: Path, rule_id: str, query: str, text: str) -> str:
    """``monitor try`` of ``text`` as a .txt file, with one rule configured: its output."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(f"rules:\n  - id: {rule_id}\n    query: {query}\n",
                                  encoding="utf-8")
    Path("monitor.yaml").write_text(f"rules_dir: {rules}\n", encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["try", str(article)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_try_splits_a_query_into_conditions_outside_typographic_quotes(tmp_path: Path) -> None:
    out = _try_text(tmp_path, "r", "Gaza AND «talks AND truce» NOT “a NOT b”",
                    "Gaza talks\nA truce, then talks.\n")
    assert out.endswith("  r (r): 1 of 2 conditions hold\n    missing: «talks AND truce»\n")


def test_try_reads_a_lower_case_and_as_a_word_and_says_so(tmp_path: Path) -> None:
    """As the rule does: "gaza and ceasefire" needs the word "and", so the text below
    does not match, and the near miss says why (it read "2 of 2 conditions hold")."""
    out = _try_text(tmp_path, "low", "gaza and ceasefire",
                    "Gaza ceasefire talks\nThe Gaza ceasefire holds.\n")
    assert out.endswith(
        "  low (low): 0 of 1 condition holds\n    missing: gaza and ceasefire\n"
        "    note: 'and' is searched as a word, not as the operator AND: write AND, or \"and\" "
        "in quotes to search the word\n")


def test_try_without_its_rules_folder_says_so_before_fetching(tmp_path: Path) -> None:
    Path("monitor.yaml").write_text(f"rules_dir: {tmp_path / 'nowhere'}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["try", "https://news.example/a"])  # never fetched
    assert (result.exit_code, result.stderr) == (
        2, f"monitor: {tmp_path / 'nowhere'}: no such rule file or directory\n")


def test_try_refuses_what_it_cannot_read() -> None:
    result = CliRunner().invoke(app, ["try", "nowhere.html"])
    assert (result.exit_code, result.stderr) == (
        2, "monitor: nowhere.html: cannot read: No such file or directory\n")
    result = CliRunner().invoke(app, ["try", "ftp://x.example/a"])
    assert result.exit_code == 2 and "only http and https" in result.stderr


def test_try_follows_a_google_news_link_to_the_publishers_page(repo_root: Path) -> None:
    """With ``http.resolve_google_news``, ``monitor try`` fetches what the daemon would: the
    page Google names for the link (here a loopback server answering as Google does)."""
    from tests.fetch_support import FakeGoogleNews, LocalServer, NetworkGuard, google_news_id

    page = (repo_root / "seeds" / "pages" / "gaza-trilateral-new-york.html").read_bytes()
    article = google_news_id(9)
    with LocalServer() as server, NetworkGuard() as guard:
        server.route("/berita/gaza.html", body=page,
                     headers={"Content-Type": "text/html; charset=utf-8"})
        FakeGoogleNews(server).add(article, server.url("/berita/gaza.html"))
        Path("monitor.yaml").write_text(
            Path("monitor.yaml").read_text(encoding="utf-8")
            + f"http:\n  resolve_google_news: true\n  google_news_url: {server.url('')}\n"
            "  allow_private_networks: [127.0.0.1/32]\n  respect_robots_txt: false\n",
            encoding="utf-8")
        result = CliRunner().invoke(
            app, ["try", f"https://news.google.com/rss/articles/{article}?oc=5", "--lines", "0"])
        assert {host for host, _port in guard.connects} == {"127.0.0.1"}
    assert result.exit_code == 0, result.stderr
    assert f"Google News link resolved to {server.url('/berita/gaza.html')}" in result.stderr
    assert result.stdout.startswith(f"{server.url('/berita/gaza.html')}: 3419 characters")
    assert "  gaza-ceasefire (Gaza ceasefire diplomacy)" in result.stdout
