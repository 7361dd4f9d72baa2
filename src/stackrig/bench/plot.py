"""Graphs of fio logs, with fio2gnuplot's flags (matplotlib, Agg, imported only when drawing).

fio2gnuplot's meanings are kept so the seed's commands work verbatim:
``-t`` title, ``-b`` bandwidth logs, ``-i`` IOPS logs, ``-g`` (accepted; we always render),
``-p`` a shell pattern selecting log files, ``-o`` an output basename, ``-d`` the output
folder, ``-m``/``-M`` a time window in seconds. stackrig adds ``--lat`` (lat/clat/slat
logs), ``--percentiles`` (latency percentiles over time), ``--hist`` (completion-latency
histogram and CDF), ``--format png|svg``, ``--window`` (the binning window) and ``--size``.

Graphs: a time series per kind with one line per job and direction, the min/max band of
each window, the sum over jobs (bandwidth, IOPS) and a moving average; latency percentiles
over time; the clat histogram with its CDF; IOPS against latency. Per-I/O logs are binned
(see :mod:`stackrig.bench._binning`), so a million samples draw in a fraction of a second.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stackrig import _io
from stackrig.bench import _binning as binning
from stackrig.bench.logs import (
    FioHistLog,
    FioLog,
    LogFormatError,
    LogName,
    find_logs,
    read_hist_log,
    read_log,
)
from stackrig.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["PlotResult", "PlotSettings", "parse_duration_ms", "parse_size", "plot"]

Format = Literal["png", "svg"]
LAT_KINDS = ("lat", "clat", "slat")
_TITLES = {
    "bw": "bandwidth",
    "iops": "IOPS",
    "lat": "total latency (lat)",
    "clat": "completion latency (clat)",
    "slat": "submission latency (slat)",
}
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True, slots=True)
class PlotSettings:
    """What to draw; built by ``stackrig bench plot`` from fio2gnuplot-style flags."""

    source: Path
    title: str | None = None
    bandwidth: bool = False
    iops: bool = False
    latency: bool = False
    percentiles: bool = False
    hist: bool = False
    pattern: str | None = None
    basename: str | None = None
    outdir: Path | None = None
    min_time: float | None = None
    max_time: float | None = None
    fmt: Format = "png"
    window_ms: int | None = None
    size: tuple[int, int] = (1280, 720)


@dataclass(frozen=True, slots=True)
class PlotResult:
    """The files written, the logs read, and the logs that held no data (said, not plotted)."""

    files: tuple[Path, ...]
    logs: tuple[str, ...]
    samples: int
    no_data: tuple[str, ...] = field(default=())
    window_ms: int = 0


def parse_duration_ms(text: str) -> int:
    """``500ms``, ``2s``, ``1m`` or a bare number of seconds, in milliseconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text)
    if match is None:
        raise UsageError(f"invalid duration {text!r}", hint="write it like 500ms, 2s or 1m")
    value = float(match.group(1)) * {"ms": 1, "s": 1000, "m": 60000, None: 1000}[match.group(2)]
    if value < 1:
        raise UsageError(f"duration {text!r} is shorter than 1 ms")
    return int(value)


def parse_size(text: str) -> tuple[int, int]:
    """``1280x720`` in pixels."""
    match = re.fullmatch(r"\s*(\d{2,5})\s*[xX]\s*(\d{2,5})\s*", text)
    if match is None:
        raise UsageError(f"invalid size {text!r}", hint="write it as WIDTHxHEIGHT in pixels, e.g. 1280x720")
    width, height = int(match.group(1)), int(match.group(2))
    if not (100 <= width <= 10000 and 100 <= height <= 10000):
        raise UsageError(f"size {text!r} out of range (100 to 10000 pixels per side)")
    return width, height


# ---------------------------------------------------------------- units


def _scale(kind: str, peak: float) -> tuple[float, str]:
    """Divisor and unit label for values of ``kind`` whose largest is ``peak``."""
    if kind == "bw":  # KiB/s
        if peak >= 10 * 1024 * 1024:
            return 1024.0 * 1024.0, "GiB/s"
        if peak >= 10 * 1024:
            return 1024.0, "MiB/s"
        return 1.0, "KiB/s"
    if kind == "iops":
        return 1.0, "IOPS"
    # nanoseconds
    if peak >= 10e9:
        return 1e9, "s"
    if peak >= 10e6:
        return 1e6, "ms"
    if peak >= 10e3:
        return 1e3, "µs"
    return 1.0, "ns"


def _run_name(folder: Path) -> str:
    """A run folder's name from its meta.json, else the folder's name."""
    import json

    try:
        name = json.loads((folder / "meta.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else folder.resolve().name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "fio"


# ---------------------------------------------------------------- selection


def _selected_kinds(s: PlotSettings) -> set[str]:
    kinds: set[str] = set()
    if s.bandwidth:
        kinds.add("bw")
    if s.iops:
        kinds.add("iops")
    if s.latency:
        kinds.update(LAT_KINDS)
    return kinds


def _default_pattern(s: PlotSettings) -> str:
    if s.pattern:
        return s.pattern
    flags = [s.bandwidth, s.iops, s.latency]
    if sum(flags) == 1:
        if s.bandwidth:
            return "*_bw.*"
        if s.iops:
            return "*_iops.*"
    return "*"


@dataclass(slots=True)
class _Loaded:
    logs: dict[str, list[FioLog]] = field(default_factory=dict)
    hists: list[FioHistLog] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    no_data: list[str] = field(default_factory=list)
    samples: int = 0


def _load(s: PlotSettings) -> _Loaded:
    if not s.source.is_dir():
        raise UsageError(f"{s.source} is not a folder", hint="give a run folder or a folder of fio logs")
    pattern = _default_pattern(s)
    names = find_logs(s.source, pattern)
    if not names:
        raise UsageError(
            f"no fio logs match {pattern!r} in {s.source}",
            hint="fio writes them with write_bw_log/write_iops_log/write_lat_log/write_hist_log",
        )
    kinds = _selected_kinds(s)
    wants_hist = s.hist or s.percentiles or not kinds
    hints = log_hints(s.source)
    loaded = _Loaded()
    for name in names:
        if name.is_hist:
            if wants_hist:
                _add_hist(loaded, name)
            continue
        if kinds and name.kind not in kinds and not (name.kind in LAT_KINDS and (s.hist or s.percentiles)):
            continue
        log = _read_with_hints(name, hints)
        loaded.names.append(name.path.name)
        if log.no_data:
            loaded.no_data.append(name.path.name)
            continue
        loaded.samples += len(log)
        loaded.logs.setdefault(name.kind, []).append(log)
    if not loaded.names:
        raise UsageError(f"no log of the asked kinds matches {pattern!r} in {s.source}")
    return loaded


def _flag(options: dict[str, str], key: str) -> bool | None:
    value = options.get(key)
    if value is None:
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")


def log_hints(folder: Path) -> dict[int, dict[str, bool | None]]:
    """Per job number, the log layout options its job set (from the run's fio.json), if known.

    Settles the layouts that column counts leave open (``log_offset``, ``log_issue_time``,
    ``log_window_value=both``); without a fio.json the reader works them out from the values.
    """
    from stackrig.bench.results import ResultsError, load_results

    if not (folder / "fio.json").is_file():
        return {}
    try:
        results = load_results(folder)
    except ResultsError:
        return {}
    if results.group_reporting:  # jobs are merged in fio.json: numbers no longer match the logs
        return {}
    hints: dict[int, dict[str, bool | None]] = {}
    for number, job in enumerate(results.jobs, start=1):
        options = {**results.global_options, **job.options}
        window = options.get("log_window_value")
        hints[number] = {
            "offset": _flag(options, "log_offset"),
            "issue_time": _flag(options, "log_issue_time"),
            "window_both": None if window is None else window.strip().lower() in ("both", "2"),
        }
    return hints


def _read_with_hints(name: LogName, hints: dict[int, dict[str, bool | None]]) -> FioLog:
    given = hints.get(name.job or 0)
    if given:
        try:
            return read_log(name.path, **given)
        except LogFormatError:
            pass  # the options did not fit (an edited job?): let the values decide, or name the line
    return read_log(name.path)


def _add_hist(loaded: _Loaded, name: LogName) -> None:
    hist = read_hist_log(name.path)
    loaded.names.append(name.path.name)
    if hist.no_data:
        loaded.no_data.append(name.path.name)
    else:
        loaded.samples += len(hist)
        loaded.hists.append(hist)


# ---------------------------------------------------------------- drawing


def _figure(s: PlotSettings) -> Any:
    from matplotlib.figure import Figure

    width, height = s.size
    fig = Figure(figsize=(width / 100.0, height / 100.0), dpi=100)
    # fixed margins (in pixels) instead of a layout engine, which draws every figure twice
    fig.subplots_adjust(
        left=min(0.3, 80 / width), right=1 - min(0.3, 80 / width), bottom=min(0.3, 55 / height),
        top=1 - min(0.3, 35 / height),
    )  # fmt: skip
    return fig


def _save(fig: Any, path: Path, fmt: Format) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
    return _io.atomic_write(path, buf.getvalue())


def _style(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def _timeseries(kind: str, logs: list[FioLog], s: PlotSettings, window: int, title: str) -> Any:
    lo_ms = s.min_time * 1000 if s.min_time is not None else None
    hi_ms = s.max_time * 1000 if s.max_time is not None else None
    series = [x for log in logs for x in binning.bin_log(log, window, min_ms=lo_ms, max_ms=hi_ms)]
    peak = max((float(x.hi.max()) for x in series if len(x)), default=1.0)
    additive = kind in ("bw", "iops")
    if additive and len(series) > 1:
        sum_t, sum_v = binning.sum_series(series)
        peak = max(peak, float(sum_v.max()) if sum_v.shape[0] else 0.0)
    div, unit = _scale(kind, peak)
    fig = _figure(s)
    ax = fig.subplots()
    smooth = max(3, len(series[0]) // 40) if series else 3
    for i, x in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        ax.fill_between(x.t, x.lo / div, x.hi / div, color=color, alpha=0.15, linewidth=0)
        ax.plot(x.t, x.mean / div, color=color, linewidth=1.0, label=f"{x.label} {x.direction}")
        if not additive or len(series) == 1:
            ma = binning.moving_average(x.mean, smooth) / div
            ax.plot(x.t, ma, color=color, linewidth=1.6, linestyle="--", alpha=0.9)
    if additive and len(series) > 1:
        ax.plot(sum_t, sum_v / div, color="black", linewidth=1.6, label="sum of jobs")
        ma = binning.moving_average(sum_v, smooth) / div
        ax.plot(
            sum_t, ma, color="black", linewidth=1.2, linestyle="--", label=f"sum, moving avg ({smooth} pts)"
        )
    what = _TITLES[kind]
    band = "band: min-max per window" if any(len(x) for x in series) else "no samples in the time window"
    ylabel = "I/Os per second" if kind == "iops" else f"{what} ({unit})"
    _style(ax, f"{title} — {what}", f"time (s) — window {window} ms; {band}", ylabel)
    ax.set_ylim(bottom=0)
    if series:
        ax.legend(loc="best", fontsize=8)
    return fig


def _percentile_fig(
    kind: str, logs: list[FioLog], hists: list[FioHistLog], s: PlotSettings, *, window: int, title: str
) -> Any:
    import numpy as np

    curves: list[tuple[str, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    # histogram logs count every I/O: prefer them; else per-I/O logs in coarser windows
    span = max((int(log.time_ms.max()) for log in logs if len(log)), default=0)
    window = max(window, binning.auto_window_ms(logs, max_points=100) if span else window)
    for log in [] if hists else logs:
        t, rows = binning.log_percentiles(log, window)
        curves.extend((f"{log.name.label} p{_q(q)}", t, rows[i]) for i, q in enumerate(binning.PERCENTILES))
    for hist in hists:
        t, rows = binning.hist_percentiles(hist)
        curves.extend(
            (f"{hist.name.label} p{_q(q)} (histogram)", t, rows[i]) for i, q in enumerate(binning.PERCENTILES)
        )
    peak = max((float(np.nanmax(c[2])) for c in curves if c[2].shape[0]), default=1.0)
    div, unit = _scale("clat", peak)
    fig = _figure(s)
    ax = fig.subplots()
    styles = ("-", "--", "-.", ":")
    for i, (label, t, v) in enumerate(curves):
        group = i // len(binning.PERCENTILES)
        ax.plot(
            t,
            v / div,
            label=label,
            color=_COLORS[group % len(_COLORS)],
            linestyle=styles[i % len(styles)],
            linewidth=1.2,
        )
    _style(
        ax,
        f"{title} — {_TITLES.get(kind, kind)} percentiles over time",
        f"time (s) — window {window} ms",
        f"latency ({unit})",
    )
    ax.set_yscale("log")
    ax.legend(loc="best", fontsize=7, ncol=2)
    return fig


def _q(q: float) -> str:
    return f"{q:g}"


def _hist_fig(logs: list[FioLog], hists: list[FioHistLog], s: PlotSettings, title: str) -> Any:
    import numpy as np

    fig = _figure(s)
    ax = fig.subplots()
    cdf_ax = ax.twinx()
    entries: list[tuple[str, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    for hist in hists:
        counts = hist.counts.sum(axis=0).astype(np.float64)
        entries.append((f"{hist.name.label} (histogram log)", hist.bin_ns, counts))
    if not entries:
        for log in logs:
            v = log.value[log.value > 0].astype(np.float64)
            if v.shape[0] == 0:
                continue
            edges = np.geomspace(v.min(), v.max() * 1.0001, 80)
            counts, edges = np.histogram(v, bins=edges)
            entries.append(
                (
                    f"{log.name.label} ({log.kind} log)",
                    np.sqrt(edges[:-1] * edges[1:]),
                    counts.astype(np.float64),
                )
            )
    peak = max((float(e[1][e[2] > 0].max()) for e in entries if e[2].any()), default=1.0)
    div, unit = _scale("clat", peak)
    for i, (label, x, counts) in enumerate(entries):
        color = _COLORS[i % len(_COLORS)]
        nz = counts > 0
        total = counts.sum()
        ax.vlines(x[nz] / div, 0, counts[nz] / total * 100.0, color=color, alpha=0.6, linewidth=2)
        cdf = np.cumsum(counts) / total * 100.0
        cdf_ax.plot(x[nz] / div, cdf[nz], color=color, linewidth=1.5, label=f"{label} CDF")
    ax.set_xscale("log")
    _style(
        ax,
        f"{title} — completion latency histogram and CDF",
        f"latency ({unit}, log scale)",
        "share of I/Os (%)",
    )
    cdf_ax.set_ylabel("cumulative share (%)")
    cdf_ax.set_ylim(0, 100.5)
    if entries:
        cdf_ax.legend(loc="center right", fontsize=8)
    return fig


def _iops_lat_fig(iops: list[FioLog], lats: list[FioLog], s: PlotSettings, window: int, title: str) -> Any:
    import numpy as np

    fig = _figure(s)
    ax = fig.subplots()
    by_label = {log.name.label: log for log in lats}
    points = []
    for log in iops:
        lat = by_label.get(log.name.label)
        if lat is None:
            continue
        for a, b in zip(binning.bin_log(log, window), binning.bin_log(lat, window), strict=False):
            common, ia, ib = np.intersect1d(a.t, b.t, return_indices=True)
            if common.shape[0]:
                # a per-I/O iops log holds a 1 per completed I/O: the rate is the count per window
                rate = a.mean[ia] if log.windowed else a.count[ia] * 1000.0 / window
                points.append((f"{log.name.label} {a.direction}", rate, b.mean[ib]))
    peak = max((float(p[2].max()) for p in points), default=1.0)
    div, unit = _scale("clat", peak)
    for i, (label, x, y) in enumerate(points):
        ax.scatter(x, y / div, s=10, alpha=0.6, color=_COLORS[i % len(_COLORS)], label=label)
    _style(ax, f"{title} — IOPS against latency (window {window} ms)", "IOPS", f"mean latency ({unit})")
    if points:
        ax.legend(loc="best", fontsize=8)
    return fig


# ---------------------------------------------------------------- entry point


def plot(settings: PlotSettings) -> PlotResult:
    """Read the selected logs of ``settings.source`` and write the graphs; return what was written."""
    s = settings
    if s.min_time is not None and s.max_time is not None and s.min_time >= s.max_time:
        raise UsageError(f"-m {s.min_time:g} is not before -M {s.max_time:g}")
    loaded = _load(s)
    outdir = s.outdir or s.source
    _io.ensure_dir(outdir)
    title = s.title or _run_name(s.source)
    base = _slug(s.basename or s.title or "fio")
    all_logs = [log for logs in loaded.logs.values() for log in logs]
    window = s.window_ms or binning.auto_window_ms(all_logs)
    files: list[Path] = []
    kinds = _selected_kinds(s)
    for kind in ("bw", "iops", "lat", "clat", "slat"):
        logs = loaded.logs.get(kind, [])
        if logs and (not kinds or kind in kinds):
            files.append(
                _save(_timeseries(kind, logs, s, window, title), outdir / f"{base}_{kind}.{s.fmt}", s.fmt)
            )
    lat_kind = next((k for k in ("clat", "lat") if loaded.logs.get(k)), None)
    per_io = [log for log in loaded.logs.get(lat_kind or "", []) if not log.windowed]
    if (s.percentiles or not kinds) and (per_io or loaded.hists):
        fig = _percentile_fig(lat_kind or "clat", per_io, loaded.hists, s, window=window, title=title)
        files.append(_save(fig, outdir / f"{base}_{lat_kind or 'clat'}_percentiles.{s.fmt}", s.fmt))
    if (s.hist or not kinds) and (loaded.hists or per_io):
        files.append(
            _save(_hist_fig(per_io, loaded.hists, s, title), outdir / f"{base}_clat_hist.{s.fmt}", s.fmt)
        )
    if not kinds and loaded.logs.get("iops") and lat_kind:
        fig = _iops_lat_fig(loaded.logs["iops"], loaded.logs[lat_kind], s, window, title)
        files.append(_save(fig, outdir / f"{base}_iops_vs_{lat_kind}.{s.fmt}", s.fmt))
    return PlotResult(
        files=tuple(files),
        logs=tuple(loaded.names),
        samples=loaded.samples,
        no_data=tuple(loaded.no_data),
        window_ms=window,
    )


def plot_many(settings: Sequence[PlotSettings]) -> list[PlotResult]:
    return [plot(s) for s in settings]
