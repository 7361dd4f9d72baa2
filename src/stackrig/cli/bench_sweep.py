"""``stackrig bench sweep``: a matrix of iodepth x numjobs x bs x rw runs as one group, with graphs.

Registered on the bench family's Typer app by :func:`register` (called from ``stackrig.cli.bench``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from stackrig import output
from stackrig.cli._bench_common import bw, db_path, labels_of, lat, num, runs_path, wide
from stackrig.cli._bench_live import live_progress
from stackrig.cli._bench_options import RunsDirOpt, TagOpt, TargetOpt
from stackrig.cli._common import finish, state
from stackrig.cli.options import DbOpt, JsonOpt
from stackrig.errors import UsageError

if TYPE_CHECKING:
    from stackrig import bench
    from stackrig.bench.sweepplot import SweepPoint

__all__ = ["register"]


def sweep(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    job: Annotated[str | None, typer.Argument(help="Job file: a path or http(s) URL.")] = None,
    iodepth: Annotated[str | None, typer.Option("--iodepth", help="Comma list, e.g. 1,4,16,64.")] = None,
    numjobs: Annotated[str | None, typer.Option("--numjobs", help="Comma list, e.g. 1,4.")] = None,
    bs: Annotated[str | None, typer.Option("--bs", help="Comma list of block sizes, e.g. 4k,64k.")] = None,
    rw: Annotated[str | None, typer.Option("--rw", help="Comma list, e.g. randread,randwrite.")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs per point.")] = 1,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Run only the missing points of sweep GROUP (g:ID).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Sweep name (default: the job's).")] = None,
    label: TagOpt = None,
    runs_dir: RunsDirOpt = None,
    target: TargetOpt = None,
    logs: Annotated[bool, typer.Option("--logs", help="Write bw/iops/lat logs for every point.")] = False,
    plot_dir: Annotated[
        Path | None,
        typer.Option(
            "--plot-dir",
            help="Folder for the graphs (default: groups/<id> in the data folder).",
            file_okay=False,
        ),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run a job at every point of iodepth x numjobs x bs x rw, as one group of runs (g:ID).

    Each point is its own run (its options set last in every job section, recorded in
    meta.json). Drawn: IOPS and latency against iodepth per numjobs, and a heatmap of
    IOPS over iodepth x numjobs, per rw and bs. Ctrl-C keeps the finished points;
    --resume g:ID runs the missing ones.
    """
    from stackrig import bench
    from stackrig.bench.sweep import SweepAxes, parse_axis, resume_settings, run_sweep
    from stackrig.bench.sweepplot import plot_sweep, sweep_points

    base = bench.RunSettings(
        jobs=(job,) if job else (), runs_dir=runs_path(ctx, runs_dir), db=db_path(ctx, db), name=name,
        labels=labels_of(label), target=target.absolute() if target else None, logs=logs,
    )  # fmt: skip
    if resume:
        if job or iodepth or numjobs or bs or rw:
            raise UsageError("--resume takes the job and the axes from the group; give neither")
        with bench.History.open(base.db) as history:
            settings, axes, repeat, resume = resume_settings(history, resume, base)
    else:
        if not job:
            raise UsageError("give a job file (or --resume g:ID)")
        settings = base
        axes = SweepAxes(
            iodepth=parse_axis(iodepth, "iodepth"), numjobs=parse_axis(numjobs, "numjobs"),
            bs=parse_axis(bs, "bs"), rw=parse_axis(rw, "rw"),
        )  # fmt: skip
    err = output.stderr_console()

    def started(position: int, total: int, _warmup: bool) -> None:
        if not json_:
            err.print(f"point {position}/{total}", markup=False)

    with live_progress(json_) as progress:
        result = run_sweep(settings, axes, repeat=repeat, resume=resume, progress=progress, started=started)
    with bench.History.open(settings.db) as history:
        points = sweep_points(history, result.group)
    outdir = plot_dir or state(ctx).paths.data_dir / "groups" / result.group.id
    files = plot_sweep(points, outdir, title=result.group.name)
    data = {"group": result.group, "runs": [r.run for r in result.runs], "skipped": result.skipped,
            "points": points, "graphs": files}  # fmt: skip
    finish(ctx, output.Report(data, render=_sweep_view(result.group, points, files)), json_mode=json_)


def _sweep_view(
    group: bench.RunGroup, points: Sequence[SweepPoint], files: Sequence[Path]
) -> output.Renderer:
    def draw(console: Console) -> None:
        wide(console)
        console.print(f"sweep {group.ref}  {group.name}  {group.runs} runs", markup=False)
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("rw", "bs", "numjobs", "iodepth", "runs", "IOPS", "bandwidth", "lat mean", "p99"):
            table.add_column(column, justify="right")
        for p in points:
            point = (p.rw, p.bs, str(p.numjobs), str(p.iodepth), str(p.runs))
            table.add_row(*point, num(p.iops), bw(p.bw_bytes), lat(p.lat_mean_ns), lat(p.lat_p99_ns))
        console.print(table)
        for path in files:
            console.print(str(path), markup=False)

    return draw


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: stackrig bench sweep job.fio --iodepth 1,4,16,64 --numjobs 1,4 --bs 4k,64k")(
        sweep
    )
