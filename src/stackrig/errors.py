"""The one exception tree of stackrig and the exit-code table it maps to.

Every error a user can cause or meet is a :class:`StackrigError`. Each base
class below carries its exit code (the table in ``docs/design.md``); family errors subclass
the base that says what the user can do about them::

    StackrigError                    (70 INTERNAL unless a subclass says otherwise)
    ├── FailedError                  1   the work ran and found a failure
    │   └── DiskFullError            1   no space left on device where stackrig writes
    ├── UsageError                   2   bad input: flag, file, job, policy, output path
    │   └── OutputPathError          2   an output path that cannot be written
    ├── MissingError                 3   an outside program, service or privilege is absent
    │   ├── MissingToolError         3   a program from the tool registry is not installed
    │   └── NotRootError             3   the command needs root
    ├── ConflictError                4   needs consent (--yes, --force, ...) or would overwrite an input
    ├── InternalError                70  a bug in stackrig
    ├── WaitTimeoutError             124 a wait gave up
    └── InterruptError            130 Ctrl-C; partial results were kept

The CLI entry (:func:`stackrig.cli.app.main`) is the only place that turns
these into messages and exit codes.
"""

from __future__ import annotations

import enum
import errno
import os
from pathlib import Path

__all__ = [
    "ConflictError",
    "DiskFullError",
    "ExitCode",
    "FailedError",
    "InternalError",
    "InterruptError",
    "MissingError",
    "MissingToolError",
    "NotRootError",
    "OutputPathError",
    "StackrigError",
    "UsageError",
    "WaitTimeoutError",
    "disk_full",
]


class ExitCode(enum.IntEnum):
    """The exit codes of every stackrig command (one table, used everywhere)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    MISSING = 3
    CONFLICT = 4
    INTERNAL = 70
    TIMEOUT = 124
    INTERRUPTED = 130
    BROKEN_PIPE = 141

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "done",
    ExitCode.FAILED: (
        "the work ran and found a failure: a check failed, a job failed, "
        "a host unreachable, a regression beyond the threshold"
    ),
    ExitCode.USAGE: (
        "bad input: bad flag, unreadable or malformed file, invalid job file or policy, "
        "an output path that cannot be written"
    ),
    ExitCode.MISSING: ("a required outside program, service or privilege (root) is absent or unreachable"),
    ExitCode.CONFLICT: ("needs consent: would overwrite an input, delete or scale down, apply changes"),
    ExitCode.INTERNAL: "a bug: the traceback is in the log file named on stderr",
    ExitCode.TIMEOUT: "a wait gave up",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); partial results kept",
    ExitCode.BROKEN_PIPE: "stdout was closed by its reader (e.g. | head): stopped quietly (128 + SIGPIPE)",
}


class StackrigError(Exception):
    """Base of every stackrig error. ``hint`` says what to do about it."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    @property
    def type_name(self) -> str:
        return type(self).__name__


class FailedError(StackrigError):
    """The work ran and found a failure."""

    exit_code = ExitCode.FAILED


class DiskFullError(FailedError):
    """No space left on the device of a folder stackrig writes to (ENOSPC, SQLITE_FULL).

    One line naming the folder; what was saved before is kept, so the only advice is to
    free space: never to move or delete the user's data.
    """

    def __init__(self, folder: str | os.PathLike[str] | None, *, writing: str | None = None) -> None:
        where = f" in {os.fspath(folder)}" if folder is not None else ""
        what = f" (writing {writing})" if writing else ""
        super().__init__(
            f"no space left on device{where}{what}",
            hint="free some space on that file system and run the command again",
        )
        self.folder = os.fspath(folder) if folder is not None else None


def disk_full(exc: BaseException | None) -> DiskFullError | None:
    """The DiskFullError an exception (or one it was raised from) stands for, if any.

    An OSError ENOSPC/EDQUOT names its file, so its folder; a DiskFullError is itself.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return exc
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # (a tuple, not X | Y: this module also runs on hosts' Python 3.9, in tune's zipapp)
            name = exc.filename if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
            if name is not None:
                path = Path(os.fsdecode(name)).absolute()
                return DiskFullError(path.parent, writing=path.name)
            return DiskFullError(None)
        exc = exc.__cause__ or exc.__context__
    return None


class UsageError(StackrigError):
    """Bad input from the user."""

    exit_code = ExitCode.USAGE


class OutputPathError(UsageError):
    """An output path (file or folder) that cannot be written."""


class MissingError(StackrigError):
    """A required outside program, service or privilege is absent or unreachable."""

    exit_code = ExitCode.MISSING


class MissingToolError(MissingError):
    """A program from the tool registry is not installed."""

    def __init__(self, tool: str, *, install_hint: str, needed_for: str | None = None) -> None:
        what = f"{tool} is not installed"
        if needed_for:
            what += f" (needed for {needed_for})"
        super().__init__(what, hint=install_hint)
        self.tool = tool


class NotRootError(MissingError):
    """The command needs root privileges."""


class ConflictError(StackrigError):
    """The command needs consent before it may go on."""

    exit_code = ExitCode.CONFLICT


class InternalError(StackrigError):
    """A bug in stackrig, found by stackrig itself (e.g. a program missing from the tool registry).

    The CLI entry reports it like any exception that is not a StackrigError: type
    ``InternalError`` in the error envelope, exit 70, the traceback in a log file it names.
    """

    exit_code = ExitCode.INTERNAL


class WaitTimeoutError(StackrigError):
    """A wait gave up before its targets were ready."""

    exit_code = ExitCode.TIMEOUT


class InterruptError(StackrigError):
    """The user pressed Ctrl-C; what was done so far is kept."""

    exit_code = ExitCode.INTERRUPTED
