"""The types of a fio result document, and fio's version number.

See :mod:`stackrig.bench.results` for the reader that fills them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "AGGREGATE_JOB",
    "DIRECTIONS",
    "DirectionStats",
    "DiskUtil",
    "FioResults",
    "JobResult",
    "LatencyStats",
    "SteadyState",
    "fio_messages",
    "parse_version",
]

#: The directions fio reports per job; ``mixed`` with ``unified_rw_reporting``.
DIRECTIONS = ("read", "write", "trim", "sync", "mixed")
AGGREGATE_JOB = "All clients"
#: fio 2.21 changed ``io_bytes`` from KiB to bytes (fio issue #378).
IO_BYTES_IN_BYTES_SINCE = (2, 21)

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_MESSAGE = re.compile(r"^(fio: |.*\berr(or)?=|.*: you need|.*\bfailed\b|.*: no such file)", re.IGNORECASE)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``fio-2.18-59-g618e`` → (2, 18); ``fio-2.2.10`` → (2, 2, 10); None when there is no number."""
    match = _VERSION.search(text or "")
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def fio_messages(lines: list[str] | tuple[str, ...]) -> list[str]:
    """The lines of fio's text that report a problem (``fio: ...``, ``err=22/...``), in order, once."""
    found = [line.strip() for line in lines if line.strip() and _MESSAGE.match(line.strip())]
    return list(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class SteadyState:
    """fio's ``steadystate`` section: the criterion, whether it was attained, the last window.

    fio reports this section's bandwidth in bytes per second (unlike ``bw``, in KiB/s).
    """

    criterion: str
    """fio's spec, e.g. ``iops_slope:0.1%`` (``ss`` in the JSON)."""
    duration_s: int | None
    attained: bool
    threshold: str | None = None
    max_deviation: float | None = None
    slope: float | None = None
    bw_mean_bytes: float | None = None
    iops_mean: float | None = None
    lat_mean_ns: float | None = None
    bw_bytes: tuple[float, ...] = ()
    iops: tuple[float, ...] = ()


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
    steadystate: SteadyState | None = None

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
    """Text lines fio printed before the JSON (client mode: ``<host> ...`` lines; fio's
    complaints when its stderr went into the same file)."""
    source: Path | None = None

    @property
    def version(self) -> tuple[int, ...] | None:
        return parse_version(self.fio_version)

    @property
    def failed_jobs(self) -> tuple[JobResult, ...]:
        return tuple(job for job in self.all_jobs if job.error)

    def failure(self, stderr: str = "") -> str | None:
        """fio's own account of the failed jobs (error number, its meaning, fio's messages), or None."""
        failed = self.failed_jobs
        if not failed:
            return None
        parts = []
        for job in failed:
            code = job.error or 0
            meaning = os.strerror(code) if 0 < code < 256 else "unknown error"
            where = f" on {job.host}" if job.host else ""
            parts.append(f"job {job.name}{where}: error {code} ({meaning})")
        said = fio_messages([*self.preamble, *stderr.splitlines()])
        text = "; ".join(dict.fromkeys(parts))
        return f"{text}; fio said: {' | '.join(said)}" if said else text

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
