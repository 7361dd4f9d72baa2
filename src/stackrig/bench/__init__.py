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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackrig.bench.compare import Comparison, compare_runs, export_rows, format_rows, parse_metrics
    from stackrig.bench.history import History, ResultRow, RunNotFoundError, rows_from_results
    from stackrig.bench.inventory import hosts_from_inventory
    from stackrig.bench.jobfile import InvalidJobError, JobFetchError
    from stackrig.bench.manage import (
        ExportResult,
        ImportResult,
        delete_runs,
        export_runs,
        import_dir,
        is_loopback,
        plan_prune,
        run_fio_server,
        select_runs,
    )
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
    from stackrig.bench.runner import (
        FioRunFailedError,
        FioServerUnreachableError,
        Progress,
        RunResult,
        run_jobs,
    )

# Where each public name lives: imported on first use (PEP 562), so a command that needs
# one part of the family (``bench plot`` needs only the log reader) does not import the rest.
_HOMES: dict[str, str] = {
    "Comparison": "stackrig.bench.compare",
    "DirectionStats": "stackrig.bench.results",
    "DiskUtil": "stackrig.bench.results",
    "ExportResult": "stackrig.bench.manage",
    "FioHost": "stackrig.bench.model",
    "FioResults": "stackrig.bench.results",
    "FioRunFailedError": "stackrig.bench.runner",
    "FioServerUnreachableError": "stackrig.bench.runner",
    "History": "stackrig.bench.history",
    "ImportResult": "stackrig.bench.manage",
    "InvalidJobError": "stackrig.bench.jobfile",
    "JobFetchError": "stackrig.bench.jobfile",
    "JobResult": "stackrig.bench.results",
    "JobSource": "stackrig.bench.model",
    "LatencyStats": "stackrig.bench.results",
    "Progress": "stackrig.bench.runner",
    "ResultRow": "stackrig.bench.history",
    "ResultsError": "stackrig.bench.results",
    "RunNotFoundError": "stackrig.bench.history",
    "RunRecord": "stackrig.bench.model",
    "RunResult": "stackrig.bench.runner",
    "RunSettings": "stackrig.bench.model",
    "RunStatus": "stackrig.bench.model",
    "compare_runs": "stackrig.bench.compare",
    "delete_runs": "stackrig.bench.manage",
    "export_rows": "stackrig.bench.compare",
    "export_runs": "stackrig.bench.manage",
    "format_rows": "stackrig.bench.compare",
    "hosts_from_inventory": "stackrig.bench.inventory",
    "import_dir": "stackrig.bench.manage",
    "is_loopback": "stackrig.bench.manage",
    "load_results": "stackrig.bench.results",
    "parse_host": "stackrig.bench.model",
    "parse_label": "stackrig.bench.model",
    "parse_metrics": "stackrig.bench.compare",
    "parse_results": "stackrig.bench.results",
    "plan_prune": "stackrig.bench.manage",
    "rows_from_results": "stackrig.bench.history",
    "run_fio_server": "stackrig.bench.manage",
    "run_jobs": "stackrig.bench.runner",
    "select_runs": "stackrig.bench.manage",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "Comparison",
    "DirectionStats",
    "DiskUtil",
    "ExportResult",
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
    "Progress",
    "ResultRow",
    "ResultsError",
    "RunNotFoundError",
    "RunRecord",
    "RunResult",
    "RunSettings",
    "RunStatus",
    "compare_runs",
    "delete_runs",
    "export_rows",
    "export_runs",
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
    "run_fio_server",
    "run_jobs",
    "select_runs",
]
