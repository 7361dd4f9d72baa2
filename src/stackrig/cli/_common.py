"""What every CLI command shares: the run state and the one way to finish with a report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import typer

from stackrig import output
from stackrig.paths import Paths

__all__ = ["State", "finish", "state"]


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
