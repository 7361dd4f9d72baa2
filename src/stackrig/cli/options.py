"""Option types shared by every command family (declared once, reused)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from stackrig import _units

__all__ = ["AllowPartialOpt", "DbOpt", "Duration", "JsonOpt", "RootOpt", "When"]


def _option_name(param: click.Parameter | None) -> str:
    if param is None:
        return "value"
    return max(param.opts, key=len) if param.opts else str(param.name)


class Duration(click.ParamType):
    """A duration option in seconds: ``500ms``, ``60s``, ``5m``, ``2h``, ``1d``; a bare number is seconds."""

    name = "duration"

    def __init__(self, minimum: float = 0.0) -> None:
        self.minimum = minimum

    def get_metavar(self, param: click.Parameter) -> str:
        return "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        what = _option_name(param)
        seconds = _units.parse_duration(value, what=what)
        if seconds < self.minimum:
            raise _units.UnitError(f"{what} {value!r} is shorter than {self.minimum:g} s")
        return seconds


class When(click.ParamType):
    """A point in time: a date (``2026-01-31``, ISO date-time) or an age back from now (``7d``, ``12h``)."""

    name = "when"

    def get_metavar(self, param: click.Parameter) -> str:
        return "DATE|AGE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        return _units.parse_when(str(value), what=_option_name(param))


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON document (the versioned stackrig envelope) on stdout and nothing else.",
    ),
]

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="SQLite file to use instead of stackrig.db in the data folder.",
        dir_okay=False,
    ),
]

RootOpt = Annotated[
    Path,
    typer.Option(
        "--root",
        help="Read proc/ and sys/ (and etc/) under this folder instead of / (tests, copied hosts).",
        file_okay=False,
    ),
]

AllowPartialOpt = Annotated[
    bool,
    typer.Option(
        "--allow-partial",
        help="Exit 0 when only part of the work could be done (the failed parts are still named on "
        "stderr and the JSON says partial: true); without it such a result exits 1.",
    ),
]
