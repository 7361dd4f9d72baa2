"""Run folders that are whole or not there, and runs that say when their process is gone.

A run folder is built under a hidden temporary name (``.partial-<stamp>-<name>-<token>``) and
renamed to its final name (``<stamp>-<name>``) only when it is complete, so a reader of the runs
folder never takes half a run for a run. While ``bench run`` works, the history has the run as
``running`` and the folder holds ``.running.lock``, locked (``flock``) by the process for as long
as it lives: a ``running`` run whose lock is free, or whose process is gone from this machine, is
shown as ``interrupted`` (:func:`effective`), and ``bench fsck --repair`` records it so.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime as dt
import errno
import fcntl
import json
import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig import _io
from stackrig.bench.model import RunRecord, RunStatus, safe_name, write_meta
from stackrig.errors import DiskFullError, OutputPathError, StackrigError

if TYPE_CHECKING:
    from stackrig.bench.history import History

__all__ = [
    "GONE",
    "LOCK_FILE",
    "PARTIAL_PREFIX",
    "abandon",
    "effective",
    "finish_folder",
    "hold_lock",
    "is_partial",
    "lock_is_free",
    "owner",
    "partial_folder",
]

PARTIAL_PREFIX = ".partial-"
LOCK_FILE = ".running.lock"
GONE = "the process running it is gone (killed, or the machine restarted)"
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def is_partial(folder: Path) -> bool:
    return folder.name.startswith(PARTIAL_PREFIX)


def partial_folder(runs_dir: Path, name: str, when: dt.datetime) -> Path:
    """A new hidden folder to build a run in (see :func:`finish_folder`)."""
    _io.ensure_dir(runs_dir)
    stem = f"{when.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{safe_name(name)}"
    folder = runs_dir / f"{PARTIAL_PREFIX}{stem}-{secrets.token_hex(3)}"
    try:
        folder.mkdir()
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise OutputPathError(
            f"cannot create a run folder in {runs_dir}: {why}", hint="another --runs-dir?"
        ) from exc
    return folder


def _rename_noreplace(source: Path, target: Path) -> None:
    """rename(2) that fails with EEXIST instead of replacing an (empty) folder of that name."""
    libc = ctypes.CDLL(None, use_errno=True)
    call = getattr(libc, "renameat2", None)
    if call is not None:
        done = call(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE)
        if done == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(target))
    if target.exists():  # no renameat2 here: check, then rename
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    source.rename(target)


def finish_folder(folder: Path) -> Path:
    """Give a complete run folder its final name (with a short suffix when that name is taken)."""
    if not is_partial(folder):
        return folder
    with contextlib.suppress(FileNotFoundError):
        (folder / LOCK_FILE).unlink()
    stem = folder.name[len(PARTIAL_PREFIX) :].rsplit("-", 1)[0]
    for attempt in range(1000):
        target = folder.parent / (stem if attempt == 0 else f"{stem}-{secrets.token_hex(2)}")
        try:
            _rename_noreplace(folder, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue
            raise OutputPathError(f"cannot name the run folder {target}: {exc.strerror or exc}") from exc
        return target
    raise OutputPathError(f"cannot find a free run folder name for {stem} in {folder.parent}")


@contextlib.contextmanager
def hold_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder/.running.lock`` for as long as the block runs (and the process lives)."""
    fd = -1
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the first write of a new run: say where
            raise DiskFullError(folder.parent, writing="a new run folder") from exc
        raise
    try:
        yield
    finally:
        os.close(fd)


def lock_is_free(folder: Path) -> bool | None:
    """True when nobody holds the folder's run lock, False when a process does, None when the
    folder has no lock file (a finished run, or no folder at all)."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    finally:
        os.close(fd)
    return True


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot), to tell it from a later one with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 else None


def owner() -> dict[str, Any]:
    """Who runs a run: this process, on this machine, since this boot."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "boot": _boot_id(), "start": _start_ticks(pid)}


def _process_gone(who: Any) -> bool:
    """True only when certain: the recorded process was on this machine and is not running now."""
    if not isinstance(who, dict) or who.get("host") != socket.gethostname():
        return False
    if who.get("boot") and who.get("boot") != _boot_id():
        return True  # the machine restarted since
    pid = who.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    start = _start_ticks(pid)
    return start is None or (who.get("start") is not None and start != who.get("start"))


def abandon(history: History, folder: Path, why: str) -> None:
    """A run that could not go on (a full disk, fio gone): recorded as failed, best effort, in
    its final folder; a folder that never made it to the history is removed."""
    row = history.query("SELECT meta FROM bench_runs WHERE folder = ?", (str(folder),)).fetchone()
    if row is None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    record = dataclasses.replace(
        RunRecord.from_meta(json.loads(row["meta"]), folder),
        status=RunStatus.FAILED,
        error=why,
        ended=dt.datetime.now(dt.UTC),
        owner={},
    )
    with contextlib.suppress(StackrigError, OSError):
        write_meta(record)
        record = dataclasses.replace(record, folder=finish_folder(folder))
    with contextlib.suppress(StackrigError):
        history.add(record, None)


def effective(record: RunRecord) -> RunRecord:
    """``record``, but ``interrupted`` when it says ``running`` and its process is gone."""
    if record.status is not RunStatus.RUNNING:
        return record
    free = lock_is_free(record.folder)
    if free is None:  # no lock to ask: its folder is gone, or its process (when on this machine)
        gone = not record.folder.is_dir() or _process_gone(record.owner)
    else:
        gone = free
    if not gone:
        return record
    return dataclasses.replace(record, status=RunStatus.INTERRUPTED, error=record.error or GONE)
