"""stackrig bench: run fio jobs locally or across a fleet, keep every result, compare runs.

The run folder (the contract other parts, e.g. plots and the dashboard, read)
=============================================================================

Every ``bench run`` (and ``bench import``) creates a NEW folder and never
touches an earlier one::

    <runs-dir>/<UTC yyyymmddTHHMMSSZ>-<name>/      (``-<4 hex>`` appended when taken)
        <job>.fio            a copy of each job file as fio ran it (URLs: the
                             downloaded bytes; ``--target`` adds ``directory=``)
        fio.json             fio's --output-format=json+ document. In client mode
                             fio prints ``<host> ...`` text lines before the JSON;
                             they are kept. Read it with :func:`load_results`.
        *.log                every log fio wrote (``--logs``: <job>_bw.N.log,
        *.log.<host>         _iops, _lat, _clat, _slat; client mode appends the host)
        fio.stderr           fio's stderr
        scratch/             only while fio runs: its data files when neither the
                             job nor ``--target`` sets ``directory=`` (removed after)
        meta.json            :class:`RunRecord` as JSON: schema, id, name, status
                             (ok | failed | interrupted), started/ended (ISO UTC),
                             exit_code (fio's), command (argv), jobs [{file, source,
                             sha256, size}], labels {k: v}, hosts ["h:port"],
                             machine {hostname, kernel, os, arch, cpu, cpu_count},
                             fio_version, error, imported_from

``<runs-dir>`` defaults to ``Paths.runs`` (``runs/`` in the data folder). The
history (SQLite, component ``bench``) indexes the folders: one row per run plus
one row per host/job/direction with the headline figures; :class:`History`
opens it and resolves RUN (an id, a unique id prefix, a folder, or ``latest``).
"""

from __future__ import annotations

from stackrig.bench.compare import Comparison, compare_runs, export_rows, format_rows, parse_metrics
from stackrig.bench.history import History, ResultRow, RunNotFoundError, rows_from_results
from stackrig.bench.inventory import hosts_from_inventory
from stackrig.bench.jobfile import InvalidJobError, JobFetchError
from stackrig.bench.manage import ImportResult, import_dir, is_loopback, plan_prune, serve
from stackrig.bench.model import (
    FioHost,
    JobSource,
    RunRecord,
    RunSettings,
    RunStatus,
    parse_host,
    parse_label,
)
from stackrig.bench.results import (
    DirectionStats,
    DiskUtil,
    FioResults,
    JobResult,
    LatencyStats,
    ResultsError,
    load_results,
    parse_results,
)
from stackrig.bench.runner import FioRunFailedError, FioServerUnreachableError, run_jobs

__all__ = [
    "Comparison",
    "DirectionStats",
    "DiskUtil",
    "FioHost",
    "FioResults",
    "FioRunFailedError",
    "FioServerUnreachableError",
    "History",
    "ImportResult",
    "InvalidJobError",
    "JobFetchError",
    "JobResult",
    "JobSource",
    "LatencyStats",
    "ResultRow",
    "ResultsError",
    "RunNotFoundError",
    "RunRecord",
    "RunSettings",
    "RunStatus",
    "compare_runs",
    "export_rows",
    "format_rows",
    "hosts_from_inventory",
    "import_dir",
    "is_loopback",
    "load_results",
    "parse_host",
    "parse_label",
    "parse_metrics",
    "parse_results",
    "plan_prune",
    "rows_from_results",
    "run_jobs",
    "serve",
]
