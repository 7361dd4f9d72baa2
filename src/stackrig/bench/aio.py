"""All in one: run the jobs, draw the IOPS, bandwidth and latency graphs, write the report.

The dashboard is then served by the caller (``stackrig bench aio`` prints its URL).

``--from-env`` keeps the container contract of fio-tools' all-in-one image:

- ``JOBFILES``: space-separated job names looked up in the fio-data folder
  (``/tmp/fio-data``), or paths; a name that is the last part of a ``REMOTEFILES``
  URL means that URL.
- ``REMOTEFILES``: space-separated http(s) URLs, downloaded into the run (size limit,
  timeout, sha256 recorded by ``bench run``). With no ``JOBFILES`` every URL is a job.
- ``PLOTNAME``: the run's name and the graphs' title.

Unlike fio-tools, which wiped ``/tmp/fio-data`` on every run, earlier results are kept:
each run is a new folder in it and the history (``stackrig.db``) lives beside them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from stackrig._fileset import write_files
from stackrig.bench.history import History, ResultRow
from stackrig.bench.model import RunRecord, RunSettings
from stackrig.bench.plot import PlotSettings, draw
from stackrig.bench.report import build_report
from stackrig.bench.runner import ProgressCallback, run_jobs
from stackrig.errors import UsageError

__all__ = [
    "DB_FILE",
    "FIO_DATA",
    "AioPlan",
    "AioRequest",
    "AioResult",
    "EnvJobs",
    "jobs_from_env",
    "plan_aio",
    "run_aio",
]

log = logging.getLogger("stackrig.bench")

FIO_DATA = Path("/tmp/fio-data")  # noqa: S108 - the fio-tools contract names this folder
REPORT_FILE = "report.html"
DB_FILE = "stackrig.db"


@dataclass(frozen=True, slots=True)
class EnvJobs:
    """What ``JOBFILES``/``REMOTEFILES``/``PLOTNAME`` ask for."""

    jobs: tuple[str, ...]
    name: str | None
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AioRequest:
    """What ``bench aio`` was asked for, before the jobs are chosen.

    ``environ`` is the fio-tools environment (``JOBFILES``, ``REMOTEFILES``, ``PLOTNAME``)
    when the jobs come from it, else None. ``runs_dir``/``db`` are the ones the user
    named (None: the defaults below, or the fio-data folder with ``environ``).
    """

    jobs: tuple[str, ...] = ()
    environ: Mapping[str, str] | None = None
    fio_data: Path = FIO_DATA
    runs_dir: Path | None = None
    db: Path | None = None
    default_runs_dir: Path = Path("runs")
    default_db: Path = Path(DB_FILE)
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    target: Path | None = None
    log_avg_msec: int = 100


@dataclass(frozen=True, slots=True)
class AioPlan:
    """The run to make, its title, and the ``REMOTEFILES`` entries no ``JOBFILES`` name asked for."""

    settings: RunSettings
    title: str | None
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AioResult:
    run: RunRecord
    results: tuple[ResultRow, ...]
    plots: tuple[Path, ...]
    no_data: tuple[str, ...]
    report: Path
    title: str
    ignored: tuple[str, ...] = ()
    """``REMOTEFILES`` entries that no ``JOBFILES`` name asked for (not run)."""


def _url_name(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).name


def jobs_from_env(environ: Mapping[str, str], fio_data: Path = FIO_DATA) -> EnvJobs:
    """The jobs and plot name of the fio-tools environment variables."""
    names = environ.get("JOBFILES", "").split()
    urls = environ.get("REMOTEFILES", "").split()
    for url in urls:
        if urlsplit(url).scheme not in ("http", "https"):
            raise UsageError(f"REMOTEFILES entry {url!r} is not an http(s) URL")
    by_name = {_url_name(url): url for url in urls}
    if not names and not urls:
        raise UsageError(
            "Need to set JOBFILES",
            hint=f"JOBFILES='job.fio' (names in {fio_data}, or paths), optionally REMOTEFILES='https://...'",
        )
    jobs: list[str] = []
    used: set[str] = set()
    for name in names:
        if name in by_name:
            jobs.append(by_name[name])
            used.add(by_name[name])
        elif "/" in name:
            jobs.append(name)
        else:
            jobs.append(str(fio_data / name))
    ignored: tuple[str, ...] = ()
    if not names:
        jobs = list(urls)
    else:
        ignored = tuple(u for u in urls if u not in used)
    plotname = environ.get("PLOTNAME", "").strip() or None
    return EnvJobs(jobs=tuple(jobs), name=plotname, ignored=ignored)


def plan_aio(request: AioRequest) -> AioPlan:
    """Choose the jobs (given, or from the fio-tools environment), the folders and the title.

    With the environment, runs and the history go into the fio-data folder unless the
    user named other ones. UsageError when there is no job at all.
    """
    found = jobs_from_env(request.environ, request.fio_data) if request.environ is not None else None
    jobs = request.jobs or (found.jobs if found else ())
    if not jobs:
        raise UsageError(
            "give job files (JOB...) or --from-env", hint="e.g. stackrig bench aio examples/jobs/quick.fio"
        )
    if found is not None:
        runs_dir = request.runs_dir or request.fio_data
        db = request.db or request.fio_data / DB_FILE
    else:
        runs_dir = request.runs_dir or request.default_runs_dir
        db = request.db or request.default_db
    title = request.name or (found.name if found else None)
    settings = RunSettings(
        jobs=tuple(jobs),
        runs_dir=runs_dir,
        db=db,
        name=title,
        labels=dict(request.labels),
        target=request.target,
        logs=True,
        log_avg_msec=request.log_avg_msec,
    )
    return AioPlan(settings=settings, title=title, ignored=found.ignored if found else ())


def run_aio(plan: AioPlan, *, progress: ProgressCallback | None = None) -> AioResult:
    """Run (logs on), plot every log kind into the run folder, write ``report.html`` there."""
    settings = plan.settings
    done = run_jobs(replace(settings, logs=True), progress=progress)
    run = done.run
    shown = plan.title or run.name
    drawn, graphs = draw(PlotSettings(source=run.folder, title=shown, basename=shown, outdir=run.folder))
    report = run.folder / REPORT_FILE
    with History.open(settings.db) as history:
        text, _ = build_report(history, [run], graphs_drawn={run.id: graphs})
    # the graphs and the report that embeds them: one set (both there, or neither)
    write_files([*graphs, (report, text)])
    log.info("plots and report written to %s", run.folder)
    return AioResult(
        run=run,
        results=done.results,
        plots=drawn.files,
        no_data=drawn.no_data,
        report=report,
        title=shown,
        ignored=plan.ignored,
    )
