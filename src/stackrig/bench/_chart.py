"""A line chart as data, drawn by either renderer: :mod:`._raster` (PNG) or matplotlib (SVG).

The default graph of ``stackrig bench plot`` is a time series; drawing it with matplotlib
costs about 0.3 s of import alone, more than reading a million-line log. So the chart is
described once, here, and the PNG renderer draws it with numpy and Pillow, while matplotlib
keeps drawing SVG (vector output is its strength) from the same description.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

__all__ = ["COLORS", "KIND_TITLES", "Band", "Chart", "Line", "format_ticks", "nice_ticks", "unit_scale"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
KIND_TITLES = {
    "bw": "bandwidth",
    "iops": "IOPS",
    "lat": "total latency (lat)",
    "clat": "completion latency (clat)",
    "slat": "submission latency (slat)",
}

Corner = Literal["upper right", "upper left", "lower right", "lower left"]


@dataclass(frozen=True, slots=True, eq=False)
class Line:
    """A polyline through (x, y); ``label`` puts it in the legend."""

    x: Floats
    y: Floats
    color: str
    width: float = 1.0
    dashed: bool = False
    label: str | None = None
    alpha: float = 1.0


@dataclass(frozen=True, slots=True, eq=False)
class Band:
    """The area between ``lo`` and ``hi`` over x, filled translucent (a min-max band)."""

    x: Floats
    lo: Floats
    hi: Floats
    color: str
    alpha: float = 0.15


@dataclass(frozen=True, slots=True, eq=False)
class Chart:
    """One plot area with linear axes; y starts at ``y_min`` (0 for rates and latencies)."""

    title: str
    xlabel: str
    ylabel: str
    lines: tuple[Line, ...] = ()
    bands: tuple[Band, ...] = ()
    y_min: float | None = 0.0
    legend: bool = True

    def x_range(self) -> tuple[float, float]:
        """The data's x extent, from 0 when the data starts near it; (0, 1) when there is nothing.

        fio stamps a window at its end, so a run's first point is one window after its start.
        """
        lo, hi = _extent([a.x for a in self.lines] + [b.x for b in self.bands], pad=0.0)
        if 0 < lo <= 0.1 * hi:
            lo = 0.0
        return lo, hi

    def y_range(self) -> tuple[float, float]:
        """The data's y extent with matplotlib's 5 % margin, starting at ``y_min`` if set."""
        lo, hi = _extent([a.y for a in self.lines] + [b.lo for b in self.bands] + [b.hi for b in self.bands])
        if self.y_min is not None:
            lo = self.y_min
            hi = max(hi, lo + 1e-12)
        return lo, hi


def unit_scale(kind: str, peak: float) -> tuple[float, str]:
    """Divisor and unit label for values of ``kind`` (fio's KiB/s, IOPS or ns) whose largest is ``peak``."""
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


def _extent(arrays: list[Floats], pad: float = 0.05) -> tuple[float, float]:
    import numpy as np

    drawn = [a for a in arrays if a.shape[0] and np.isfinite(a).any()]
    if not drawn:
        return 0.0, 1.0
    lo, hi = min(float(np.nanmin(a)) for a in drawn), max(float(np.nanmax(a)) for a in drawn)
    if hi <= lo:
        half = abs(lo) * 0.05 or 0.5
        return lo - half, hi + half
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Tick values at 1, 2, 2.5 or 5 times a power of ten, about ``target`` of them in [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, target)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def format_ticks(ticks: list[float]) -> list[str]:
    """Labels with just the decimals the step needs: 0, 2.5, 5 or 0.00, 0.25."""
    if len(ticks) < 2:
        return [f"{t:g}" for t in ticks]
    step = abs(ticks[1] - ticks[0])
    decimals = 0
    while (
        decimals < 12 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6 * step * 10**decimals
    ):
        decimals += 1
    return [f"{0.0 if abs(t) < step * 1e-9 else t:.{decimals}f}" for t in ticks]


def legend_corner(chart: Chart, width: float, height: float) -> Corner:
    """The corner of the plot area (legend box ``width`` x ``height``, as axis fractions) that
    covers the fewest data points, as matplotlib's ``loc="best"`` would choose."""
    import numpy as np

    x0, x1 = chart.x_range()
    y0, y1 = chart.y_range()
    xs = [(a.x - x0) / ((x1 - x0) or 1.0) for a in chart.lines]
    ys = [(a.y - y0) / ((y1 - y0) or 1.0) for a in chart.lines]
    best: tuple[int, Corner] = (2**62, "upper right")
    corners: tuple[tuple[Corner, float, float], ...] = (
        ("upper right", 1 - width, 1 - height),
        ("upper left", 0.0, 1 - height),
        ("lower right", 1 - width, 0.0),
        ("lower left", 0.0, 0.0),
    )
    for corner, left, bottom in corners:
        covered = sum(
            int(np.count_nonzero((x >= left) & (x <= left + width) & (y >= bottom) & (y <= bottom + height)))
            for x, y in zip(xs, ys, strict=True)
        )
        if covered < best[0]:
            best = (covered, corner)
    return best[1]
