"""The one way stackrig runs an outside program.

Every call goes through the tool registry (:mod:`stackrig._tools`), so a
missing program is a MISSING error with its install hint. Never a shell;
always a timeout; stderr is kept and its last lines (secrets masked) go into
the error message.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stackrig import _tools
from stackrig._units import format_duration
from stackrig.errors import FailedError

__all__ = ["Completed", "ProcessFailedError", "ToolTimeLimitError", "mask", "run", "start", "tail"]

DEFAULT_TIMEOUT = 600.0


class ProcessFailedError(FailedError):
    """An outside program exited non-zero."""

    def __init__(self, message: str, *, returncode: int, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


class ToolTimeLimitError(FailedError):
    """An outside program ran past its time limit and was killed (FAILED, not a wait's TIMEOUT)."""


@dataclass(frozen=True, slots=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def mask(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def tail(text: str, lines: int = 5) -> str:
    """The last non-empty lines of a program's output, for an error message."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run(
    name: str,
    args: Sequence[str],
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    input: str | None = None,  # noqa: A002 - mirrors subprocess.run
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
    secrets: Iterable[str] = (),
    needed_for: str | None = None,
) -> Completed:
    """Run registered program ``name`` with ``args``; capture stdout and stderr.

    With ``check`` a non-zero exit raises :class:`ProcessFailedError` naming the
    command and the last lines of stderr. A program still running at ``timeout`` is
    killed and reported as FAILED naming it (TIMEOUT, 124, is for waits that gave up).
    """
    path = _tools.require(name, needed_for=needed_for)
    argv = (path, *args)
    secret_list = list(secrets)
    shown = mask(" ".join([name, *args]), secret_list)
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        limit = format_duration(timeout or 0)
        raise ToolTimeLimitError(
            f"{name} ran past its time limit of {limit} and was stopped: {shown}",
            hint=f"{name} may be stuck; run it by hand to see where",
        ) from exc
    except OSError as exc:
        raise FailedError(f"cannot run {shown}: {exc.strerror or exc}") from exc
    result = Completed(argv, done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        detail = mask(tail(done.stderr) or tail(done.stdout), secret_list)
        message = f"{shown} failed with exit code {done.returncode}"
        if detail:
            message += f":\n{detail}"
        raise ProcessFailedError(message, returncode=done.returncode, stderr=done.stderr)
    return result


def start(
    name: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.PIPE,
    needed_for: str | None = None,
    start_new_session: bool = False,
) -> subprocess.Popen[str]:
    """Start registered program ``name`` for streaming; the caller waits on it."""
    path = _tools.require(name, needed_for=needed_for)
    try:
        return subprocess.Popen(
            [path, *args],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=start_new_session,
        )
    except OSError as exc:
        raise FailedError(f"cannot run {name}: {exc.strerror or exc}") from exc
