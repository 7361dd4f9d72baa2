"""Every exit code through a real process and the one handler in cli.app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stackrig.errors import ExitCode

RAISER = Path(__file__).with_name("raiser.py")


def run_raiser(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RAISER), *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("failed", ExitCode.FAILED, "error: a check failed"),
        ("usage", ExitCode.USAGE, "error: bad input"),
        ("missing", ExitCode.MISSING, "error: fio is not installed"),
        ("conflict", ExitCode.CONFLICT, "error: would overwrite"),
        ("timeout", ExitCode.TIMEOUT, "error: gave up waiting"),
        ("interrupted", ExitCode.INTERRUPTED, "error: interrupted"),
    ],
)
def test_error_maps_to_exit_code(kind: str, code: ExitCode, message: str) -> None:
    done = run_raiser("raise-for-test", kind)
    assert done.returncode == code
    assert done.stderr.startswith(message)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_hint_is_shown() -> None:
    done = run_raiser("raise-for-test", "missing")
    assert "hint: apt-get install fio" in done.stderr


@pytest.mark.parametrize("kind", ["failed", "usage", "missing", "conflict", "timeout"])
def test_error_envelope_in_json_mode(kind: str) -> None:
    done = run_raiser("raise-for-test", kind, "--json")
    doc = json.loads(done.stdout)
    assert doc["stackrig"] == "1"
    assert doc["ok"] is False
    assert doc["command"] == "raise-for-test"
    assert doc["error"]["exit_code"] == done.returncode
    assert doc["error"]["message"]


def test_internal_error_names_log_file(data_dir: Path) -> None:
    done = run_raiser("raise-for-test", "bug")
    assert done.returncode == ExitCode.INTERNAL
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[0]
    assert "internal error (ZeroDivisionError)" in line
    logs = list((data_dir / "logs").glob("internal-error-*.log"))
    assert len(logs) == 1
    assert str(logs[0]) in line
    assert "ZeroDivisionError: boom" in logs[0].read_text()
    assert logs[0].stat().st_mode & 0o777 == 0o600


def test_a_raised_internal_error_is_reported_as_a_bug(data_dir: Path) -> None:
    done = run_raiser("raise-for-test", "internal", "--json")
    assert done.returncode == ExitCode.INTERNAL
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "InternalError"
    assert error["message"].startswith("internal error: the registry lost a tool; the traceback is in ")
    assert error["hint"] == "please report it with that file"
    (log,) = (data_dir / "logs").glob("internal-error-*.log")
    assert "InternalError: the registry lost a tool" in log.read_text()


def test_an_unregistered_program_is_a_bug() -> None:
    from stackrig import _tools
    from stackrig.errors import InternalError

    with pytest.raises(InternalError, match="no-such-tool is run but not in the tool registry"):
        _tools.tool("no-such-tool")


def test_verbose_shows_traceback() -> None:
    done = run_raiser("-v", "raise-for-test", "usage")
    assert done.returncode == ExitCode.USAGE
    assert "Traceback" in done.stderr


def test_unconfirmed_prompt_is_conflict() -> None:
    done = run_raiser("raise-for-test", "confirm", stdin="n\n")
    assert done.returncode == ExitCode.CONFLICT
    assert "not confirmed" in done.stderr


def test_ctrl_c_is_130() -> None:
    with subprocess.Popen(
        [sys.executable, str(RAISER), "raise-for-test", "sleep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        assert proc.stderr.readline().strip() == "sleeping"
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "error: interrupted" in err
    assert "Traceback" not in err


def test_usage_error_from_real_console_script(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("doctor", "--no-such-flag")
    assert done.returncode == ExitCode.USAGE
    assert "error: No such option: --no-such-flag" in done.stderr
    assert "stackrig doctor --help" in done.stderr


def test_usage_error_json_envelope_from_console_script(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("doctor", "--json", "--bogus")
    assert done.returncode == ExitCode.USAGE
    doc = json.loads(done.stdout)
    assert doc["command"] == "doctor"
    assert doc["error"]["type"] == "UsageError"


def test_unknown_command(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("no-such-family")
    assert done.returncode == ExitCode.USAGE
    assert "No such command" in done.stderr


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stackrig", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("stackrig ")
