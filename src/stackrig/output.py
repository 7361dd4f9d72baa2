"""Results are data; this module renders them: rich text for people, one JSON envelope for programs.

The envelope (version :data:`SCHEMA_VERSION`)::

    {"stackrig": "1", "command": "fleet inventory", "ok": true, "partial": false,
     "data": {...}, "warnings": [...]}

and for an error::

    {"stackrig": "1", "command": "fleet inventory", "ok": false,
     "error": {"type": "UsageError", "message": "...", "hint": "...", "exit_code": 2}}

With ``--json`` stdout holds the envelope and nothing else; progress, logs and
warnings in text mode go to stderr.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import errno
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

from rich.console import Console
from rich.logging import RichHandler

from stackrig.errors import ExitCode

__all__ = [
    "SCHEMA_VERSION",
    "Report",
    "configure_logging",
    "dumps",
    "emit",
    "envelope",
    "error_envelope",
    "is_quiet",
    "progress_stream",
    "say",
    "stderr_console",
    "stdout_console",
    "to_jsonable",
]

SCHEMA_VERSION = "1"

Renderer = Callable[[Console], None]


@dataclass(frozen=True, slots=True)
class Report:
    """What a command hands to the renderer.

    ``data`` becomes the envelope's ``data`` (dataclasses, paths, enums and
    datetimes are converted); ``render`` draws the human view on stdout.
    ``failed`` names the parts that could not be done when the result is
    ``partial`` (a region, an account, a file): they go to stderr in both modes
    and into the envelope's ``warnings`` after the others.
    """

    data: Any
    render: Renderer | None = None
    warnings: tuple[str, ...] = ()
    partial: bool = False
    exit_code: ExitCode = ExitCode.OK
    failed: tuple[str, ...] = ()

    def settled(self, *, allow_partial: bool) -> Report:
        """The design's partial-results rule: a partial result exits FAILED unless ``allow_partial``."""
        if self.partial and not allow_partial and self.exit_code == ExitCode.OK:
            return dataclasses.replace(self, exit_code=ExitCode.FAILED)
        return self


def to_jsonable(obj: Any) -> Any:
    """Turn result objects into plain JSON types."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_jsonable(to_dict())
    raise TypeError(f"cannot put {type(obj).__name__} into JSON")


def dumps(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)


def envelope(command: str, report: Report) -> dict[str, Any]:
    return {
        "stackrig": SCHEMA_VERSION,
        "command": command,
        "ok": report.exit_code == ExitCode.OK,
        "partial": report.partial,
        "exit_code": int(report.exit_code),
        "data": to_jsonable(report.data),
        "warnings": [*report.warnings, *report.failed],
    }


def error_envelope(
    command: str, *, type_name: str, message: str, exit_code: int, hint: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type_name, "message": message, "exit_code": exit_code}
    if hint:
        error["hint"] = hint
    return {"stackrig": SCHEMA_VERSION, "command": command, "ok": False, "error": error}


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


class _StdoutConsole(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1 here; the CLI entry turns a closed stdout into a quiet 141 instead.
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def stdout_console(file: IO[str] | None = None) -> Console:
    return _StdoutConsole(
        file=file or sys.stdout,
        highlight=False,
        soft_wrap=True,
        no_color=_no_color(),
    )


# -q: errors only. The CLI entry prints errors itself and the log handler keeps ERROR records;
# everything else a command says on stderr (warnings, summaries, progress) goes through here.
_quiet = False


def stderr_console(*, quiet: bool | None = None) -> Console:
    """The console for progress, warnings and summaries: silent under ``-q``."""
    return Console(
        file=sys.stderr,
        highlight=False,
        soft_wrap=True,
        no_color=_no_color(),
        quiet=_quiet if quiet is None else quiet,
    )


def is_quiet() -> bool:
    """Whether ``-q`` was given: errors only."""
    return _quiet


def say(text: str, *, stdout: bool = False) -> None:
    """A line for people that is neither a result nor an error (a server's URL, "stopped"):
    on stderr, or on stdout when the command prints nothing else there; silent under ``-q``."""
    console = Console(
        file=sys.stdout if stdout else sys.stderr,
        highlight=False,
        soft_wrap=True,
        no_color=_no_color(),
        quiet=_quiet,
    )
    console.print(text, markup=False, highlight=False)
    console.file.flush()


class _Discard(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


def progress_stream() -> IO[str]:
    """Where a tool's own output goes when it is progress (``ansible-playbook``'s beside a
    ``--json`` document): stderr, or nowhere under ``-q``."""
    return _Discard() if _quiet else sys.stderr


def emit(report: Report, *, command: str, json_mode: bool, file: IO[str] | None = None) -> ExitCode:
    """Print a report (envelope or human view); return its exit code."""
    out = file or sys.stdout
    err = stderr_console()
    if json_mode:
        out.write(dumps(envelope(command, report)) + "\n")
        out.flush()
        _print_failed(err, report)
        return report.exit_code
    for warning in report.warnings:  # the text may come from outside (cloud tags): never markup
        err.print("[yellow]warning:[/yellow] ", end="", markup=True, highlight=False)
        err.print(warning, markup=False, highlight=False)
    _print_failed(err, report)
    if report.render is not None:
        report.render(stdout_console(out))
    out.flush()
    return report.exit_code


def _print_failed(err: Console, report: Report) -> None:
    if report.exit_code != ExitCode.OK:
        # The failed parts are why the command exits 1: errors, said even under -q. With
        # --allow-partial (exit 0) they are warnings, and -q silences them like any warning.
        err = stderr_console(quiet=False)
    for part in report.failed:
        err.print("[red]failed:[/red] ", end="", markup=True, highlight=False)
        err.print(part, markup=False, highlight=False)
    if report.failed:
        how = "exit 0 (--allow-partial)" if report.exit_code == ExitCode.OK else "exit 1"
        err.print(f"partial result: {len(report.failed)} part(s) failed; {how}", markup=False)


def configure_logging(verbosity: int) -> None:
    """-q → errors only, default → warnings, -v → info, -vv → debug; always stderr."""
    global _quiet  # noqa: PLW0603 - set once, at the CLI edge, from the root options
    _quiet = verbosity < 0
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    logger = logging.getLogger("stackrig")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = RichHandler(
        console=stderr_console(quiet=False),
        show_time=False,
        show_path=False,
        markup=False,
        rich_tracebacks=False,
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
