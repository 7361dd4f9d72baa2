"""The JSON contract, for every command that takes --json, through the real console script.

Each command runs with ``--json`` and no other input (an empty stdin, an empty data folder,
AWS pointed at a closed loopback port). Whatever it then does — a report, or an error because
input is missing — stdout must hold exactly one envelope of the documented shape whose exit
code is the process's, and stderr no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from stackrig.cli.app import load_families
from stackrig.cli.docs import walk
from stackrig.output import SCHEMA_VERSION
from tests.services import free_port

# These change the machine (OVS bridges, namespaces) even without arguments.
CHANGES_THE_MACHINE = {"qos lab up", "qos lab down"}


def _json_commands() -> list[str]:
    root = typer.main.get_command(load_families())
    found = []
    for path, command in walk(root):
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if "--json" in options:
            found.append(" ".join(path))
    return found


JSON_COMMANDS = _json_commands()


def test_every_family_has_json_commands() -> None:
    families = {name.split()[0] for name in JSON_COMMANDS}
    assert families >= {"doctor", "fleet", "bench", "tune", "qos", "migrate", "landscape"}


@pytest.mark.parametrize("command", [c for c in JSON_COMMANDS if c not in CHANGES_THE_MACHINE])
def test_one_envelope_on_stdout(cli, tmp_path: Path, command: str) -> None:  # type: ignore[no-untyped-def]
    closed = f"http://127.0.0.1:{free_port()}"
    env = {
        "AWS_ENDPOINT_URL": closed,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    done = cli(*command.split(), "--json", stdin="", env=env, cwd=tmp_path, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads(done.stdout)  # exactly one document: json.loads refuses trailing text
    assert doc["stackrig"] == SCHEMA_VERSION
    assert doc["command"] == command
    if doc["ok"]:
        assert done.returncode == 0
        assert set(doc) == {"stackrig", "command", "ok", "partial", "exit_code", "data", "warnings"}
        assert doc["exit_code"] == 0
        assert isinstance(doc["warnings"], list)
    else:
        assert done.returncode != 0
        if "error" in doc:
            assert set(doc["error"]) <= {"type", "message", "hint", "exit_code"}
            assert doc["error"]["exit_code"] == done.returncode
            assert doc["error"]["message"]
        else:
            # The work ran and reported a failure (e.g. an audit with failing checks).
            assert doc["exit_code"] == done.returncode
            assert "data" in doc
