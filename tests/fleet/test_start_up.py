"""``fleet inventory`` starts light: it imports none of the family's other code and no heavy library.

On inputs of a few MB the command's peak memory is mostly what the process imported before it
read a byte (issue 25: below ``json.load`` at every size, benchmarks/fleet_inventory_memory.py).
rich, PyYAML, Jinja2, boto3/botocore and the code of ``fleet up/discover/render/play/...`` used to
come with it (34 MiB before any input, 18 MiB now). Speed and memory are measured in the
benchmark; this test guards the cause: a later import at the top of a module on this path fails
here, by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import typer

from stackrig.cli import _lazy
from stackrig.cli.app import load_families

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / "examples" / "cloud" / "aws-describe-instances.json"
GCP = ROOT / "examples" / "cloud" / "gcp-instances-list.json"

#: Never imported by ``fleet inventory`` (text, -o, --json, stdin, -q, warnings), by name.
NOT_ON_THE_PATH = (
    "rich.console",  # typer imports the bare ``rich`` package (a few KB) to learn whether it exists
    "rich.logging",
    "yaml",
    "jinja2",
    "markupsafe",
    "boto3",
    "botocore",
    "ansible",
    "sqlite3",
    "decimal",
    "ctypes",
    "stackrig._fileset",
    "stackrig.cli.fleet_play",
    "stackrig.cli.fleet_cloud",
    "stackrig.cli.fleet_history",
    "stackrig.fleet._flow",
    "stackrig.fleet.render",
    "stackrig.fleet.ansible",
    "stackrig.fleet.collection",
    "stackrig.fleet.cloud",
    "stackrig.fleet.discover",
    "stackrig.fleet.diff",
    "stackrig.cli.bench",
    "stackrig.bench",
)

# Runs the commands in one process, then writes what was imported. Stdout and stderr are pipes,
# as in a script or a cron job (on a terminal rich colours the warnings).
_PROGRAM = """
import io, json, sys
from stackrig.cli.app import run

home, out, aws, gcp, report = sys.argv[1:]
codes = [
    run(["--data-dir", home, "fleet", "inventory", aws, "--state", "any", "-o", out]),
    run(["--data-dir", home, "fleet", "inventory", aws, "--state", "any"]),
    run(["--data-dir", home, "fleet", "inventory", gcp, "--format", "json", "--json"]),
    run(["--data-dir", home, "-q", "fleet", "inventory", "--state", "any", "--group-by", "zone", "-o", out]),
    run(["--data-dir", home, "fleet", "inventory", home + "/missing.json"]),
]
with open(report, "w") as handle:
    json.dump({"codes": codes, "modules": sorted(sys.modules)}, handle)
"""


def test_fleet_inventory_imports_nothing_heavy(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    out = tmp_path / "hosts.ini"
    env = dict(os.environ)
    env.pop("COVERAGE_PROCESS_START", None)  # coverage's own imports are not the command's
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(tmp_path / "home"), str(out), str(AWS), str(GCP), str(report)],
        input=AWS.read_text(),  # the -q run reads stdin
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text())
    assert result["codes"] == [0, 0, 0, 0, 2], done.stderr
    # The runs did their work, warnings and errors included: the light path is the real one.
    assert "warning: skipped i-0123456789abcdef3" in done.stderr
    assert "fleet inventory: 4 hosts" in done.stderr
    assert "error: input file" in done.stderr
    assert "[zone_us_east_1a]" in out.read_text()  # from the -q run on stdin
    assert '"command": "fleet inventory"' in done.stdout
    loaded = set(result["modules"])
    heavy = sorted(m for m in loaded if m in NOT_ON_THE_PATH or m.split(".")[0] in NOT_ON_THE_PATH)
    assert heavy == [], f"fleet inventory imported {heavy}"
    assert "stackrig.cli.fleet" in loaded  # the check above looked at a real run


def test_fleet_help_still_loads_and_lists_every_command(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("fleet", "--help")
    assert done.returncode == 0
    listed = [line.split()[0] for line in done.stdout.split("Commands:", 1)[1].splitlines() if line.strip()]
    assert listed == [
        "inventory",
        "render",
        "play",
        "run",
        "up",
        "discover",
        "down",
        "diff",
        "history",
        "ansible-collection",
    ]


def _lazy_groups() -> list[_lazy.LazyGroup]:
    root = typer.main.get_command(load_families())
    assert isinstance(root, click.Group)
    ctx = click.Context(root)
    groups = [root.get_command(ctx, name) for name in root.list_commands(ctx)]
    return [g for g in groups if isinstance(g, _lazy.LazyGroup)]


def test_each_lazy_module_registers_exactly_the_commands_it_is_named_for() -> None:
    groups = _lazy_groups()
    assert groups, "no family loads its commands lazily"
    for group in groups:
        by_module: dict[str, set[str]] = {}
        for name, module in group.LAZY.items():
            by_module.setdefault(module, set()).add(name)
        for module, names in by_module.items():
            registered = set(_lazy.commands_of(module))
            assert registered == names, f"{module} registers {sorted(registered)}, LAZY says {sorted(names)}"
        assert not set(group.commands) & set(group.LAZY), "a command is both eager and lazy"


def test_a_lazy_command_is_named_whole_in_error_envelopes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("fleet", "render", str(tmp_path / "none.j2"), "-i", str(tmp_path / "none"), "--json")
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["command"] == "fleet render"
