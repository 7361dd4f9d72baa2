"""Fixtures of the bench tests: real fio runs shared across tests, fio servers, a tiny HTTP server,
logs and run folders written by real fio for the graph and dashboard tests."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stackrig.bench import History, RunRecord
from tests.conftest import STACKRIG
from tests.services import Service, free_port, start_service

DATA = Path(__file__).resolve().parent / "data"
FIO = shutil.which("fio")

needs_fio = pytest.mark.skipif(FIO is None, reason="fio is not installed (make test installs it)")


def stackrig(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    if env:
        full.update(env)
    return subprocess.run(
        [str(STACKRIG), *args], capture_output=True, text=True, env=full, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class SharedRun:
    """A real successful ``bench run`` made once per session."""

    home: Path
    db: Path
    runs_dir: Path
    id: str
    folder: Path
    envelope: dict[str, Any]

    def args(self) -> list[str]:
        return ["--db", str(self.db)]


def _run(home: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = stackrig("--data-dir", str(home), "bench", "run", *extra, "--json")
    assert done.returncode == 0, done.stderr
    return done, json.loads(done.stdout)


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SharedRun]:
    """Three real runs in one history: quick with logs, quick without logs, throttled (a regression)."""
    if FIO is None:
        pytest.skip("fio is not installed")
    home = tmp_path_factory.mktemp("bench-shared")
    made: dict[str, SharedRun] = {}
    for key, extra in (
        (
            "logs",
            [
                str(DATA / "quick.fio"),
                "--logs",
                "--log-avg-msec",
                "200",
                "--label",
                "cloud=aws",
                "--label",
                "volume=gp3",
                "--name",
                "baseline",
            ],
        ),
        ("plain", [str(DATA / "quick.fio"), "--label", "cloud=aws", "--name", "again"]),
        ("throttled", [str(DATA / "throttled.fio"), "--label", "cloud=gcp", "--name", "slow"]),
    ):
        _, doc = _run(home, *extra)
        run = doc["data"]["run"]
        made[key] = SharedRun(
            home=home,
            db=home / "stackrig.db",
            runs_dir=home / "runs",
            id=run["id"],
            folder=Path(run["folder"]),
            envelope=doc,
        )
    return made


@pytest.fixture
def home_args(data_dir: Path) -> list[str]:
    return ["--data-dir", str(data_dir)]


@pytest.fixture(scope="session")
def fio_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Service]]:
    """Two real ``fio --server`` processes on 127.0.0.2 and 127.0.0.3."""
    if FIO is None:
        pytest.skip("fio is not installed")
    base = tmp_path_factory.mktemp("fio-servers")
    started: list[Service] = []
    try:
        for address in ("127.0.0.2", "127.0.0.3"):
            port = free_port(address)
            started.append(
                start_service(
                    f"fio-{address}",
                    [FIO, f"--server=ip:{address},{port}"],
                    workdir=base / address,
                    host=address,
                    port=port,
                )
            )
        yield started
    finally:
        for service in started:
            service.stop()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


@pytest.fixture(scope="session")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    root = tmp_path_factory.mktemp("http")
    shutil.copy(DATA / "quick.fio", root / "quick.fio")
    (root / "huge.fio").write_text("[x]\nrw=read\n" + "; padding\n" * 300_000)

    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- logs and runs for graphs

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
