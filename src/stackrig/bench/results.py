"""A typed reader of fio's ``json`` / ``json+`` output.

Everything fio reports per job and direction is read into frozen dataclasses:
iops, bandwidth (bytes/s), io bytes, runtime, slat/clat/lat statistics and
percentiles (always nanoseconds), the clat histogram bins of ``json+``, cpu,
context switches, page faults, disk utilisation, and in client/server mode the
``client_stats`` (one entry per host and job, plus fio's ``All clients``
aggregate) with the text lines fio prints before the JSON document.

The reader is forgiving by design: a field fio did not write (older 3.x, plain
``json``, the aggregate rows that carry no percentiles) is ``None`` or empty,
never a ``KeyError``. Only a file without any JSON document is an error
(:class:`ResultsError`, naming the file).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig.errors import UsageError

__all__ = [
    "AGGREGATE_JOB",
    "DIRECTIONS",
    "DirectionStats",
    "DiskUtil",
    "FioResults",
    "JobResult",
    "LatencyStats",
    "ResultsError",
    "load_results",
    "parse_results",
    "split_output",
]

DIRECTIONS = ("read", "write", "trim", "sync")
AGGREGATE_JOB = "All clients"
RESULTS_FILE = "fio.json"


class ResultsError(UsageError):
    """A fio output file that holds no readable JSON document."""


# ---------------------------------------------------------------- tolerant field access


def _num(obj: Any, key: str) -> float | None:
    if not isinstance(obj, Mapping):
        return None
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int(obj: Any, key: str) -> int | None:
    number = _num(obj, key)
    return None if number is None else int(number)


def _str(obj: Any, key: str) -> str | None:
    if not isinstance(obj, Mapping):
        return None
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _map(obj: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        return {}
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _options(obj: Any, key: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _map(obj, key).items()}


# ---------------------------------------------------------------- value types


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """One of slat / clat / lat, in nanoseconds."""

    min_ns: float | None
    max_ns: float | None
    mean_ns: float | None
    stddev_ns: float | None
    samples: int | None
    percentiles: tuple[tuple[float, float], ...] = ()
    """(percent, ns) pairs, ascending, as fio reported them."""
    bins: tuple[tuple[int, int], ...] = ()
    """json+ histogram: (latency ns, count) pairs, ascending."""

    def percentile(self, pct: float) -> float | None:
        """The value fio reported for ``pct`` (e.g. 99.9), or None."""
        for point, value in self.percentiles:
            if abs(point - pct) < 1e-6:
                return value
        return None


@dataclass(frozen=True, slots=True)
class DirectionStats:
    """What one job did in one direction (read, write, trim or sync)."""

    direction: str
    io_bytes: int | None
    bw_bytes: float | None
    """Bandwidth in bytes per second."""
    iops: float | None
    runtime_ms: int | None
    total_ios: int | None
    short_ios: int | None = None
    drop_ios: int | None = None
    slat: LatencyStats | None = None
    clat: LatencyStats | None = None
    lat: LatencyStats | None = None
    bw_min_bytes: float | None = None
    bw_max_bytes: float | None = None
    bw_mean_bytes: float | None = None
    bw_dev_bytes: float | None = None
    iops_min: float | None = None
    iops_max: float | None = None
    iops_mean: float | None = None
    iops_stddev: float | None = None

    def latency_percentile(self, pct: float) -> float | None:
        """Total latency percentile when fio measured it (lat_percentiles=1), else completion latency."""
        for stats in (self.lat, self.clat):
            if stats is not None:
                value = stats.percentile(pct)
                if value is not None:
                    return value
        return None


@dataclass(frozen=True, slots=True)
class JobResult:
    """One job (or, in client mode, one job on one host; or fio's ``All clients`` aggregate)."""

    name: str
    groupid: int | None
    error: int | None
    directions: tuple[DirectionStats, ...]
    host: str | None = None
    port: int | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    runtime_ms: int | None = None
    elapsed_s: int | None = None
    usr_cpu: float | None = None
    sys_cpu: float | None = None
    ctx: int | None = None
    majf: int | None = None
    minf: int | None = None

    @property
    def aggregate(self) -> bool:
        return self.name == AGGREGATE_JOB

    def direction(self, name: str) -> DirectionStats | None:
        for stats in self.directions:
            if stats.direction == name:
                return stats
        return None


@dataclass(frozen=True, slots=True)
class DiskUtil:
    name: str
    util: float | None
    read_ios: int | None = None
    write_ios: int | None = None
    read_merges: int | None = None
    write_merges: int | None = None
    read_ticks: int | None = None
    write_ticks: int | None = None
    in_queue: int | None = None
    host: str | None = None


@dataclass(frozen=True, slots=True)
class FioResults:
    """A whole fio output document."""

    fio_version: str | None
    timestamp: int | None
    time: str | None
    global_options: Mapping[str, str]
    jobs: tuple[JobResult, ...]
    client_stats: tuple[JobResult, ...]
    disk_util: tuple[DiskUtil, ...]
    preamble: tuple[str, ...] = ()
    """Text lines fio printed before the JSON (client mode: ``<host> ...`` lines)."""
    source: Path | None = None

    @property
    def client_mode(self) -> bool:
        return bool(self.client_stats)

    @property
    def group_reporting(self) -> bool:
        if "group_reporting" in self.global_options:
            return True
        return any("group_reporting" in job.options for job in self.all_jobs)

    @property
    def all_jobs(self) -> tuple[JobResult, ...]:
        """Local jobs, then every host's jobs and the aggregates of client mode."""
        return self.jobs + self.client_stats

    @property
    def hosts(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for job in self.client_stats:
            if job.host and not job.aggregate:
                seen.setdefault(job.host, None)
        return tuple(seen)


# ---------------------------------------------------------------- parsing


def _latency(obj: Any, key: str, scale: float = 1.0) -> LatencyStats | None:
    stats = _map(obj, key)
    if not stats:
        return None
    samples = _int(stats, "N")
    percentiles: list[tuple[float, float]] = []
    for point, value in _map(stats, "percentile").items():
        try:
            pct = float(point)
        except ValueError:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            percentiles.append((pct, float(value) * scale))
    bins: list[tuple[int, int]] = []
    for bucket, count in _map(stats, "bins").items():
        try:
            bins.append((int(float(bucket) * scale), int(count)))
        except (TypeError, ValueError):
            continue

    def scaled(name: str) -> float | None:
        value = _num(stats, name)
        return None if value is None else value * scale

    return LatencyStats(
        min_ns=scaled("min"),
        max_ns=scaled("max"),
        mean_ns=scaled("mean"),
        stddev_ns=scaled("stddev"),
        samples=samples,
        percentiles=tuple(sorted(percentiles)),
        bins=tuple(sorted(bins)),
    )


def _latency_any(obj: Any, name: str) -> LatencyStats | None:
    """fio 3.x writes ``clat_ns``; fio 2.x wrote ``clat`` in microseconds."""
    found = _latency(obj, f"{name}_ns")
    if found is None:
        found = _latency(obj, name, scale=1000.0)
    return found


def _kib(obj: Any, key: str) -> float | None:
    value = _num(obj, key)
    return None if value is None else value * 1024.0


def _direction(name: str, obj: Any) -> DirectionStats | None:
    if not isinstance(obj, Mapping):
        return None
    total = _int(obj, "total_ios")
    io_bytes = _int(obj, "io_bytes")
    if io_bytes is None and _num(obj, "io_kbytes") is not None:
        io_bytes = int((_num(obj, "io_kbytes") or 0) * 1024)
    if not total and not io_bytes:
        return None  # the job did nothing in this direction
    bw_bytes = _num(obj, "bw_bytes")
    if bw_bytes is None:
        bw_bytes = _kib(obj, "bw")
    return DirectionStats(
        direction=name,
        io_bytes=io_bytes,
        bw_bytes=bw_bytes,
        iops=_num(obj, "iops"),
        runtime_ms=_int(obj, "runtime"),
        total_ios=total,
        short_ios=_int(obj, "short_ios"),
        drop_ios=_int(obj, "drop_ios"),
        slat=_latency_any(obj, "slat"),
        clat=_latency_any(obj, "clat"),
        lat=_latency_any(obj, "lat"),
        bw_min_bytes=_kib(obj, "bw_min"),
        bw_max_bytes=_kib(obj, "bw_max"),
        bw_mean_bytes=_kib(obj, "bw_mean"),
        bw_dev_bytes=_kib(obj, "bw_dev"),
        iops_min=_num(obj, "iops_min"),
        iops_max=_num(obj, "iops_max"),
        iops_mean=_num(obj, "iops_mean"),
        iops_stddev=_num(obj, "iops_stddev"),
    )


def _job(obj: Any) -> JobResult | None:
    if not isinstance(obj, Mapping):
        return None
    directions = tuple(stats for name in DIRECTIONS if (stats := _direction(name, obj.get(name))) is not None)
    return JobResult(
        name=_str(obj, "jobname") or "?",
        groupid=_int(obj, "groupid"),
        error=_int(obj, "error"),
        directions=directions,
        host=_str(obj, "hostname"),
        port=_int(obj, "port"),
        options=_options(obj, "job options"),
        runtime_ms=_int(obj, "job_runtime"),
        elapsed_s=_int(obj, "elapsed"),
        usr_cpu=_num(obj, "usr_cpu"),
        sys_cpu=_num(obj, "sys_cpu"),
        ctx=_int(obj, "ctx"),
        majf=_int(obj, "majf"),
        minf=_int(obj, "minf"),
    )


def _disk(obj: Any) -> DiskUtil | None:
    if not isinstance(obj, Mapping) or not _str(obj, "name"):
        return None
    return DiskUtil(
        name=_str(obj, "name") or "?",
        util=_num(obj, "util"),
        read_ios=_int(obj, "read_ios"),
        write_ios=_int(obj, "write_ios"),
        read_merges=_int(obj, "read_merges"),
        write_merges=_int(obj, "write_merges"),
        read_ticks=_int(obj, "read_ticks"),
        write_ticks=_int(obj, "write_ticks"),
        in_queue=_int(obj, "in_queue"),
        host=_str(obj, "hostname"),
    )


def _jobs(doc: Mapping[str, Any], key: str) -> tuple[JobResult, ...]:
    items = doc.get(key)
    if not isinstance(items, list):
        return ()
    return tuple(job for item in items if (job := _job(item)) is not None)


def split_output(text: str) -> tuple[tuple[str, ...], list[Mapping[str, Any]]]:
    """Split fio's stdout into the text lines before the JSON and the JSON documents.

    With ``--status-interval`` fio writes one document per interval and a last,
    final one; in client mode it prints ``<host> ...`` lines first.
    """
    decoder = json.JSONDecoder()
    docs: list[Mapping[str, Any]] = []
    preamble: list[str] = []
    pos = 0
    length = len(text)
    while pos < length:
        newline = text.find("\n", pos)
        end = length if newline < 0 else newline
        line = text[pos:end]
        if line.startswith("{"):
            try:
                doc, stop = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                if not docs:
                    preamble.append(line)
                pos = end + 1
                continue
            if isinstance(doc, Mapping):
                docs.append(doc)
            pos = stop
            continue
        if not docs and line.strip():
            preamble.append(line.rstrip("\r"))
        pos = end + 1
    return tuple(preamble), docs


def parse_results(text: str, *, source: Path | None = None) -> FioResults:
    """Read fio's output text (preamble lines and one or more JSON documents; the last counts)."""
    preamble, docs = split_output(text)
    where = f"{source}" if source else "fio output"
    if not docs:
        raise ResultsError(
            f"{where} holds no fio JSON document",
            hint="fio must run with --output-format=json or json+",
        )
    doc = docs[-1]
    if "jobs" not in doc and "client_stats" not in doc:
        raise ResultsError(f"{where} is JSON but not fio output (no jobs, no client_stats)")
    disks_raw = doc.get("disk_util")
    disks: tuple[DiskUtil, ...] = ()
    if isinstance(disks_raw, list):
        disks = tuple(d for item in disks_raw if (d := _disk(item)) is not None)
    return FioResults(
        fio_version=_str(doc, "fio version"),
        timestamp=_int(doc, "timestamp"),
        time=_str(doc, "time"),
        global_options=_options(doc, "global options"),
        jobs=_jobs(doc, "jobs"),
        client_stats=_jobs(doc, "client_stats"),
        disk_util=disks,
        preamble=preamble,
        source=source,
    )


def load_results(path: str | os.PathLike[str]) -> FioResults:
    """Read a fio output file, or the ``fio.json`` of a run folder."""
    target = Path(path)
    if target.is_dir():
        target = target / RESULTS_FILE
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise ResultsError(f"fio results {target} do not exist") from exc
    except OSError as exc:
        raise ResultsError(f"cannot read fio results {target}: {exc.strerror or exc}") from exc
    return parse_results(text, source=target)
