"""``stackrig doctor``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from stackrig import output
from stackrig.cli._common import finish
from stackrig.cli.options import JsonOpt

if TYPE_CHECKING:
    from rich.console import Console

    from stackrig.doctor import DoctorReport

# The root app registers this command, so every stackrig command imports this module:
# what only doctor uses is imported when it runs.


def _render(report: DoctorReport) -> output.Renderer:
    def draw(console: Console) -> None:
        from rich.table import Table

        table = Table(title="Outside programs stackrig uses", title_justify="left")
        table.add_column("program")
        table.add_column("found")
        table.add_column("version")
        table.add_column("needed by")
        for t in report.tools:
            table.add_row(
                t.name,
                "yes" if t.found else "[red]no[/red]",
                t.version or ("?" if t.found else "-"),
                ", ".join(t.used_by),
            )
        console.print(table)
        if report.missing:
            console.print("\nTo install what is missing on Debian:")
            for t in report.missing:
                console.print(f"  {t.name}: {t.install}", markup=False)
        else:
            console.print("\nEverything stackrig can use is installed.")

    return draw


def doctor(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Check which outside programs are installed, their versions, and which commands need them.

    Exits 0 even when some are missing; the text output says how to install each.
    """
    from stackrig.doctor import run_doctor

    report = run_doctor()
    data = {"tools": report.tools, "missing": [t.name for t in report.missing]}
    finish(ctx, output.Report(data, render=_render(report)), json_mode=json_)
