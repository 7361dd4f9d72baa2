"""``stackrig doctor``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from stackrig import output
from stackrig.cli._common import finish
from stackrig.cli.options import JsonOpt
from stackrig.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from stackrig.doctor import DoctorReport

# The root app registers this command, so every stackrig command imports this module:
# what only doctor uses is imported when it runs.


def _render(report: DoctorReport) -> output.Renderer:
    def draw(console: Console) -> None:
        from rich.table import Table

        if report.family is not None and not report.tools:
            console.print(f"stackrig {report.family} runs no outside programs.", markup=False)
            return
        where = f"stackrig {report.family}" if report.family else "stackrig"
        table = Table(title=f"Outside programs {where} runs", title_justify="left")
        table.add_column("program")
        table.add_column("found")
        table.add_column("version")
        table.add_column("run by")
        for t in report.tools:
            table.add_row(
                t.name,
                "yes" if t.found else "[red]no[/red]",
                t.version or ("?" if t.found else "-"),
                ", ".join(t.used_by),
            )
        console.print(table)
        if report.missing:
            console.print("\nTo install what is missing:")
            for t in report.missing:
                console.print(f"  {t.name}: {t.install}", markup=False)
        else:
            console.print("\nEverything is installed.")
        if report.needed_missing:
            names = ", ".join(t.name for t in report.needed_missing)
            console.print(f"\nstackrig {report.family} cannot run without: {names}", markup=False)

    return draw


def doctor(
    ctx: typer.Context,
    family: Annotated[
        str | None,
        typer.Option(
            "--family",
            help="Only the programs this family runs; exit 3 when one it needs is missing.",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Check which outside programs are installed, their versions, and which commands run them.

    Exits 0 even when some are missing (the output says how to install each), except with
    --family: then a missing program the family needs exits 3, for scripts.
    """
    from stackrig.doctor import run_doctor

    report = run_doctor(family)
    data = {
        "family": report.family,
        "tools": report.tools,
        "missing": [t.name for t in report.missing],
        "needed_missing": [t.name for t in report.needed_missing],
    }
    code = ExitCode.MISSING if report.needed_missing else ExitCode.OK
    finish(ctx, output.Report(data, render=_render(report), exit_code=code), json_mode=json_)
