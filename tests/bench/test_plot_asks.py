"""Graphs asked for that the logs cannot give are named with the reason; --hist alone draws only
histograms; log-scale latency axes read as plain numbers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from stackrig.bench import _figures
from stackrig.bench.logs import read_log
from tests.bench.conftest import RunsEnv

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "fio"


def _plot(cli: Any, folder: Path, *flags: str) -> Any:
    return cli("bench", "plot", str(folder), "-d", str(folder), *flags, "--json")


def test_averaged_logs_explain_missing_percentiles_and_histogram(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "floppy"
    folder.mkdir()
    for log in (CORPUS / "fio-plot-floppy").glob("randread-iodepth-1-*.log"):
        shutil.copy(log, folder / log.name)
    done = _plot(cli, folder, "--percentiles", "--hist", "-b")
    assert done.returncode == 0, done.stderr
    doc = done.json()
    assert [Path(p).name for p in doc["data"]["files"]] == ["fio_bw.png"]
    skipped = doc["data"]["skipped"]
    assert any(s.startswith("latency percentiles: the latency logs are averaged") for s in skipped)
    assert any(s.startswith("latency histogram: the latency logs are averaged") for s in skipped)
    assert all("log_hist_msec" in s for s in skipped)
    text = cli("bench", "plot", str(folder), "-d", str(folder), "--percentiles", "-b")
    assert "not drawn: latency percentiles" in text.stderr
    # without graph flags, what the logs give is drawn and the rest still said
    every = _plot(cli, folder)
    assert every.returncode == 0, every.stderr
    assert {Path(p).name for p in every.json()["data"]["files"]} == {
        "fio_bw.png", "fio_iops.png", "fio_clat.png", "fio_iops_vs_clat.png",
    }  # fmt: skip
    assert len(every.json()["data"]["skipped"]) == 2


def test_latency_from_bandwidth_logs_only(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "bw"
    folder.mkdir()
    shutil.copy(CORPUS / "fio-plot-floppy" / "randread-iodepth-16-numjobs-1_bw.1.log", folder)
    done = _plot(cli, folder, "--lat", "--percentiles")
    assert done.returncode == 2
    assert "no lat, clat, slat log" in done.stderr or "no clat, lat, slat log" in done.stderr
    both = _plot(cli, folder, "-b", "--lat", "--hist")
    assert both.returncode == 0, both.stderr
    skipped = both.json()["data"]["skipped"]
    assert "latency: no lat, clat or slat logs here (fio writes them with write_lat_log)" in skipped
    assert any(s.startswith("latency histogram: no latency logs here") for s in skipped)


def test_hist_alone_draws_only_histograms(cli: Any, runs_env: RunsEnv, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = cli("bench", "plot", str(runs_env.folder), "-d", str(out), "--hist", "--json")
    assert done.returncode == 0, done.stderr
    assert [Path(p).name for p in done.json()["data"]["files"]] == ["fio_clat_hist.png"]
    assert sorted(p.name for p in out.iterdir()) == ["fio_clat_hist.png"]


def test_log_scale_latency_ticks_are_plain_numbers(fio_logs: Path) -> None:
    log = read_log(fio_logs / "plain_clat.1.log")
    figures = (
        (_figures.percentile_figure("clat", [log], [], (800, 400), window=100, title="t"), "y"),
        (_figures.hist_figure([log], [], (800, 400), "t"), "x"),
    )
    for fig, axis in figures:
        fig.canvas.draw()
        ax = fig.axes[0]
        labels = [t.get_text() for t in (ax.get_yticklabels() if axis == "y" else ax.get_xticklabels())]
        shown = [label for label in labels if label]
        assert shown, labels
        assert all(re.fullmatch(r"[0-9][0-9,]*|0\.[0-9]+", label) for label in shown), shown
        assert not any("10^" in label or "times" in label or "$" in label for label in shown)
    assert _figures.plain_number(50.0) == "50"
    assert _figures.plain_number(2000.0) == "2,000"
    assert _figures.plain_number(0.5) == "0.5"
    assert np.isfinite(log.value).all()
