"""The README's fleet section stays true: every flag it shows exists, and its plugin file is valid."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import typer
import yaml

from stackrig.cli.app import load_families
from stackrig.fleet.ansible_plugin import OPTIONS

README = Path(__file__).resolve().parents[2] / "README.md"


def _fleet_section() -> str:
    text = README.read_text()
    start = text.index("### fleet:")
    return text[start : text.index("\n### ", start + 1)]


def _commands(section: str) -> list[list[str]]:
    """Each ``stackrig fleet ...`` command of the section's shell blocks (continued lines joined)."""
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    joined = "\n".join(blocks).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        for part in re.split(r"\s(?:&&|\|)\s", line.split(" # ")[0]):
            words = shlex.split(part.strip())
            while words and words[0] != "stackrig":
                words = words[1:]  # a crontab line's schedule
            if words[:2] == ["stackrig", "fleet"]:
                commands.append(words[2:])
    return commands


def test_every_fleet_flag_the_readme_shows_exists() -> None:
    root = typer.main.get_command(load_families("fleet"))
    assert isinstance(root, click.Group)
    fleet = root.get_command(click.Context(root), "fleet")
    assert isinstance(fleet, click.Group)
    commands = _commands(_fleet_section())
    shown = {words[0] for words in commands}
    assert {"inventory", "render", "play", "up", "discover", "diff", "history", "down"} <= shown
    for words in commands:
        command = fleet.get_command(click.Context(fleet), words[0])
        assert command is not None, words
        flags = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for word in words[1:]:
            if word.startswith("-") and word != "-":
                assert word.split("=")[0] in flags, f"fleet {words[0]}: {word} is not an option"


def test_the_nightly_diff_is_shown_with_exit_code_and_since() -> None:
    diffs = [words for words in _commands(_fleet_section()) if words[0] == "diff"]
    assert any("--exit-code" in words and "--since" in words for words in diffs)
    assert any(words[0] == "discover" and "--account" in words for words in _commands(_fleet_section()))


def test_the_plugin_file_uses_only_the_plugins_options() -> None:
    block = re.search(r"```yaml\n(.*?)```", _fleet_section(), flags=re.DOTALL)
    assert block is not None
    config = yaml.safe_load(block.group(1))
    assert config.pop("plugin") == "stackrig.fleet.discover"
    assert set(config) <= set(OPTIONS)
    assert "account" in config
