from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import stackrig
from stackrig.cli import docs
from stackrig.cli.app import _families_to_load, _first_word, load_families, run
from stackrig.output import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"stackrig {stackrig.__version__}"


def test_help_lists_commands(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("--help")
    assert done.returncode == 0
    assert "doctor" in done.stdout
    import typer

    group = typer.main.get_command(load_families())
    for name in group.commands:  # type: ignore[attr-defined]
        assert name in done.stdout


def test_no_args_shows_help(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli()
    assert "Usage: stackrig" in done.stdout + done.stderr


def test_doctor_text(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("doctor", env={"PATH": "/nonexistent"})
    assert done.returncode == 0
    assert "fio" in done.stdout
    assert "apt-get install fio" in done.stdout


def test_doctor_json_envelope(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("doctor", "--json")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert set(doc) == {"stackrig", "command", "ok", "partial", "exit_code", "data", "warnings"}
    assert doc["stackrig"] == SCHEMA_VERSION
    assert doc["command"] == "doctor"
    assert doc["ok"] is True
    names = {t["name"] for t in doc["data"]["tools"]}
    assert {"fio", "ansible-playbook", "ovs-vsctl", "iperf3"} <= names
    for tool in doc["data"]["tools"]:
        assert tool["used_by"]
        assert tool["install"]


def test_doctor_reports_missing_tools_with_exit_zero(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("doctor", "--json", env={"PATH": "/nonexistent"})
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert "fio" in doc["data"]["missing"]


def test_no_color_and_non_tty_have_no_escape_codes(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("doctor", env={"NO_COLOR": "1"})
    assert "\x1b[" not in done.stdout + done.stderr


def test_run_returns_code_in_process(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["--version"]) == 0
    assert "stackrig" in capsys.readouterr().out


def test_docs_cli_md_is_current() -> None:
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == docs.generate(), "docs/cli.md is stale: run make docs"


def test_every_command_documented_with_help_and_example() -> None:
    import typer

    text = (ROOT / "docs" / "cli.md").read_text()
    root = typer.main.get_command(load_families())
    for path, command in docs.walk(root):
        title = " ".join(("stackrig", *path))
        assert f"`{title}`" in text, f"{title} missing from docs/cli.md"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert f"`{opt}`" in text, f"{title} {opt} missing from docs/cli.md"
        if path and not hasattr(command, "commands"):
            assert (command.help or "").strip(), f"{title} has no help text"
            assert command.epilog, f"{title} has no example epilog"
            assert "stackrig" in command.epilog, f"{title}: the epilog shows no example"


def test_public_api_is_curated() -> None:
    assert stackrig.__all__ == sorted(stackrig.__all__)
    public = {n for n in vars(stackrig) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(stackrig, n)).__name__ == "module"}
    assert public - modules == set(stackrig.__all__) - {"__version__"}
    for name in stackrig.__all__:
        assert getattr(stackrig, name) is not None
    assert re.fullmatch(r"\d+\.\d+\.\d+", stackrig.__version__)


def test_first_word_picks_the_family_to_load() -> None:
    assert _first_word(["--data-dir", "migrate", "-v", "migrate", "wait"]) == "migrate"
    assert _first_word(["--help"]) is None
    assert _families_to_load(["-v", "migrate", "wait"]) == "migrate"
    assert _families_to_load(["-v", "doctor"]) == ""
    assert _families_to_load(["--version"]) == ""
    assert _families_to_load(["no-such-family"]) == ""
    assert _families_to_load([]) is None
    assert _families_to_load(["--help"]) is None


def test_family_command_runs_without_loading_the_others(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("migrate", "--help")
    assert done.returncode == 0
    assert "Usage: stackrig migrate" in done.stdout


def test_quiet_means_errors_only(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    aws = str(ROOT / "examples" / "cloud" / "aws-describe-instances.json")
    loud = cli("fleet", "inventory", aws, "--state", "any")
    assert "warning: skipped i-0123456789abcdef3" in loud.stderr
    assert "fleet inventory: 4 hosts" in loud.stderr
    quiet = cli("-q", "fleet", "inventory", aws, "--state", "any")
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout  # the result itself is not a message
    bad = cli("-q", "fleet", "inventory", str(tmp_path / "nope.json"))
    assert bad.returncode == 2
    assert bad.stderr == f"error: input file {tmp_path / 'nope.json'} does not exist\n"


def _fleet_case(tmp_path: Path) -> list[str]:
    return [
        "fleet",
        "inventory",
        str(ROOT / "examples" / "cloud" / "aws-describe-instances.json"),
        "--state",
        "any",
    ]


def _bench_case(tmp_path: Path) -> list[str]:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a_bw.1.log").write_text("0, 100, 0, 4096\n100, 200, 0, 4096\n200, 150, 0, 4096\n")
    (logs / "b_bw.2.log").write_text("")  # said as a warning: no data
    return ["bench", "plot", str(logs), "-b"]


def _migrate_case(tmp_path: Path) -> list[str]:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web:\n    build: .\n    image: example/web:1\n")  # no mem_limit: warned
    return ["migrate", "ecs", str(compose)]


def _landscape_case(tmp_path: Path) -> list[str]:
    mine = tmp_path / "mine.yml"
    mine.write_text(
        "landscape:\n- category:\n  name: Orchestration & Management\n  subcategories:\n"
        "  - subcategory:\n    name: Scheduling & Orchestration\n    items:\n"
        "    - item:\n      name: Kubernetes\n      homepage_url: https://example.org\n"
    )
    return ["landscape", "merge", "bundled", str(mine), "-o", str(tmp_path / "merged.yml")]


def _tune_case(tmp_path: Path) -> list[str]:
    return ["tune", "apply", "--root", str(ROOT / "tests" / "tune" / "trees" / "hosts" / "legacy-hdd-numa")]


def _qos_case(tmp_path: Path) -> list[str]:
    return ["qos", "policy", "list"]


@pytest.mark.parametrize(
    ("make", "loud_stderr"),
    [
        (_fleet_case, True),
        (_bench_case, True),
        (_migrate_case, True),
        (_landscape_case, True),
        (_tune_case, False),
        (_qos_case, False),
    ],
    ids=["fleet", "bench", "migrate", "landscape", "tune", "qos"],
)
def test_quiet_is_silent_on_success_in_every_family(
    cli, tmp_path: Path, make: Callable[[Path], list[str]], loud_stderr: bool
) -> None:  # type: ignore[no-untyped-def]
    """One command per family: -q leaves stderr empty on success, and stdout (the result) as it was."""
    argv = make(tmp_path)
    home = ["--data-dir", str(tmp_path / "home")]
    loud = cli(*home, *argv)
    assert loud.returncode == 0, loud.stderr
    assert bool(loud.stderr) == loud_stderr, loud.stderr  # what -q has to silence (when anything)
    quiet = cli(*home, "-q", *argv)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout
