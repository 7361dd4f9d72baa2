"""stackrig bench: run fio jobs locally or across a fleet, keep every result, compare runs.

The run folder (the contract other parts, e.g. plots and the dashboard, read)
=============================================================================

Every ``bench run`` (and each run ``bench import`` makes) creates a NEW folder and
never touches an earlier one::

    <runs-dir>/<UTC yyyymmddTHHMMSSZ>-<name>/      (``-<4 hex>`` appended when taken)
        <job>.fio            each job file byte for byte as given (URLs: the
                             downloaded bytes); its sha256 is in meta.json
        <job>.effective.fio  the job fio ran: stackrig's [global] section (scratch
                             directory=${STACKRIG_RUN_SCRATCH}, --target, --logs)
                             and then the copy; `bench run --from RUN` runs it again
        <included files>     each file a job pulls in with fio's ``include FILE``
                             (nested ones too), byte for byte, at the same place
                             relative to the copy (``common.inc``, ``sub/x.inc``), so
                             the copies include them as the originals did
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
                             sha256, size, effective, includes [{file, source,
                             sha256, size}]}], labels {k: v}, hosts,
                             machine {hostname, kernel, os, arch, cpu, cpu_count},
                             fio_version, error, imported_from, replay {logs,
                             log_avg_msec, target, hosts, status_interval, from},
                             sources [{path, sha256, role}] (imports), log_only

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
    from stackrig.bench.groups import (
        RunGroup,
        delete_group,
        group_runs,
        is_group_ref,
        list_groups,
        resolve_group,
        resolve_runs,
    )
    from stackrig.bench.history import History, ResultRow, RunNotFoundError, rows_from_results
    from stackrig.bench.importer import ImportResult, import_dir
    from stackrig.bench.inventory import hosts_from_inventory
    from stackrig.bench.jobfile import InvalidJobError, JobFetchError
    from stackrig.bench.manage import (
        ExportResult,
        delete_runs,
        export_runs,
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
    from stackrig.bench.noise import GroupComparison, compare_groups, group_stats
    from stackrig.bench.phases import parse_steady_state
    from stackrig.bench.repeat import GroupResult, run_group
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
    from stackrig.bench.runplan import RunPlan, plan_run, settings_from_run

# Where each public name lives: imported on first use (PEP 562), so a command that needs
# one part of the family (``bench plot`` needs only the log reader) does not import the rest.
_HOMES: dict[str, str] = {
    "GroupComparison": "stackrig.bench.noise",
    "parse_steady_state": "stackrig.bench.phases",
    "delete_group": "stackrig.bench.groups",
    "group_runs": "stackrig.bench.groups",
    "GroupResult": "stackrig.bench.repeat",
    "RunGroup": "stackrig.bench.groups",
    "compare_groups": "stackrig.bench.noise",
    "group_stats": "stackrig.bench.noise",
    "is_group_ref": "stackrig.bench.groups",
    "list_groups": "stackrig.bench.groups",
    "resolve_group": "stackrig.bench.groups",
    "resolve_runs": "stackrig.bench.groups",
    "run_group": "stackrig.bench.repeat",
    "Comparison": "stackrig.bench.compare",
    "DirectionStats": "stackrig.bench.results",
    "DiskUtil": "stackrig.bench.results",
    "ExportResult": "stackrig.bench.manage",
    "FioHost": "stackrig.bench.model",
    "FioResults": "stackrig.bench.results",
    "FioRunFailedError": "stackrig.bench.runner",
    "FioServerUnreachableError": "stackrig.bench.runner",
    "History": "stackrig.bench.history",
    "ImportResult": "stackrig.bench.importer",
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
    "RunPlan": "stackrig.bench.runplan",
    "RunResult": "stackrig.bench.runner",
    "RunSettings": "stackrig.bench.model",
    "RunStatus": "stackrig.bench.model",
    "compare_runs": "stackrig.bench.compare",
    "delete_runs": "stackrig.bench.manage",
    "export_rows": "stackrig.bench.compare",
    "export_runs": "stackrig.bench.manage",
    "format_rows": "stackrig.bench.compare",
    "hosts_from_inventory": "stackrig.bench.inventory",
    "import_dir": "stackrig.bench.importer",
    "is_loopback": "stackrig.bench.manage",
    "load_results": "stackrig.bench.results",
    "parse_host": "stackrig.bench.model",
    "parse_label": "stackrig.bench.model",
    "parse_metrics": "stackrig.bench.compare",
    "parse_results": "stackrig.bench.results",
    "plan_prune": "stackrig.bench.manage",
    "plan_run": "stackrig.bench.runplan",
    "rows_from_results": "stackrig.bench.history",
    "run_fio_server": "stackrig.bench.manage",
    "run_jobs": "stackrig.bench.runner",
    "select_runs": "stackrig.bench.manage",
    "settings_from_run": "stackrig.bench.runplan",
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
    "GroupComparison",
    "GroupResult",
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
    "RunGroup",
    "RunNotFoundError",
    "RunPlan",
    "RunRecord",
    "RunResult",
    "RunSettings",
    "RunStatus",
    "compare_groups",
    "compare_runs",
    "delete_group",
    "delete_runs",
    "export_rows",
    "export_runs",
    "format_rows",
    "group_runs",
    "group_stats",
    "hosts_from_inventory",
    "import_dir",
    "is_group_ref",
    "is_loopback",
    "list_groups",
    "load_results",
    "parse_host",
    "parse_label",
    "parse_metrics",
    "parse_results",
    "parse_steady_state",
    "plan_prune",
    "plan_run",
    "resolve_group",
    "resolve_runs",
    "rows_from_results",
    "run_fio_server",
    "run_group",
    "run_jobs",
    "select_runs",
    "settings_from_run",
]
