"""make test's install step for the container tests (tests/containers/prepare.py): the cache lives
outside the clone, is keyed by the date and by the apt stages' text, and a second run reuses it
without starting an engine or reaching a mirror."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from tests.containers import prepare


def test_cache_is_outside_the_clone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STACKRIG_TEST_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert prepare.cache_root() == tmp_path / "xdg" / "stackrig" / "containers"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert prepare.cache_root() == tmp_path / "home" / ".cache" / "stackrig" / "containers"
    monkeypatch.setenv("STACKRIG_TEST_CACHE", str(tmp_path / "mine"))
    assert prepare.cache_root() == tmp_path / "mine" / "containers"
    assert not prepare.tarball().is_relative_to(prepare.ROOT)


def test_key_follows_the_date_and_the_apt_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    day = dt.date(2026, 12, 5)
    key = prepare.cache_key(day)
    assert key.startswith("2026-12-05-")
    assert prepare.cache_key(day) == key  # the same day, the same stages: reused
    assert prepare.cache_key(day + dt.timedelta(days=1)).startswith("2026-12-06-")
    assert prepare.cache_key(day + dt.timedelta(days=1))[11:] == key[11:]
    # a changed apt line in a cached stage makes a new key (never a stale image)
    stage = prepare.STAGES[0]
    changed = stage.text() + "\nRUN apt-get install -y something-else"
    monkeypatch.setattr(prepare.CachedStage, "text", lambda self: changed if self == stage else "same")
    assert prepare.cache_key(day) != key
    # the stage text is the stage alone: FROM .. up to the next FROM, without comments
    monkeypatch.undo()
    text = stage.text()
    assert f" AS {stage.target}" in text
    assert text.count("\nFROM ") + text.startswith("FROM ") <= 1
    assert not any(line.lstrip().startswith("#") for line in text.splitlines())


def test_a_second_run_reuses_the_tarball(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STACKRIG_TEST_CACHE", str(tmp_path))
    made = prepare.tarball()
    made.parent.mkdir(parents=True)
    made.write_bytes(b"today's images")
    # no engine, no debootstrap: the install step only says what it reuses (as a process, as make runs it)
    done = subprocess.run(
        [sys.executable, "-m", "tests.containers.prepare"],
        cwd=prepare.ROOT,
        env={"STACKRIG_TEST_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(made)
    assert f"reusing {made}" in done.stderr
    assert made.read_bytes() == b"today's images"
    assert not (tmp_path / "containers" / "engines").exists()  # no engine was started
