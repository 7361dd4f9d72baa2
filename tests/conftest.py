"""Shared fixtures: an isolated data folder per test, and the real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The gate's rules (no skips under make test, counts per family): hooks found by name here.
from tests._gate import (  # noqa: F401
    pytest_make_collect_report,
    pytest_runtest_makereport,
    pytest_terminal_summary,
)

ROOT = Path(__file__).resolve().parent.parent
STACKRIG = Path(sys.executable).parent / "stackrig"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data folder; no test reads the user's."""
    home = tmp_path / "stackrig-home"
    monkeypatch.setenv("STACKRIG_HOME", str(home))
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "stackrig-home"


@pytest.fixture
def cli() -> Any:
    """Run the installed console script in a subprocess (coverage follows it)."""
    assert STACKRIG.exists(), f"{STACKRIG} missing: run make test (it installs the package)"

    def run(
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> CliResult:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        done = subprocess.run(
            [str(STACKRIG), *args],
            capture_output=True,
            text=True,
            input=stdin,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


def have(program: str) -> bool:
    return shutil.which(program) is not None
