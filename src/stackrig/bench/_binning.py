"""Samples of fio logs binned into time windows: what the plots, the report and the dashboard draw.

A million per-I/O samples become at most a few thousand points (mean, min and max per
window), so a graph draws in well under a second and a browser chart stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackrig.bench.logs import FioHistLog, FioLog, direction_name

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = [
    "PERCENTILES",
    "Series",
    "auto_window_ms",
    "bin_log",
    "hist_percentiles",
    "log_percentiles",
    "moving_average",
    "sum_series",
    "total_label",
]

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """One job and direction, binned: time (s, window ends) and per-window mean, min, max."""

    label: str
    direction: str
    t: Floats
    mean: Floats
    lo: Floats
    hi: Floats
    count: Floats
    window_ms: int

    def __len__(self) -> int:
        return int(self.t.shape[0])


def auto_window_ms(logs: list[FioLog], max_points: int = 800) -> int:
    """A window (ms) giving at most ``max_points`` per series, never finer than the log's own."""
    import numpy as np

    span = 0
    finest = 1
    for log in logs:
        if len(log):
            span = max(span, int(log.time_ms.max()))
            if log.windowed and len(log) > 1:
                steps = np.diff(_distinct(log.time_ms))
                if steps.shape[0]:
                    finest = max(finest, int(np.median(steps)))
    window = max(finest, -(-span // max_points) if span else 1)
    # round to a readable step: 1, 2, 5 x 10^n ms
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000):
        if step >= window:
            return step
    return window


def bin_log(
    log: FioLog,
    window_ms: int,
    *,
    min_ms: float | None = None,
    max_ms: float | None = None,
) -> list[Series]:
    """One series per data direction of ``log``; empty windows are left out."""
    import numpy as np

    out: list[Series] = []
    directions = log.directions
    for ddir in directions:
        if len(directions) > 1:  # only the two columns binned, not the whole log
            # take() by index is twice as fast as a boolean mask on the reader's strided columns
            rows = np.flatnonzero(log.ddir == ddir)
            t, v = log.time_ms.take(rows), log.value.take(rows)
        else:
            t, v = log.time_ms, log.value
        if min_ms is not None or max_ms is not None:
            keep = np.ones(t.shape[0], dtype=bool)
            if min_ms is not None:
                keep &= t >= min_ms
            if max_ms is not None:
                keep &= t <= max_ms
            t, v = t[keep], v[keep]
        if t.shape[0] == 0:
            continue
        ends, starts = _windows(t, window_ms)
        if starts is None:  # out of time order: sort by window
            b = (t + window_ms - 1) // window_ms
            order = np.argsort(b, kind="stable")
            b, v = b[order], v[order]
            starts = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
            ends = b[starts]
        counts = np.diff(np.append(starts, t.shape[0]))
        # reduced in the log's integers; only the few thousand results become floats
        sums = np.add.reduceat(v, starts).astype(np.float64)
        out.append(
            Series(
                label=log.name.label,
                direction=direction_name(ddir),
                t=ends.astype(np.float64) * window_ms / 1000.0,
                mean=sums / counts,
                lo=np.minimum.reduceat(v, starts).astype(np.float64),
                hi=np.maximum.reduceat(v, starts).astype(np.float64),
                count=counts.astype(np.float64),
                window_ms=window_ms,
            )
        )
    return out


def _windows(t: npt.NDArray[np.int64], window_ms: int) -> tuple[Any, Any]:
    """For time-ordered ``t``: each non-empty window's number and its first index; else (None, None).

    A window numbered k holds the samples in ((k - 1) * w, k * w]. fio writes its logs in
    time order, so a binary search per window boundary replaces a division per sample.
    """
    import numpy as np

    if t.shape[0] > 1 and not bool((t[1:] >= t[:-1]).all()):
        return None, None
    first, last = (int(t[0]) + window_ms - 1) // window_ms, (int(t[-1]) + window_ms - 1) // window_ms
    numbers = np.arange(first, last + 1, dtype=np.int64)
    starts = np.searchsorted(t, (numbers - 1) * window_ms, side="right")
    nonempty = np.append(starts[1:], t.shape[0]) > starts
    return numbers[nonempty], starts[nonempty]


def _distinct(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The sorted distinct values (np.unique, without its 7 ms import of numpy.ma)."""
    import numpy as np

    ordered = np.sort(values)
    if ordered.shape[0] == 0:
        return ordered
    keep = np.empty(ordered.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    result: npt.NDArray[Any] = ordered[keep]
    return result


def total_label(series: list[Series]) -> str:
    """What a sum of ``series`` is called: "read + write" for one job, else "total of all jobs"."""
    if len({s.label for s in series}) > 1:
        return "total of all jobs"
    return " + ".join(s.direction for s in series)


def sum_series(series: list[Series]) -> tuple[Floats, Floats]:
    """The sum over series of their window means, on the union of their windows."""
    import numpy as np

    if not series:
        return np.empty(0), np.empty(0)
    t = _distinct(np.concatenate([s.t for s in series]))
    total = np.zeros(t.shape[0])
    for s in series:
        total[np.searchsorted(t, s.t)] += s.mean
    return t, total


def moving_average(values: Floats, points: int) -> Floats:
    """A centred moving average over ``points`` values (shorter at the ends)."""
    import numpy as np

    n = values.shape[0]
    if n == 0 or points <= 1:
        return values.astype(np.float64)
    kernel = np.ones(min(points, n))
    num = np.convolve(values, kernel, mode="same")
    den = np.convolve(np.ones(n), kernel, mode="same")
    result: Floats = num / den
    return result


def log_percentiles(
    log: FioLog, window_ms: int, percentiles: tuple[float, ...] = PERCENTILES
) -> tuple[Floats, Floats]:
    """Per window: time (s) and the latency percentiles (rows) of a per-I/O log, all directions."""
    import numpy as np

    if len(log) == 0:
        return np.empty(0), np.empty((len(percentiles), 0))
    b = (log.time_ms + window_ms - 1) // window_ms
    order = np.lexsort((log.value, b))
    b, v = b[order], log.value[order].astype(np.float64)
    starts = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
    counts = np.diff(np.append(starts, b.shape[0]))
    rows = []
    for q in percentiles:
        pos = starts + np.floor((q / 100.0) * (counts - 1)).astype(np.int64)
        rows.append(v[pos])
    return b[starts] * window_ms / 1000.0, np.vstack(rows)


def hist_percentiles(hist: FioHistLog, percentiles: tuple[float, ...] = PERCENTILES) -> tuple[Floats, Floats]:
    """Per interval: time (s) and latency percentiles (ns) from a histogram log (directions summed)."""
    import numpy as np

    if len(hist) == 0:
        return np.empty(0), np.empty((len(percentiles), 0))
    times, inverse = np.unique(hist.time_ms, return_inverse=True)
    counts = np.zeros((times.shape[0], hist.counts.shape[1]), dtype=np.int64)
    np.add.at(counts, inverse, hist.counts)
    cum = np.cumsum(counts, axis=1)
    total = cum[:, -1]
    values = hist.bin_ns
    rows = []
    for q in percentiles:
        target = np.maximum(np.ceil(total * q / 100.0), 1)
        idx = (cum < target[:, None]).sum(axis=1)
        idx = np.minimum(idx, values.shape[0] - 1)
        row = values[idx]
        row[total == 0] = np.nan
        rows.append(row)
    return times / 1000.0, np.vstack(rows)
