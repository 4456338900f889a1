"""Reloading rules in the daemon: a broken edit keeps the last good version active."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.daemon.active_rules import ActiveRules
from monitor.models import Document

GOOD = """rules:
  - id: gaza
    name: Gaza
    query: gaza
    delivery: digest
    max_per_hour: 5
  - id: kyiv
    name: Kyiv
    query: kyiv
"""


def test_a_broken_edit_keeps_the_last_good_rule_and_reports_file_and_line(
        tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(GOOD)
    rules = ActiveRules(tmp_path)
    assert rules.reload() == []
    path.write_text(GOOD.replace("query: kyiv", "query: 'kyiv AND ('"))
    problems = rules.reload()
    assert len(problems) == 1
    assert str(problems[0]).startswith(f"{path}:9:")
    hits = rules.matcher().match(Document(title="Kyiv and Gaza", body=""))
    assert {h.rule_id for h in hits} == {"gaza", "kyiv"}  # kyiv: its last good version
    path.write_text(GOOD.replace("query: kyiv", "query: kharkiv"))
    assert rules.reload() == []
    hits = rules.matcher().match(Document(title="Kyiv and Gaza", body=""))
    assert {h.rule_id for h in hits} == {"gaza"}


def test_rule_delivery_settings_are_exposed_for_the_dispatcher(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text(GOOD)
    rules = ActiveRules(tmp_path)
    rules.reload()
    gaza = rules.delivery("gaza")
    assert gaza.delivery == "digest" and gaza.max_per_hour == 5
    assert rules.delivery("kyiv").delivery is None
    assert rules.delivery("unknown").delivery is None


def test_a_file_that_is_no_longer_yaml_keeps_all_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(GOOD)
    rules = ActiveRules(tmp_path)
    rules.reload()
    path.write_text(GOOD + "  - id: [unclosed\n")
    (problem,) = rules.reload()
    assert str(problem).startswith(f"{path}:")
    hits = rules.matcher().match(Document(title="Kyiv and Gaza", body=""))
    assert {h.rule_id for h in hits} == {"gaza", "kyiv"}


NOTIFY = "rules:\n  - id: gaza\n    name: Gaza\n    query: gaza\n    notify: [{}]\n"


def test_an_unknown_channel_is_a_problem_and_the_last_good_version_stays(
        tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(NOTIFY.format("ops"))
    rules = ActiveRules(tmp_path, channels={"ops", "mail"})
    assert rules.reload() == []
    path.write_text(NOTIFY.format("opz").replace("query: gaza", "query: rafah"))
    (problem,) = rules.reload()
    assert str(problem) == (f"{path}:2: rule gaza: notify: unknown channel 'opz' "
                            "(configured: mail, ops)")
    book = rules.book()
    assert book is not None
    (gaza,) = book.rules
    assert gaza.notify == ("ops",)  # the last good version, query and all
    assert rules.matcher().match(Document(title="Gaza", body=""))
    assert rules.take_fixed() == []


def test_a_new_rule_with_an_unknown_channel_is_used_and_reported_fixed_later(
        tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(NOTIFY.format("opz"))
    rules = ActiveRules(tmp_path, channels={"ops"})
    assert len(rules.reload()) == 1  # no last good version: in force as written
    assert [h.notify for h in rules.matcher().match(Document(title="Gaza", body=""))] == [
        ("opz",)]
    assert rules.take_fixed() == []
    path.write_text(NOTIFY.format("ops"))
    assert rules.reload() == []
    ((rule, since),) = rules.take_fixed()
    assert rule.id == "gaza" and rule.notify == ("ops",) and since.tzinfo is not None
    assert rules.take_fixed() == []


def test_a_lower_case_operator_is_logged_and_the_rule_still_runs_as_written(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "topics.yaml").write_text("rules:\n  - id: talks\n    query: gaza and truce\n")
    rules = ActiveRules(tmp_path)
    assert rules.reload() == []  # valid FTS5: not a problem that withholds the rule
    assert "rule talks: 'and' is searched as a word" in caplog.text
    # As FTS5 reads it: the word "and" is required.
    assert rules.matcher().match(Document(title="Gaza and the truce", body=""))
    assert not rules.matcher().match(Document(title="Gaza truce", body=""))


def test_a_word_mixing_alphabets_is_logged(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "topics.yaml").write_text("rules:\n  - id: putin\n    query: Dοha\n")
    assert ActiveRules(tmp_path).reload() == []
    assert "rule putin: 'Dοha' mixes alphabets (Greek ο among Latin letters)" in caplog.text


def test_a_rules_folder_gone_for_a_moment_keeps_every_last_good_rule(tmp_path: Path) -> None:
    """A deploy that removes the folder and copies the new one in: a reload in between finds
    no folder. That is a problem like a broken file, not an edit that deletes every rule."""
    folder = tmp_path / "rules"
    (folder / "news").mkdir(parents=True)
    (folder / "news" / "topics.yaml").write_text(GOOD)
    rules = ActiveRules(folder)
    assert rules.reload() == []
    folder.rename(tmp_path / "rules.old")
    (problem,) = rules.reload()
    assert str(problem) == f"{folder}: no such rule file or directory"
    hits = rules.matcher().match(Document(title="Kyiv and Gaza", body=""))
    assert {h.rule_id for h in hits} == {"gaza", "kyiv"}
    folder.mkdir()
    (folder / "topics.yaml").write_text(GOOD.split("  - id: kyiv", maxsplit=1)[0])
    assert rules.reload() == []
    assert {h.rule_id for h in rules.matcher().match(Document(title="Kyiv and Gaza",
                                                              body=""))} == {"gaza"}
