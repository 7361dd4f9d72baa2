"""``stackrig bench container``: the entrypoint of the stackrig image (fio-tools' four images in one).

Registered on the bench family's Typer app by :func:`register`. ``plot`` and ``serve``
are ``bench plot`` and ``bench serve`` themselves, with their defaults pointed at the
data folder (click's ``default_map``), so their flags are the same everywhere.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stackrig import output
from stackrig.cli import bench_views
from stackrig.cli._common import finish
from stackrig.cli.options import JsonOpt

if TYPE_CHECKING:
    from stackrig.bench.container import DataFolder

__all__ = ["register"]

HELP = """\
The container image's entrypoint: fio-tools' images as modes of one.

\b
  (no mode)  all in one (fiotools-aio): run the jobs, draw, write the report, serve the dashboard
  run        run the jobs, write results, graphs and report, exit (fio-tool)
  plot ...   draw graphs with fio2gnuplot's flags -t -b -i -g -p -o -d -m -M (fio-genplots)
  serve      serve the dashboard of the data folder (fio-plotserve)

\b
The data folder (--fio-data, the volume on /tmp/fio-data in the image) keeps every run
as a folder at its top, with fio's JSON, its logs, the graphs and report.html, and the
history stackrig.db beside them. Nothing in it is deleted. Without a SOURCE, plot draws
the fio logs at the top of the folder if there are any, else the latest run.

\b
Environment (run and all in one):
  JOBFILES     job file names in the data folder (or paths), space-separated
  REMOTEFILES  http(s) URLs of job files (downloaded, sha256 recorded); a JOBFILES name
               that is the last part of a URL means that URL; without JOBFILES, all run
  PLOTNAME     the run's name and the graphs' title

\b
Examples (image stackrig:latest):
  docker run --rm -v $PWD/fio-data:/tmp/fio-data --user $(id -u):$(id -g) \\
      -e JOBFILES=job.fio stackrig run
  docker run --rm -v $PWD/fio-data:/tmp/fio-data stackrig plot -t MyTest -b -g -p '*_bw*'
  docker network create bench
  docker run --rm --network bench -p 127.0.0.1:8000:8000 -v $PWD/fio-data:/tmp/fio-data \\
      -e JOBFILES=job.fio -e PLOTNAME=MyTest stackrig
"""

app = typer.Typer(help=HELP, invoke_without_command=True, no_args_is_help=False)

FioDataOpt = Annotated[
    Path,
    typer.Option("--fio-data", help="The data folder: job names, every run, the history.", file_okay=False),
]


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    fio_data: FioDataOpt = Path("/tmp/fio-data"),  # noqa: S108 - fio-tools' contract names this folder
    host: bench_views.HostOpt = "127.0.0.1",
    port: bench_views.PortOpt = 8000,
    json_: JsonOpt = False,
) -> None:
    from stackrig.bench.container import DataFolder

    _stop_on_sigterm()
    folder = DataFolder(fio_data.absolute())
    served = {"runs_dir": str(folder.runs), "db": str(folder.db), "host": host, "port": port}
    ctx.default_map = {"serve": served}
    if ctx.invoked_subcommand == "plot":
        ctx.default_map["plot"] = {"source": folder.plot_source(), "db": str(folder.db)}
    if ctx.invoked_subcommand is None:
        _run(ctx, folder, json_=json_)
        bench_views._serve_dashboard(folder.runs, folder.db, host, port, url_to_stderr=json_)


def _stop_on_sigterm() -> None:
    """``docker stop`` sends SIGTERM: end as Ctrl-C does (the dashboard stops cleanly, exit 0;
    a run in progress is kept and recorded as interrupted, exit 130)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _run(ctx: typer.Context, folder: DataFolder, *, json_: bool) -> None:
    from stackrig.bench.container import run_from_env
    from stackrig.cli._bench_live import live_progress

    with live_progress(json_) as progress:
        result = run_from_env(os.environ, folder, progress=progress)
    lines = [
        f"run {result.run.id}: {result.run.folder}",
        *(str(p) for p in result.plots),
        f"report: {result.report}",
    ]
    warnings = tuple(f"REMOTEFILES entry not in JOBFILES, not run: {u}" for u in result.ignored)
    finish(
        ctx, output.Report(result, render=bench_views._files_view(lines), warnings=warnings), json_mode=json_
    )


@app.command("run", epilog="Example: docker run -v $PWD:/tmp/fio-data -e JOBFILES=job.fio stackrig run")
def run(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Run the jobs JOBFILES/REMOTEFILES name into a new run folder, draw the graphs, write the report.

    Exits 0 when fio succeeded; earlier runs in the data folder are kept.
    """
    from stackrig.bench.container import DataFolder

    parent = ctx.parent
    assert parent is not None  # noqa: S101 - a subcommand always has its group
    _run(ctx, DataFolder(Path(parent.params["fio_data"]).absolute()), json_=json_ or parent.params["json_"])


app.command(
    "plot",
    help="Draw graphs of fio logs with fio2gnuplot's flags (-t -b -i -g -p -o -d -m -M).\n\n"
    "Without SOURCE: the logs at the top of the data folder, else its latest run. "
    "The graphs go beside the logs unless -d says otherwise.",
    epilog="Example: docker run -v $PWD:/tmp/fio-data stackrig plot -t MyTest -b -g -p '*_bw*'",
)(bench_views.plot)
app.command(
    "serve",
    help="Serve the dashboard of the data folder: its runs, graphs, raw files, compare view.",
    epilog="Example: docker run -p 127.0.0.1:8000:8000 -v $PWD:/tmp/fio-data stackrig serve",
)(bench_views.serve_dashboard)


def register(bench: typer.Typer) -> None:
    """Add ``container`` (run | plot | serve | all in one) to the bench family's app."""
    bench.add_typer(app, name="container")
