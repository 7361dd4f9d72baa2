"""The tool registry against the code that runs each program, and ``stackrig doctor --family``.

The code is read, not trusted: every ``_proc.run`` / ``_proc.start`` / ``_tools.require`` call
with a program's name (directly, through a one-level wrapper such as ``vsctl_list(...,
needed_for=...)``, or in a literal tuple looped over) is a *run site*; its ``needed_for`` says
which command runs it. The registry must list exactly the programs run somewhere, credit each
to the commands its run sites name, and name only commands and flags that exist.
"""

from __future__ import annotations

import ast
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import click
import pytest
import typer

from stackrig import _tools
from stackrig.cli.app import load_families
from stackrig.doctor import FAMILIES
from stackrig.fleet.discover import CLI_COMMANDS

SRC = Path(__file__).resolve().parents[2] / "src" / "stackrig"
RUNNERS = {("_proc", "run"), ("_proc", "start"), ("_tools", "require")}
# Commands that run another command's code, so its run sites' needed_for names that one.
RUNS_THE_CODE_OF = {"bench aio": "bench run", "bench sweep": "bench run", "fleet run": "fleet play"}


def _callee(call: ast.Call) -> tuple[str, str] | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    if isinstance(func, ast.Name):
        return "", func.id
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _label(node: ast.expr | None) -> str | None:
    """A needed_for text; in an f-string each {value} becomes the wildcard word ``*``."""
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal(v) or "*" for v in node.values)
    return _literal(node)


class _Scan(ast.NodeVisitor):
    """Run sites of one module: (program or parameter name, needed_for or parameter name)."""

    def __init__(self) -> None:
        self.sites: list[tuple[ast.expr | None, ast.expr | None]] = []
        self.loops: dict[str, tuple[str, ...]] = {}  # loop variable -> the literal names it takes

    def visit_For(self, node: ast.For) -> None:
        if isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Tuple):
            names = tuple(_literal(e) for e in node.iter.elts)
            if all(names):
                self.loops[node.target.id] = tuple(n for n in names if n)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if _callee(node) in RUNNERS and node.args:
            self.sites.append((node.args[0], _keyword(node, "needed_for")))
        self.generic_visit(node)


Wrapper = tuple[int | str, str | None, str | None]  # (tool's parameter position, program, label)


def run_sites() -> dict[str, set[str | None]]:
    """{program: {needed_for label, or None where the call names no command}} from the source."""
    found: dict[str, set[str | None]] = defaultdict(set)
    wrappers: dict[str, Wrapper] = {}
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in SRC.rglob("*.py")]
    for tree in trees:
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
            scan = _Scan()
            scan.visit(func)
            for program, needed in scan.sites:
                name, label = _literal(program), _label(needed)
                if isinstance(program, ast.Name) and program.id in scan.loops:
                    for looped in scan.loops[program.id]:
                        found[looped].add(label)
                elif isinstance(program, ast.Name) and program.id in params:
                    wrappers[func.name] = (params.index(program.id), None, label)  # tool is a parameter
                elif name is not None and isinstance(needed, ast.Name) and needed.id in params:
                    wrappers[func.name] = ("needed_for", name, None)  # needed_for is a parameter
                elif name is not None:
                    found[name].add(label)
    _through_wrappers(trees, wrappers, found)
    for provider, (program, _args) in CLI_COMMANDS.items():  # fleet discover's table of CLIs
        found[program].add(f"fleet discover --provider {provider}")
    return dict(found)


def _through_wrappers(
    trees: list[ast.Module], wrappers: dict[str, Wrapper], found: dict[str, set[str | None]]
) -> None:
    for tree in trees:
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _callee(call) is None:
                continue
            wrapper = wrappers.get(_callee(call)[1])  # type: ignore[index]
            if wrapper is None:
                continue
            position, program, label = wrapper
            if program is not None:
                found[program].add(_label(_keyword(call, "needed_for")))
            elif isinstance(position, int) and len(call.args) > position:
                tool = _literal(call.args[position])
                if tool is not None:
                    found[tool].add(label)


def _split(command: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """``qos lab --controller faucet`` → (("qos", "lab"), {"--controller faucet"})."""
    words, flags, tokens = [], set(), command.split()
    i = 0
    while i < len(tokens):
        if tokens[i].startswith("--"):
            value = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("--") else None
            flags.add(f"{tokens[i]} {value}" if value else tokens[i])
            i += 2 if value else 1
        else:
            words.append(tokens[i])
            i += 1
    return tuple(words), frozenset(flags)


def _credits(label: str, command: str) -> bool:
    """A run site's label credits a registry command when the words agree (one may be the
    other's family or group: ``qos`` names ``qos policy``) and the flags are the same."""
    lw, lf = _split(label)
    cw, cf = _split(RUNS_THE_CODE_OF.get(command, command))
    short = min(len(lw), len(cw))
    words = all(a == b or "*" in (a, b) for a, b in zip(lw[:short], cw[:short], strict=True))
    return words and lf == cf


def test_the_registry_lists_exactly_the_programs_the_code_runs() -> None:
    sites = run_sites()
    assert sorted(_tools.TOOLS) == sorted(sites)
    for gone in ("aws", "mysql", "mysqladmin", "psql", "fio2gnuplot"):  # no code runs these
        assert gone not in _tools.TOOLS


def test_a_label_with_a_value_in_it_matches_any_word() -> None:
    assert _credits("tune * --inventory", "tune audit --inventory")
    assert not _credits("tune * --inventory", "tune audit")
    assert not _credits("tune * --inventory", "bench run --inventory")


@pytest.mark.parametrize("name", sorted(_tools.TOOLS))
def test_each_entry_credits_the_commands_its_run_sites_name(name: str) -> None:
    entry = _tools.TOOLS[name]
    labels = {label for label in run_sites()[name] if label is not None}
    assert labels, f"no run site of {name} says which command needs it"
    for label in labels:
        assert any(_credits(label, command) for command in entry.used_by), (name, label, entry.used_by)
    for command in entry.used_by:
        assert any(_credits(label, command) for label in labels), (name, command, labels)


def _command(path: tuple[str, ...]) -> click.Command | None:
    current: click.Command | None = typer.main.get_command(load_families())
    for word in path:
        if not isinstance(current, click.Group):
            return None
        current = current.get_command(click.Context(current), word)  # a family may load it now
    return current


def _subcommands(group: click.Group) -> list[click.Command]:
    ctx = click.Context(group)
    return [c for c in (group.get_command(ctx, n) for n in group.list_commands(ctx)) if c is not None]


@pytest.mark.parametrize("name", sorted(_tools.TOOLS))
def test_each_entry_names_real_commands_and_flags(name: str) -> None:
    for command in _tools.TOOLS[name].used_by:
        words, flags = _split(command)
        assert words[0] in FAMILIES, command
        found = _command(words)
        assert found is not None, f"{name}: no command 'stackrig {' '.join(words)}'"
        targets = [found] if not isinstance(found, click.Group) else _subcommands(found)
        for flag in flags:
            option = flag.split()[0]
            assert any(any(option in p.opts for p in c.params) for c in targets), (name, command, option)


def _doctor(cli: Any, *args: str, path: str | None = None) -> Any:
    return cli("doctor", *args, env={"PATH": path} if path is not None else None)


def test_doctor_family_exits_3_when_a_program_it_needs_is_missing(cli: Any) -> None:
    venv_only = str(Path(sys.executable).parent)  # ansible-inventory is here, fio is not
    done = _doctor(cli, "--family", "bench", path=venv_only)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "stackrig bench cannot run without: fio" in done.stdout
    assert "fio: apt-get install fio (make run installs it)" in done.stdout
    doc = json.loads(_doctor(cli, "--family", "bench", "--json", path=venv_only).stdout)
    assert doc["exit_code"] == 3
    assert doc["ok"] is False
    assert doc["data"]["family"] == "bench"
    assert [t["name"] for t in doc["data"]["tools"]] == ["fio", "ansible-inventory"]
    assert doc["data"]["needed_missing"] == ["fio"]
    assert [t["needed"] for t in doc["data"]["tools"]] == [True, False]


def test_doctor_family_exits_0_when_only_a_flag_s_program_is_missing(cli: Any, tmp_path: Path) -> None:
    only_fio = tmp_path / "bin"
    only_fio.mkdir()
    fio = _tools.find_tool("fio")
    assert fio is not None, "fio is not installed (make test installs it)"
    (only_fio / "fio").symlink_to(fio)
    # ansible-inventory (bench run --inventory only) is missing too, unless in the venv's bin/.
    done = _doctor(cli, "--family", "bench", "--json", path=str(only_fio))
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["data"]["needed_missing"] == []


def test_doctor_family_without_programs_and_unknown_family(cli: Any) -> None:
    done = _doctor(cli, "--family", "landscape")
    assert done.returncode == 0
    assert done.stdout.strip() == "stackrig landscape runs no outside programs."
    bad = _doctor(cli, "--family", "benchh")
    assert bad.returncode == 2
    assert "error: no family 'benchh'" in bad.stderr
    assert "one of: fleet, bench, tune, qos, migrate, landscape" in bad.stderr


def test_doctor_without_family_still_exits_0_when_programs_are_missing(cli: Any) -> None:
    done = _doctor(cli, "--json", path="/nonexistent")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert "fio" in doc["data"]["missing"]
    assert doc["data"]["needed_missing"] == []
