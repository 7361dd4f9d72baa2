"""The root command and the single place that turns errors into messages and exit codes."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import logging
import os
import select
import stat
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from stackrig import __version__, _extras, output
from stackrig.cli import _memory
from stackrig.cli import completion as _completion
from stackrig.cli._common import State, state
from stackrig.cli.doctor import doctor
from stackrig.errors import ExitCode, StackrigError, disk_full
from stackrig.paths import Paths

__all__ = ["app", "main"]

log = logging.getLogger("stackrig")

HELP = """stackrig: one toolkit for people who run cloud and container infrastructure by hand.

Each family of commands turns a hand-made script into a tested tool.
Every reporting command takes --json; progress and logs go to stderr.
"""

# Plain click help: with rich importable, typer 0.16 escapes "[default: ...]" as "\\[default: ...]"
# even with markup off, which shows in --help and docs/cli.md.
typer.core.rich = None  # type: ignore[attr-defined,assignment]

app = typer.Typer(
    name="stackrig",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Command families: (name, module). Each module defines a Typer ``app``.
FAMILIES: tuple[tuple[str, str], ...] = (
    ("fleet", "stackrig.cli.fleet"),
    ("bench", "stackrig.cli.bench"),
    ("tune", "stackrig.cli.tune"),
    ("qos", "stackrig.cli.qos"),
    ("migrate", "stackrig.cli.migrate"),
    ("landscape", "stackrig.cli.landscape"),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stackrig {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data folder (history, runs, caches, logs). "
            "Default: $STACKRIG_HOME, else $XDG_DATA_HOME/stackrig, else ~/.local/share/stackrig.",
            file_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, show_default=False, help="More log output on stderr (-vv: debug)."
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    st = state(ctx)
    st.paths = Paths.resolve(data_dir, os.environ)
    st.verbosity = -1 if quiet else verbose
    output.configure_logging(st.verbosity)


app.command(epilog="Example: stackrig doctor --json")(doctor)
app.command(epilog="Example: stackrig completion bash > ~/.local/share/bash-completion/completions/stackrig")(
    _completion.completion
)

_loaded: set[str] = set()


def load_families(only: str | None = None) -> typer.Typer:
    """Attach the family sub-apps to ``app`` and return it.

    With ``only`` (the first word of the command line) just that family is
    imported, so ``stackrig migrate wait`` does not pay for matplotlib or boto3;
    otherwise (``--help``, docs) all of them are.
    """
    for name, module in FAMILIES:
        if name in _loaded or (only is not None and name != only):
            continue
        app.add_typer(importlib.import_module(module).app, name=name)
        _loaded.add(name)
    return app


def _first_word(args: Sequence[str]) -> str | None:
    """The first command word of ``args`` (skipping root options and their values)."""
    words = iter(args)
    for arg in words:
        if arg == "--data-dir":
            next(words, None)  # its value is not a command word
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def _families_to_load(args: Sequence[str]) -> str | None:
    """Which family ``load_families`` should import: one, all (None), or none ("")."""
    word = _first_word(args)
    if word is not None:
        return word if word in {name for name, _ in FAMILIES} else ""
    # No command word: the root help lists every family; --version needs none.
    return "" if "--version" in args else None


# ---------------------------------------------------------------- error handling


def _flag_given(args: Sequence[str], *flags: str) -> bool:
    """True if one of ``flags`` is among ``args`` before a ``--``."""
    for arg in args:
        if arg == "--":
            return False
        if arg in flags:
            return True
    return False


def _json_requested(args: Sequence[str]) -> bool:
    return _flag_given(args, "--json")


def _command_path(group: click.Command, args: Sequence[str]) -> str:
    """The subcommand words of ``args`` (``fleet inventory``), for error envelopes."""
    words: list[str] = []
    current: click.Command = group
    for arg in args:
        if arg == "--":
            break
        if not isinstance(current, click.Group):
            break
        sub = current.commands.get(arg)
        if sub is None:
            continue
        words.append(arg)
        current = sub
    return " ".join(words)


def _write_crash_log(paths: Paths) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = traceback.format_exc()
    for folder in (paths.logs, Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"internal-error-{stamp}-{os.getpid()}.log"
            # A traceback can hold values from the user's inputs: keep it private.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"stackrig {__version__}\nargv: {sys.argv!r}\n\n{text}")
            return target
        except OSError:
            continue
    return Path("<no writable log folder>")


def _fail(
    *,
    json_mode: bool,
    command: str,
    type_name: str,
    message: str,
    code: int,
    hint: str | None = None,
) -> int:
    if json_mode:
        doc = output.error_envelope(command, type_name=type_name, message=message, exit_code=code, hint=hint)
        sys.stdout.write(output.dumps(doc) + "\n")
        sys.stdout.flush()
    line = f"error: {message}"
    if hint:
        line += f"\n  hint: {hint}"
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return code


def _out_of_memory(exc: MemoryError, st: State, *, json_mode: bool, command: str) -> int:
    """Exit 70 with a log, taking the path that needs the least memory (see cli/_memory.py)."""
    log_file = _memory.out_of_memory_log(exc, st.paths.logs, __version__)
    return _fail(
        json_mode=json_mode,
        command=command,
        type_name="InternalError",
        message=f"out of memory; the traceback is in {log_file}",
        code=int(ExitCode.INTERNAL),
        hint="give stackrig more memory (ulimit -v, the container's limit) or a smaller input",
    )


def _stdout_closed_by_reader() -> bool:
    """True once click met EPIPE on stdout: it wraps stdout to silence later flushes and exits 1."""
    return isinstance(sys.stdout, click.utils.PacifyFlushWrapper)


def _stdout_reader_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it.

    Python's buffered writer can meet EPIPE after a partial write and drop the rest without
    raising, so the pipe itself is asked at the end: a pipe with no reader polls as POLLERR.
    """
    try:
        if not stat.S_ISFIFO(os.fstat(1).st_mode):
            return False
        poller = select.poll()
        poller.register(1, select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def _drop_stdout() -> None:
    """Point fd 1 at /dev/null so that the interpreter's last flush has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def _unexpected(exc: Exception, st: State, *, json_mode: bool, command: str) -> int:
    """A module of a missing extra is exit 3, a full disk exit 1; anything else is a bug.

    A bug (an InternalError stackrig raised, or an exception that is no StackrigError) exits 70
    with its traceback in a log file.
    """
    if isinstance(exc, MemoryError):  # first: the handling below needs memory the reserve gives back
        return _out_of_memory(exc, st, json_mode=json_mode, command=command)
    missing = _extras.for_missing_module(command, exc.name) if isinstance(exc, ModuleNotFoundError) else None
    known = missing or disk_full(exc)
    if known is not None:
        return _fail(
            json_mode=json_mode,
            command=command,
            type_name=known.type_name,
            message=known.message,
            code=int(known.exit_code),
            hint=known.hint,
        )
    what = f": {exc.message}" if isinstance(exc, StackrigError) else f" ({type(exc).__name__})"
    log_file = _write_crash_log(st.paths)
    if st.verbosity > 0:
        traceback.print_exc(file=sys.stderr)
    return _fail(
        json_mode=json_mode,
        command=command,
        type_name="InternalError",
        message=f"internal error{what}; the traceback is in {log_file}",
        code=int(ExitCode.INTERNAL),
        hint="please report it with that file",
    )


def _stackrig_error(caught: StackrigError, st: State, *, json_mode: bool, command: str) -> int:
    exc = disk_full(caught) or caught  # ENOSPC under another message is said as itself
    if exc.exit_code == ExitCode.INTERNAL:  # InternalError: stackrig caught itself in a bug
        return _unexpected(exc, st, json_mode=json_mode, command=command)
    if st.verbosity > 0:
        traceback.print_exc(file=sys.stderr)
    return _fail(
        json_mode=json_mode,
        command=command,
        type_name=exc.type_name,
        message=exc.message,
        code=int(exc.exit_code),
        hint=exc.hint,
    )


def run(args: Sequence[str] | None = None) -> int:
    """Run the CLI on ``args``; return the exit code (never raises for user errors)."""
    _memory.keep_reserve()
    _memory.quiet_finalizer_memory_errors()
    argv = list(sys.argv[1:] if args is None else args)
    json_mode = _json_requested(argv)
    name = " ".join(a for a in argv[:2] if not a.startswith("-"))
    st = State()
    # A shell asking for completions (TAB) runs us without arguments and the line in the environment.
    completing = _completion.completion_request(os.environ)
    if completing is not None:
        _completion.enable_completion()
    try:
        command = typer.main.get_command(
            load_families(_families_to_load(argv if completing is None else completing))
        )
        name = _command_path(command, argv)
        if not _flag_given(argv, "--help", "-h"):
            _extras.check_command(name)  # before the command starts, so it never does half its work
        result: Any = command.main(args=argv, prog_name="stackrig", standalone_mode=False, obj=st)
    except StackrigError as exc:
        return _stackrig_error(exc, st, json_mode=json_mode, command=name)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _fail(
                json_mode=json_mode,
                command=name,
                type_name="InterruptError",
                message="interrupted",
                code=int(ExitCode.INTERRUPTED),
            )
        return _fail(
            json_mode=json_mode,
            command=name,
            type_name="ConflictError",
            message="not confirmed; nothing was changed",
            code=int(ExitCode.CONFLICT),
            hint="pass --yes to go ahead without asking",
        )
    except click.ClickException as exc:
        ctx_help = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            ctx_help = f"see '{exc.ctx.command_path} --help'"
        return _fail(
            json_mode=json_mode,
            command=name,
            type_name="UsageError",
            message=exc.format_message(),
            code=int(ExitCode.USAGE),
            hint=ctx_help or None,
        )
    except KeyboardInterrupt:
        return _fail(
            json_mode=json_mode,
            command=name,
            type_name="InterruptError",
            message="interrupted",
            code=int(ExitCode.INTERRUPTED),
        )
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into exit 70
        return _unexpected(exc, st, json_mode=json_mode, command=name)
    if result == ExitCode.INTERRUPTED:
        # Typer turns a KeyboardInterrupt raised inside a command into Exit(130).
        return _fail(
            json_mode=json_mode,
            command=name,
            type_name="InterruptError",
            message="interrupted",
            code=int(ExitCode.INTERRUPTED),
        )
    if isinstance(result, int):
        return result
    return int(ExitCode.OK)


def main() -> None:
    """Console-script entry point."""
    # stackrig never multiplies matrices: the OpenBLAS thread pool numpy starts on import only
    # burns CPU (0.1 s of a 0.35 s `bench plot` on two cores). A user's own setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        code = run()
    except BrokenPipeError:  # stdout closed while an error was being reported on it
        code = int(ExitCode.BROKEN_PIPE)
    except SystemExit:
        if not _stdout_closed_by_reader():
            raise
        code = int(ExitCode.BROKEN_PIPE)  # click met EPIPE and would exit 1
    if code == ExitCode.OK and _stdout_reader_gone():
        code = int(ExitCode.BROKEN_PIPE)
    if code == ExitCode.BROKEN_PIPE:
        # The reader of stdout went away (`stackrig ... | head`): stop quietly with 128 + SIGPIPE,
        # as cat does, instead of a FAILED that nobody chose.
        _drop_stdout()
    # The interpreter's last cyclic garbage collection walks every object the imports made
    # (20 ms of a 0.3 s `bench plot`), all of which die with the process anyway. Freezing
    # skips that walk only: objects are still freed by reference counting and files flushed.
    gc.freeze()
    sys.exit(code)
