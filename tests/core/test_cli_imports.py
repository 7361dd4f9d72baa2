"""Every CLI module imports on its own, first, in a fresh interpreter: no import cycles between them.

A cycle hidden behind ``__import__`` (``fleet`` ↔ ``fleet_cloud`` once) works when the modules are
imported in one order and fails with "partially initialized module" in the other; importing each
module alone, first, finds it whatever order the application happens to use.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import stackrig.cli

MODULES = sorted(f"stackrig.cli.{info.name}" for info in pkgutil.iter_modules(stackrig.cli.__path__))


def test_every_cli_module_is_listed() -> None:
    assert {"stackrig.cli.app", "stackrig.cli.fleet", "stackrig.cli.fleet_cloud"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_cli_module_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"import {module} failed on its own:\n{done.stderr}"
    assert done.stderr == ""
