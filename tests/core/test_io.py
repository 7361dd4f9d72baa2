from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackrig._io import LEFTOVER_AGE, atomic_write, ensure_dir, ensure_not_input, read_text, safe_join
from stackrig.errors import ConflictError, ExitCode, OutputPathError, UsageError
from tests.services import run_unprivileged


def test_writes_new_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write(target, "hello")
    assert target.read_text() == "hello"
    assert not list(tmp_path.glob(".out.txt.*"))


def test_keeps_mode_of_replaced_file(tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    target.write_text("old")
    target.chmod(0o750)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o750


def test_secret_replaces_world_readable_file_with_0600(tmp_path: Path) -> None:
    target = tmp_path / "agent.yml"
    target.write_text("old")
    target.chmod(0o644)
    atomic_write(target, "secret: s3cr3t", secret=True)
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.read_text() == "secret: s3cr3t"


def test_secret_is_0600_from_the_first_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        if not Path(f"/proc/self/fd/{fd}").is_dir():
            seen.append(mode & 0o777)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write(tmp_path / "s", "x", secret=True)
    assert seen == [0o600]


def test_new_file_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640


def test_missing_folder_is_usage_error_naming_path(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError) as info:
        atomic_write(tmp_path / "nope" / "out.txt", "x")
    assert info.value.exit_code == ExitCode.USAGE
    assert str(tmp_path / "nope") in info.value.message


def test_target_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match="is a folder"):
        atomic_write(tmp_path, "x")


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A folder others may enter but not write (tmp_path's parents are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="stackrig-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_unwritable_folder_as_unprivileged_user(world_dir: Path) -> None:
    existing = world_dir / "keep.txt"
    existing.write_text("precious")
    code = textwrap.dedent(
        f"""
        import sys
        from stackrig._io import atomic_write
        from stackrig.errors import UsageError
        try:
            atomic_write({str(existing)!r}, "overwritten")
        except UsageError as exc:
            print(exc.message)
            sys.exit(int(exc.exit_code))
        """
    )
    done = run_unprivileged([sys.executable, "-c", code])
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges (CI runs as root)")
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "permission denied" in done.stdout
    assert str(existing) in done.stdout
    assert existing.read_text() == "precious"


CRASHER = """
import os, sys, time
from stackrig import _io
real = os.fsync
def slow_fsync(fd):
    sys.stdout.write("writing\\n"); sys.stdout.flush()
    time.sleep(60)
os.fsync = slow_fsync
_io.atomic_write(sys.argv[1], "NEW" * 100000)
"""


def test_killed_writer_leaves_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "inventory.ini"
    target.write_text("OLD CONTENT")
    with subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(target)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        # The new bytes are in the temporary file now; the rename has not happened.
        assert any(p.name.startswith(".inventory.ini.") for p in tmp_path.iterdir())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert target.read_text() == "OLD CONTENT"
    (leftover,) = (p for p in tmp_path.iterdir() if p.name.startswith(".inventory.ini.stackrig-"))
    assert leftover.name.endswith(".tmp")
    assert leftover.stat().st_size > 0
    # A minute on, the next write to the folder removes what the killed one left.
    a_minute_ago = time.time() - LEFTOVER_AGE - 1
    os.utime(leftover, (a_minute_ago, a_minute_ago))
    atomic_write(target, "NEXT")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.ini"]
    assert target.read_text() == "NEXT"


def test_the_next_write_removes_leftovers_older_than_a_minute(tmp_path: Path) -> None:
    old = tmp_path / ".hosts.ini.stackrig-ab12cd34.tmp"  # a write killed two minutes ago
    fresh = tmp_path / ".hosts.ini.stackrig-ef56gh78.tmp"  # a write maybe still going on
    mine = tmp_path / ".notes.tmp"  # the user's, not named as ours
    for path in (old, fresh, mine):
        path.write_text("partial")
    two_minutes_ago = time.time() - 120
    for path in (old, mine):
        os.utime(path, (two_minutes_ago, two_minutes_ago))
    atomic_write(tmp_path / "other.yml", "x: 1\n")  # any write to the folder
    assert not old.exists()
    assert fresh.exists()
    assert mine.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, mine.name, "other.yml"]


def test_ensure_not_input(tmp_path: Path) -> None:
    given = tmp_path / "in.yml"
    given.write_text("x")
    with pytest.raises(ConflictError, match="also an input"):
        ensure_not_input(given, [given])
    with pytest.raises(ConflictError):
        ensure_not_input(tmp_path / "sub" / ".." / "in.yml", [given])
    ensure_not_input(tmp_path / "out.yml", [given])


def test_safe_join(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.txt").write_text("x")
    (tmp_path / "runs" / "out").symlink_to("/etc")
    assert safe_join(tmp_path / "runs", "a.txt") == (tmp_path / "runs" / "a.txt").resolve()
    for bad in ["../x", "/etc/passwd", "out/passwd", "a/../../x", "", "a\x00b"]:
        with pytest.raises(UsageError):
            safe_join(tmp_path / "runs", bad)


def test_ensure_dir(tmp_path: Path) -> None:
    assert ensure_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="a file is in the way"):
        ensure_dir(tmp_path / "file")
    with pytest.raises(OutputPathError):
        ensure_dir(tmp_path / "file" / "sub")


def test_read_text_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        read_text(tmp_path / "missing", what="job file")
    with pytest.raises(UsageError, match="is a folder"):
        read_text(tmp_path)
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="not UTF-8"):
        read_text(tmp_path / "bin")
