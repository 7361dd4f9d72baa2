"""bench sweep (matrix, graphs, interrupt and --resume), --precondition and --steady-state, with
real fio; the t quantile and Welch interval against published values."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from stackrig.bench.phases import parse_steady_state
from stackrig.bench.plot import steady_windows
from stackrig.bench.stats import summarize, t_cdf, t_quantile, welch_log_ratio
from stackrig.errors import UsageError
from tests.bench.conftest import needs_fio, stackrig
from tests.conftest import STACKRIG
from tests.services import wait_until

NULL_JOB = "[nul]\nioengine=null\nsize=64m\nrw=randread\nbs=4k\ntime_based\nruntime={runtime}\n"


# ---------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("p", "df", "t"),
    [
        (0.975, 1, 12.706204736),
        (0.975, 2, 4.302652730),
        (0.975, 5, 2.570581836),
        (0.975, 30, 2.042272456),
        (0.995, 3, 5.840909309),
        (0.95, 10, 1.812461123),
        (0.025, 4, -2.776445105),
    ],
)
def test_t_quantile_matches_the_tables(p: float, df: float, t: float) -> None:
    assert t_quantile(p, df) == pytest.approx(t, abs=1e-8)
    assert t_cdf(t, df) == pytest.approx(p, abs=1e-10)


def test_welch_interval_and_summary() -> None:
    same = welch_log_ratio([100, 104, 96, 101], [99, 103, 98, 100])
    assert not same.significant
    assert same.low is not None
    assert same.high is not None
    assert same.low < 0 < same.high
    half = welch_log_ratio([100, 104, 96, 101], [50, 52, 48, 51])
    assert half.significant
    assert half.change == pytest.approx(-0.5, abs=0.01)
    one = welch_log_ratio([100], [50, 52])
    assert (one.low, one.high, one.df) == (None, None, None)
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert (s.n, s.mean, s.minimum, s.maximum) == (4, 2.5, 1.0, 4.0)
    assert s.stdev == pytest.approx(1.2909944487)
    assert s.low == pytest.approx(2.5 - 3.182446305 * 1.2909944487 / 2)
    with pytest.raises(ValueError, match="positive"):
        welch_log_ratio([0.0], [1.0])


def test_steady_state_syntax() -> None:
    assert parse_steady_state("iops:10%:60s") == {"steadystate": "iops:10%", "steadystate_duration": "60s"}
    assert parse_steady_state("iops_slope:0.1%:5m:30s") == {
        "steadystate": "iops_slope:0.1%", "steadystate_duration": "300s", "steadystate_ramp_time": "30s",
    }  # fmt: skip
    for bad, message in (("iops:10%", "METRIC:LIMIT"), ("speed:1:60s", "metric"), ("iops:x:60s", "limit"),
                         ("iops:10%:soon", "not a duration"), ("iops:10%:500ms", "shorter")):  # fmt: skip
        with pytest.raises(UsageError, match=message):
            parse_steady_state(bad)


# ---------------------------------------------------------------- sweeps


@needs_fio
def test_sweep_runs_the_matrix_as_one_group(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    job = tmp_path / "nul.fio"
    job.write_text(NULL_JOB.format(runtime=1) + "iodepth=8\n")  # the sweep's iodepth must win
    done = stackrig(*home_args, "bench", "sweep", str(job), "--iodepth", "1,4", "--numjobs", "1,2",
                    "--bs", "4k,64k", "--json", timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["group"]["kind"] == "sweep"
    assert len(data["runs"]) == 8
    points = {(p["bs"], p["numjobs"], p["iodepth"]) for p in data["points"]}
    assert points == {(bs, nj, qd) for bs in ("4k", "64k") for nj in (1, 2) for qd in (1, 4)}
    assert all(p["iops"] and p["iops"] > 0 for p in data["points"])
    run = data["runs"][-1]
    assert run["group"]["point"] == {"bs": "64k", "numjobs": "2", "iodepth": "4", "repeat": "0"}
    effective = (Path(run["folder"]) / "nul.effective.fio").read_text()
    assert effective.rstrip().endswith("bs=64k\nnumjobs=2\niodepth=4")  # set last: wins over iodepth=8
    assert (Path(run["folder"]) / "nul.fio").read_bytes() == job.read_bytes()
    results = json.loads((Path(run["folder"]) / "fio.json").read_text())
    assert results["jobs"][0]["job options"]["iodepth"] == "4"
    names = sorted(Path(p).name for p in data["graphs"])
    graphs = ("iops_vs_iodepth.png", "lat_vs_iodepth.png", "iops_heatmap.png")
    assert names == sorted(f"nul_{bs}_{graph}" for bs in ("4k", "64k") for graph in graphs)
    assert all(Path(p).parent == data_dir / "groups" / data["group"]["id"] for p in data["graphs"])
    text = stackrig(*home_args, "bench", "show", "latest-group")
    assert "iops" in text.stdout
    report = stackrig(*home_args, "bench", "report", "latest-group")
    assert report.returncode == 0, report.stderr
    assert f"Group g:{data['group']['id']}" in report.stdout
    assert "<th>iodepth</th>" in report.stdout
    assert report.stdout.count("<section id='run") == 8


@needs_fio
def test_interrupted_sweep_resumes_the_missing_points(
    tmp_path: Path, data_dir: Path, home_args: list[str]
) -> None:
    job = tmp_path / "slow.fio"
    job.write_text(NULL_JOB.format(runtime=2))
    argv = [str(STACKRIG), *home_args, "bench", "sweep", str(job), "--iodepth", "1,2,4"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = data_dir / "stackrig.db"

    def finished_points() -> int:
        if not db.is_file():
            return 0
        with sqlite3.connect(db) as conn:
            try:
                return int(conn.execute("SELECT COUNT(*) FROM bench_runs WHERE status = 'ok'").fetchone()[0])
            except sqlite3.Error:
                return 0

    try:
        wait_until(lambda: finished_points() >= 1, timeout=60, what="the first point of the sweep")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    groups = json.loads(stackrig(*home_args, "bench", "list", "--groups", "--json").stdout)["data"]["groups"]
    (group,) = groups
    before = json.loads(stackrig(*home_args, "bench", "show", f"g:{group['id']}", "--json").stdout)["data"]
    ok_before = {r["group"]["point"]["iodepth"] for r in before["runs"] if r["status"] == "ok"}
    assert ok_before
    assert len(ok_before) < 3
    resumed = stackrig(*home_args, "bench", "sweep", "--resume", f"g:{group['id']}", "--json", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)["data"]
    assert {r["group"]["point"]["iodepth"] for r in data["runs"]} == {"1", "2", "4"} - ok_before
    assert len(data["skipped"]) == len(ok_before)
    assert {p["iodepth"] for p in data["points"]} == {1, 2, 4}
    again = stackrig(*home_args, "bench", "sweep", "--resume", f"g:{group['id']}", "--json")
    assert json.loads(again.stdout)["data"]["runs"] == []


@needs_fio
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--iodepth", "0,4"], "not a positive whole number"),
        (["--bs", "4k,huge"], "not a block size"),
        (["--rw", "sideways"], "not one of fio's rw modes"),
        (["--iodepth", "1,1"], "twice"),
        ([], "at least one of"),
        (["--resume", "g:nosuch", "--iodepth", "1"], "give neither"),
    ],
)
def test_sweep_bad_input(
    tmp_path: Path, home_args: list[str], data_dir: Path, args: list[str], message: str
) -> None:
    job = tmp_path / "nul.fio"
    job.write_text(NULL_JOB.format(runtime=1))
    done = stackrig(*home_args, "bench", "sweep", *([] if "--resume" in args else [str(job)]), *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not (data_dir / "runs").exists()


# ---------------------------------------------------------------- precondition, steady state


@needs_fio
def test_precondition_writes_the_files_twice_first(tmp_path: Path, home_args: list[str]) -> None:
    job = tmp_path / "pc.fio"
    job.write_text(
        "[pc]\nioengine=psync\nsize=2m\nfilename=pc.dat\nrw=randread\nbs=4k\ntime_based\nruntime=1\n"
    )
    done = stackrig(*home_args, "bench", "run", str(job), "--precondition", "--json")
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["data"]["run"]["folder"])
    pre = json.loads((folder / "precondition" / "fio.json").read_text())
    assert pre["jobs"][0]["write"]["io_bytes"] == 2 * 2 * 1024 * 1024
    assert pre["jobs"][0]["job options"]["rw"] == "write"
    assert json.loads((folder / "meta.json").read_text())["replay"]["precondition"] is True
    raw = tmp_path / "raw.fio"
    raw.write_text("[raw]\nfilename=/dev/sdz9\nrw=randread\nsize=1m\n")
    refused = stackrig(*home_args, "bench", "run", str(raw), "--precondition")
    assert refused.returncode == 4
    assert "would overwrite /dev/sdz9" in refused.stderr
    assert "--yes" in refused.stderr


@needs_fio
def test_steady_state_is_recorded_marked_and_required(tmp_path: Path, home_args: list[str]) -> None:
    job = tmp_path / "ss.fio"
    job.write_text("[ss]\nioengine=null\nsize=64m\nrw=randread\nbs=4k\ntime_based\nruntime=6\n")
    done = stackrig(*home_args, "bench", "run", str(job), "--steady-state", "iops:50%:2s", "--logs",
                    "--log-avg-msec", "200", "--require-steady", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)["data"]["run"]
    state = run["steady"]["ss"]
    assert state["attained"] is True
    assert state["window_s"] == 2
    assert 1 < state["after_s"] < 6  # fio ends the job once steady, before its runtime
    ((name, start, end),) = steady_windows(Path(run["folder"]))
    assert name == "ss"
    assert end == state["after_s"]
    assert end - start == pytest.approx(min(2.0, end))  # the window fio measured, clipped at 0
    effective = (Path(run["folder"]) / "ss.effective.fio").read_text()
    assert "steadystate=iops:50%" in effective
    assert "steadystate_duration=2s" in effective
    never = stackrig(*home_args, "bench", "run", str(job), "--steady-state", "bw:0%:2s", "--require-steady")
    assert never.returncode == 1
    assert "steady state (bw:0.000000%) not reached" in never.stderr
    bad = stackrig(*home_args, "bench", "run", str(job), "--require-steady")
    assert bad.returncode == 2


@needs_fio
def test_sweep_over_rw_with_repeats(tmp_path: Path, home_args: list[str]) -> None:
    """--rw is an axis of its own and --repeat N runs each point N times (the point's figure is
    their mean), all in the one group."""
    job = tmp_path / "nul.fio"
    job.write_text(NULL_JOB.format(runtime=1))
    done = stackrig(*home_args, "bench", "sweep", str(job), "--iodepth", "2", "--rw", "randread,randwrite",
                    "--repeat", "2", "--json", timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert len(data["runs"]) == 4
    assert {(r["group"]["point"]["rw"], r["group"]["point"]["repeat"]) for r in data["runs"]} == {
        (rw, n) for rw in ("randread", "randwrite") for n in ("0", "1")
    }
    assert {(p["rw"], p["runs"]) for p in data["points"]} == {("randread", 2), ("randwrite", 2)}
    for run in data["runs"]:
        effective = (Path(run["folder"]) / "nul.effective.fio").read_text()
        assert f"rw={run['group']['point']['rw']}" in effective
        results = json.loads((Path(run["folder"]) / "fio.json").read_text())
        direction = "write" if run["group"]["point"]["rw"] == "randwrite" else "read"
        assert results["jobs"][0][direction]["total_ios"] > 0
