"""What every CLI command shares: the run state and the one way to finish with a report."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer

from stackrig import output
from stackrig.errors import ConflictError
from stackrig.paths import Paths

__all__ = ["State", "consent", "db_path", "finish", "state"]


@dataclass(slots=True)
class State:
    """Filled by the root callback; read by commands and by the error handler in app.main."""

    paths: Paths = field(default_factory=lambda: Paths.resolve(None, os.environ))
    verbosity: int = 0


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # called outside app.main (e.g. CliRunner without obj)
        obj = State()
        ctx.find_root().obj = obj
    return obj


def db_path(ctx: typer.Context, db: Path | None) -> Path:
    """The SQLite file a command uses: ``--db``, else stackrig.db in the data folder."""
    return db or state(ctx).paths.db


def consent(
    question: str,
    *,
    yes: bool,
    refusal: str | None = None,
    hint: str = "pass --yes (stdin is not a terminal, cannot ask)",
) -> None:
    """The one consent prompt: go on with ``--yes``, ask on a terminal, refuse without one.

    Refusing is CONFLICT (exit 4) with ``refusal`` (default: "QUESTION needs consent");
    answering no is CONFLICT too (click's Abort, turned into "not confirmed" by app.run).
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConflictError(refusal or f"{question} needs consent", hint=hint)
    typer.confirm(question, abort=True, err=True)


def command_name(ctx: typer.Context) -> str:
    return " ".join(ctx.command_path.split()[1:])


def finish(
    ctx: typer.Context, report: output.Report, *, json_mode: bool, allow_partial: bool | None = None
) -> None:
    """Render a report and leave with its exit code.

    Commands that follow the partial-results rule pass ``allow_partial`` (their ``--allow-partial``):
    a partial report then exits 1 unless it is true.
    """
    if allow_partial is not None:
        report = report.settled(allow_partial=allow_partial)
    code = output.emit(report, command=command_name(ctx), json_mode=json_mode)
    if code:
        raise typer.Exit(int(code))
