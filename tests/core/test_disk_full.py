"""A full disk is said as one line naming the folder, exit 1, and what was saved before is kept.

The disk is a small tmpfs in a mount namespace of the test's own (tests/services.py).
"""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from stackrig import store
from stackrig.errors import DiskFullError, ExitCode, disk_full
from tests.conftest import ROOT
from tests.services import FILL_TMPFS, in_small_tmpfs


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    out = in_small_tmpfs(
        tmp_path,
        f"""
        ROOT={shlex.quote(str(ROOT))}
        printf 'OLD INVENTORY\\n' > "$MNT/hosts.ini"
        {FILL_TMPFS}
        "$STACKRIG" fleet inventory "$ROOT/examples/cloud/aws-describe-instances.json" -o "$MNT/hosts.ini" \\
            2> "$OUT/err"
        echo $? > "$OUT/rc"
        cp "$MNT/hosts.ini" "$OUT/hosts.ini"
        ls -A "$MNT" > "$OUT/ls"
        """,
    )
    assert (out / "rc").read_text().strip() == "1"
    err = (out / "err").read_text()
    assert f"error: no space left on device in {tmp_path / 'small'} (writing hosts.ini)" in err
    assert "move" not in err
    assert (out / "hosts.ini").read_text() == "OLD INVENTORY\n"
    assert (out / "ls").read_text().split() == ["filler", "hosts.ini"]  # no temporary file left


def test_sqlite_full_and_io_errors_name_the_folder(tmp_path: Path) -> None:
    db = tmp_path / "home" / "stackrig.db"
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    found = store.disk_full(full, db)
    assert isinstance(found, DiskFullError)
    assert found.message == f"no space left on device in {tmp_path / 'home'} (writing stackrig.db)"
    assert found.exit_code == ExitCode.FAILED
    io_error = sqlite3.OperationalError("disk I/O error")
    io_error.sqlite_errorcode = sqlite3.SQLITE_IOERR  # type: ignore[attr-defined]
    assert store.disk_full(io_error, tmp_path / "stackrig.db") is None  # this disk has room
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
    assert store.disk_full(locked, db) is None


def test_enospc_under_another_error_is_found() -> None:
    cause = OSError(28, "No space left on device", "/srv/data/runs/x/fio.json")
    try:
        try:
            raise cause
        except OSError as exc:
            raise ValueError("cannot copy") from exc
    except ValueError as wrapped:
        found = disk_full(wrapped)
    assert found is not None
    assert found.message == "no space left on device in /srv/data/runs/x (writing fio.json)"
    assert disk_full(ValueError("x")) is None
    assert disk_full(OSError(28, "No space left on device")) is not None
