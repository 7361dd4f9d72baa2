"""Compare runs against a baseline, and export result rows as CSV or JSON.

Rows are matched by host, job name and direction (host is empty for local
runs, so local runs on different machines compare; ``all`` is fio's ``All
clients`` aggregate of a fleet run). Several rows with one key (``numjobs``
without ``group_reporting``) are combined: IOPS and bandwidth add up,
latencies are averaged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from stackrig.bench.history import ROW_FIELDS, History, ResultRow
from stackrig.bench.model import RunRecord
from stackrig.errors import UsageError

__all__ = [
    "DEFAULT_MARK_PCT",
    "HIGHER_IS_BETTER",
    "METRICS",
    "Change",
    "Comparison",
    "compare_runs",
    "export_rows",
    "parse_metrics",
    "side_differences",
]

METRICS = ("iops", "bw", "lat_mean", "lat_p50", "lat_p99", "lat_p999")
HIGHER_IS_BETTER = frozenset({"iops", "bw"})
DEFAULT_METRICS = ("iops", "bw", "lat_p50", "lat_p99", "lat_p999")
DEFAULT_MARK_PCT = 5.0


def parse_metrics(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_METRICS
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise UsageError(
            f"unknown metric {', '.join(unknown) or text!r}", hint=f"choose from {', '.join(METRICS)}"
        )
    return names


@dataclass(frozen=True, slots=True)
class Change:
    run_id: str
    host: str
    job: str
    direction: str
    metric: str
    baseline: float | None
    value: float | None
    change_pct: float | None
    """Relative change of the value (positive = larger), None when not comparable."""
    regression: bool
    """Worse than the baseline by more than the threshold."""


@dataclass(frozen=True, slots=True)
class Comparison:
    baseline: RunRecord
    runs: tuple[RunRecord, ...]
    metrics: tuple[str, ...]
    threshold_pct: float
    changes: tuple[Change, ...]
    unmatched: tuple[str, ...]
    """``run: host/job/direction`` present on one side only."""
    warnings: tuple[str, ...] = ()
    """What differs between the baseline and a run besides the storage (job file, fio, host)."""
    note: str = (
        "no confidence can be given for single runs; make groups with `bench run --repeat N` "
        "and compare them (bench compare g:BASE g:CANDIDATE)"
    )

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.regression)


def combine_rows(rows: Sequence[ResultRow]) -> dict[tuple[str, str, str], dict[str, float | None]]:
    grouped: dict[tuple[str, str, str], list[ResultRow]] = {}
    for row in rows:
        grouped.setdefault(row.key, []).append(row)
    combined: dict[tuple[str, str, str], dict[str, float | None]] = {}
    for key, items in grouped.items():
        values: dict[str, float | None] = {}
        for metric in METRICS:
            present = [v for r in items if (v := r.metric(metric)) is not None]
            if not present:
                values[metric] = None
            elif metric in HIGHER_IS_BETTER:
                values[metric] = sum(present)
            else:
                values[metric] = sum(present) / len(present)
        combined[key] = values
    return combined


def _change(
    metric: str, base: float | None, value: float | None, threshold: float
) -> tuple[float | None, bool]:
    if base is None or value is None or base == 0:
        return None, False
    pct = (value - base) / base * 100.0
    worse = -pct if metric in HIGHER_IS_BETTER else pct
    return pct, worse > threshold


def _key(key: tuple[str, str, str]) -> str:
    host, job, direction = key
    return f"{host or 'local'}/{job}/{direction}"


def side_differences(base: Sequence[RunRecord], cand: Sequence[RunRecord]) -> list[str]:
    """What the two sides differ in besides the storage: then a change may not be the storage's."""

    def jobs(runs: Sequence[RunRecord]) -> set[str]:
        return {job.sha256 for run in runs for job in run.jobs}

    def versions(runs: Sequence[RunRecord]) -> set[str]:
        return {run.fio_version or "?" for run in runs}

    def hosts(runs: Sequence[RunRecord]) -> set[str]:
        return {",".join(run.hosts) or str(run.machine.get("hostname") or "?") for run in runs}

    notes = []
    if jobs(base) != jobs(cand):
        notes.append("the two sides ran different job files (sha256 differs)")
    if versions(base) != versions(cand):
        notes.append(f"different fio versions: {sorted(versions(base))} vs {sorted(versions(cand))}")
    if hosts(base) != hosts(cand):
        notes.append(f"different hosts: {sorted(hosts(base))} vs {sorted(hosts(cand))}")
    return notes


def compare_runs(
    history: History, runs: Sequence[RunRecord], metrics: Sequence[str], threshold_pct: float | None
) -> Comparison:
    """Compare every run after the first with the first (the baseline)."""
    if len(runs) < 2:
        raise UsageError("compare needs at least two runs (the first is the baseline)")
    threshold = DEFAULT_MARK_PCT if threshold_pct is None else threshold_pct
    if threshold < 0:
        raise UsageError("--fail-on-regression takes a percentage of 0 or more")
    baseline, others = runs[0], runs[1:]
    base_rows = combine_rows(history.rows(baseline))
    changes: list[Change] = []
    unmatched: list[str] = []
    warnings: list[str] = []
    for run in others:
        prefix = f"{run.id}: " if len(others) > 1 else ""
        warnings.extend(prefix + note for note in side_differences([baseline], [run]))
        rows = combine_rows(history.rows(run))
        unmatched.extend(f"{run.id}: {_key(key)} missing" for key in base_rows.keys() - rows.keys())
        unmatched.extend(
            f"{run.id}: {_key(key)} not in the baseline" for key in rows.keys() - base_rows.keys()
        )
        for key in sorted(base_rows.keys() & rows.keys()):
            for metric in metrics:
                base, value = base_rows[key][metric], rows[key][metric]
                pct, regression = _change(metric, base, value, threshold)
                changes.append(Change(run.id, *key, metric, base, value, pct, regression))
    return Comparison(
        baseline=baseline,
        runs=tuple(others),
        metrics=tuple(metrics),
        threshold_pct=threshold,
        changes=tuple(changes),
        unmatched=tuple(sorted(unmatched)),
        warnings=tuple(warnings),
    )


EXPORT_FIELDS = (
    "run_id",
    "run_name",
    "started",
    "status",
    "labels",
    "machine",
    *ROW_FIELDS,
)


def export_rows(history: History, runs: Sequence[RunRecord]) -> list[dict[str, object]]:
    """One flat row per run, host, job and direction."""
    return [
        {
            "run_id": run.id,
            "run_name": run.name,
            "started": run.started.isoformat(),
            "status": run.status.value,
            "labels": ";".join(f"{k}={v}" for k, v in sorted(run.labels.items())),
            "machine": str(run.machine.get("hostname") or ""),
            "host": row.host or "local",
            "job": row.job,
            "direction": row.direction,
            "iops": row.iops,
            "bw_bytes": row.bw_bytes,
            "io_bytes": row.io_bytes,
            "runtime_ms": row.runtime_ms,
            "lat_mean_ns": row.lat_mean_ns,
            "lat_p50_ns": row.lat_p50_ns,
            "lat_p99_ns": row.lat_p99_ns,
            "lat_p999_ns": row.lat_p999_ns,
            "usr_cpu": row.usr_cpu,
            "sys_cpu": row.sys_cpu,
        }
        for run in runs
        for row in history.rows(run)
    ]


def format_rows(rows: list[dict[str, object]], fmt: str, fields: Sequence[str] = EXPORT_FIELDS) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buffer.getvalue()
    raise UsageError(f"unknown export format {fmt!r}", hint="use csv or json")
