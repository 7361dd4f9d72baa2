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
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from stackrig.bench.history import History
from stackrig.bench.model import RunRecord, RunSettings
from stackrig.bench.plot import PlotSettings, plot
from stackrig.bench.report import write_report
from stackrig.bench.runner import run_jobs
from stackrig.errors import UsageError

__all__ = ["FIO_DATA", "AioResult", "EnvJobs", "jobs_from_env", "run_aio"]

log = logging.getLogger("stackrig.bench")

FIO_DATA = Path("/tmp/fio-data")  # noqa: S108 - the fio-tools contract names this folder
REPORT_FILE = "report.html"


@dataclass(frozen=True, slots=True)
class EnvJobs:
    """What ``JOBFILES``/``REMOTEFILES``/``PLOTNAME`` ask for."""

    jobs: tuple[str, ...]
    name: str | None
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AioResult:
    run: RunRecord
    plots: tuple[Path, ...]
    no_data: tuple[str, ...]
    report: Path
    title: str


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


def run_aio(settings: RunSettings, *, title: str | None = None) -> AioResult:
    """Run (logs on), plot every log kind into the run folder, write ``report.html`` there."""
    run = run_jobs(replace(settings, logs=True))
    shown = title or run.name
    drawn = plot(PlotSettings(source=run.folder, title=shown, basename=shown, outdir=run.folder))
    report = run.folder / REPORT_FILE
    with History.open(settings.db) as history:
        write_report(history, [run], report, graphs_drawn={run.id: drawn.files})
    log.info("plots and report written to %s", run.folder)
    return AioResult(run=run, plots=drawn.files, no_data=drawn.no_data, report=report, title=shown)
