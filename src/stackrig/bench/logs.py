"""A fast reader of every log fio writes: bw, iops, lat, clat, slat and clat histogram logs.

fio's logs are comma separated integers, one row per sample::

    time (ms), value, [value1,] ddir, bs, [offset,] [priority,] [issue time (ns)]

- ``value`` is KiB/s (bw), I/Os per second (iops) or nanoseconds (lat, clat, slat);
  with ``log_avg_msec`` it is the mean over the window, or its maximum (``log_max_value``,
  ``log_window_value=max``); with ``log_window_value=both`` (fio 3.36+) the mean and
  then the maximum (``value1``) are both written.
- ``offset`` is there with ``log_offset=1``; ``issue time`` with ``log_issue_time=1``
  (fio 3.37+); the priority is decimal (0/1, high-priority flag) or, with ``log_prio=1``,
  hexadecimal (``0x2004``: class in the top 3 bits, level in the low 13). fio before 3.20
  wrote no priority at all (4 or 5 columns).
- Histogram logs (``log_hist_msec``, named ``*_clat_hist.*``) hold ``time, ddir, bs`` and
  then ``1856 >> log_hist_coarseness`` bins with the count of completions in each bin
  during the interval.

Names are read by :mod:`stackrig.bench.lognames`; the text is parsed by
:mod:`stackrig.bench._logparse`.

The reader is vectorised: the text is parsed by numpy in C, 1 MiB at a time, straight into
compact column arrays (8 bytes for time and value, 1 for the direction, 4 for the block size),
so memory stays near 25 bytes per sample. A line that does not parse is a
:class:`LogFormatError` naming the file and the line. A log that is empty, or only zeros
(what ``gtod_reduce=1`` leaves), has :attr:`FioLog.no_data` set: say so, do not plot it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig.bench._logparse import LogFormatError, bad_line, hex_column, read_matrix
from stackrig.bench.lognames import KINDS, LogName, find_logs, parse_log_name

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "HIST_BINS",
    "KINDS",
    "FioHistLog",
    "FioLog",
    "LogFormatError",
    "LogName",
    "direction_name",
    "find_logs",
    "hist_bin_values",
    "parse_log_name",
    "read_any",
    "read_hist_log",
    "read_log",
]

#: Number of latency bins of fio's histogram (FIO_IO_U_PLAT_NR = 29 groups x 64).
HIST_BINS = 1856
_PLAT_BITS = 6
_PLAT_VAL = 1 << _PLAT_BITS
_DIRECTIONS = ("read", "write", "trim")


# ---------------------------------------------------------------- layouts

# The columns a row can hold, in fio's order. Layout candidates per column count are
# tried in this order; the first consistent with the data wins (options override).
_ORDER = ("time", "value", "value1", "ddir", "bs", "offset", "prio", "issue")


def _layouts(ncols: int) -> list[tuple[str, ...]]:
    """Possible column layouts of a row with ``ncols`` values, most likely first."""
    if ncols == 2:
        return [("time", "value")]
    if ncols == 3:
        return [("time", "value", "ddir")]
    if ncols == 4:
        return [("time", "value", "ddir", "bs")]
    out: list[tuple[str, ...]] = []
    optional = ("value1", "offset", "issue")
    # fio 3.20+: prio always there, plus any of the optional columns.
    extra = ncols - 5
    if 0 <= extra <= 3:
        from itertools import combinations

        # Prefer the options fio 3.33 can write (offset), then window both, then issue time.
        for combo in combinations(optional, extra):
            cols = {"time", "value", "ddir", "bs", "prio", *combo}
            out.append(tuple(c for c in _ORDER if c in cols))
    if ncols == 5:  # fio before 3.20 with log_offset=1 (no priority column)
        out.append(("time", "value", "ddir", "bs", "offset"))
    return out


def _consistent(cols: tuple[str, ...], mat: npt.NDArray[np.int64], hex_col: int | None) -> bool:
    import numpy as np

    idx = {name: i for i, name in enumerate(cols)}
    if hex_col is not None and idx.get("prio") != hex_col:
        return False
    if mat.shape[0] == 0:
        return True
    if "ddir" in idx:
        d = mat[:, idx["ddir"]]
        if d.min() < 0 or d.max() > 2:
            return False
    if "prio" in idx and hex_col is None and mat[:, idx["prio"]].max() > 0xFFFF:
        return False
    if "value1" in idx and bool(np.any(mat[:, idx["value1"]] < mat[:, idx["value"]])):
        return False
    windowed = "bs" in idx and not bool(np.any(mat[:, idx["bs"]]))
    # fio writes both values only for windowed logs, where bs is 0
    return not ("value1" in idx and not windowed)


def _forced_layout(
    ncols: int, offset: bool | None, issue_time: bool | None, window_both: bool | None
) -> list[tuple[str, ...]]:
    keep = []
    for cols in _layouts(ncols):
        if offset is not None and ("offset" in cols) != offset:
            continue
        if issue_time is not None and ("issue" in cols) != issue_time:
            continue
        if window_both is not None and ("value1" in cols) != window_both:
            continue
        keep.append(cols)
    return keep


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, eq=False)
class FioLog:
    """One bw/iops/lat/clat/slat log as column arrays (one entry per row)."""

    name: LogName
    columns: tuple[str, ...]
    time_ms: npt.NDArray[np.int64]
    value: npt.NDArray[np.int64]
    ddir: npt.NDArray[np.int8]
    bs: npt.NDArray[np.uint32]
    value1: npt.NDArray[np.int64] | None = None
    offset: npt.NDArray[np.int64] | None = None
    prio: npt.NDArray[np.int32] | None = None
    issue_ns: npt.NDArray[np.int64] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str:
        return self.name.kind

    @property
    def unit(self) -> str:
        return KINDS[self.name.kind]

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])

    @property
    def no_data(self) -> bool:
        """True for an empty log or one of zeros only (``gtod_reduce=1``)."""
        return len(self) == 0 or not (self.time_ms.any() or self.value.any())

    @property
    def windowed(self) -> bool:
        """True when fio averaged (or took the maximum) over ``log_avg_msec`` windows."""
        return len(self) > 0 and "bs" in self.columns and not bool(self.bs.any())

    @property
    def directions(self) -> list[int]:
        # three comparisons beat np.unique's sort of a million values
        return [d for d in (0, 1, 2) if bool((self.ddir == d).any())]

    def select(self, ddir: int) -> FioLog:
        """The rows of one data direction (0 read, 1 write, 2 trim)."""
        mask = self.ddir == ddir

        def pick(a: Any) -> Any:
            return None if a is None else a[mask]

        return FioLog(
            name=self.name,
            columns=self.columns,
            time_ms=self.time_ms[mask],
            value=self.value[mask],
            ddir=self.ddir[mask],
            bs=self.bs[mask],
            value1=pick(self.value1),
            offset=pick(self.offset),
            prio=pick(self.prio),
            issue_ns=pick(self.issue_ns),
            notes=self.notes,
        )

    @property
    def nbytes(self) -> int:
        arrays = (self.time_ms, self.value, self.ddir, self.bs, self.value1, self.offset, self.prio)
        return sum(a.nbytes for a in (*arrays, self.issue_ns) if a is not None)


def direction_name(ddir: int) -> str:
    return _DIRECTIONS[ddir] if 0 <= ddir < len(_DIRECTIONS) else f"ddir{ddir}"


@dataclass(frozen=True, slots=True, eq=False)
class FioHistLog:
    """A clat histogram log: per interval and direction, counts per latency bin."""

    name: LogName
    time_ms: npt.NDArray[np.int64]
    ddir: npt.NDArray[np.int8]
    bs: npt.NDArray[np.uint32]
    counts: npt.NDArray[np.int64]  # shape (rows, bins)
    coarseness: int

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])

    @property
    def bin_ns(self) -> npt.NDArray[np.float64]:
        """The latency (ns) each bin stands for (the middle of its range)."""
        return hist_bin_values(self.counts.shape[1], self.coarseness)

    @property
    def no_data(self) -> bool:
        return len(self) == 0 or not bool(self.counts.any())


def _plat_idx_to_val(idx: npt.NDArray[np.int64], edge: float) -> npt.NDArray[np.float64]:
    import numpy as np

    idx = np.asarray(idx, dtype=np.int64)
    out = idx.astype(np.float64) + edge  # below 128 a bin is 1 ns wide: [idx, idx + 1)
    big = idx >= (_PLAT_VAL << 1)
    error_bits = (idx[big] >> _PLAT_BITS) - 1
    base = np.left_shift(1, error_bits + _PLAT_BITS).astype(np.float64)
    k = idx[big] % _PLAT_VAL
    out[big] = base + (k + edge) * np.left_shift(1, error_bits).astype(np.float64)
    return out


def hist_bin_values(nbins: int, coarseness: int = 0) -> npt.NDArray[np.float64]:
    """Latency (ns) at the middle of each of ``nbins`` bins (fio's stat.h plat_idx_to_val)."""
    import numpy as np

    stride = 1 << coarseness
    idx = np.arange(nbins, dtype=np.int64) * stride
    lower = _plat_idx_to_val(idx, 0.0)
    upper = _plat_idx_to_val(idx + stride - 1, 1.0)
    return lower + (upper - lower) * 0.5


# ---------------------------------------------------------------- parsing


def read_log(
    path: str | Path,
    *,
    offset: bool | None = None,
    issue_time: bool | None = None,
    window_both: bool | None = None,
) -> FioLog:
    """Read a bw/iops/lat/clat/slat log.

    The layout is found from the number of columns and the values; ``offset``,
    ``issue_time`` and ``window_both`` (from the job's ``log_offset``,
    ``log_issue_time`` and ``log_window_value=both``) settle it when given.
    """
    import numpy as np

    p = Path(path)
    name = parse_log_name(p) or LogName(path=p, prefix=p.stem, kind="lat", job=None, host=None)
    if name.is_hist:
        raise LogFormatError(f"{p} is a histogram log: read it with read_hist_log")
    chunks, nrows, ncols, first = read_matrix(p)
    if nrows and not 2 <= ncols <= 8:
        raise bad_line(p, 1, first, f"{ncols} fields; fio logs have 2 to 8")
    candidates = _forced_layout(ncols, offset, issue_time, window_both) if nrows else []
    if nrows and not candidates:
        raise bad_line(p, 1, first, f"{ncols} fields do not fit the given log options")
    cols, arrays = _columns(p, chunks, candidates, nrows, first)
    if cols is None or arrays is None:
        cols = ("time", "value", "ddir", "bs")
        arrays = {c: np.empty(0, dtype=_DTYPES[c]) for c in cols}
    if "ddir" not in arrays:
        arrays["ddir"] = np.zeros(nrows, dtype=np.int8)
    if "bs" not in arrays:
        arrays["bs"] = np.zeros(nrows, dtype=np.uint32)
    return FioLog(
        name=name,
        columns=cols,
        time_ms=arrays["time"],
        value=arrays["value"],
        ddir=arrays["ddir"],
        bs=arrays["bs"],
        value1=arrays.get("value1"),
        offset=arrays.get("offset"),
        prio=arrays.get("prio"),
        issue_ns=arrays.get("issue"),
    )


def _columns(
    p: Path,
    chunks: Iterator[tuple[int, npt.NDArray[np.int64]]],
    candidates: list[tuple[str, ...]],
    nrows: int,
    first: bytes,
) -> tuple[tuple[str, ...] | None, dict[str, Any] | None]:
    """The layout (settled by the first chunk) and the column arrays of the whole log."""
    import numpy as np

    arrays: dict[str, Any] | None = None
    cols: tuple[str, ...] | None = None
    hex_col = hex_column(first)
    for start, mat in chunks:
        if cols is None:
            cols = next((c for c in candidates if _consistent(c, mat, hex_col)), None)
            if cols is None:
                raise bad_line(p, int(start) + 1, first, "values do not fit any fio log layout")
            # numpy's C reader takes the whole file; the chunked one does hex and names bad lines
            arrays = _loadtxt(p, cols, nrows) if hex_col is None else None
            if arrays is not None:
                break
            arrays = {c: np.empty(nrows, dtype=_DTYPES[c]) for c in cols}
        if arrays is not None:
            for i, c in enumerate(cols):
                arrays[c][start : start + mat.shape[0]] = mat[:, i]
    if arrays is not None and "ddir" in arrays:
        _check_directions(p, arrays["ddir"])
    return cols, arrays


def _loadtxt(path: Path, cols: tuple[str, ...], nrows: int) -> dict[str, Any] | None:
    """The whole log through numpy's C reader into one compact record array; None if it balks.

    A row count that differs from the line count (a blank line) or any parse error sends
    the caller to the chunked reader, which names the file and line.
    """
    import numpy as np

    dtype = np.dtype([(c, _DTYPES[c]) for c in cols])
    try:
        table = np.loadtxt(path, delimiter=",", dtype=dtype, comments=None, ndmin=1)
    except (ValueError, OverflowError):
        return None
    if table.shape[0] != nrows:
        return None
    return {c: table[c] for c in cols}


def _check_directions(path: Path, ddir: npt.NDArray[np.int8]) -> None:
    import numpy as np

    bad = np.flatnonzero((ddir < 0) | (ddir > 2))
    if bad.shape[0]:
        line = int(bad[0]) + 1
        raise LogFormatError(f"{path}, line {line}: data direction {int(ddir[bad[0]])} is not 0, 1 or 2")


def _dtype(name: str) -> Any:
    import numpy as np

    return {"ddir": np.int8, "bs": np.uint32, "prio": np.int32}.get(name, np.int64)


class _Dtypes(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        value = _dtype(key)
        self[key] = value
        return value


_DTYPES = _Dtypes()


def read_hist_log(path: str | Path) -> FioHistLog:
    """Read a clat histogram log (``log_hist_msec``); any ``log_hist_coarseness``."""
    import numpy as np

    p = Path(path)
    name = parse_log_name(p) or LogName(path=p, prefix=p.stem, kind="clat_hist", job=None, host=None)
    chunks, nrows, ncols, first = read_matrix(p)
    nbins = ncols - 3
    coarseness = 0
    if nrows:
        while (HIST_BINS >> coarseness) > nbins and coarseness < 6:
            coarseness += 1
        if nbins <= 0 or (HIST_BINS >> coarseness) != nbins:
            raise bad_line(p, 1, first, f"{nbins} bins; fio writes 1856 >> coarseness (0..6)")
    time_ms = np.empty(nrows, dtype=np.int64)
    ddir = np.empty(nrows, dtype=np.int8)
    bs = np.empty(nrows, dtype=np.uint32)
    counts = np.empty((nrows, max(nbins, 0)), dtype=np.int64)
    for start, mat in chunks:
        end = start + mat.shape[0]
        time_ms[start:end] = mat[:, 0]
        ddir[start:end] = mat[:, 1]
        bs[start:end] = mat[:, 2]
        counts[start:end] = mat[:, 3:]
    if nrows and (ddir.min() < 0 or ddir.max() > 2):
        raise bad_line(p, int(np.argmax((ddir < 0) | (ddir > 2))) + 1, first, "direction not 0, 1 or 2")
    return FioHistLog(name=name, time_ms=time_ms, ddir=ddir, bs=bs, counts=counts, coarseness=coarseness)


def read_any(path: str | Path) -> FioLog | FioHistLog:
    """Read a log of any kind, chosen by its name."""
    name = parse_log_name(path)
    if name is not None and name.is_hist:
        return read_hist_log(path)
    return read_log(path)
