"""Real interpreters of other Python versions for the tune --inventory tests.

The machines this project runs on carry pyenv builds of 2.7 and 3.6 to 3.13 beside the
system Python; a missing one fails the test (never a skip: the "too old" and "3.9 works"
claims rest on them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PYENV = Path.home() / ".pyenv" / "versions"


def python(version: str) -> str:
    """The path of a real ``python<version>`` (e.g. ``3.9``) on PATH or under ~/.pyenv."""
    for folder in sorted(PYENV.glob(f"{version}.*")):
        candidate = folder / "bin" / f"python{version}"
        if candidate.exists():
            return str(candidate)
    found = shutil.which(f"python{version}")
    if found and "/shims/" not in found:  # a pyenv shim fails unless that version is selected
        return found
    pytest.fail(f"python{version} is not installed (looked on PATH and in {PYENV})")
