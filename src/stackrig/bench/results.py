"""A typed reader of fio's ``json`` / ``json+`` output, from fio 2.x to 3.3x.

Everything fio reports per job and direction is read into frozen dataclasses
(:mod:`stackrig.bench._fiotypes`): iops, bandwidth (bytes/s), io bytes, runtime,
slat/clat/lat statistics and percentiles (always nanoseconds), the clat histogram
bins of ``json+``, cpu, context switches, page faults, disk utilisation, the
``steadystate`` section, and in client/server mode the ``client_stats`` (one entry
per host and job, plus fio's ``All clients`` aggregate) with the text lines fio
prints before the JSON document.

Units are normalised here, once: fio before 2.21 wrote ``io_bytes`` in KiB (fio issue
#378), told apart by the version string and cross-checked against ``io_kbytes`` (2.21+),
``total_ios`` * the job's block size, or bandwidth * runtime when the version is missing
or disagrees; latencies without ``_ns`` (before 3.0) are microseconds; ``bw`` is KiB/s and
the ``steadystate`` bandwidth bytes/s. The files themselves are never changed.

The reader is forgiving by design: a field fio did not write (older 3.x, plain
``json``, the aggregate rows that carry no percentiles) is ``None`` or empty,
never a ``KeyError``. Only a file without any JSON document is an error
(:class:`ResultsError`, naming the file).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackrig.bench._fiotypes import (
    AGGREGATE_JOB,
    DIRECTIONS,
    IO_BYTES_IN_BYTES_SINCE,
    DirectionStats,
    DiskUtil,
    FioResults,
    JobResult,
    LatencyStats,
    SteadyState,
    parse_version,
)
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
    "SteadyState",
    "load_results",
    "looks_like_fio_json",
    "parse_results",
    "split_output",
]

RESULTS_FILE = "fio.json"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)


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


def _size_bytes(text: str | None) -> int | None:
    """fio's size syntax (``4k``, ``1m``, ``1310720``, ``4KiB``) in bytes; None when not one size."""
    match = _SIZE.match(text or "")
    if match is None:
        return None
    scale = 1024 ** " kmgtp".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * scale)


def _block_size(options: Mapping[str, str], direction: str) -> int | None:
    """The block size a job used in one direction (``bs=4k`` or ``bs=read,write[,trim]``)."""
    text = options.get("bs") or options.get("blocksize")
    if not text:
        return None
    parts = text.split(",")
    index = {"read": 0, "write": 1, "trim": 2}.get(direction, 0)
    return _size_bytes(parts[min(index, len(parts) - 1)] or parts[0])


def _io_bytes(obj: Any, version: tuple[int, ...] | None, bs: int | None) -> int | None:
    """``io_bytes`` in bytes, whatever the fio version wrote.

    2.21+ writes ``io_kbytes`` beside ``io_bytes`` (bytes). Otherwise the numbers decide when
    they can (``total_ios`` * block size, then bandwidth * runtime), and the version when
    they cannot.
    """
    raw = _int(obj, "io_bytes")
    kbytes = _num(obj, "io_kbytes")
    if raw is None:
        return None if kbytes is None else int(kbytes * 1024)
    if kbytes is not None or raw == 0:
        return raw
    evidence: list[float] = []
    total = _int(obj, "total_ios")
    if total and bs:
        evidence.append(total * bs)
    bw_kib, runtime_ms = _num(obj, "bw"), _num(obj, "runtime")
    if bw_kib and runtime_ms:
        evidence.append(bw_kib * 1024 * runtime_ms / 1000)
    for expected in evidence:
        as_bytes, as_kib = abs(math.log(raw / expected)), abs(math.log(raw * 1024 / expected))
        if min(as_bytes, as_kib) < math.log(4):  # within 4x one way and ~256x off the other
            return raw if as_bytes < as_kib else raw * 1024
    old = version is not None and version < IO_BYTES_IN_BYTES_SINCE
    return raw * 1024 if old else raw


def _direction(
    name: str, obj: Any, version: tuple[int, ...] | None = None, options: Mapping[str, str] | None = None
) -> DirectionStats | None:
    if not isinstance(obj, Mapping):
        return None
    total = _int(obj, "total_ios")
    io_bytes = _io_bytes(obj, version, _block_size(options or {}, name))
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


def _numbers(obj: Any, key: str) -> tuple[float, ...]:
    values = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(values, list):
        return ()
    return tuple(float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool))


def _steadystate(obj: Any) -> SteadyState | None:
    section = _map(obj, "steadystate")
    if not section:
        return None
    data = _map(section, "data")
    return SteadyState(
        criterion=_str(section, "ss") or "",
        duration_s=_int(section, "duration"),
        attained=bool(_int(section, "attained")),
        threshold=_str(section, "criterion"),
        max_deviation=_num(section, "max_deviation"),
        slope=_num(section, "slope"),
        bw_mean_bytes=_num(data, "bw_mean"),
        iops_mean=_num(data, "iops_mean"),
        lat_mean_ns=_num(data, "lat_mean"),
        bw_bytes=_numbers(data, "bw"),
        iops=_numbers(data, "iops"),
    )


def _job(
    obj: Any, version: tuple[int, ...] | None = None, global_options: Mapping[str, str] | None = None
) -> JobResult | None:
    if not isinstance(obj, Mapping):
        return None
    options = _options(obj, "job options")
    merged = {**(global_options or {}), **options}
    directions = tuple(
        stats
        for name in DIRECTIONS
        if (stats := _direction(name, obj.get(name), version, merged)) is not None
    )
    return JobResult(
        name=_str(obj, "jobname") or "?",
        groupid=_int(obj, "groupid"),
        error=_int(obj, "error"),
        directions=directions,
        host=_str(obj, "hostname"),
        port=_int(obj, "port"),
        options=options,
        runtime_ms=_int(obj, "job_runtime"),
        elapsed_s=_int(obj, "elapsed"),
        usr_cpu=_num(obj, "usr_cpu"),
        sys_cpu=_num(obj, "sys_cpu"),
        ctx=_int(obj, "ctx"),
        majf=_int(obj, "majf"),
        minf=_int(obj, "minf"),
        steadystate=_steadystate(obj),
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


def _jobs(
    doc: Mapping[str, Any], key: str, version: tuple[int, ...] | None, global_options: Mapping[str, str]
) -> tuple[JobResult, ...]:
    items = doc.get(key)
    if not isinstance(items, list):
        return ()
    return tuple(job for item in items if (job := _job(item, version, global_options)) is not None)


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
    version_text = _str(doc, "fio version")
    version = parse_version(version_text)
    global_options = _options(doc, "global options")
    return FioResults(
        fio_version=version_text,
        timestamp=_int(doc, "timestamp"),
        time=_str(doc, "time"),
        global_options=global_options,
        jobs=_jobs(doc, "jobs", version, global_options),
        client_stats=_jobs(doc, "client_stats", version, global_options),
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


def looks_like_fio_json(head: bytes) -> bool:
    """True when the first bytes of a file read like fio's JSON output (for naming a bad one)."""
    text = head.decode("utf-8", "replace")
    return "{" in text and any(key in text for key in ('"fio version"', '"jobs"', '"client_stats"'))
