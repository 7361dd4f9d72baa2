"""Option types shared by every command family (declared once, reused)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["AllowPartialOpt", "DbOpt", "JsonOpt", "RootOpt"]

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
