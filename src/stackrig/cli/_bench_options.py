"""Options shared by the bench commands of cli/bench.py and cli/bench_views.py (declared once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["RunsDirOpt", "TagOpt", "TargetOpt"]

RunsDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", help="Folder of run folders (default: runs/ in the data folder).", file_okay=False
    ),
]
TagOpt = Annotated[list[str] | None, typer.Option("--label", "-l", help="KEY=VALUE tag (repeatable).")]
TargetOpt = Annotated[
    Path | None,
    typer.Option("--target", help="directory= for jobs that leave it unset.", file_okay=False),
]
