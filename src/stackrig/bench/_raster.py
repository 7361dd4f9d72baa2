"""A :class:`~stackrig.bench._chart.Chart` drawn to PNG with numpy and Pillow.

Why not matplotlib: importing it takes about 0.3 s, most of it spent building docstrings,
which is more than reading a million-line log. Pillow (already a dependency of matplotlib)
imports in about 15 ms. Lines are drawn at twice the size and reduced, so they are
anti-aliased; text is anti-aliased by FreeType. The font is DejaVu Sans, as in matplotlib's
graphs, taken from matplotlib's data folder (found without importing it) or from Debian's
fonts-dejavu-core. The PNG is encoded here too (:func:`encode_png`).
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig.bench._chart import Chart, Line, format_ticks, legend_corner, nice_ticks

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

__all__ = ["encode_png", "font_path", "render_png"]

SUPERSAMPLE = 2
DASH = (3.7, 1.6)  # matplotlib's "--": on and off, in line widths
PX_PER_PT = 100 / 72  # matplotlib's sizes are in points at 100 dpi
PAD = 8
TICK = 4
INK = (34, 34, 34)
GRID = (224, 224, 224)
WHITE = (255, 255, 255)
_DEBIAN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@functools.cache
def font_path() -> Path | None:
    """DejaVu Sans from matplotlib's data (located, not imported) or Debian's fonts; None if absent."""
    import importlib.util

    candidates = [_DEBIAN_FONT]
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidates.insert(0, Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    return next((p for p in candidates if p.is_file()), None)


@dataclass(frozen=True, slots=True)
class _Fonts:
    title: ImageFont.FreeTypeFont | ImageFont.ImageFont
    label: ImageFont.FreeTypeFont | ImageFont.ImageFont
    tick: ImageFont.FreeTypeFont | ImageFont.ImageFont
    legend: ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.cache
def _fonts() -> _Fonts:
    from PIL import ImageFont

    path = font_path()

    def load(points: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        size = round(points * PX_PER_PT)
        if path is None:  # Pillow's own font: still scalable and with µ and the dash
            return ImageFont.load_default(size)
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)

    return _Fonts(title=load(12), label=load(10), tick=load(10), legend=load(8))


def _rgb(color: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    r, g, b = ImageColor.getrgb(color)[:3]
    return r, g, b


def _text_size(font: Any, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return math.ceil(right - left), math.ceil(bottom - top)


@dataclass(frozen=True, slots=True)
class _Area:
    """The plot area in canvas pixels and the data window it shows."""

    left: int
    top: int
    width: int
    height: int
    x0: float
    x1: float
    y0: float
    y1: float

    def px(self, x: Any, scale: int = 1) -> Any:
        return (x - self.x0) / ((self.x1 - self.x0) or 1.0) * self.width * scale

    def py(self, y: Any, scale: int = 1) -> Any:
        return (1.0 - (y - self.y0) / ((self.y1 - self.y0) or 1.0)) * self.height * scale


def render_png(chart: Chart, size: tuple[int, int]) -> bytes:
    """The chart as PNG bytes of exactly ``size`` pixels."""
    from PIL import Image, ImageDraw

    width, height = size
    fonts = _fonts()
    x0, x1 = chart.x_range()
    y0, y1 = chart.y_range()
    xticks = [t for t in nice_ticks(x0, x1, max(2, width // 130)) if x0 <= t <= x1]
    yticks = [t for t in nice_ticks(y0, y1, max(2, height // 90)) if y0 <= t <= y1]
    xlabels, ylabels = format_ticks(xticks), format_ticks(yticks)
    tick_h = _text_size(fonts.tick, "0123456789")[1]
    label_h = _text_size(fonts.label, "Ag(µ)")[1]
    title_h = _text_size(fonts.title, "Ag")[1]
    widest = max((_text_size(fonts.tick, s)[0] for s in ylabels), default=0)
    last_x = _text_size(fonts.tick, xlabels[-1])[0] // 2 if xlabels else 0
    left = min(int(width * 0.3), PAD + label_h + PAD + widest + 4 + TICK)
    right = min(int(width * 0.3), max(2 * PAD, last_x + 4))
    top = min(int(height * 0.3), PAD + title_h + PAD)
    bottom = min(int(height * 0.3), TICK + 4 + tick_h + PAD + label_h + PAD)
    area = _Area(left, top, max(1, width - left - right), max(1, height - top - bottom), x0, x1, y0, y1)

    canvas = Image.new("RGB", (width, height), WHITE)
    canvas.paste(_plot_area(chart, area, xticks, yticks), (area.left, area.top))
    draw = ImageDraw.Draw(canvas)
    _axes(
        draw,
        area,
        fonts.tick,
        list(zip(xticks, xlabels, strict=True)),
        list(zip(yticks, ylabels, strict=True)),
    )
    _titles(canvas, draw, chart, area, fonts)
    if chart.legend and any(line.label for line in chart.lines):
        _legend(canvas, chart, area, fonts.legend)
    return encode_png(canvas)


def encode_png(image: Image.Image) -> bytes:
    """An RGB image as PNG: 8-bit truecolour, filter "Up", zlib level 3.

    Written here because ``Image.save`` first imports five of Pillow's format plugins
    (17 ms, more than drawing the graph); the format is a few fixed chunks around zlib.
    """
    import numpy as np

    width, height = image.size
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8).reshape(height, width * 3)
    rows = np.empty((height, width * 3 + 1), dtype=np.uint8)
    # filter "Up" on every scanline (each byte minus the one above, modulo 256): a graph's
    # long horizontal runs become zeros, a third smaller than unfiltered at the same speed
    rows[:, 0] = 2
    rows[0, 1:] = pixels[0]
    rows[1:, 1:] = pixels[1:] - pixels[:-1]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, deflate, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 3)),
            chunk(b"IEND", b""),
        )
    )


def _plot_area(chart: Chart, area: _Area, xticks: list[float], yticks: list[float]) -> Image.Image:
    """Grid and translucent bands at full size, then lines over them at SUPERSAMPLE times the
    size, reduced back: anti-aliased lines. (A band's soft edge does not need it, and blending
    bands at four times the pixels cost more than the rest of the graph.)"""
    from PIL import Image, ImageDraw

    base = Image.new("RGB", (area.width, area.height), WHITE)
    draw = ImageDraw.Draw(base)
    for t in xticks:
        x = round(float(area.px(t)))
        draw.line([(x, 0), (x, area.height)], fill=GRID, width=1)
    for t in yticks:
        y = round(float(area.py(t)))
        draw.line([(0, y), (area.width, y)], fill=GRID, width=1)
    for band in chart.bands:
        mask = Image.new("L", base.size, 0)
        fill = ImageDraw.Draw(mask)
        for xs, lo, hi in _runs(area.px(band.x), area.py(band.lo), area.py(band.hi)):
            if xs.shape[0] > 1:
                outline = list(zip(xs.tolist(), hi.tolist(), strict=True))
                outline += list(zip(xs[::-1].tolist(), lo[::-1].tolist(), strict=True))
                fill.polygon(outline, fill=round(band.alpha * 255))
        base.paste(_rgb(band.color), (0, 0), mask)
    s = SUPERSAMPLE
    big = base.resize((area.width * s, area.height * s), Image.Resampling.NEAREST)
    pen = ImageDraw.Draw(big, "RGBA")
    for line in chart.lines:
        _polyline(pen, line, area.px(line.x, s), area.py(line.y, s))
    return big.reduce(s)


def _runs(*columns: Any) -> list[tuple[Any, ...]]:
    """The columns cut where any of them is not finite (a gap in the data breaks the line)."""
    import numpy as np

    ok = np.logical_and.reduce([np.isfinite(c) for c in columns])
    if ok.all():
        return [columns]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    return [tuple(c[a:b] for c in columns) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _polyline(draw: ImageDraw.ImageDraw, line: Line, xs: Any, ys: Any) -> None:
    s = SUPERSAMPLE
    color = (*_rgb(line.color), round(line.alpha * 255))
    width = max(1, round(line.width * PX_PER_PT * s))
    for px, py in _runs(xs, ys):
        points = list(zip(px.tolist(), py.tolist(), strict=True))
        if not points:  # a legend-only line
            continue
        if len(points) == 1:
            x, y = points[0]
            draw.ellipse([x - width, y - width, x + width, y + width], fill=color)
            continue
        if not line.dashed:
            draw.line(points, fill=color, width=width, joint="curve" if width > 2 else None)
            continue
        for dash in _dashes(points, line.width * PX_PER_PT * s):
            draw.line(dash, fill=color, width=width)


def _dashes(
    points: Sequence[tuple[float, float]], line_width: float, pattern: tuple[float, float] = DASH
) -> list[list[tuple[float, float]]]:
    """The polyline cut into dashes and gaps of ``pattern`` line widths, measured along it."""
    on, off = pattern[0] * line_width, pattern[1] * line_width
    dashes: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = [points[0]]
    drawing, left = True, on  # in the dash or the gap, and how much of it remains
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        length = math.hypot(bx - ax, by - ay)
        done = 0.0
        while length - done > left:
            done += left
            point = (ax + (bx - ax) * done / length, ay + (by - ay) * done / length)
            if drawing:
                current.append(point)
                dashes.append(current)
            else:
                current = [point]
            drawing = not drawing
            left = on if drawing else off
        left -= length - done
        if drawing:
            current.append((bx, by))
    if drawing and len(current) > 1:
        dashes.append(current)
    return dashes


def _axes(
    draw: ImageDraw.ImageDraw,
    area: _Area,
    font: Any,
    xticks: Sequence[tuple[float, str]],
    yticks: Sequence[tuple[float, str]],
) -> None:
    right, bottom = area.left + area.width, area.top + area.height
    draw.rectangle([area.left - 1, area.top - 1, right, bottom], outline=INK, width=1)
    for t, text in xticks:
        x = area.left + float(area.px(t))
        draw.line([(x, bottom), (x, bottom + TICK)], fill=INK, width=1)
        draw.text((x, bottom + TICK + 3), text, fill=INK, font=font, anchor="mt")
    for t, text in yticks:
        y = area.top + float(area.py(t))
        draw.line([(area.left - 1 - TICK, y), (area.left - 1, y)], fill=INK, width=1)
        draw.text((area.left - TICK - 4, y), text, fill=INK, font=font, anchor="rm")


def _fit(font: Any, text: str, room: float) -> str:
    """``text`` cut with an ellipsis to fit ``room`` pixels (a long -t title, a job name)."""
    if font.getlength(text) <= room:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid] + "…") <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def _titles(canvas: Image.Image, draw: ImageDraw.ImageDraw, chart: Chart, area: _Area, fonts: _Fonts) -> None:
    from PIL import Image, ImageDraw

    center = canvas.width / 2
    room = canvas.width - 2 * PAD
    title, xlabel = _fit(fonts.title, chart.title, room), _fit(fonts.label, chart.xlabel, room)
    draw.text((center, area.top - PAD), title, fill=INK, font=fonts.title, anchor="md")
    draw.text((center, canvas.height - PAD), xlabel, fill=INK, font=fonts.label, anchor="md")
    # the y label, drawn on its own strip and turned a quarter to read bottom to top
    ylabel = _fit(fonts.label, chart.ylabel, max(area.height, canvas.height - 2 * PAD))
    w, h = _text_size(fonts.label, ylabel)
    strip = Image.new("L", (w + 4, h + 8), 0)
    ImageDraw.Draw(strip).text((2, 2), ylabel, fill=255, font=fonts.label, anchor="lt")
    turned = strip.rotate(90, expand=True)
    y = round(area.top + area.height / 2 - turned.height / 2)
    canvas.paste(INK, (PAD - 2, min(max(0, y), canvas.height - turned.height)), turned)


def _legend(canvas: Image.Image, chart: Chart, area: _Area, font: Any) -> None:
    """The labelled lines in a box in the emptiest corner; in columns when they are many, and
    cut to "+N more" when even columns would not fit (dozens of jobs)."""
    from PIL import ImageDraw

    swatch, gap, inset = 28, 6, 6
    row = _text_size(font, "Ag(µ)")[1] + 6
    labelled = [line for line in chart.lines if line.label]
    label_room = max(40.0, area.width / 3 - PAD - swatch - gap - PAD)
    labels = [_fit(font, line.label or "", label_room) for line in labelled]
    col_w = PAD + swatch + gap + max(_text_size(font, text)[0] for text in labels)
    rows_fit = max(1, (area.height - 2 * inset - PAD - PAD // 2) // row)
    cols_fit = max(1, int((area.width - 2 * inset - PAD) // col_w))
    entries: list[tuple[Line | None, str]] = list(zip(labelled, labels, strict=True))
    if len(entries) > rows_fit * cols_fit:
        keep = rows_fit * cols_fit - 1
        entries = [*entries[:keep], (None, f"+{len(entries) - keep} more")]
    cols = -(-len(entries) // rows_fit)
    rows = -(-len(entries) // cols)
    box_w = col_w * cols + PAD
    box_h = PAD + row * rows + PAD // 2
    corner = legend_corner(chart, box_w / area.width, box_h / area.height)
    x = area.left + inset if corner.endswith("left") else area.left + area.width - inset - box_w
    y = area.top + inset if corner.startswith("upper") else area.top + area.height - inset - box_h
    draw = ImageDraw.Draw(canvas, "RGBA")
    draw.rounded_rectangle(
        [x, y, x + box_w, y + box_h], radius=3, fill=(255, 255, 255, 215), outline=(200, 200, 200)
    )
    for i, (line, text) in enumerate(entries):
        left = x + PAD + col_w * (i // rows)
        mid = y + PAD + row * (i % rows) + row / 2
        if line is not None:
            points = [(left, mid), (left + swatch, mid)]
            width = max(1, round(line.width * PX_PER_PT))
            color = (*_rgb(line.color), round(line.alpha * 255))
            dashes = _dashes(points, width) if line.dashed else [points]
            for dash in dashes:
                draw.line(dash, fill=color, width=width)
        draw.text((left + swatch + gap, mid), text, fill=INK, font=font, anchor="lm")
