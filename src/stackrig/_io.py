"""Files we write: atomically, secret files 0600 from the first byte, paths checked."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from stackrig.errors import ConflictError, DiskFullError, OutputPathError, StackrigError, UsageError

__all__ = [
    "atomic_write",
    "ensure_dir",
    "ensure_not_input",
    "open_text",
    "read_bytes",
    "read_text",
    "remove_leftovers",
    "safe_join",
    "temporary_beside",
]

SECRET_MODE = 0o600


def _current_umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _explain(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write {path}: permission denied"
    if exc.errno == errno.ENOENT:
        return f"cannot write {path}: folder {path.parent} does not exist"
    if exc.errno == errno.EROFS:
        return f"cannot write {path}: read-only file system"
    if exc.errno == errno.ENOSPC:
        return f"cannot write {path}: no space left on device"
    if exc.errno == errno.EISDIR:
        return f"cannot write {path}: it is a folder"
    return f"cannot write {path}: {exc.strerror or exc}"


# Temporary files of atomic writes are named .NAME.stackrig-XXXXXXXX.tmp: a write killed between
# creating and renaming one leaves it behind, and the next write to the folder removes it.
_TMP_MARK = ".stackrig-"
_LEFTOVER = re.compile(r"\..+\.stackrig-[a-z0-9_]{8}\.tmp")
LEFTOVER_AGE = 60.0  # seconds: older than any write in progress can be without touching its file


def temporary_beside(target: Path) -> tuple[int, str]:
    """Create (0600) a temporary file in ``target``'s folder, named so that a process killed while
    holding it leaves a leftover the next atomic write to that folder removes; returns (fd, path)."""
    return tempfile.mkstemp(prefix=f".{target.name}{_TMP_MARK}", suffix=".tmp", dir=target.parent)


def remove_leftovers(folder: Path) -> None:
    """Remove the temporary files that killed atomic writes left in ``folder`` (older than a minute)."""
    cutoff = time.time() - LEFTOVER_AGE
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not _LEFTOVER.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):  # gone already, or not ours to remove: never fail the write
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                Path(entry.path).unlink()


def _write_error(exc: OSError, target: Path, folder: Path) -> StackrigError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(folder.absolute(), writing=target.name)
    return OutputPathError(_explain(exc, target))


def atomic_write(
    path: str | os.PathLike[str],
    data: str | bytes | Iterable[str],
    *,
    secret: bool = False,
    mode: int | None = None,
) -> Path:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.

    ``data`` may also be pieces of text, written as they come (a text too big to hold whole).

    A temporary file in the same folder is written, fsynced and renamed over the
    target. An existing file's mode is kept; ``secret=True`` always gives 0600,
    from the moment the temporary file exists (it is never chmod-ed afterwards);
    ``mode`` sets the mode of a new file. Any OS error becomes an
    :class:`~stackrig.errors.OutputPathError` naming the path.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path()
    try:
        if not folder.is_dir():
            raise OutputPathError(
                f"cannot write {target}: folder {folder} does not exist",
                hint="create the folder first or choose another path",
            )
        if target.is_dir():
            raise OutputPathError(f"cannot write {target}: it is a folder")
        existing = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputPathError(_explain(exc, target)) from exc

    if secret:
        new_mode = SECRET_MODE
    elif existing is not None:
        new_mode = existing
    else:
        new_mode = mode if mode is not None else 0o666 & ~_current_umask()

    try:
        remove_leftovers(folder)
        # mkstemp creates the file 0600; for a secret that is the final mode.
        fd, tmp_name = temporary_beside(target)
    except OSError as exc:
        raise _write_error(exc, target, folder) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if new_mode != SECRET_MODE:
                os.fchmod(handle.fileno(), new_mode)
            for piece in _pieces(data):
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _write_error(exc, target, folder) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)
    return target


_PIECE = 1 << 20


def _pieces(data: str | bytes | Iterable[str]) -> Iterator[bytes]:
    """``data`` as bytes; a str encoded a megabyte at a time, never as a second whole copy."""
    if isinstance(data, bytes):
        yield data
        return
    for text in [data] if isinstance(data, str) else data:
        for start in range(0, len(text), _PIECE):
            yield text[start : start + _PIECE].encode("utf-8")


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def ensure_dir(path: str | os.PathLike[str], *, private: bool = False) -> Path:
    """Create a folder (and its parents) or raise an OutputPathError naming it."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    except FileExistsError as exc:
        raise OutputPathError(f"cannot create folder {folder}: a file is in the way") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputPathError(f"cannot create folder {folder}: {reason}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write in folder {folder}: permission denied")
    return folder


def ensure_not_input(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse to overwrite a file the user gave us as input (CONFLICT)."""
    out = Path(output)
    for given in inputs:
        candidate = Path(given)
        same = False
        try:
            same = out.exists() and candidate.exists() and out.samefile(candidate)
        except OSError:
            same = False
        if same or out.resolve() == candidate.resolve():
            raise ConflictError(
                f"refusing to overwrite {out}: it is also an input of this command",
                hint="write the output to another path",
            )


def safe_join(base: str | os.PathLike[str], untrusted: str) -> Path:
    """Join an untrusted relative path under ``base``; raise UsageError if it escapes.

    Absolute paths, ``..`` segments and symlinks that lead out of ``base`` are refused.
    """
    root = Path(base).resolve()
    if not untrusted or "\x00" in untrusted:
        raise UsageError(f"invalid path {untrusted!r}")
    relative = Path(untrusted)
    if relative.is_absolute() or ".." in relative.parts:
        raise UsageError(f"path {untrusted!r} leads outside {root}")
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise UsageError(f"path {untrusted!r} leads outside {root}")
    return candidate


@contextlib.contextmanager
def _reading(source: Path, what: str) -> Iterator[None]:
    """Turn the OSError (or decoding error) of reading ``source`` into a UsageError that names it."""
    try:
        yield
    except FileNotFoundError as exc:
        raise UsageError(f"{what} {source} does not exist") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{what} {source} is a folder, not a file") from exc
    except PermissionError as exc:
        raise UsageError(f"cannot read {what} {source}: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {source} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {what} {source}: {exc.strerror or exc}") from exc


def read_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """Read a user-given text file or raise a UsageError that names it."""
    source = Path(path)
    with _reading(source, what):
        return source.read_text(encoding="utf-8")


def read_bytes(path: str | os.PathLike[str], *, what: str = "file", utf8: bool = False) -> bytes:
    """Read a user-given file byte for byte (``utf8``: it must also be UTF-8 text), or raise the
    UsageError of :func:`read_text`."""
    source = Path(path)
    with _reading(source, what):
        data = source.read_bytes()
        if utf8:
            data.decode("utf-8")
        return data


def open_text(path: str | os.PathLike[str], *, what: str = "file") -> IO[str]:
    """Open a user-given text file (UTF-8) for streaming, or raise the UsageError of :func:`read_text`."""
    source = Path(path)
    with _reading(source, what):
        return source.open(encoding="utf-8")
