"""All in one: the bundled main job, the fio-tools environment contract, report and serve commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from stackrig.bench.aio import AioRequest, jobs_from_env, plan_aio
from stackrig.errors import UsageError
from tests.bench.conftest import RunsEnv
from tests.conftest import STACKRIG
from tests.services import free_port, start_service

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "examples" / "jobs" / "quick.fio"
SHORT_JOB = textwrap.dedent(
    """\
    [short]
    ioengine=psync
    filename=short.dat
    unlink=1
    size=2m
    rw=randrw
    runtime=1
    time_based=1
    """
)


def test_main_job_smoke(cli: Any, data_dir: Path) -> None:
    """make run's job, without the dashboard: run, graphs, report."""
    done = cli("bench", "aio", str(QUICK), "--no-serve", "--json", timeout=180)
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    folder = Path(data["run"]["folder"])
    assert folder.parent == data_dir / "runs"
    names = {Path(p).name for p in data["plots"]}
    assert {"quick_bw.png", "quick_iops.png", "quick_lat.png", "quick_clat.png"} <= names
    assert "quick_clat_hist.png" in names
    assert (folder / "report.html").is_file()
    assert (folder / "fio.json").is_file()
    assert not (folder / "quick.dat").exists()  # unlink=1: no 64 MiB left behind
    report = (folder / "report.html").read_text()
    assert report.count("data:image/png;base64,") == len(names)
    runtime_ms = max(r["runtime"] for r in json.loads((folder / "fio.json").read_text())["jobs"][0].values()
                     if isinstance(r, dict) and "runtime" in r)  # fmt: skip
    assert 14_000 <= runtime_ms <= 16_000


def test_from_env_keeps_earlier_runs(cli: Any, tmp_path: Path) -> None:
    fio_data = tmp_path / "fio-data"
    fio_data.mkdir()
    (fio_data / "job.fio").write_text(SHORT_JOB)
    (fio_data / "old-result.txt").write_text("an earlier result fio-tools would have wiped\n")
    env = {"JOBFILES": "job.fio", "PLOTNAME": "MyTest"}
    for _ in range(2):
        done = cli("bench", "aio", "--from-env", "--fio-data", str(fio_data), "--no-serve", "--json", env=env)
        assert done.returncode == 0, done.stderr
    runs = sorted(p for p in fio_data.iterdir() if (p / "meta.json").is_file())
    assert len(runs) == 2
    assert all(p.name.endswith("MyTest") or "-MyTest-" in p.name for p in runs)
    assert (fio_data / "old-result.txt").read_text().startswith("an earlier")
    assert (fio_data / "stackrig.db").is_file()
    for run in runs:
        assert (run / "MyTest_bw.png").is_file()
        assert (run / "report.html").is_file()
    done = cli("bench", "list", "--db", str(fio_data / "stackrig.db"), "--json")
    assert len(done.json()["data"]["runs"]) == 2


def test_from_env_remote_files(cli: Any, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "remote.fio").write_text(SHORT_JOB)
    port = free_port()
    server = start_service(
        "http",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        workdir=site,
        port=port,
    )
    try:
        fio_data = tmp_path / "fio-data"
        fio_data.mkdir()
        url = f"http://127.0.0.1:{port}/remote.fio"
        extra = f"http://127.0.0.1:{port}/unused.fio"
        env = {"REMOTEFILES": f"{url} {extra}", "JOBFILES": "remote.fio", "PLOTNAME": "Remote"}
        done = cli("bench", "aio", "--from-env", "--fio-data", str(fio_data), "--no-serve", "--json", env=env)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    doc = done.json()
    assert doc["data"]["run"]["jobs"][0]["source"] == url
    assert any("unused.fio" in w for w in doc["warnings"])
    folder = Path(doc["data"]["run"]["folder"])
    assert (folder / "remote.fio").read_text().endswith(SHORT_JOB)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "Need to set JOBFILES"),
        ({"REMOTEFILES": "ftp://x/job.fio"}, "not an http(s) URL"),
        ({"JOBFILES": "missing.fio"}, "missing.fio"),
    ],
)
def test_from_env_bad_input(cli: Any, tmp_path: Path, env: dict[str, str], message: str) -> None:
    fio_data = tmp_path / "fio-data"
    fio_data.mkdir()
    full = {"JOBFILES": "", "REMOTEFILES": "", **env}
    done = cli("bench", "aio", "--from-env", "--fio-data", str(fio_data), "--no-serve", env=full)
    assert done.returncode == 2
    assert message in done.stderr
    assert list(fio_data.iterdir()) == []


def test_jobs_from_env() -> None:
    base = Path("/data")
    found = jobs_from_env({"JOBFILES": "a.fio /abs/b.fio", "PLOTNAME": " T "}, base)
    assert found.jobs == ("/data/a.fio", "/abs/b.fio")
    assert found.name == "T"
    found = jobs_from_env({"REMOTEFILES": "https://h/x/one.fio https://h/two.fio"}, base)
    assert found.jobs == ("https://h/x/one.fio", "https://h/two.fio")
    assert found.name is None
    with pytest.raises(UsageError):
        jobs_from_env({}, base)


def test_plan_aio_chooses_jobs_folders_and_title() -> None:
    """The job selection is the library's: the CLI only hands it the environment."""
    data, runs, db = Path("/data"), Path("/home/runs"), Path("/home/stackrig.db")
    env = {"JOBFILES": "a.fio", "PLOTNAME": "Env", "REMOTEFILES": "https://h/unused.fio"}
    plan = plan_aio(AioRequest(environ=env, fio_data=data, default_runs_dir=runs, default_db=db))
    assert plan.settings.jobs == ("/data/a.fio",)
    assert (plan.settings.runs_dir, plan.settings.db) == (data, data / "stackrig.db")
    assert plan.title == "Env"
    assert plan.settings.logs is True
    assert plan.ignored == ("https://h/unused.fio",)
    # named folders win over the fio-data folder; a name wins over PLOTNAME; JOB... over JOBFILES
    plan = plan_aio(
        AioRequest(
            jobs=("x.fio",), environ=env, fio_data=data, runs_dir=Path("/r"), db=Path("/d.db"), name="N"
        )
    )
    assert (plan.settings.jobs, plan.settings.runs_dir, plan.settings.db, plan.title) == (
        ("x.fio",), Path("/r"), Path("/d.db"), "N"
    )  # fmt: skip
    plan = plan_aio(AioRequest(jobs=("x.fio",), default_runs_dir=runs, default_db=db))
    assert (plan.settings.runs_dir, plan.settings.db, plan.title) == (runs, db, None)
    with pytest.raises(UsageError, match="give job files"):
        plan_aio(AioRequest(default_runs_dir=runs, default_db=db))


def test_aio_serves_the_dashboard(tmp_path: Path) -> None:
    job = tmp_path / "serve.fio"
    job.write_text(SHORT_JOB)
    port = free_port()
    home = tmp_path / "home"
    argv = [str(STACKRIG), "--data-dir", str(home), "bench", "aio", str(job), "--port", str(port)]
    service = start_service("aio", argv, workdir=tmp_path / "svc", port=port, timeout=90)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=10) as res:
            doc = json.loads(res.read())
        assert [r["name"] for r in doc["runs"]] == ["serve"]
        assert f"dashboard: http://127.0.0.1:{port}/" in service.log_path.read_text()
    finally:
        service.stop()


def test_report_command(cli: Any, runs_env: RunsEnv, tmp_path: Path) -> None:
    a = runs_env.records[0]
    done = cli("--data-dir", str(runs_env.home), "bench", "report", a.id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<!doctype html>")
    assert "<h2>Comparison</h2>" not in done.stdout
    out = tmp_path / "r.html"
    done = cli("--data-dir", str(runs_env.home), "bench", "report", "latest", a.id, "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["data"]["graphs"] >= 10
    assert "<h2>Comparison</h2>" in out.read_text()


def test_report_refuses_to_overwrite_an_input(cli: Any, runs_env: RunsEnv) -> None:
    folder = runs_env.folder
    before = (folder / "fio.json").read_bytes()
    done = cli(
        "--data-dir",
        str(runs_env.home),
        "bench",
        "report",
        runs_env.records[0].id,
        "-o",
        str(folder / "fio.json"),
    )
    assert done.returncode == 4
    assert "refusing to overwrite" in done.stderr
    assert (folder / "fio.json").read_bytes() == before


def test_report_unknown_run(cli: Any, runs_env: RunsEnv) -> None:
    done = cli("--data-dir", str(runs_env.home), "bench", "report", "nosuchrun")
    assert done.returncode == 2
    assert "nosuchrun" in done.stderr


def test_serve_errors(cli: Any, tmp_path: Path) -> None:
    done = cli("bench", "serve", "--runs-dir", str(tmp_path / "none"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    done = cli("bench", "serve", "--runs-dir", str(tmp_path), "--port", "70000")
    assert done.returncode == 2
    assert "bad port" in done.stderr


def test_serve_warns_beyond_loopback(cli: Any, tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the warning comes first, then bind fails
    done = cli("bench", "serve", "--runs-dir", str(tmp_path), "--host", "192.0.2.1", "--port", "8000")
    assert done.returncode == 3
    assert "no authentication" in done.stderr
    assert "cannot listen on 192.0.2.1:8000" in done.stderr


def test_serve_stops_on_ctrl_c(runs_env: RunsEnv) -> None:
    port = free_port()
    argv = [str(STACKRIG), "--data-dir", str(runs_env.home), "bench", "serve", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == f"dashboard: http://127.0.0.1:{port}/ (Ctrl-C stops it)"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "dashboard stopped" in err
