"""Results are data; this module renders them: rich text for people, one JSON envelope for programs.

The envelope (version :data:`SCHEMA_VERSION`)::

    {"stackrig": "1", "command": "fleet inventory", "ok": true, "partial": false,
     "data": {...}, "warnings": [...]}

and for an error::

    {"stackrig": "1", "command": "fleet inventory", "ok": false,
     "error": {"type": "UsageError", "message": "...", "hint": "...", "exit_code": 2}}

With ``--json`` stdout holds the envelope and nothing else; progress, logs and
warnings in text mode go to stderr.

rich is imported only when something is drawn with it (a table, colour on a terminal, a log
record): plain lines on a stream that is no terminal are written directly, as rich would print
them, so that a command such as ``fleet inventory`` never loads it (~2 MiB, 15 ms).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import errno
import functools
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any

from stackrig.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

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

Renderer = Callable[["Console"], None]


@dataclass(frozen=True, slots=True)
class Report:
    """What a command hands to the renderer.

    ``data`` becomes the envelope's ``data`` (dataclasses, paths, enums and
    datetimes are converted); ``render`` draws the human view on stdout, or ``write``
    writes it as plain text to the stream it is given (no rich console is made for it).
    ``failed`` names the parts that could not be done when the result is
    ``partial`` (a region, an account, a file): they go to stderr in both modes
    and into the envelope's ``warnings`` after the others.
    """

    data: Any
    render: Renderer | None = None
    write: Callable[[IO[str]], None] | None = None
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


@functools.cache
def _stdout_console_class() -> type[Console]:
    from rich.console import Console

    class _StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit 1 here; the CLI entry turns a closed stdout into a quiet 141 instead.
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return _StdoutConsole


def stdout_console(file: IO[str] | None = None) -> Console:
    return _stdout_console_class()(
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
    from rich.console import Console

    return Console(
        file=sys.stderr,
        highlight=False,
        soft_wrap=True,
        no_color=_no_color(),
        quiet=_quiet if quiet is None else quiet,
    )


def _is_terminal(stream: IO[str]) -> bool:
    """Whether rich would treat ``stream`` as a terminal (rich.console.Console.is_terminal's test)."""
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in {"0", "1"}:
        return tty_compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed file
        return False


# What rich's Text drops from a string (rich.control.strip_control_codes): BEL, BS, VT, FF, CR.
_DROPPED_CONTROLS = dict.fromkeys((7, 8, 11, 12, 13))


def _plain(text: str) -> str:
    """``text`` as a rich console prints it unstyled on a stream that is no terminal (soft wrap)."""
    return "\n".join(line.expandtabs(8) for line in text.translate(_DROPPED_CONTROLS).split("\n"))


def is_quiet() -> bool:
    """Whether ``-q`` was given: errors only."""
    return _quiet


def say(text: str, *, stdout: bool = False, quiet: bool | None = None) -> None:
    """A line for people that is neither a result nor an error (a summary, a server's URL,
    "stopped"): on stderr, or on stdout when the command prints nothing else there; silent under
    ``-q``. Written as a rich console prints it with markup off, without making one (plain text
    looks the same on a terminal)."""
    if _quiet if quiet is None else quiet:
        return
    stream = sys.stdout if stdout else sys.stderr
    stream.write(_plain(text) + "\n")
    stream.flush()


def _labelled(label: str, colour: str, text: str, *, quiet: bool) -> None:
    """``label`` (coloured on a terminal) then ``text`` from outside, never read as markup."""
    if quiet:
        return
    if _is_terminal(sys.stderr):
        err = stderr_console(quiet=False)
        err.print(f"[{colour}]{label}[/{colour}] ", end="", markup=True, highlight=False)
        err.print(text, markup=False, highlight=False, emoji=False)
        return
    sys.stderr.write(f"{label} {_plain(text)}\n")
    sys.stderr.flush()


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
    if json_mode:
        out.write(dumps(envelope(command, report)) + "\n")
        out.flush()
        _print_failed(report)
        return report.exit_code
    for warning in report.warnings:  # the text may come from outside (cloud tags): never markup
        _labelled("warning:", "yellow", warning, quiet=_quiet)
    _print_failed(report)
    if report.write is not None:
        report.write(out)
    elif report.render is not None:
        report.render(stdout_console(out))
    out.flush()
    return report.exit_code


def _print_failed(report: Report) -> None:
    # The failed parts are why the command exits 1: errors, said even under -q. With
    # --allow-partial (exit 0) they are warnings, and -q silences them like any warning.
    quiet = _quiet and report.exit_code == ExitCode.OK
    for part in report.failed:
        _labelled("failed:", "red", part, quiet=quiet)
    if report.failed:
        how = "exit 0 (--allow-partial)" if report.exit_code == ExitCode.OK else "exit 1"
        say(f"partial result: {len(report.failed)} part(s) failed; {how}", quiet=quiet)


class _StderrLogHandler(logging.Handler):
    """stackrig's log records on stderr, drawn by rich's RichHandler made at the first record
    (most commands log nothing at the level asked, and so never import rich)."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.logging import RichHandler

            self._rich = RichHandler(
                console=stderr_console(quiet=False),
                show_time=False,
                show_path=False,
                markup=False,
                rich_tracebacks=False,
            )
            self._rich.setFormatter(logging.Formatter("%(message)s"))
        self._rich.emit(record)


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
    logger.addHandler(_StderrLogHandler())
    logger.setLevel(level)
    logger.propagate = False
