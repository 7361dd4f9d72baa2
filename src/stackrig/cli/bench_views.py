"""``stackrig bench plot|report|serve|aio``: graphs, the HTML report, the dashboard, all in one.

Registered on the bench family's Typer app by :func:`register` (called at the end of
``stackrig.cli.bench``).
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stackrig import output
from stackrig.cli._bench_common import db_path
from stackrig.cli._bench_live import live_progress
from stackrig.cli._bench_options import RunsDirOpt, TagOpt, TargetOpt
from stackrig.cli._common import finish, state
from stackrig.cli.options import DbOpt, JsonOpt
from stackrig.errors import UsageError

__all__ = ["register"]


class ImageFormat(enum.StrEnum):
    png = "png"
    svg = "svg"


HostOpt = Annotated[
    str, typer.Option("--host", help="Address the dashboard listens on (0.0.0.0 only inside a container).")
]
PortOpt = Annotated[int, typer.Option("--port", help="Dashboard TCP port.")]


def _sources(ctx: typer.Context, ref: str | None, db: Path | None) -> list[Path]:
    """Folders of logs: the given folder, a run (or each run of a group), or the current folder."""
    if ref is None:
        return [Path.cwd()]
    if Path(ref).is_dir():
        return [Path(ref)]
    from stackrig.bench import History, resolve_runs

    database = db_path(ctx, db)
    if not database.is_file():
        raise UsageError(f"{ref!r} is not a folder and there is no history yet ({database})")
    with History.open(database) as history:
        return [run.folder for run in resolve_runs(history, ref)[1]]


def _files_view(lines: Sequence[str]) -> output.Renderer:
    def draw(console: Console) -> None:
        for line in lines:
            console.print(line, markup=False, highlight=False)

    return draw


def _warn_public(host: str) -> None:
    from stackrig.bench import is_loopback

    if not is_loopback(host):
        output.stderr_console().print(
            f"warning: the dashboard on {host} has no authentication; anyone reaching it can read the runs",
            markup=False,
        )


def _serve_dashboard(runs_dir: Path, db: Path, host: str, port: int, *, url_to_stderr: bool = False) -> None:
    """Serve until Ctrl-C or SIGTERM; the URL goes to stdout (stderr when stdout holds JSON),
    neither under ``-q``."""
    from stackrig.bench.web import DashboardSettings, serve_dashboard

    _warn_public(host)

    def ready(url: str) -> None:  # information, not a result: silent under -q like any other
        output.say(f"dashboard: {url} (Ctrl-C stops it)", stdout=not url_to_stderr)

    how = serve_dashboard(DashboardSettings(runs_dir=runs_dir, db=db, host=host, port=port), on_ready=ready)
    output.say(f"dashboard stopped ({how})")


def plot(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(help="A run (id, prefix, folder, latest) or a folder of logs (default: .)."),
    ] = None,
    title: Annotated[str | None, typer.Option("-t", "--title", help="Graph title.")] = None,
    bandwidth: Annotated[bool, typer.Option("-b", "--bandwidth", help="Bandwidth logs (*_bw*).")] = False,
    iops: Annotated[bool, typer.Option("-i", "--iops", help="IOPS logs (*_iops*).")] = False,
    gnuplot: Annotated[
        bool, typer.Option("-g", "--gnuplot", help="Accepted for fio2gnuplot; always renders.")
    ] = False,
    pattern: Annotated[
        str | None, typer.Option("-p", "--pattern", help="Shell pattern of the log files.")
    ] = None,
    basename: Annotated[
        str | None, typer.Option("-o", "--output", help="Basename of the graph files.")
    ] = None,
    outdir: Annotated[
        Path | None,
        typer.Option("-d", "--outdir", help="Folder for the graphs (default: the logs').", file_okay=False),
    ] = None,
    min_time: Annotated[
        float | None, typer.Option("-m", "--min-time", help="Start of the time window (s).")
    ] = None,
    max_time: Annotated[
        float | None, typer.Option("-M", "--max-time", help="End of the time window (s).")
    ] = None,
    lat: Annotated[bool, typer.Option("--lat", help="Latency logs (lat, clat, slat).")] = False,
    percentiles: Annotated[
        bool, typer.Option("--percentiles", help="Latency percentiles over time.")
    ] = False,
    hist: Annotated[bool, typer.Option("--hist", help="Completion-latency histogram and CDF.")] = False,
    fmt: Annotated[ImageFormat, typer.Option("--format", help="Image format.")] = ImageFormat.png,
    window: Annotated[str | None, typer.Option("--window", help="Binning window, e.g. 500ms or 2s.")] = None,
    size: Annotated[str, typer.Option("--size", help="Image size WIDTHxHEIGHT in pixels.")] = "1280x720",
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Draw graphs of fio logs, with fio2gnuplot's flags (-t -b -i -g -p -o -d -m -M).

    Without -b/-i/--lat every log kind is drawn: time series per job with the sum,
    a moving average and min/max bands, latency percentiles, the clat histogram with
    its CDF, and IOPS against latency. Logs of zeros (gtod_reduce) are named, not drawn.
    """
    from stackrig.bench.plot import PlotSettings, parse_duration_ms, parse_size, plot_folders

    del gnuplot  # fio2gnuplot's "render with gnuplot": we always render
    folders = _sources(ctx, source, db)
    settings = PlotSettings(
        source=folders[0], title=title, bandwidth=bandwidth, iops=iops, latency=lat,
        percentiles=percentiles, hist=hist, pattern=pattern, basename=basename, outdir=outdir,
        min_time=min_time, max_time=max_time, fmt="svg" if fmt is ImageFormat.svg else "png",
        window_ms=parse_duration_ms(window) if window else None, size=parse_size(size),
    )  # fmt: skip
    result = plot_folders(settings, folders)
    lines = [str(p) for p in result.files] + [f"no data (not plotted): {n}" for n in result.no_data]
    warnings = tuple(f"{n}: no data (all zeros or empty, e.g. gtod_reduce=1)" for n in result.no_data)
    warnings += tuple(f"not drawn: {reason}" for reason in result.skipped)
    finish(ctx, output.Report(result, render=_files_view(lines), warnings=warnings), json_mode=json_)


def report(
    ctx: typer.Context,
    runs: Annotated[
        list[str], typer.Argument(help="Runs: id, unique prefix, folder, or latest. First = baseline.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML file to write (default: stdout).", dir_okay=False),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write one self-contained HTML report (opens offline) of one or more runs.

    Summary per job and direction, the graphs, the job files and the system facts;
    with several runs, a comparison against the first.
    """
    from stackrig.bench import History, resolve_runs
    from stackrig.bench.report import write_report

    with History.open(db_path(ctx, db)) as history:
        resolved = [resolve_runs(history, ref) for ref in runs]
        records = [record for _, members in resolved for record in members]
        groups = [(group, members) for group, members in resolved if group is not None]
        result = write_report(history, records, out, groups=groups)
    if out is None and not json_:
        sys.stdout.write(result.html)
        return
    lines = [f"report: {out} ({result.bytes} bytes, {result.graphs} graphs)"] if out else []
    finish(ctx, output.Report(result, render=_files_view(lines)), json_mode=json_)


def serve_dashboard(
    ctx: typer.Context,
    runs_dir: RunsDirOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    db: DbOpt = None,
) -> None:
    """Serve the read-only dashboard: run list, run pages with charts, raw files, compare view.

    It binds 127.0.0.1 unless --host says otherwise; nothing outside the runs folder
    can be read. Ctrl-C stops it.
    """
    _serve_dashboard(runs_dir or state(ctx).paths.runs, db_path(ctx, db), host, port)


def aio(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    jobs: Annotated[list[str] | None, typer.Argument(help="Job files: paths or http(s) URLs.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Run name and graph title (PLOTNAME).")] = None,
    from_env: Annotated[
        bool,
        typer.Option("--from-env", help="Read JOBFILES, REMOTEFILES and PLOTNAME (fio-tools' contract)."),
    ] = False,
    fio_data: Annotated[
        Path,
        typer.Option(
            "--fio-data", help="With --from-env: folder of job names and of every run.", file_okay=False
        ),
    ] = Path("/tmp/fio-data"),  # noqa: S108 - the fio-tools contract names this folder
    label: TagOpt = None,
    runs_dir: RunsDirOpt = None,
    target: TargetOpt = None,
    log_avg_msec: Annotated[
        int, typer.Option("--log-avg-msec", min=1, help="Average log samples (ms).")
    ] = 100,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the report; no dashboard.")
    ] = False,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run jobs, draw IOPS, bandwidth and latency graphs, write the report, then serve the dashboard.

    With --from-env the jobs come from JOBFILES/REMOTEFILES and the name from PLOTNAME,
    and every run is kept in --fio-data (fio-tools wiped it).
    """
    from stackrig.bench import parse_label
    from stackrig.bench.aio import AioRequest, plan_aio, run_aio

    paths = state(ctx).paths
    request = AioRequest(
        jobs=tuple(jobs or ()), environ=os.environ if from_env else None, fio_data=fio_data,
        runs_dir=runs_dir, db=db, default_runs_dir=paths.runs, default_db=paths.db, name=name,
        labels=dict(parse_label(x) for x in label or ()), target=target.absolute() if target else None,
        log_avg_msec=log_avg_msec,
    )  # fmt: skip
    plan = plan_aio(request)
    with live_progress(json_) as progress:
        result = run_aio(plan, progress=progress)
    lines = [
        f"run {result.run.id}: {result.run.folder}",
        *(str(p) for p in result.plots),
        f"report: {result.report}",
    ]
    warnings = tuple(f"REMOTEFILES entry not in JOBFILES, not run: {u}" for u in result.ignored)
    finish(ctx, output.Report(result, render=_files_view(lines), warnings=warnings), json_mode=json_)
    if not no_serve:
        _serve_dashboard(plan.settings.runs_dir, plan.settings.db, host, port, url_to_stderr=json_)


def register(app: typer.Typer) -> None:
    """Add plot, report, serve and aio to the bench family's app."""
    app.command(epilog="Example: stackrig bench plot -t My16kAWSRandomReadTest -b -g -p '*_bw*'")(plot)
    app.command(epilog="Example: stackrig bench report latest -o report.html")(report)
    app.command("serve", epilog="Example: stackrig bench serve --port 8000")(serve_dashboard)
    app.command(epilog="Example: stackrig bench aio examples/jobs/quick.fio --no-serve")(aio)
