"""bench run with real fio: local runs, the run folder, every bad input of the issue."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from stackrig.bench import load_results
from tests.bench.conftest import DATA, SharedRun, needs_fio, stackrig
from tests.conftest import STACKRIG
from tests.services import run_unprivileged, wait_until

pytestmark = needs_fio


def test_run_folder_holds_everything(shared_runs: dict[str, SharedRun]) -> None:
    run = shared_runs["logs"]
    folder = run.folder
    assert folder.parent == run.runs_dir
    assert folder.name.endswith("Z-baseline")
    names = {p.name for p in folder.iterdir()}
    assert {"quick.fio", "quick.effective.fio", "fio.json", "fio.stderr", "meta.json"} <= names
    assert "scratch" not in names  # fio's data files were removed
    for job in ("randread", "seqwrite"):
        for kind in ("bw", "iops", "lat", "clat", "slat"):
            assert any(n.startswith(f"{job}_{kind}.") and n.endswith(".log") for n in names), (job, kind)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "ok"
    assert meta["exit_code"] == 0
    assert meta["labels"] == {"cloud": "aws", "volume": "gp3"}
    assert meta["fio_version"].startswith("3.")
    assert meta["machine"]["kernel"] == os.uname().release
    assert meta["command"][:2] == ["fio", "--output-format=json+"]
    source = DATA / "quick.fio"
    assert meta["jobs"] == [
        {
            "file": "quick.fio",
            "source": str(source),
            "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "size": source.stat().st_size,
            "effective": "quick.effective.fio",
        }
    ]
    assert meta["started"] <= meta["ended"]
    # the copy is the job byte for byte (its sha256 is the recorded one); what stackrig adds
    # is in the effective job fio ran, with the run's scratch folder as a placeholder
    copy = (folder / "quick.fio").read_bytes()
    assert copy == source.read_bytes()
    assert hashlib.sha256(copy).hexdigest() == meta["jobs"][0]["sha256"]
    effective = (folder / "quick.effective.fio").read_text()
    assert effective.endswith(source.read_text())
    assert "write_bw_log" in effective
    assert "log_avg_msec=200" in effective
    assert "directory=${STACKRIG_RUN_SCRATCH}" in effective
    assert str(folder) not in effective  # nothing run-specific: the file runs again as it is
    assert meta["command"][-1] == "quick.effective.fio"
    assert meta["replay"] == {
        "logs": True, "log_avg_msec": 200, "target": None, "hosts": [], "status_interval": 1.0, "from": None,
        "params": {}, "steady_state": {}, "precondition": False,
    }  # fmt: skip


def test_run_without_logs_and_envelope(shared_runs: dict[str, SharedRun]) -> None:
    run = shared_runs["plain"]
    names = {p.name for p in run.folder.iterdir()}
    assert not [n for n in names if ".log" in n]
    doc = run.envelope
    assert doc["ok"] is True
    assert doc["command"] == "bench run"
    rows = doc["data"]["results"]
    assert {(r["job"], r["direction"]) for r in rows} == {("randread", "read"), ("seqwrite", "write")}
    for row in rows:
        assert row["iops"] > 0
        assert row["bw_bytes"] > 0
        assert row["lat_p99_ns"] > 0
        assert row["host"] == ""


def test_results_reader_on_real_output(shared_runs: dict[str, SharedRun]) -> None:
    results = load_results(shared_runs["logs"].folder)
    assert results.fio_version
    assert results.fio_version.startswith("fio-3")
    assert not results.client_mode
    assert [j.name for j in results.jobs] == ["randread", "seqwrite"]
    read = results.jobs[0].direction("read")
    assert read is not None
    assert read.clat is not None
    assert read.clat.bins
    assert sum(count for _, count in read.clat.bins) == read.clat.samples
    assert read.clat.percentile(99.0) is not None
    assert read.runtime_ms
    assert read.runtime_ms >= 900
    assert read.io_bytes
    assert read.bw_bytes
    assert read.iops
    assert results.jobs[0].direction("write") is None
    assert results.jobs[0].usr_cpu is not None
    assert results.jobs[0].ctx is not None


def test_target_sets_directory(tmp_path: Path, home_args: list[str]) -> None:
    target = tmp_path / "target"
    target.mkdir()
    done = stackrig(*home_args, "bench", "run", str(DATA / "client.fio"), "--target", str(target), "--json")
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["data"]["run"]["folder"])
    assert f"directory={target}" in (folder / "client.effective.fio").read_text()
    assert (folder / "client.fio").read_bytes() == (DATA / "client.fio").read_bytes()
    assert list(target.iterdir())  # fio laid out its file there


def test_same_name_twice_gets_suffix_and_keeps_earlier(tmp_path: Path, home_args: list[str]) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    now = time.time()
    # earlier run folders with the name the next run would get (this second and the next ones)
    earlier = []
    for offset in range(15):
        folder = runs / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + offset)) + "-same")
        folder.mkdir()
        (folder / "marker").write_text("mine")
        earlier.append(folder)
    done = stackrig(
        *home_args,
        "bench",
        "run",
        str(DATA / "client.fio"),
        "--name",
        "same",
        "--runs-dir",
        str(runs),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["data"]["run"]["folder"])
    assert folder.parent == runs
    assert folder.name[:16] + "-same-" in folder.name  # a short suffix, not an earlier folder
    for old in earlier:
        assert sorted(p.name for p in old.iterdir()) == ["marker"]


def test_job_from_url(http_root: tuple[str, Path], home_args: list[str]) -> None:
    base, root = http_root
    done = stackrig(*home_args, "bench", "run", f"{base}/quick.fio", "--json")
    assert done.returncode == 0, done.stderr
    meta = json.loads((Path(json.loads(done.stdout)["data"]["run"]["folder"]) / "meta.json").read_text())
    assert meta["jobs"][0]["source"] == f"{base}/quick.fio"
    assert meta["jobs"][0]["sha256"] == hashlib.sha256((root / "quick.fio").read_bytes()).hexdigest()


def test_live_progress_on_a_terminal(tmp_path: Path, home_args: list[str]) -> None:
    """Under a pseudo-terminal (script(1)) the live line shows percent, ETA, IOPS and bandwidth."""
    if shutil.which("script") is None:
        pytest.skip("script(1) from util-linux is needed for a pseudo-terminal")
    job = tmp_path / "three.fio"
    job.write_text((DATA / "quick.fio").read_text().replace("runtime=1", "runtime=3"))
    typescript = tmp_path / "typescript"
    command = " ".join([str(STACKRIG), *home_args, "bench", "run", str(job), "--status-interval", "0.5"])
    done = subprocess.run(
        ["script", "-qec", command, str(typescript)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout
    screen = typescript.read_text(errors="replace")
    assert "% " in screen
    assert "eta" in screen
    assert "IOPS" in screen
    assert "MiB/s" in screen


def _no_runs(data_dir: Path) -> None:
    runs = data_dir / "runs"
    assert not runs.exists() or not list(runs.iterdir())


def test_missing_job_file(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    done = stackrig(*home_args, "bench", "run", str(tmp_path / "nope.fio"))
    assert done.returncode == 2
    assert "nope.fio does not exist" in done.stderr
    _no_runs(data_dir)


def test_unreachable_url(home_args: list[str], data_dir: Path) -> None:
    from tests.services import free_port

    url = f"http://127.0.0.1:{free_port()}/job.fio"
    done = stackrig(*home_args, "bench", "run", url)
    assert done.returncode == 2
    assert f"cannot download job file {url}" in done.stderr
    _no_runs(data_dir)


def test_too_large_url(http_root: tuple[str, Path], home_args: list[str], data_dir: Path) -> None:
    base, _ = http_root
    done = stackrig(*home_args, "bench", "run", f"{base}/huge.fio")
    assert done.returncode == 2
    assert "too large" in done.stderr
    assert "huge.fio" in done.stderr
    _no_runs(data_dir)


def test_url_not_found(http_root: tuple[str, Path], home_args: list[str]) -> None:
    base, _ = http_root
    done = stackrig(*home_args, "bench", "run", f"{base}/absent.fio")
    assert done.returncode == 2
    assert "HTTP 404" in done.stderr


def test_invalid_job_quotes_fio(home_args: list[str], data_dir: Path) -> None:
    done = stackrig(*home_args, "bench", "run", str(DATA / "invalid.fio"), "--json")
    assert done.returncode == 2
    doc = json.loads(done.stdout)
    assert doc["error"]["type"] == "InvalidJobError"
    assert "fio rejects job file" in doc["error"]["message"]
    assert "rw=sideways" in doc["error"]["message"]  # fio's own words
    _no_runs(data_dir)


def test_fio_not_installed(home_args: list[str], data_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), env={"PATH": str(empty)})
    assert done.returncode == 3
    assert "fio is not installed" in done.stderr
    assert "apt-get install fio" in done.stderr
    _no_runs(data_dir)


def test_runs_dir_not_writable_as_nobody(tmp_path: Path) -> None:
    world = Path(tempfile.mkdtemp(prefix="stackrig-bench-"))
    try:
        world.chmod(0o755)
        locked = world / "runs"
        locked.mkdir()
        (locked / "older").mkdir()
        locked.chmod(0o755)  # owned by root: nobody cannot write
        home = world / "home"
        home.mkdir()
        home.chmod(0o777)
        job = world / "quick.fio"
        shutil.copy(DATA / "quick.fio", job)
        job.chmod(0o644)
        done = run_unprivileged(
            [str(STACKRIG), "--data-dir", str(home), "bench", "run", str(job), "--runs-dir", str(locked)],
            timeout=120,
        )
        if os.geteuid() != 0:
            pytest.skip("needs root to drop to nobody")
        assert done.returncode == 2, done.stderr
        assert str(locked) in done.stderr
        assert "permission denied" in done.stderr
        assert [p.name for p in locked.iterdir()] == ["older"]
    finally:
        shutil.rmtree(world, ignore_errors=True)


def test_failed_fio_keeps_folder(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    job = tmp_path / "fails.fio"
    # passes fio --parse-only, fails when fio runs it
    job.write_text("[fails]\nioengine=psync\nrw=read\nsize=1M\ndirectory=/nonexistent/stackrig\n")
    done = stackrig(*home_args, "bench", "run", str(job))
    assert done.returncode == 1, done.stderr
    assert "fio run failed" in done.stderr
    folders = list((data_dir / "runs").iterdir())
    assert len(folders) == 1
    meta = json.loads((folders[0] / "meta.json").read_text())
    assert meta["status"] == "failed"
    assert (folders[0] / "fio.stderr").read_text()
    listed = stackrig(*home_args, "bench", "list", "--json").stdout
    assert json.loads(listed)["data"]["runs"][0]["status"] == "failed"


def test_missing_target(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    done = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), "--target", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert "is not a folder" in done.stderr
    _no_runs(data_dir)


def _fio_bytes_read(root: int) -> int:
    """Bytes read (``rchar`` of /proc/PID/io) by the fio processes below ``root``."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending += [int(child) for child in children.read_text().split()]
        with contextlib.suppress(OSError, KeyError, ValueError):
            if pid != root and Path(f"/proc/{pid}/comm").read_text().strip() == "fio":
                fields = dict(
                    line.split(": ", 1) for line in Path(f"/proc/{pid}/io").read_text().splitlines()
                )
                total += int(fields["rchar"])
    return total


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_folder_and_exits_130(home_args: list[str], data_dir: Path, signum: int) -> None:
    proc = subprocess.Popen(
        [str(STACKRIG), *home_args, "bench", "run", str(DATA / "long.fio"), "--name", "cut"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        runs = data_dir / "runs"

        def fio_running() -> bool:
            folders = list(runs.glob("*-cut*")) if runs.exists() else []  # built as .partial-...-cut-XXXX
            return bool(folders) and (folders[0] / "fio.stderr").exists()

        wait_until(fio_running, timeout=60, what="fio started")
        # Interrupt once fio has read 2 MiB of its file: it is doing I/O, whatever the machine's speed.
        wait_until(lambda: _fio_bytes_read(proc.pid) >= 2 << 20, timeout=60, what="fio read 2 MiB")
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    folder = next(runs.glob("*-cut"))
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert not (folder / "scratch").exists()
    results = load_results(folder)  # fio wrote its results on SIGINT
    read = results.jobs[0].direction("read")
    assert read is not None
    assert read.runtime_ms is not None
    assert read.runtime_ms < 30_000
    listed = json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)
    assert listed["data"]["runs"][0]["status"] == "interrupted"


def test_bad_label_and_host_flags(home_args: list[str]) -> None:
    done = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), "--label", "novalue")
    assert done.returncode == 2
    assert "bad label" in done.stderr
    done = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), "--hosts", "h:99999")
    assert done.returncode == 2
    assert "bad port" in done.stderr
    done = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), "--limit", "web")
    assert done.returncode == 2
    assert "--limit needs --inventory" in done.stderr


def test_library_reports_progress_through_a_callback(tmp_path: Path) -> None:
    """The runner draws nothing itself: it hands readings to the caller, which the CLI draws."""
    from stackrig.bench import Progress, RunSettings, run_jobs

    job = tmp_path / "two.fio"
    job.write_text("[two]\nioengine=psync\nsize=2m\nruntime=2\ntime_based\nrw=randread\nbs=4k\n")
    readings: list[Progress] = []
    settings = RunSettings(
        jobs=(str(job),), runs_dir=tmp_path / "runs", db=tmp_path / "h.db", status_interval=0.5
    )
    result = run_jobs(settings, progress=readings.append)
    assert readings, "no progress reported"
    assert readings[-1].elapsed_s > 0
    measured = [r for r in readings if r.measured]
    assert measured, "fio's status documents gave no reading"
    assert any(r.read_iops and r.read_iops > 0 for r in measured)
    assert all(r.percent is None or 0 <= r.percent <= 100 for r in measured)
    # the result the CLI shows is the one the runner returns, rows included
    assert result.run.status.value == "ok"
    assert [(r.job, r.direction) for r in result.results] == [("two", "read")]
    assert (result.results[0].iops or 0) > 0
