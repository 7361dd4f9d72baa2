"""What the dashboard's JSON endpoints answer: runs, one run, its binned series, a comparison."""

from __future__ import annotations

import contextlib
import math
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from stackrig.bench import _binning as binning
from stackrig.bench._chart import unit_scale
from stackrig.bench.compare import DEFAULT_METRICS, compare_runs
from stackrig.bench.history import History, ResultRow, RunNotFoundError
from stackrig.bench.lognames import LogName
from stackrig.bench.logs import find_logs, read_log
from stackrig.bench.model import META_FILE, RunRecord, read_meta
from stackrig.errors import StackrigError

KINDS = ("bw", "iops", "clat", "lat", "slat")
_MAX_POINTS = 600


_local = threading.local()


@contextlib.contextmanager
def _history(db: Path) -> Iterator[History | None]:
    """The history, opened once per worker thread and kept (None when there is no database:
    the dashboard never creates one). A database replaced on disk is opened anew."""
    try:
        st = db.stat()
    except OSError:
        yield None
        return
    if not stat.S_ISREG(st.st_mode):
        yield None
        return
    opened: dict[Path, tuple[tuple[int, int], History]] = _local.__dict__.setdefault("histories", {})
    known = opened.get(db)
    if known is None or known[0] != (st.st_dev, st.st_ino):
        if known is not None:
            known[1].close()
        opened[db] = ((st.st_dev, st.st_ino), History.open(db))
    yield opened[db][1]


def _inside(folder: Path, runs_dir: Path) -> bool:
    try:
        folder.resolve().relative_to(runs_dir.resolve())
    except (ValueError, OSError):
        return False
    return True


def _find(runs_dir: Path, history: History | None, run_id: str) -> RunRecord:
    if history is not None:
        record = history.by_name(run_id)
        if record is not None and _inside(record.folder, runs_dir):
            return record
    for record in _scan(runs_dir):  # a folder the history does not know (or no history)
        if run_id in (record.id, record.folder.name):
            return record
    raise RunNotFoundError(f"no run {run_id!r}")


def _scan(runs_dir: Path) -> list[RunRecord]:
    found = []
    for meta in sorted(runs_dir.glob(f"*/{META_FILE}")):
        if not meta.parent.is_symlink() and not meta.parent.name.startswith("."):  # no half-built runs
            with contextlib.suppress(StackrigError):
                found.append(read_meta(meta.parent))
    return sorted(found, key=lambda r: r.started, reverse=True)


def run_record(runs_dir: Path, db: Path, run_id: str) -> RunRecord:
    with _history(db) as history:
        return _find(runs_dir, history, run_id)


def _rows(history: History | None, record: RunRecord) -> list[ResultRow]:
    if history is None:
        from stackrig.bench.history import rows_from_results
        from stackrig.bench.results import load_results

        try:
            return rows_from_results(load_results(record.folder))
        except StackrigError:
            return []
    try:
        return history.rows(record)
    except StackrigError:
        return []


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _summary(record: RunRecord, rows: Sequence[ResultRow]) -> dict[str, Any]:
    top = [r for r in rows if r.host in ("", "all")] or list(rows)
    return {
        "id": record.id,
        "name": record.name,
        "folder": record.folder.name,
        "status": record.status.value,
        "started": record.started.isoformat(timespec="seconds"),
        "ended": record.ended.isoformat(timespec="seconds") if record.ended else None,
        "labels": dict(record.labels),
        "hosts": list(record.hosts),
        "machine": str(record.machine.get("hostname", "")),
        "fio_version": record.fio_version,
        "group": f"g:{record.group.id}" if record.group else None,
        "iops": _num(sum(r.iops or 0.0 for r in top)) if top else None,
        "bw_bytes": _num(sum(r.bw_bytes or 0.0 for r in top)) if top else None,
    }


def _matches(doc: dict[str, Any], query: str | None) -> bool:
    if not query:
        return True
    needle = query.lower()
    hay = " ".join(
        [doc["id"], doc["name"], doc["status"], doc["machine"], doc["folder"], *doc["hosts"]]
        + [f"{k}={v}" for k, v in doc["labels"].items()]
    ).lower()
    return all(word in hay for word in needle.split())


MAX_PAGE = 500


def runs(
    runs_dir: Path, db: Path, query: str | None = None, *, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """A page of the run list, newest first: from the history's indexes when there is one (the
    page's figures only), else from the run folders' meta.json."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    with _history(db) as history:
        if history is not None:
            under = list(dict.fromkeys([str(runs_dir.absolute()), str(runs_dir.resolve())]))
            page, total = history.search(query, under=under, limit=limit, offset=offset)
            docs = [_summary(r, _rows(history, r)) for r in page]
        else:
            everything = [_summary(r, _rows(None, r)) for r in _scan(runs_dir)]
            matched = [d for d in everything if _matches(d, query)]
            docs, total = matched[offset : offset + limit], len(matched)
    return {"runs": docs, "total": total, "limit": limit, "offset": offset}


def _row(r: ResultRow) -> dict[str, Any]:
    return {
        "host": r.host or "local",
        "job": r.job,
        "direction": r.direction,
        "iops": _num(r.iops),
        "bw_bytes": _num(r.bw_bytes),
        "lat_mean_ns": _num(r.lat_mean_ns),
        "lat_p50_ns": _num(r.lat_p50_ns),
        "lat_p99_ns": _num(r.lat_p99_ns),
        "lat_p999_ns": _num(r.lat_p999_ns),
        "runtime_ms": r.runtime_ms,
    }


def run_detail(runs_dir: Path, db: Path, run_id: str) -> dict[str, Any]:
    with _history(db) as history:
        record = _find(runs_dir, history, run_id)
        rows = _rows(history, record)
    files = [
        {"name": p.name, "size": p.stat().st_size, "url": f"/files/{record.folder.name}/{p.name}"}
        for p in sorted(record.folder.iterdir())
        if p.is_file() and not p.is_symlink()
    ]
    kinds = sorted({n.kind for n in find_logs(record.folder) if not n.is_hist}, key=_kind_order)
    doc = _summary(record, rows)
    doc.update(
        rows=[_row(r) for r in rows],
        files=files,
        kinds=kinds,
        command=list(record.command),
        machine_facts={str(k): str(v) for k, v in record.machine.items()},
        error=record.error,
    )
    return doc


def _kind_order(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def _aligned(series: list[binning.Series], div: float) -> tuple[list[float], list[list[float | None]]]:
    import numpy as np

    if not series:
        return [], []
    t = np.unique(np.concatenate([s.t for s in series]))
    columns: list[list[float | None]] = []
    for s in series:
        col = np.full(t.shape[0], np.nan)
        col[np.searchsorted(t, s.t)] = s.mean / div
        columns.append([None if math.isnan(v) else round(float(v), 3) for v in col])
    return [round(float(x), 3) for x in t], columns


_SERIES_CACHE = 64  # binned series of (run folder, kind), kept while the logs are unchanged
_series_cache: OrderedDict[tuple[str, str], tuple[Any, tuple[list[binning.Series], int]]] = OrderedDict()
_series_lock = threading.Lock()


def _series_of(folder: Path, kind: str) -> tuple[list[binning.Series], int]:
    """The binned series of one kind of log of a run, cached by the logs' names, sizes and mtimes."""
    names = [n for n in find_logs(folder) if n.kind == kind]
    stamp = []
    for n in names:
        with contextlib.suppress(OSError):
            st = n.path.stat()
            stamp.append((n.path.name, st.st_size, st.st_mtime_ns))
    key = (str(folder), kind)
    with _series_lock:
        hit = _series_cache.get(key)
        if hit is not None and hit[0] == stamp:
            _series_cache.move_to_end(key)
            return hit[1]
    found = _bin_series(names)
    with _series_lock:
        _series_cache[key] = (stamp, found)
        while len(_series_cache) > _SERIES_CACHE:
            _series_cache.popitem(last=False)
    return found


def _bin_series(names: Sequence[LogName]) -> tuple[list[binning.Series], int]:
    logs = [read_log(n.path) for n in names]
    logs = [log for log in logs if not log.no_data]
    window = binning.auto_window_ms(logs, max_points=_MAX_POINTS)
    return [s for log in logs for s in binning.bin_log(log, window)], window


def run_series(runs_dir: Path, db: Path, run_id: str, kind: str | None) -> dict[str, Any]:
    if kind not in KINDS:
        raise RunNotFoundError(f"unknown log kind {kind!r}")
    with _history(db) as history:
        record = _find(runs_dir, history, run_id)
    series, window = _series_of(record.folder, kind)
    peak = max((float(s.mean.max()) for s in series if len(s)), default=1.0)
    div, unit = unit_scale(kind, peak)
    labels = [f"{s.label} {s.direction}" for s in series]
    t, columns = _aligned(series, div)
    summed = kind in ("bw", "iops") and len(series) > 1
    if summed:
        st, total = binning.sum_series(series)
        sums = {round(float(a), 3): float(b) / div for a, b in zip(st, total, strict=True)}
        columns.append([round(sums[x], 3) if x in sums else None for x in t])
        labels.append(binning.total_label(series))
    return {
        "kind": kind,
        "unit": unit,
        "window_ms": window,
        "t": t,
        "labels": labels,
        "values": columns,
        "total": summed,  # the last column is the sum of the others
    }


def compare(runs_dir: Path, db: Path, ids: Sequence[str]) -> dict[str, Any]:
    if len(ids) < 2:
        raise RunNotFoundError("pick at least two runs to compare")
    if not db.is_file():
        raise RunNotFoundError("no history to compare from")
    with _history(db) as history:
        if history is None:  # pragma: no cover - checked above
            raise RunNotFoundError("no history to compare from")
        records = [_find(runs_dir, history, i) for i in ids]
        comp = compare_runs(history, records, DEFAULT_METRICS, None)
    changes = [
        {
            "run": c.run_id,
            "key": f"{c.host or 'local'}/{c.job}/{c.direction}",
            "metric": c.metric,
            "baseline": _num(c.baseline),
            "value": _num(c.value),
            "change_pct": _num(c.change_pct),
            "regression": c.regression,
        }
        for c in comp.changes
    ]
    # total bandwidth over time of each run, on one time axis (seconds since each run's start)
    per_run = []
    for record in records:
        series, _ = _series_of(record.folder, "bw")
        per_run.append(binning.sum_series(series))
    peak = max((float(v.max()) for _, v in per_run if v.shape[0]), default=1.0)
    div, unit = unit_scale("bw", peak)
    import numpy as np

    arrays = [t for t, _ in per_run if t.shape[0]]
    t_all = np.unique(np.concatenate(arrays)) if arrays else np.empty(0)
    values = []
    for t, v in per_run:
        col = np.full(t_all.shape[0], np.nan)
        col[np.searchsorted(t_all, t)] = v / div
        values.append([None if math.isnan(x) else round(float(x), 3) for x in col])
    return {
        "runs": [_summary(r, []) for r in records],
        "baseline": records[0].id,
        "threshold_pct": comp.threshold_pct,
        "changes": changes,
        "unmatched": list(comp.unmatched),
        "bw": {"unit": unit, "t": [round(float(x), 3) for x in t_all], "values": values},
    }


def groups(db: Path, limit: int = 50) -> dict[str, Any]:
    """The newest groups of runs (repeats and sweeps), for the compare pickers."""
    from stackrig.bench.groups import list_groups

    with _history(db) as history:
        found = list_groups(history, limit=max(1, min(limit, MAX_PAGE))) if history is not None else []
    return {
        "groups": [
            {
                "id": g.id,
                "ref": g.ref,
                "name": g.name,
                "kind": g.kind,
                "runs": g.runs,
                "created": g.created.isoformat(timespec="seconds"),
            }
            for g in found
        ]
    }


def _side(summary: Any) -> dict[str, Any]:
    return {
        "n": summary.n,
        "mean": _num(summary.mean),
        "stdev": _num(summary.stdev),
        "low": _num(summary.low),
        "high": _num(summary.high),
    }


def compare_groups(db: Path, base: str, cand: str, confidence: float = 0.95) -> dict[str, Any]:
    """A noise-aware comparison of two groups (or runs): per metric both sides' mean with the
    interval of the mean (the error bars), the change with its interval, and the verdict."""
    from stackrig.bench.compare import DEFAULT_METRICS
    from stackrig.bench.noise import compare_groups as compare_sides

    if not db.is_file():
        raise RunNotFoundError("no history to compare from")
    with _history(db) as history:
        if history is None:  # pragma: no cover - checked above
            raise RunNotFoundError("no history to compare from")
        comp = compare_sides(history, base, cand, DEFAULT_METRICS, confidence=confidence)

    def side(s: Any) -> dict[str, Any]:
        return {"ref": s.ref, "name": s.group.name if s.group else s.runs[0], "runs": len(s.runs)}

    return {
        "baseline": side(comp.baseline),
        "candidate": side(comp.candidate),
        "confidence": comp.confidence,
        "noise_aware": comp.noise_aware,
        "note": comp.note,
        "warnings": list(comp.warnings),
        "changes": [
            {
                "key": f"{c.host or 'local'}/{c.job}/{c.direction}",
                "metric": c.metric,
                "baseline": _side(c.baseline),
                "candidate": _side(c.candidate),
                "change_pct": _num(c.change_pct),
                "low_pct": _num(c.low_pct),
                "high_pct": _num(c.high_pct),
                "verdict": c.verdict,
            }
            for c in comp.changes
        ],
        "unmatched": list(comp.unmatched),
    }


def group_detail(db: Path, ref: str) -> dict[str, Any]:
    """A group's runs and, for a sweep, its table of points; for repeats, its statistics."""
    from stackrig.bench.groups import group_runs, resolve_group
    from stackrig.bench.noise import group_stats
    from stackrig.bench.sweepplot import sweep_points

    with _history(db) as history:
        if history is None:
            raise RunNotFoundError("no history yet")
        group = resolve_group(history, ref if ref.startswith("g:") else f"g:{ref}")
        runs = group_runs(history, group.id)
        doc: dict[str, Any] = {
            "ref": group.ref, "name": group.name, "kind": group.kind, "runs": [_summary(r, []) for r in runs],
        }  # fmt: skip
        if group.kind == "sweep":
            doc["points"] = [
                {
                    "rw": p.rw,
                    "bs": p.bs,
                    "numjobs": p.numjobs,
                    "iodepth": p.iodepth,
                    "runs": p.runs,
                    "iops": _num(p.iops),
                    "bw_bytes": _num(p.bw_bytes),
                    "lat_mean_ns": _num(p.lat_mean_ns),
                    "lat_p99_ns": _num(p.lat_p99_ns),
                }
                for p in sweep_points(history, group)
            ]
        else:
            doc["stats"] = [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in group_stats(history, group, runs)
            ]
    return doc
