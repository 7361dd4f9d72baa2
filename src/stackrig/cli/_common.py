"""What every CLI command shares: the run state and the one way to finish with a report."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import typer

from stackrig import output
from stackrig.errors import ExitCode
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
    ctx: typer.Context, report: output.Report, *, json_mode: bool, allow_partial: bool = False
) -> None:
    """Render a report and leave with its exit code.

    A partial report (only part of the work done) exits 1 unless ``allow_partial``
    (``--allow-partial``), as the design's partial-results rule says.
    """
    if report.partial and not allow_partial and report.exit_code == ExitCode.OK:
        report = dataclasses.replace(report, exit_code=ExitCode.FAILED)
    code = output.emit(report, command=command_name(ctx), json_mode=json_mode)
    if code:
        raise typer.Exit(int(code))
