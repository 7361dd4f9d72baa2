"""The JSON contract, for every command that takes --json, through the real console script.

Each command runs with ``--json`` and no other input (an empty stdin, an empty data folder,
AWS pointed at a closed loopback port). Whatever it then does — a report, or an error because
input is missing — stdout must hold exactly one envelope of the documented shape whose exit
code is the process's, and stderr no traceback.
"""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import typer

from stackrig.cli.app import load_families
from stackrig.cli.docs import walk
from stackrig.output import SCHEMA_VERSION
from tests.conftest import STACKRIG
from tests.services import free_port, wait_until

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


def test_a_serving_command_keeps_stdout_to_the_envelope(tmp_path: Path) -> None:
    """``bench aio --json`` serves after its report: stdout still holds the one envelope, and
    the dashboard's URL goes to stderr."""
    job = tmp_path / "serve.fio"
    job.write_text("[serve]\nioengine=psync\nfilename=serve.dat\nunlink=1\nsize=1m\nrw=read\n")
    port = free_port()
    argv = [str(STACKRIG), "--data-dir", str(tmp_path / "home"), "bench", "aio", str(job)]
    argv += ["--port", str(port), "--json"]
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: url in err.read_text(), timeout=120, what="the dashboard URL on stderr")
        with urllib.request.urlopen(url + "api/runs", timeout=10) as answer:  # noqa: S310 - http loopback
            assert [r["name"] for r in json.loads(answer.read())["runs"]] == ["serve"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    doc = json.loads(out.read_text())  # exactly one document, nothing after it
    assert doc["command"] == "bench aio"
    assert doc["ok"] is True
    assert doc["data"]["run"]["name"] == "serve"
    assert "dashboard" not in out.read_text()
    assert f"dashboard: {url}" in err.read_text()
