"""The time-series PNG renderer (numpy + Pillow) and the chart model both renderers draw."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

from stackrig.bench import _raster
from stackrig.bench._chart import Band, Chart, Line, format_ticks, legend_corner, nice_ticks
from stackrig.bench.logs import find_logs, read_log
from stackrig.bench.plot import PlotSettings, plot, timeseries_chart
from tests.bench.test_plot import assert_png, assert_svg

BLUE = (31, 119, 180)


def wave_chart(points: int = 500, **kw: object) -> Chart:
    t = np.linspace(0, 60, points)
    y = 100 + 30 * np.sin(t / 5)
    return Chart(
        title="Test — bandwidth",
        xlabel="time (s)",
        ylabel="bandwidth (MiB/s)",
        lines=(
            Line(t, y, "#1f77b4", width=1.0, label="job read"),
            Line(t, y * 0.5, "#d62728", width=1.6, dashed=True, label="moving avg"),
        ),
        bands=(Band(t, y - 10, y + 10, "#1f77b4"),),
        **kw,  # type: ignore[arg-type]
    )


def png_pixels(data: bytes, tmp_path: Path, size: tuple[int, int]) -> np.ndarray:
    path = tmp_path / "chart.png"
    path.write_bytes(data)
    assert_png(path, size)
    with Image.open(path) as img:
        assert img.mode == "RGB"
        return np.asarray(img)


def has_color(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    return bool((np.abs(pixels.astype(int) - rgb).max(axis=2) <= tolerance).any())


@pytest.mark.parametrize("size", [(1280, 720), (640, 360), (300, 200), (1920, 1080)])
def test_sizes_ink_and_series_colors(tmp_path: Path, size: tuple[int, int]) -> None:
    pixels = png_pixels(_raster.render_png(wave_chart(), size), tmp_path, size)
    assert has_color(pixels, BLUE)
    assert has_color(pixels, (214, 39, 40))  # the dashed red line
    # the band: blue at 15 % over white
    assert has_color(pixels, (221, 235, 244), tolerance=6)


def test_smallest_size_still_draws(tmp_path: Path) -> None:
    png_pixels(_raster.render_png(wave_chart(), (100, 100)), tmp_path, (100, 100))


def test_empty_chart_draws_axes_and_titles(tmp_path: Path) -> None:
    chart = Chart(
        title="Nothing — IOPS", xlabel="time (s); no samples in the time window", ylabel="I/Os per second"
    )
    pixels = png_pixels(_raster.render_png(chart, (640, 360)), tmp_path, (640, 360))
    assert not has_color(pixels, BLUE)


def test_gaps_and_single_points(tmp_path: Path) -> None:
    t = np.arange(10, dtype=np.float64)
    y = np.array([1, 2, np.nan, 4, 5, np.nan, 7, np.nan, np.nan, 10], dtype=np.float64)
    chart = Chart(title="gaps", xlabel="x", ylabel="y", lines=(Line(t, y, "#1f77b4", label="gappy"),))
    runs = _raster._runs(t, y)
    assert [r[0].tolist() for r in runs] == [[0, 1], [3, 4], [6], [9]]
    pixels = png_pixels(_raster.render_png(chart, (400, 300)), tmp_path, (400, 300))
    assert has_color(pixels, BLUE)


def test_dashes_follow_the_line() -> None:
    points = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0)]
    dashes = _raster._dashes(points, 1.0, pattern=(10.0, 5.0))

    def length(seq: list[tuple[float, float]]) -> float:
        return sum(math.dist(a, b) for a, b in itertools.pairwise(seq))

    assert all(length(d) <= 10.0 + 1e-9 for d in dashes)
    drawn = sum(length(d) for d in dashes)
    assert drawn == pytest.approx(150 * 10 / 15, abs=10)
    assert dashes[0][0] == (0.0, 0.0)
    # a dash turning the corner keeps the corner point
    assert any((100.0, 0.0) in d[1:-1] for d in dashes)


@given(
    lo=st.floats(-1e9, 1e9, allow_nan=False),
    span=st.floats(1e-6, 1e9, allow_nan=False),
    target=st.integers(2, 12),
)
def test_nice_ticks_properties(lo: float, span: float, target: int) -> None:
    assume(span > abs(lo) * 1e-6)  # axes of real data: a span float64 can still split
    hi = lo + span
    ticks = nice_ticks(lo, hi, target)
    assert ticks, (lo, hi)
    assert all(lo - span * 1e-6 <= t <= hi + span * 1e-6 for t in ticks)
    assert len(ticks) <= 2 * target + 2
    steps = np.diff(ticks)
    if steps.shape[0]:
        assert np.allclose(steps, steps[0], rtol=1e-6, atol=abs(steps[0]) * 1e-6)
        mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
        assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
        labels = format_ticks(ticks)
        assert len(set(labels)) == len(labels), labels


def test_tick_labels_read_well() -> None:
    assert nice_ticks(0, 600, 9) == [0, 100, 200, 300, 400, 500, 600]
    assert format_ticks(nice_ticks(0, 1, 4)) == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert format_ticks(nice_ticks(-1, 1, 4)) == ["-1.0", "-0.5", "0.0", "0.5", "1.0"]
    assert format_ticks([0.0, 2.5, 5.0]) == ["0.0", "2.5", "5.0"]
    assert nice_ticks(5, 5) == [5]


def test_legend_avoids_the_data() -> None:
    t = np.linspace(0, 1, 200)
    high_right = Chart("t", "x", "y", lines=(Line(t, np.where(t > 0.5, 10.0, 0.5), "#000000", label="a"),))
    assert legend_corner(high_right, 0.3, 0.2) in ("upper left", "lower right")
    high_left = Chart("t", "x", "y", lines=(Line(t, np.where(t < 0.5, 10.0, 0.5), "#000000", label="a"),))
    assert legend_corner(high_left, 0.3, 0.2) in ("upper right", "lower left")
    falling = Chart("t", "x", "y", lines=(Line(t, 10 - 10 * t, "#000000", label="a"),))
    assert legend_corner(falling, 0.3, 0.2) in ("upper right", "lower left")


def test_without_dejavu_pillows_font_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _raster._fonts.cache_clear()
    monkeypatch.setattr(_raster, "font_path", lambda: None)
    try:
        png_pixels(_raster.render_png(wave_chart(), (640, 360)), tmp_path, (640, 360))
    finally:
        _raster._fonts.cache_clear()


def test_font_is_dejavu() -> None:
    path = _raster.font_path()
    assert path is not None
    assert path.name == "DejaVuSans.ttf"


def test_png_and_svg_draw_one_chart(fio_logs: Path, tmp_path: Path) -> None:
    """The same chart: PNG through Pillow, SVG through matplotlib."""
    settings = PlotSettings(
        source=fio_logs, pattern="plain_bw*", bandwidth=True, title="one", outdir=tmp_path
    )
    png = plot(settings)
    svg = plot(PlotSettings(**{**_fields(settings), "fmt": "svg"}))
    assert [p.name for p in png.files] == ["one_bw.png"]
    assert [p.name for p in svg.files] == ["one_bw.svg"]
    assert_png(png.files[0])
    assert_svg(svg.files[0])
    log = read_log(fio_logs / "plain_bw.1.log")
    chart = timeseries_chart("bw", [log], settings, 100, "one")
    labels = [line.label for line in chart.lines if line.label]
    assert labels[0].startswith("plain.1 ")
    assert any("moving avg" in label for label in labels)
    # one job of randrw (the fixture's): its two directions and their total
    assert {"plain.1 read", "plain.1 write", "read + write"} <= set(labels)
    lat = timeseries_chart("clat", [read_log(fio_logs / "plain_clat.1.log")], settings, 100, "one")
    legend = [line.label for line in lat.lines if line.label]
    # two latency lines, not summed: one entry says what the dashed lines are
    assert legend == ["plain.1 read", "plain.1 write", legend[-1]]
    assert legend[-1].startswith("moving avg")
    assert lat.lines[-1].x.shape[0] == 0
    assert chart.title == "one — bandwidth"
    assert chart.ylabel.startswith("bandwidth (")


def _fields(settings: PlotSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__slots__}  # type: ignore[attr-defined]


def test_bandwidth_plot_imports_no_matplotlib(fio_logs: Path, tmp_path: Path) -> None:
    """What makes `bench plot -b` fast: the time series never imports matplotlib."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stackrig", "bench", "plot", str(fio_logs), "-b",
         "-p", "plain_bw*", "-d", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "PIL.Image" in imported
    assert not {m for m in imported if m.split(".")[0] == "matplotlib"}
    assert "rich.markdown" not in imported  # typer's rich help is not loaded
    assert_png(tmp_path / "fio_bw.png")


def test_long_texts_are_cut_to_fit() -> None:
    font = _raster._fonts().title
    text = "A title somebody typed without a thought for the width of the graph " * 4
    cut = _raster._fit(font, text, 400)
    assert cut.endswith("…")
    assert font.getlength(cut) <= 400
    assert text.startswith(cut[:-1])
    assert _raster._fit(font, "short", 400) == "short"


@pytest.mark.parametrize("size", [(1280, 720), (500, 300)])
def test_many_jobs_fill_legend_columns(tmp_path: Path, size: tuple[int, int]) -> None:
    t = np.linspace(0, 10, 50)
    lines = tuple(
        Line(t, t * (i + 1), "#1f77b4", label=f"job_with_a_rather_long_name.{i} read") for i in range(40)
    )
    chart = Chart(title="many " * 40, xlabel="time (s)", ylabel="bandwidth (MiB/s)", lines=lines)
    png_pixels(_raster.render_png(chart, size), tmp_path, size)


def test_logs_are_listed_in_job_order(tmp_path: Path) -> None:
    for job in (10, 2, 1):
        (tmp_path / f"x_bw.{job}.log").write_text("1, 2, 0, 4096\n")
    (tmp_path / "x_iops.1.log").write_text("1, 2, 0, 4096\n")
    assert [n.path.name for n in find_logs(tmp_path)] == [
        "x_bw.1.log",
        "x_bw.2.log",
        "x_bw.10.log",
        "x_iops.1.log",
    ]
