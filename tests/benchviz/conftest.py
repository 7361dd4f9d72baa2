"""Shared fixtures of the bench visualisation tests: logs and run folders written by REAL fio."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackrig.bench import History, RunRecord
from tests.conftest import STACKRIG
from tests.services import free_port, start_service

FIO = shutil.which("fio")

LOG_JOBS = textwrap.dedent(
    """\
    [global]
    ioengine=psync
    size=4m
    runtime=1
    time_based=1
    bs=4k
    rw=randrw
    rwmixread=60

    [plain]
    filename=plain.dat
    write_bw_log=plain
    write_iops_log=plain
    write_lat_log=plain

    [offset]
    filename=offset.dat
    write_lat_log=offset
    write_bw_log=offset
    log_offset=1

    [prio]
    filename=prio.dat
    write_lat_log=prio
    log_prio=1
    log_offset=1

    [avg]
    filename=avg.dat
    write_bw_log=avg
    write_iops_log=avg
    write_lat_log=avg
    log_avg_msec=100

    [max]
    filename=max.dat
    write_lat_log=max
    log_avg_msec=100
    log_max_value=1

    [hist]
    filename=hist.dat
    write_hist_log=hist
    log_hist_msec=100

    [coarse]
    filename=coarse.dat
    write_hist_log=coarse
    log_hist_msec=100
    log_hist_coarseness=3

    [gtod]
    filename=gtod.dat
    gtod_reduce=1
    write_bw_log=gtod
    write_iops_log=gtod
    """
)


def _run_fio(args: list[str], cwd: Path) -> None:
    assert FIO is not None
    done = subprocess.run([FIO, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def fio_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of logs real fio wrote with log_offset, log_prio, log_avg_msec, log_max_value,
    log_hist_msec (+coarseness), gtod_reduce, plus client-mode logs (``.log.<host>``)."""
    if FIO is None:
        pytest.skip("fio is not installed")
    folder = tmp_path_factory.mktemp("fio-logs")
    (folder / "jobs.fio").write_text(LOG_JOBS)
    _run_fio(["--output-format=json", "--output=out.json", "jobs.fio"], folder)
    # Client mode: a real fio server on loopback; the client names logs *.log.<host>.
    port = free_port()
    server = start_service(
        "fio-server", [FIO, f"--server=ip:127.0.0.1,{port}"], workdir=folder / "server", port=port
    )
    try:
        job = folder / "client.fio"
        job.write_text(
            "[client]\nioengine=psync\nsize=2m\nruntime=1\ntime_based=1\nrw=randread\n"
            f"filename={folder / 'server' / 'client.dat'}\nwrite_bw_log=client\nlog_avg_msec=100\n"
        )
        _run_fio(
            [f"--client=ip:127.0.0.1,{port}", str(job), "--output-format=json", "--output=c.json"], folder
        )
    finally:
        server.stop()
    for data in folder.glob("*.dat"):
        data.unlink()
    return folder


RUN_JOB = textwrap.dedent(
    """\
    [global]
    ioengine=psync
    size=4m
    runtime={runtime}
    time_based=1
    bs={bs}
    write_hist_log=mixed
    log_hist_msec=100

    [randread]
    filename=r.dat
    rw=randread

    [randwrite]
    filename=w.dat
    rw=randwrite
    """
)


@dataclass(frozen=True)
class RunsEnv:
    """A data folder whose runs were made by the real ``bench run`` library (fio, history)."""

    home: Path
    runs: Path
    db: Path
    records: tuple[RunRecord, ...]

    @property
    def folder(self) -> Path:
        return self.records[0].folder


def make_run(home: Path, name: str, *, runtime: int = 1, bs: str = "4k") -> RunRecord:
    """A run made by the real ``stackrig bench run --logs`` (fio, run folder, history)."""
    job = home / f"{name}.fio"
    job.write_text(RUN_JOB.format(runtime=runtime, bs=bs))
    (home / "target").mkdir(exist_ok=True)
    argv = [str(STACKRIG), "--data-dir", str(home), "bench", "run", str(job), "--name", name, "--logs"]
    argv += ["--log-avg-msec", "100", "--label", "cloud=local", "--label", f"bs={bs}"]
    argv += ["--target", str(home / "target"), "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for data in (home / "target").glob("*.dat"):
        data.unlink()
    run_id = json.loads(done.stdout)["data"]["run"]["id"]
    with History.open(home / "stackrig.db") as history:
        return history.resolve(run_id)


@pytest.fixture(scope="session")
def runs_env(tmp_path_factory: pytest.TempPathFactory) -> RunsEnv:
    """Two runs (4k and 16k blocks, two jobs each, every log kind) in one data folder."""
    if FIO is None:
        pytest.skip("fio is not installed")
    home = tmp_path_factory.mktemp("home")
    first = make_run(home, "base", runtime=2)
    second = make_run(home, "big", bs="16k")
    return RunsEnv(home=home, runs=home / "runs", db=home / "stackrig.db", records=(first, second))
