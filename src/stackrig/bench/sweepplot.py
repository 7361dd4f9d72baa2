"""What a sweep shows: a table of its points, IOPS and latency against iodepth per numjobs,
and a heatmap of IOPS over iodepth x numjobs (one set per rw and bs), as fio-plot's
bench-fio users look at them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stackrig import _fileset
from stackrig.bench._chart import COLORS
from stackrig.bench.compare import combine_rows
from stackrig.bench.groups import RunGroup, group_runs
from stackrig.bench.history import History
from stackrig.bench.model import RunStatus

__all__ = ["SweepPoint", "plot_sweep", "sweep_points"]


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One point of a sweep, its figures averaged over its good runs (repeats)."""

    rw: str
    bs: str
    numjobs: int
    iodepth: int
    runs: int
    iops: float | None
    bw_bytes: float | None
    lat_mean_ns: float | None
    lat_p99_ns: float | None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def sweep_points(history: History, group: RunGroup) -> list[SweepPoint]:
    """Per point: total IOPS and bandwidth (all jobs and directions), mean and p99 latency."""
    found: dict[tuple[str, str, int, int], list[tuple[float, float, float | None, float | None]]] = {}
    for run in group_runs(history, group.id):
        if run.group is None or run.status is not RunStatus.OK:
            continue
        point = run.group.point
        key = (point.get("rw", "-"), point.get("bs", "-"), int(point.get("numjobs", "1")),
               int(point.get("iodepth", "1")))  # fmt: skip
        rows = combine_rows(history.rows(run)).values()
        lats = [r["lat_mean"] for r in rows if r["lat_mean"] is not None]
        p99s = [r["lat_p99"] for r in rows if r["lat_p99"] is not None]
        found.setdefault(key, []).append(
            (
                math.fsum(r["iops"] or 0.0 for r in rows),
                math.fsum(r["bw"] or 0.0 for r in rows),
                _mean(lats),
                max(p99s) if p99s else None,
            )
        )
    points = []
    for (rw, bs, numjobs, iodepth), values in sorted(found.items()):
        means = [_mean([v[i] for v in values if v[i] is not None]) for i in range(4)]  # type: ignore[misc]
        points.append(SweepPoint(rw, bs, numjobs, iodepth, len(values), *means))
    return points


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "sweep"


def plot_sweep(
    points: Sequence[SweepPoint],
    outdir: Path,
    *,
    title: str,
    fmt: str = "png",
    size: tuple[int, int] = (1100, 560),
) -> list[Path]:
    """Per (rw, bs): IOPS vs iodepth and latency vs iodepth (a line per numjobs), and the
    IOPS heatmap over iodepth x numjobs. Returns the files written, as one set: a full disk
    half-way leaves the previous plots of the sweep as they were (see :func:`_fileset.write_files`)."""
    import numpy as np

    from stackrig.bench import _figures

    graphs: list[tuple[Path, bytes]] = []
    for rw, bs in sorted({(p.rw, p.bs) for p in points}):
        facet = [p for p in points if (p.rw, p.bs) == (rw, bs)]
        depths = sorted({p.iodepth for p in facet})
        jobs = sorted({p.numjobs for p in facet})
        label = " ".join(part for part in (rw if rw != "-" else "", bs if bs != "-" else "") if part)
        base = _slug("_".join(part for part in (title, rw, bs) if part != "-"))
        for metric, ylabel in (("iops", "IOPS"), ("lat", "latency (ms)")):
            fig = _figures.figure(size)
            ax = fig.subplots()
            for i, nj in enumerate(jobs):
                line = sorted((p for p in facet if p.numjobs == nj), key=lambda p: p.iodepth)
                xs = [p.iodepth for p in line]
                color = COLORS[i % len(COLORS)]
                if metric == "iops":
                    ax.plot(xs, [p.iops or 0 for p in line], marker="o", color=color, label=f"numjobs={nj}")
                else:
                    ax.plot(xs, [(p.lat_mean_ns or 0) / 1e6 for p in line], marker="o", color=color,
                            label=f"numjobs={nj} mean")  # fmt: skip
                    ax.plot(xs, [(p.lat_p99_ns or 0) / 1e6 for p in line], marker="s", linestyle="--",
                            color=color, label=f"numjobs={nj} p99")  # fmt: skip
            ax.set_xscale("log", base=2)
            ax.set_xticks(depths, [str(d) for d in depths])
            _figures.style(ax, f"{title} {label} — {ylabel} against iodepth", "iodepth", ylabel)
            ax.legend(loc="best", fontsize=8)
            graphs.append((outdir / f"{base}_{metric}_vs_iodepth.{fmt}", _figures.encode(fig, fmt)))
        grid = np.full((len(jobs), len(depths)), np.nan)
        for p in facet:
            grid[jobs.index(p.numjobs), depths.index(p.iodepth)] = p.iops if p.iops is not None else np.nan
        fig = _figures.figure(size)
        ax = fig.subplots()
        image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        ax.set_xticks(range(len(depths)), [str(d) for d in depths])
        ax.set_yticks(range(len(jobs)), [str(j) for j in jobs])
        peak = np.nanmax(grid) if np.isfinite(grid).any() else 0
        for (row, col), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(col, row, f"{value:,.0f}", ha="center", va="center", fontsize=8,
                        color="white" if value < peak * 0.6 else "black")  # fmt: skip
        fig.colorbar(image, ax=ax, label="IOPS")
        _figures.style(ax, f"{title} {label} — IOPS over iodepth x numjobs", "iodepth", "numjobs")
        ax.grid(False)
        graphs.append((outdir / f"{base}_iops_heatmap.{fmt}", _figures.encode(fig, fmt)))
    _fileset.write_files(graphs)
    return [path for path, _ in graphs]
