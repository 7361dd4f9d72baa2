"""The graphs matplotlib draws: every SVG, and the PNGs other than the time series.

Imported only when one of them is drawn: importing matplotlib costs about 0.3 s.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from stackrig.bench import _binning as binning
from stackrig.bench._chart import COLORS, KIND_TITLES, Chart, unit_scale
from stackrig.bench.logs import FioHistLog, FioLog

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "chart_figure",
    "encode",
    "figure",
    "hist_figure",
    "iops_lat_figure",
    "percentile_figure",
    "plain_log_ticks",
]


def figure(size: tuple[int, int]) -> Any:
    from matplotlib.figure import Figure

    width, height = size
    fig = Figure(figsize=(width / 100.0, height / 100.0), dpi=100)
    # fixed margins (in pixels) instead of a layout engine, which draws every figure twice
    fig.subplots_adjust(
        left=min(0.3, 80 / width), right=1 - min(0.3, 80 / width), bottom=min(0.3, 55 / height),
        top=1 - min(0.3, 35 / height),
    )  # fmt: skip
    return fig


def encode(fig: Any, fmt: str) -> bytes:
    """The figure as a PNG or SVG file's bytes (an SVG without a date, so it is reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def plain_log_ticks(axis: Any) -> None:
    """A log-scale axis labelled with plain numbers at 1, 2 and 5 of each decade (50, 100, 200,
    500), not matplotlib's ``4 x 10^2``; minor ticks stay unlabelled."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: plain_number(value)))
    axis.set_minor_formatter(NullFormatter())


def plain_number(value: float) -> str:
    """50, 200, 1,000, 0.5: a tick label without exponents."""
    return f"{value:,.0f}" if value >= 1 else f"{value:.3g}"


def style(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def percentile_figure(
    kind: str,
    logs: list[FioLog],
    hists: list[FioHistLog],
    size: tuple[int, int],
    *,
    window: int,
    title: str,
) -> Any:
    """Latency percentiles over time: from histogram logs if any, else per-I/O logs in windows."""
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
    div, unit = unit_scale("clat", peak)
    fig = figure(size)
    ax = fig.subplots()
    styles = ("-", "--", "-.", ":")
    for i, (label, t, v) in enumerate(curves):
        group = i // len(binning.PERCENTILES)
        ax.plot(
            t,
            v / div,
            label=label,
            color=COLORS[group % len(COLORS)],
            linestyle=styles[i % len(styles)],
            linewidth=1.2,
        )
    style(
        ax,
        f"{title} — {KIND_TITLES.get(kind, kind)} percentiles over time",
        f"time (s) — window {window} ms",
        f"latency ({unit})",
    )
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.legend(loc="best", fontsize=7, ncol=2)
    return fig


def _q(q: float) -> str:
    return f"{q:g}"


def hist_figure(logs: list[FioLog], hists: list[FioHistLog], size: tuple[int, int], title: str) -> Any:
    """The completion-latency histogram (bars) and its CDF (lines, right axis)."""
    import numpy as np

    fig = figure(size)
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
    div, unit = unit_scale("clat", peak)
    for i, (label, x, counts) in enumerate(entries):
        color = COLORS[i % len(COLORS)]
        nz = counts > 0
        total = counts.sum()
        ax.vlines(x[nz] / div, 0, counts[nz] / total * 100.0, color=color, alpha=0.6, linewidth=2)
        cdf = np.cumsum(counts) / total * 100.0
        cdf_ax.plot(x[nz] / div, cdf[nz], color=color, linewidth=1.5, label=f"{label} CDF")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    style(
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


def iops_lat_figure(
    iops: list[FioLog], lats: list[FioLog], size: tuple[int, int], window: int, title: str
) -> Any:
    """Mean latency against IOPS, one point per window."""
    import numpy as np

    fig = figure(size)
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
    div, unit = unit_scale("clat", peak)
    for i, (label, x, y) in enumerate(points):
        ax.scatter(x, y / div, s=10, alpha=0.6, color=COLORS[i % len(COLORS)], label=label)
    style(ax, f"{title} — IOPS against latency (window {window} ms)", "IOPS", f"mean latency ({unit})")
    if points:
        ax.legend(loc="best", fontsize=8)
    return fig


def chart_figure(chart: Chart, size: tuple[int, int]) -> Any:
    """A :class:`Chart` as a matplotlib figure (what ``--format svg`` writes)."""
    fig = figure(size)
    ax = fig.subplots()
    for band in chart.bands:
        ax.fill_between(band.x, band.lo, band.hi, color=band.color, alpha=band.alpha, linewidth=0)
    for line in chart.lines:
        ax.plot(
            line.x,
            line.y,
            color=line.color,
            linewidth=line.width,
            linestyle="--" if line.dashed else "-",
            alpha=line.alpha,
            label=line.label,
        )
    style(ax, chart.title, chart.xlabel, chart.ylabel)
    ax.set_xlim(*chart.x_range())  # the same window as the PNG renderer's
    ax.set_ylim(*chart.y_range())
    if chart.legend and any(line.label for line in chart.lines):
        ax.legend(loc="best", fontsize=8)
    return fig
