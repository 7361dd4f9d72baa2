"""Graphs of fio logs, with fio2gnuplot's flags.

fio2gnuplot's meanings are kept so fio2gnuplot command lines work verbatim:
``-t`` title, ``-b`` bandwidth logs, ``-i`` IOPS logs, ``-g`` (accepted; we always render),
``-p`` a shell pattern selecting log files, ``-o`` an output basename, ``-d`` the output
folder, ``-m``/``-M`` a time window in seconds. stackrig adds ``--lat`` (lat/clat/slat
logs), ``--percentiles`` (latency percentiles over time), ``--hist`` (completion-latency
histogram and CDF), ``--format png|svg``, ``--window`` (the binning window) and ``--size``.

Graphs: a time series per kind with one line per job and direction, the min/max band of
each window, the sum over jobs (bandwidth, IOPS) and a moving average; latency percentiles
over time; the clat histogram with its CDF; IOPS against latency. Per-I/O logs are binned
(see :mod:`stackrig.bench._binning`), so a million samples draw in a fraction of a second.

The time series, the graph fio2gnuplot users asked for, is a :class:`~._chart.Chart` drawn to
PNG by :mod:`._raster` (numpy and Pillow) without importing matplotlib, which alone costs more
than reading a million-line log; matplotlib (Agg) draws SVG and the other graphs
(:mod:`._figures`), imported only when one of them is asked for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from stackrig import _units
from stackrig.bench import _binning as binning
from stackrig.bench._chart import COLORS, KIND_TITLES, Band, Chart, Line, unit_scale
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

__all__ = [
    "Graph",
    "PlotResult",
    "PlotSettings",
    "draw",
    "parse_duration_ms",
    "parse_size",
    "plot",
    "plot_folders",
]

Format = Literal["png", "svg"]
Graph = tuple[Path, bytes]
"""A graph drawn in memory: where it goes and its bytes."""
LAT_KINDS = ("lat", "clat", "slat")


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
    skipped: tuple[str, ...] = field(default=())
    """Graphs asked for (or, with no graph flag, that the logs nearly give) but not drawn: why."""


def parse_duration_ms(text: str, *, what: str = "--window") -> int:
    """``500ms``, ``2s``, ``1m`` or a bare number of seconds, in whole milliseconds (at least 1)."""
    value = round(_units.parse_duration(text, what=what) * 1000, 6)  # 1001ms is 1001, not 1000.999...
    if value < 1:
        raise UsageError(f"{what} {text!r} is shorter than 1 ms")
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
    if sum(flags) == 1 and not (s.percentiles or s.hist):
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
        asked = ", ".join(sorted(kinds)) or "latency"
        raise UsageError(
            f"no {asked} log matches {pattern!r} in {s.source}",
            hint="fio writes them with write_bw_log, write_iops_log, write_lat_log and write_hist_log",
        )
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
    if not (folder / "fio.json").is_file():
        return {}
    from stackrig.bench.results import ResultsError, load_results

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


# ---------------------------------------------------------------- time series


def steady_windows(folder: Path) -> list[tuple[str, float, float]]:
    """(job, start s, end s) of each steady-state window fio attained in a run (from meta.json)."""
    import json

    try:
        steady = json.loads((folder / "meta.json").read_text(encoding="utf-8")).get("steady") or {}
    except (OSError, ValueError, AttributeError):
        return []
    found = []
    for job, state in steady.items() if isinstance(steady, dict) else ():
        if isinstance(state, dict) and state.get("attained") and state.get("after_s") is not None:
            end = float(state["after_s"])
            found.append((str(job), max(0.0, end - float(state.get("window_s") or 0)), end))
    return found


def timeseries_chart(
    kind: str,
    logs: list[FioLog],
    s: PlotSettings,
    window: int,
    title: str,
    *,
    steady: Sequence[tuple[str, float, float]] = (),
) -> Chart:
    """One line per job and direction with its min-max band; for bandwidth and IOPS of several
    lines, their total; a moving average of the total (or of each line, when nothing is summed)."""
    import numpy as np

    lo_ms = s.min_time * 1000 if s.min_time is not None else None
    hi_ms = s.max_time * 1000 if s.max_time is not None else None
    series = [x for log in logs for x in binning.bin_log(log, window, min_ms=lo_ms, max_ms=hi_ms)]
    peak = max((float(x.hi.max()) for x in series if len(x)), default=1.0)
    summed = kind in ("bw", "iops") and len(series) > 1
    if summed:
        sum_t, sum_v = binning.sum_series(series)
        peak = max(peak, float(sum_v.max()) if sum_v.shape[0] else 0.0)
    div, unit = unit_scale(kind, peak)
    smooth = max(3, len(series[0]) // 40) if series else 3
    lines: list[Line] = []
    bands: list[Band] = []
    for i, x in enumerate(series):
        color = COLORS[i % len(COLORS)]
        bands.append(Band(x.t, x.lo / div, x.hi / div, color))
        lines.append(Line(x.t, x.mean / div, color, width=1.0, label=f"{x.label} {x.direction}"))
        if not summed:
            ma = binning.moving_average(x.mean, smooth) / div
            label = f"moving avg ({smooth} pts)" if len(series) == 1 else None
            lines.append(Line(x.t, ma, color, width=1.6, dashed=True, alpha=0.9, label=label))
    if not summed and len(series) > 1:  # one legend entry tells what every dashed line is
        empty = np.empty(0)
        lines.append(
            Line(empty, empty, "#555555", width=1.6, dashed=True, label=f"moving avg ({smooth} pts)")
        )
    if summed:
        total = binning.total_label(series)
        lines.append(Line(sum_t, sum_v / div, "#000000", width=1.6, label=total))
        ma = binning.moving_average(sum_v, smooth) / div
        lines.append(
            Line(sum_t, ma, "#000000", width=1.2, dashed=True, label=f"{total}, moving avg ({smooth} pts)")
        )
    top = peak / div if peak > 0 else 1.0
    for job, start, end in steady:  # the window over which fio found the job steady
        xs = np.array([start, end])
        bands.append(Band(xs, np.zeros(2), np.full(2, top), "#2ca02c", alpha=0.12))
        lines.append(
            Line(np.empty(0), np.empty(0), "#2ca02c", width=6.0, alpha=0.3, label=f"steady state: {job}")
        )
    what = KIND_TITLES[kind]
    band = "band: min-max per window" if any(len(x) for x in series) else "no samples in the time window"
    return Chart(
        title=f"{title} — {what}",
        xlabel=f"time (s) — window {window} ms; {band}",
        ylabel="I/Os per second" if kind == "iops" else f"{what} ({unit})",
        lines=tuple(lines),
        bands=tuple(bands),
    )


def _chart_bytes(chart: Chart, s: PlotSettings) -> bytes:
    if s.fmt == "png":
        from stackrig.bench._raster import render_png

        return render_png(chart, s.size)
    from stackrig.bench import _figures

    return _figures.encode(_figures.chart_figure(chart, s.size), s.fmt)


# ---------------------------------------------------------------- what cannot be drawn

_LAT_NEEDS = (
    "per-I/O latency logs (write_lat_log with log_avg_msec=0) or histogram logs "
    "(write_hist_log with log_hist_msec)"
)


def _cannot_draw(
    s: PlotSettings, kinds: set[str], explicit: bool, loaded: _Loaded, per_io: list[FioLog]
) -> list[str]:
    """``graph: reason`` for each graph asked for that these logs cannot give."""
    have = {kind for kind, logs in loaded.logs.items() if logs}
    names = {"bw": "bandwidth", "iops": "IOPS"}
    reasons = [
        f"{names[kind]}: no {kind} logs here (fio writes them with write_{kind}_log)"
        for kind in ("bw", "iops")
        if kind in kinds and kind not in have
    ]
    if "lat" in kinds and not have & set(LAT_KINDS):
        reasons.append("latency: no lat, clat or slat logs here (fio writes them with write_lat_log)")
    lat_logs = [log for kind in LAT_KINDS for log in loaded.logs.get(kind, [])]
    if not per_io and not loaded.hists:
        why = (
            f"the latency logs are averaged over log_avg_msec windows; they need {_LAT_NEEDS}"
            if lat_logs
            else f"no latency logs here; they need {_LAT_NEEDS}"
        )
        # without graph flags, say it only when latency logs exist (they nearly give them)
        if s.percentiles or (not explicit and lat_logs):
            reasons.append(f"latency percentiles: {why}")
        if s.hist or (not explicit and lat_logs):
            reasons.append(f"latency histogram: {why}")
    return reasons


# ---------------------------------------------------------------- entry point


def draw(settings: PlotSettings) -> tuple[PlotResult, list[Graph]]:
    """Read the selected logs of ``settings.source`` and draw the graphs in memory: what
    :func:`plot` would write (``PlotResult.files`` are where) and each graph's bytes."""
    s = settings
    if s.min_time is not None and s.max_time is not None and s.min_time >= s.max_time:
        raise UsageError(f"-m {s.min_time:g} is not before -M {s.max_time:g}")
    loaded = _load(s)
    outdir = s.outdir or s.source
    title = s.title or _run_name(s.source)
    base = _slug(s.basename or s.title or "fio")
    all_logs = [log for logs in loaded.logs.values() for log in logs]
    window = s.window_ms or binning.auto_window_ms(all_logs)
    graphs: list[Graph] = []
    kinds = _selected_kinds(s)
    explicit = bool(kinds) or s.percentiles or s.hist  # else: every graph the logs can give
    for kind in ("bw", "iops", "lat", "clat", "slat"):
        logs = loaded.logs.get(kind, [])
        if logs and (not explicit or kind in kinds):
            chart = timeseries_chart(kind, logs, s, window, title, steady=steady_windows(s.source))
            graphs.append((outdir / f"{base}_{kind}.{s.fmt}", _chart_bytes(chart, s)))
    lat_kind = next((k for k in ("clat", "lat") if loaded.logs.get(k)), None)
    per_io = [log for log in loaded.logs.get(lat_kind or "", []) if not log.windowed]
    skipped = _cannot_draw(s, kinds, explicit, loaded, per_io)
    wants_percentiles = (s.percentiles or not explicit) and (per_io or loaded.hists)
    wants_hist = (s.hist or not explicit) and (loaded.hists or per_io)
    wants_iops_lat = not explicit and loaded.logs.get("iops") and lat_kind
    if wants_percentiles or wants_hist or wants_iops_lat:
        from stackrig.bench import _figures as mpl

        if wants_percentiles:
            fig = mpl.percentile_figure(
                lat_kind or "clat", per_io, loaded.hists, s.size, window=window, title=title
            )
            name = f"{base}_{lat_kind or 'clat'}_percentiles.{s.fmt}"
            graphs.append((outdir / name, mpl.encode(fig, s.fmt)))
        if wants_hist:
            fig = mpl.hist_figure(per_io, loaded.hists, s.size, title)
            graphs.append((outdir / f"{base}_clat_hist.{s.fmt}", mpl.encode(fig, s.fmt)))
        if wants_iops_lat and lat_kind:
            fig = mpl.iops_lat_figure(loaded.logs["iops"], loaded.logs[lat_kind], s.size, window, title)
            graphs.append((outdir / f"{base}_iops_vs_{lat_kind}.{s.fmt}", mpl.encode(fig, s.fmt)))
    if not graphs and skipped:
        raise UsageError("no graph can be drawn from these logs: " + "; ".join(skipped))
    result = PlotResult(
        files=tuple(path for path, _ in graphs),
        logs=tuple(loaded.names),
        samples=loaded.samples,
        no_data=tuple(loaded.no_data),
        window_ms=window,
        skipped=tuple(skipped),
    )
    return result, graphs


def plot(settings: PlotSettings) -> PlotResult:
    """Read the selected logs of ``settings.source`` and write the graphs; return what was written.

    The graphs are one set (:func:`stackrig._fileset.write_files`): a full disk half-way
    leaves every graph of the previous plot as it was, not some old and some new. They are
    files renamed one by one into the folder (the run folder, or ``-d``), not a swapped
    folder: that folder holds the user's other files and may be the current folder.
    """
    return plot_folders(settings, [settings.source])


def plot_folders(settings: PlotSettings, folders: Sequence[Path]) -> PlotResult:
    """:func:`plot` for each run folder of a group: into each folder, or ``outdir/<folder name>``
    (one folder: exactly :func:`plot`); every graph of every folder as one set."""
    from dataclasses import replace

    from stackrig._fileset import write_files

    if len(folders) == 1:
        drawn = [draw(replace(settings, source=folders[0]))]
    else:
        drawn = [
            draw(
                replace(
                    settings, source=folder, outdir=settings.outdir / folder.name if settings.outdir else None
                )
            )
            for folder in folders
        ]
    write_files([graph for _, graphs in drawn for graph in graphs])
    results = [result for result, _ in drawn]
    if len(results) == 1:
        return results[0]
    return PlotResult(
        files=tuple(f for r in results for f in r.files),
        logs=tuple(n for r in results for n in r.logs),
        samples=sum(r.samples for r in results),
        no_data=tuple(n for r in results for n in r.no_data),
        window_ms=max((r.window_ms for r in results), default=0),
        skipped=tuple(dict.fromkeys(n for r in results for n in r.skipped)),
    )
