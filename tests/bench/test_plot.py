"""Graphs: the files exist, have the asked size and format, are not blank; fio2gnuplot's flags work."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from stackrig.bench import _binning as binning
from stackrig.bench.logs import FioLog, parse_log_name, read_log
from stackrig.bench.plot import PlotSettings, _read_with_hints, log_hints, parse_duration_ms, parse_size, plot
from stackrig.errors import UsageError
from tests.bench.conftest import RunsEnv


def assert_png(path: Path, size: tuple[int, int] = (1280, 720)) -> None:
    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as img:
        assert img.size == size
        pixels = np.asarray(img.convert("L"), dtype=np.float64)
    assert pixels.std() > 10, f"{path.name} looks blank"
    assert (pixels < 128).mean() > 0.005, f"{path.name} has almost no ink"


def assert_svg(path: Path) -> None:
    root = ET.parse(path).getroot()  # noqa: S314 - our own output
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 50


@pytest.fixture
def seed_dir(fio_logs: Path, tmp_path: Path) -> Path:
    """A /tmp/fio-data-like folder: the logs fio wrote, nothing else."""
    folder = tmp_path / "fio-data"
    folder.mkdir()
    for log in fio_logs.iterdir():
        if "_" in log.name and ".log" in log.name:
            shutil.copy(log, folder / log.name)
    return folder


def test_seed_bandwidth_command_verbatim(cli: Any, seed_dir: Path) -> None:
    done = cli("bench", "plot", "-t", "My16kAWSRandomReadTest", "-b", "-g", "-p", "*_bw*", cwd=seed_dir)
    assert done.returncode == 0, done.stderr
    assert_png(seed_dir / "My16kAWSRandomReadTest_bw.png")
    assert not list(seed_dir.glob("*iops*.png"))
    # gtod_reduce left an empty bw log: said, not plotted
    assert "gtod_bw.8.log" in done.stderr
    assert "no data" in done.stderr


def test_seed_iops_command_verbatim(cli: Any, seed_dir: Path) -> None:
    done = cli(
        "bench", "plot", "-t", "My16kAWSRandomReadTest", "-i", "-g", "-p", "*_iops*", "--json", cwd=seed_dir
    )
    assert done.returncode == 0, done.stderr
    doc = done.json()
    files = [Path(f) for f in doc["data"]["files"]]
    assert [f.name for f in files] == ["My16kAWSRandomReadTest_iops.png"]
    assert_png(files[0])
    assert "gtod_iops.8.log" in doc["data"]["no_data"]
    assert any("no data" in w for w in doc["warnings"])


def test_outdir_basename_size_and_svg(cli: Any, seed_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "graphs"
    done = cli(
        "bench",
        "plot",
        str(seed_dir),
        "-b",
        "-o",
        "mine",
        "-d",
        str(out),
        "--format",
        "svg",
        "--size",
        "800x400",
    )
    assert done.returncode == 0, done.stderr
    svg = out / "mine_bw.svg"
    assert_svg(svg)
    root = ET.parse(svg).getroot()  # noqa: S314
    assert root.get("width") == "576pt"  # 800 px at 100 dpi = 8 in = 576 pt
    assert root.get("height") == "288pt"
    done = cli("bench", "plot", str(seed_dir), "-b", "-o", "small", "-d", str(out), "--size", "640x360")
    assert done.returncode == 0, done.stderr
    assert_png(out / "small_bw.png", (640, 360))


def test_every_graph_of_a_run(runs_env: RunsEnv, tmp_path: Path) -> None:
    result = plot(PlotSettings(source=runs_env.folder, title="Mixed", outdir=tmp_path))
    names = sorted(p.name for p in result.files)
    assert names == sorted(
        f"Mixed_{k}.png"
        for k in ("bw", "iops", "lat", "clat", "clat_percentiles", "clat_hist", "iops_vs_clat")
    )
    for path in result.files:
        assert_png(path)
    # psync has no submission latency: fio leaves slat logs of zeros
    assert any("slat" in n for n in result.no_data)
    assert result.samples > 0


def test_latency_percentiles_hist_window(runs_env: RunsEnv, tmp_path: Path) -> None:
    s = PlotSettings(
        source=runs_env.folder, latency=True, percentiles=True, hist=True, outdir=tmp_path,
        window_ms=200, min_time=0.2, max_time=1.5, fmt="svg",
    )  # fmt: skip
    result = plot(s)
    names = {p.name for p in result.files}
    assert {"fio_lat.svg", "fio_clat.svg", "fio_clat_percentiles.svg", "fio_clat_hist.svg"} <= names
    assert result.window_ms == 200
    for path in result.files:
        assert_svg(path)


def test_per_io_logs_are_binned(fio_logs: Path, tmp_path: Path) -> None:
    log = read_log(fio_logs / "plain_clat.1.log")
    series = binning.bin_log(log, 100)
    assert sum(int(s.count.sum()) for s in series) == len(log)
    windows = -(-int(log.time_ms.max()) // 100) + 1  # windows (T-100, T] from 0 to the last sample
    assert all(len(s) <= windows for s in series)
    for s in series:
        assert bool(np.all(s.lo <= s.mean))
        assert bool(np.all(s.mean <= s.hi))
    result = plot(PlotSettings(source=fio_logs, pattern="plain_*", outdir=tmp_path, title="perio"))
    assert {p.name for p in result.files} >= {
        "perio_clat.png",
        "perio_clat_percentiles.png",
        "perio_clat_hist.png",
    }


def test_moving_average_and_sum() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert binning.moving_average(values, 3).tolist() == pytest.approx([1.5, 2.0, 3.0, 4.0, 4.5])
    assert binning.moving_average(values, 1).tolist() == values.tolist()


def test_plot_by_run_id(cli: Any, runs_env: RunsEnv, tmp_path: Path) -> None:
    rid = runs_env.records[1].id
    done = cli("bench", "plot", rid[:6], "-i", "-d", str(tmp_path), "--db", str(runs_env.db))
    assert done.returncode == 0, done.stderr
    assert_png(tmp_path / "fio_iops.png")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "big"], "invalid size"),
        (["--size", "50x50"], "out of range"),
        (["--window", "fast"], "--window 'fast' is not a duration"),
        (["-m", "5", "-M", "2"], "is not before"),
        (["-p", "*_nothing*"], "no fio logs match"),
    ],
)
def test_bad_flags(cli: Any, seed_dir: Path, args: list[str], message: str) -> None:
    before = sorted(p.name for p in seed_dir.iterdir())
    done = cli("bench", "plot", str(seed_dir), "-b", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert sorted(p.name for p in seed_dir.iterdir()) == before


def test_unknown_run_and_malformed_log(cli: Any, tmp_path: Path) -> None:
    done = cli("bench", "plot", "nosuchrun")
    assert done.returncode == 2
    assert "nosuchrun" in done.stderr
    text = "1, 2, 0, 4096, 0\n3, oops, 0, 4096, 0\n"
    (tmp_path / "bad_bw.1.log").write_text(text)
    done = cli("bench", "plot", str(tmp_path), "-b")
    assert done.returncode == 2
    assert "bad_bw.1.log, line 2" in done.stderr
    # the log is left as it was and no half-drawn graph is written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad_bw.1.log"]
    assert (tmp_path / "bad_bw.1.log").read_text() == text


def test_durations_and_sizes() -> None:
    assert parse_duration_ms("500ms") == 500
    assert parse_duration_ms("2s") == 2000
    assert parse_duration_ms("1m") == 60000
    assert parse_duration_ms("3") == 3000
    with pytest.raises(UsageError):
        parse_duration_ms("0.1ms")
    assert parse_size("1024x768") == (1024, 768)


def test_job_options_settle_the_layout(tmp_path: Path) -> None:
    """A bw log of fio 3.37+ with log_issue_time=1 (issue time 0 outside clat/slat logs): six
    columns that the values alone would read as log_offset; the run's fio.json settles it."""
    rows = "".join(f"{t}, {1000 + t}, {t % 2}, 4096, 1, 0\n" for t in range(1, 200))
    (tmp_path / "new_bw.1.log").write_text(rows)
    assert read_log(tmp_path / "new_bw.1.log").columns[-2:] == ("offset", "prio")
    doc = {
        "fio version": "fio-3.37",
        "global options": {},
        "jobs": [{"jobname": "new", "job options": {"log_issue_time": "1"}}],
    }
    (tmp_path / "fio.json").write_text(json.dumps(doc))
    assert log_hints(tmp_path) == {1: {"offset": None, "issue_time": True, "window_both": None}}
    result = plot(PlotSettings(source=tmp_path, bandwidth=True, outdir=tmp_path / "out"))
    assert [p.name for p in result.files] == ["fio_bw.png"]
    log = _read_with_hints(parse_log_name(tmp_path / "new_bw.1.log"), log_hints(tmp_path))  # type: ignore[arg-type]
    assert log.columns == ("time", "value", "ddir", "bs", "prio", "issue")
    assert log.prio is not None
    assert set(log.prio.tolist()) == {1}
    # options that do not fit the file: the values decide
    doc["jobs"][0]["job options"] = {"log_window_value": "both"}  # type: ignore[index]
    (tmp_path / "fio.json").write_text(json.dumps(doc))
    log = _read_with_hints(parse_log_name(tmp_path / "new_bw.1.log"), log_hints(tmp_path))  # type: ignore[arg-type]
    assert log.columns[-2:] == ("offset", "prio")


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.integers(0, 5000), min_size=1, max_size=300),
    window=st.sampled_from([1, 7, 50, 100, 1000]),
    data=st.data(),
)
def test_time_ordered_and_shuffled_logs_bin_alike(times: list[int], window: int, data: st.DataObject) -> None:
    """Binary search over a time-ordered log (the fast path) and sorting by window (any
    order) give the same windows, means, minima and maxima."""
    n = len(times)
    ddir = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.int8)
    value = np.array(data.draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n)), dtype=np.int64)
    ordered = np.sort(np.array(times, dtype=np.int64))
    name = parse_log_name(Path("prop_bw.1.log"))
    assert name is not None

    def log(order: np.ndarray) -> FioLog:
        return FioLog(name=name, columns=("time", "value", "ddir", "bs"), time_ms=ordered[order],
                      value=value[order], ddir=ddir[order], bs=np.full(n, 4096, dtype=np.uint32))  # fmt: skip

    identity = np.arange(n)
    shuffled = np.array(data.draw(st.permutations(list(range(n)))), dtype=np.intp)
    lo = data.draw(st.one_of(st.none(), st.integers(0, 5000)))
    fast = binning.bin_log(log(identity), window, min_ms=lo)
    slow = binning.bin_log(log(shuffled), window, min_ms=lo)
    assert [s.direction for s in fast] == [s.direction for s in slow]
    for a, b in zip(fast, slow, strict=True):
        assert a.t.tolist() == b.t.tolist()
        assert a.count.tolist() == b.count.tolist()
        assert a.lo.tolist() == b.lo.tolist()
        assert a.hi.tolist() == b.hi.tolist()
        assert np.allclose(a.mean, b.mean)
        if lo is None:
            rows = np.count_nonzero(ddir == (0 if a.direction == "read" else 1))
            assert int(a.count.sum()) == int(rows)


def test_directions_are_listed_in_order(fio_logs: Path) -> None:
    log = read_log(fio_logs / "plain_clat.1.log")
    assert log.directions == sorted(set(log.ddir.tolist()))


def test_a_group_plot_that_fails_leaves_no_folder_behind(fio_logs: Path, tmp_path: Path) -> None:
    """Every graph of every run of a group is one set: when the second run's folder cannot be
    written, the first's graphs are not written either and the folders made for them go."""
    from stackrig.bench.plot import plot_folders
    from stackrig.errors import OutputPathError

    runs = []
    for name in ("a", "b"):
        runs.append(tmp_path / name)
        runs[-1].mkdir()
        for log in fio_logs.glob("avg_*.log"):
            shutil.copy(log, runs[-1] / log.name)
    graphs = tmp_path / "graphs"
    graphs.mkdir()
    (graphs / "b").write_text("a file in the way\n")
    settings = PlotSettings(source=runs[0], bandwidth=True, outdir=graphs)
    with pytest.raises(OutputPathError, match="is not a folder"):
        plot_folders(settings, runs)
    assert sorted(p.name for p in graphs.iterdir()) == ["b"]  # no graphs/a, no stage
    (graphs / "b").unlink()
    result = plot_folders(settings, runs)
    assert sorted(str(p.relative_to(graphs)) for p in result.files) == ["a/fio_bw.png", "b/fio_bw.png"]
    assert sorted(p.name for p in graphs.iterdir()) == ["a", "b"]
