"""Fixtures of the tune tests: the fixture trees, copies of them, and byte-for-byte snapshots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TREES = Path(__file__).resolve().parent / "trees"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``root``, by relative path."""
    state: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        state[rel] = None if path.is_dir() else path.read_bytes()
    return state


@pytest.fixture
def host_copy(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy a whole-host tree (trees/hosts/<name>) into tmp_path and return the copy's root."""

    def make(name: str) -> Path:
        target = tmp_path / "root" / name
        shutil.copytree(TREES / "hosts" / name, target)
        return target

    return make
