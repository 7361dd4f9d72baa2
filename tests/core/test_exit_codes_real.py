"""Each exit code of the table, reached through a real command of the installed console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stackrig.errors import ExitCode
from tests.conftest import STACKRIG
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_ok(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("landscape", "layers", "--json")
    assert done.returncode == ExitCode.OK
    assert json.loads(done.stdout)["ok"] is True


def test_failed_validate_finds_problems(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "landscape.yml"
    bad.write_text("landscape:\n  - category:\n    name: A\n")
    done = cli("landscape", "validate", str(bad))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert bad.read_text() == "landscape:\n  - category:\n    name: A\n"


def test_usage_bad_flag_value(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("migrate", "wait", "tcp://127.0.0.1:1", "--timeout", "soon")
    assert done.returncode == ExitCode.USAGE
    assert "error: --timeout 'soon' is not a duration" in done.stderr
    assert "hint: write a number and a unit: 500ms, 60s, 5m, 2h, 1d" in done.stderr
    done = cli("migrate", "ecs", "compose.yaml", "--memory", "lots")
    assert done.returncode == ExitCode.USAGE
    assert "error: Invalid value for '--memory'" in done.stderr


def test_missing_program(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    job = tmp_path / "j.fio"
    job.write_text("[j]\nrw=read\nsize=1M\n")
    # The venv's bin/ stays searchable; fio is in /usr/bin, which this PATH leaves out.
    env = {"PATH": str(Path(sys.executable).parent)}
    done = cli("bench", "run", str(job), env=env)
    assert done.returncode == ExitCode.MISSING
    assert "error: fio is not installed" in done.stderr
    assert "apt-get install fio" in done.stderr


def test_conflict_output_is_an_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = ROOT / "examples" / "migrate" / "docker-compose.v1.yml"
    old = tmp_path / "docker-compose.yml"
    old.write_bytes(source.read_bytes())
    done = cli("migrate", "compose", "--upgrade", str(old), "-o", str(old))
    assert done.returncode == ExitCode.CONFLICT
    assert "error: " in done.stderr
    assert old.read_bytes() == source.read_bytes()


def test_timeout(cli) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    done = cli(
        "migrate", "wait", f"tcp://127.0.0.1:{port}", "--timeout", "0.5", "--interval", "0.1", "--json"
    )
    assert done.returncode == ExitCode.TIMEOUT
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert doc["error"]["exit_code"] == ExitCode.TIMEOUT
    assert f"127.0.0.1:{port}" in doc["error"]["message"]


def test_interrupted_wait(tmp_path: Path) -> None:
    port = free_port()
    argv = [str(STACKRIG), "-vv", "migrate", "wait", f"tcp://127.0.0.1:{port}", "--timeout", "10m"]
    with subprocess.Popen(
        [*argv, "--interval", "100ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    ) as proc:
        assert proc.stderr is not None
        # Ready to be interrupted once the first poll is logged (-vv): no guess at how long start-up takes.
        first = proc.stderr.readline()
        assert f"not ready: tcp://127.0.0.1:{port}: connection refused" in first
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "error: interrupted" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["landscape", "render"],
        ["landscape", "render", "--format", "html"],
        ["landscape", "layers", "--json"],
        ["doctor"],
        ["--version"],
    ],
)
def test_closed_stdout_is_a_quiet_141(args: list[str], data_dir: Path) -> None:
    """``stackrig ... | head`` with the reader gone: 128 + SIGPIPE as cat does, no message, no crash log."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before stackrig writes anything
    try:
        done = subprocess.run(
            [str(STACKRIG), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == ExitCode.BROKEN_PIPE == 141
    assert done.stderr == ""
    assert not (data_dir / "logs").exists()


def test_reader_leaving_midway_is_141_too() -> None:
    # 100 kB of HTML against a 64 kB pipe: stackrig is still writing when the reader leaves.
    with subprocess.Popen(
        [str(STACKRIG), "landscape", "render", "--format", "html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.read(10) == b"<!DOCTYPE "
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=99)
    assert proc.returncode == 141
    assert err == b""


@pytest.mark.parametrize("code", list(ExitCode))
def test_every_code_is_documented(code: ExitCode) -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    assert f"| {int(code)} | {code.name} |" in text
