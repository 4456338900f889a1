"""The user docs stay true to the code: every command and every setting is documented."""

from __future__ import annotations

import re
import shutil
import textwrap
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import Config, load_config

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


def test_every_rule_entity_and_alias_field_is_documented_in_the_rules_readme() -> None:
    from monitor.rules.loader import ALIAS_FIELDS, ENTITY_FIELDS, RULE_FIELDS

    rules_readme = (REPO / "rules" / "README.md").read_text(encoding="utf-8")
    fields = dict.fromkeys([*RULE_FIELDS, *ENTITY_FIELDS, *ALIAS_FIELDS])
    missing = [f for f in fields if f"`{f}`" not in rules_readme
               and not re.search(rf"(?<![\w.-]){f}:", rules_readme)]
    assert missing == [], f"rule file fields missing from rules/README.md: {missing}"


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


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


def _as_rules(fragment: str, first: int) -> list[str]:
    """A README fragment of rule fields (``query:`` and the fields after it) as rule entries;
    each ``query:`` line starts a rule of its own (a fragment may show alternatives)."""
    rules: list[list[str]] = []
    for line in fragment.splitlines():
        if line.startswith("query:") or not rules:
            rules.append([])
        rules[-1].append(line)
    return [f"  - id: example-{first + i}\n" + "".join(f"    {line}\n" for line in lines)
            for i, lines in enumerate(rules)]


def test_rule_examples_in_the_rules_readme_pass_monitor_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every YAML example of rules/README.md loads and its ``tests:`` examples hold: whole
    files alone, rule fragments as rules beside the bundled entities."""
    monkeypatch.chdir(tmp_path)  # no ./monitor.yaml
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    blocks = _yaml_blocks((REPO / "rules" / "README.md").read_text(encoding="utf-8"))
    whole = [b for b in blocks if re.match(r"(entities|rules):", b)]
    fragments = [b for b in blocks if b not in whole]
    assert whole and fragments
    folders = []
    for index, block in enumerate(whole):
        folder = tmp_path / f"file-{index}"
        folder.mkdir()
        (folder / "example.yaml").write_text(block, encoding="utf-8")
        folders.append(folder)
    shared = tmp_path / "fragments"
    shutil.copytree(REPO / "rules" / "entities", shared / "entities")
    entries: list[str] = []
    for block in fragments:
        entries.extend(_as_rules(block, len(entries)))
    (shared / "examples.yaml").write_text("rules:\n" + "".join(entries), encoding="utf-8")
    for folder in [*folders, shared]:
        result = CliRunner().invoke(app, ["check", str(folder)])
        assert result.exit_code == 0, result.stdout + result.stderr


def _uncommented(text: str) -> str:
    """``text`` with its commented-out settings (``# key: value`` lines) written in."""
    uncommented = re.sub(r"(?m)^(\s*)# ?(\s*[a-z_-]+:(?: .*)?)$", r"\1\2", text)
    assert uncommented != text
    return uncommented


def test_settings_commented_out_in_monitor_yaml_load_once_uncommented(tmp_path: Path) -> None:
    """Uncommenting the example settings of monitor.yaml gives a configuration that loads:
    each lands in its own section, and the channels it names exist."""
    text = (REPO / "monitor.yaml").read_text(encoding="utf-8")
    (tmp_path / "monitor.yaml").write_text(_uncommented(text), encoding="utf-8")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    secrets = tmp_path / "secrets.env"
    secrets.write_text("SLACK_URL='slack://T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'\n",
                       encoding="utf-8")
    secrets.chmod(0o600)
    config = load_config(tmp_path / "monitor.yaml", {})
    assert config.delivery.default_channels == ["team-chat"]
    assert config.delivery.admin_channel == "team-chat"
    assert config.metrics.listen is not None


def test_settings_commented_out_in_the_init_starter_load_once_uncommented(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for the starter ``monitor init`` writes."""
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.stdout + result.stderr
    starter = tmp_path / "monitor.yaml"
    starter.write_text(_uncommented(starter.read_text(encoding="utf-8")), encoding="utf-8")
    config = load_config(starter, {"TEAM_WEBHOOK_URL": "json://hooks.example.org/news"})
    assert config.delivery.default_channels == list(config.channels)


def _config_examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for doc in ("README.md", "deploy/README.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        found.extend((doc, textwrap.dedent(block))
                     for block in re.findall(r"```yaml\n(.*?)^ *```", text, re.DOTALL | re.M))
    return found


@pytest.mark.parametrize(("doc", "example"), _config_examples())
def test_configuration_examples_in_the_readmes_load(doc: str, example: str,
                                                    tmp_path: Path) -> None:
    """Each ``monitor.yaml`` excerpt the READMEs show is a configuration that loads, with what
    only the stages can judge (channel URLs, templates, the web address) checked too."""
    from monitor.cli.app import stage_checks

    config_file = tmp_path / "monitor.yaml"
    config_file.write_text(example, encoding="utf-8")
    environ = {"SLACK_URL": "slack://T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"}
    load_config(config_file, environ, checks=stage_checks())


def test_every_dependency_is_in_the_readme_table() -> None:
    """README's "Dependencies and why each is there" names every package pyproject installs."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values()
                                         for d in extra)]
    names = {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0] for spec in wanted}
    table = README.partition("## Dependencies and why each is there")[2].partition("\n## ")[0]
    missing = sorted(n for n in names if n.lower() not in table.lower())
    assert missing == [], f"dependencies missing from README.md's table: {missing}"
