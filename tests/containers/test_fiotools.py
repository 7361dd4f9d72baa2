"""fio-tools as a user runs it: the stackrig image on a real Docker engine, every mode.

One image, one entrypoint: no argument = all in one; ``run``; ``plot`` with fio2gnuplot's
flags; ``serve``; ``--help``. The volume on /tmp/fio-data is the data folder of every mode.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import textwrap
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STACKRIG
from tests.containers.build import BuiltImage
from tests.containers.engine import Engine
from tests.landscape.conftest import browser  # noqa: F401 - the shared headless Chromium
from tests.services import free_port, start_service, wait_until

NOBODY = 65534  # a user that is not root, as --user $(id -u):$(id -g) of a normal account
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


def data_folder(path: Path, owner: int | None = None) -> Path:
    """A data folder with a job file and an earlier result (fio-tools would have wiped it)."""
    path.mkdir(parents=True)
    (path / "job.fio").write_text(SHORT_JOB)
    (path / "earlier-result.txt").write_text("kept across runs\n")
    if owner is not None:
        for item in (path, *path.iterdir()):
            os.chown(item, owner, owner)
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the sha256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def runs_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p / "meta.json").is_file())


def docker_run(
    engine: Engine,
    image: BuiltImage,
    *args: str,
    data: Path | None = None,
    env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
    timeout: float = 300,
) -> Any:
    argv = ["run", "--rm"]
    if data is not None:
        argv += ["-v", f"{data}:/tmp/fio-data"]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    return engine.run(*argv, *options, image.latest, *args, check=False, timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# ------------------------------------------------------------------ the image itself


def test_image_tags_labels_and_contents(engine: Engine, image: BuiltImage) -> None:
    inspect = json.loads(engine.run("image", "inspect", image.latest, f"{image.name}:{image.version}").stdout)
    assert inspect[0]["Id"] == inspect[1]["Id"]
    labels = inspect[0]["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == image.version
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert len(labels["org.opencontainers.image.revision"]) == 40
    assert inspect[0]["Config"]["Volumes"] == {"/tmp/fio-data": {}}
    assert "8000/tcp" in inspect[0]["Config"]["ExposedPorts"]
    # fio and the dashboard's Python are there; compilers, pip, apt lists and caches are not.
    probe = engine.run(
        "run", "--rm", "--entrypoint", "sh", image.latest, "-c",
        "fio --version; stackrig --version; "
        "for t in gcc cc make pip pip3; do command -v $t && echo FOUND $t; done; "
        "ls /var/lib/apt/lists /root/.cache 2>/dev/null | grep -v '^partial$' | grep -v ':$' || true; "
        "ls /opt/stackrig/lib/python3*/site-packages | grep -i -E '^(pip|setuptools)' || true",
    )  # fmt: skip
    out = probe.stdout.splitlines()
    assert out[0].startswith("fio-3.")
    assert out[1].endswith(image.version)
    assert out[2:] == [], out


def test_help_explains_the_contract(engine: Engine, image: BuiltImage) -> None:
    done = docker_run(engine, image, "--help")
    assert done.returncode == 0, done.stderr
    for word in ("JOBFILES", "REMOTEFILES", "PLOTNAME", "/tmp/fio-data", "run", "plot", "serve", "--user"):
        assert word in done.stdout
    plot_help = docker_run(engine, image, "plot", "--help")
    for flag in ("-t", "-b", "-i", "-g", "-p", "-o", "-d", "-m", "-M"):
        assert f"{flag}, --" in plot_help.stdout


# ------------------------------------------------------------------ run


@dataclass(frozen=True)
class TwoRuns:
    data: Path
    runs: tuple[Path, ...]
    stdout: tuple[str, ...]


@pytest.fixture(scope="module")
def two_runs(engine: Engine, image: BuiltImage, tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """``run`` twice as a normal user (--user), into a folder holding an earlier result."""
    data = data_folder(tmp_path_factory.mktemp("runs") / "fio-data", owner=NOBODY)
    outputs = []
    for name in ("First", "Second"):
        done = docker_run(
            engine, image, "run", "--json", data=data, env={"JOBFILES": "job.fio", "PLOTNAME": name},
            options=("--user", f"{NOBODY}:{NOBODY}"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    return TwoRuns(data=data, runs=tuple(runs_in(data)), stdout=tuple(outputs))


def test_run_leaves_results_and_keeps_earlier_ones(two_runs: TwoRuns) -> None:
    data = two_runs.data
    assert len(two_runs.runs) == 2
    assert (data / "earlier-result.txt").read_text() == "kept across runs\n"
    assert (data / "job.fio").read_text() == SHORT_JOB
    assert (data / "stackrig.db").is_file()
    for run, name in zip(two_runs.runs, ("First", "Second"), strict=True):
        assert run.name.endswith(name)
        jobs = json.loads((run / "fio.json").read_text())["jobs"]
        assert jobs[0]["jobname"] == "short"
        assert (run / "short_bw.1.log").stat().st_size > 0
        assert (run / f"{name}_bw.png").read_bytes().startswith(b"\x89PNG")
        assert (run / f"{name}_iops.png").is_file()
        assert "<html" in (run / "report.html").read_text().lower()
    envelope = json.loads(two_runs.stdout[1])
    assert envelope["data"]["run"]["folder"] == f"/tmp/fio-data/{two_runs.runs[1].name}"


def test_results_belong_to_the_user(two_runs: TwoRuns) -> None:
    made = [p for p in two_runs.data.rglob("*") if p.name not in ("job.fio", "earlier-result.txt")]
    assert made
    assert {(p.stat().st_uid, p.stat().st_gid) for p in made} == {(NOBODY, NOBODY)}


def test_history_reads_on_the_host(cli: Any, two_runs: TwoRuns) -> None:
    """The stackrig.db the container wrote is the user's history: bench commands read it."""
    done = cli("bench", "list", "--db", str(two_runs.data / "stackrig.db"), "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(r["name"] for r in done.json()["data"]["runs"]) == ["First", "Second"]


@pytest.fixture
def job_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """An HTTP server on the host's loopback serving one job file; yields (URL, bytes)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "remote.fio").write_text(SHORT_JOB.replace("[short]", "[remote]"))
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    server = start_service("http", argv, workdir=site, port=port)
    try:
        yield f"http://127.0.0.1:{port}/remote.fio", (site / "remote.fio").read_bytes()
    finally:
        server.stop()


def test_remotefiles_from_a_host_server(
    engine: Engine, image: BuiltImage, tmp_path: Path, job_server: tuple[str, bytes]
) -> None:
    url, content = job_server
    data = data_folder(tmp_path / "fio-data")
    env = {"REMOTEFILES": url, "PLOTNAME": "Remote"}
    done = docker_run(engine, image, "run", "--json", data=data, env=env, options=("--network", "host"))
    assert done.returncode == 0, done.stderr
    (run,) = runs_in(data)
    (job,) = json.loads((run / "meta.json").read_text())["jobs"]
    assert job["source"] == url
    assert job["sha256"] == hashlib.sha256(content).hexdigest()
    assert (run / "remote.fio").read_bytes().endswith(content)
    assert json.loads((run / "fio.json").read_text())["jobs"][0]["jobname"] == "remote"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("env", "options", "message"),
    [
        ({}, (), "Need to set JOBFILES"),
        ({"JOBFILES": "missing.fio"}, (), "job file /tmp/fio-data/missing.fio does not exist"),
        ({"REMOTEFILES": "http://127.0.0.1:9/job.fio"}, ("--network", "host"), "cannot download job file"),
        ({"JOBFILES": "job.fio"}, ("--user", f"{NOBODY}:{NOBODY}"), "cannot write the results to"),
    ],
    ids=["no-jobfiles", "missing-job", "unreachable-url", "read-only-folder"],
)
def test_bad_input_one_line_and_exit_code(  # noqa: PLR0917 - fixtures and parameters
    engine: Engine,
    image: BuiltImage,
    two_runs: TwoRuns,
    tmp_path: Path,
    env: dict[str, str],
    options: tuple[str, ...],
    message: str,
) -> None:
    data = tmp_path / "fio-data"
    shutil.copytree(two_runs.data, data)  # root-owned: nobody cannot write there
    before = snapshot(data)
    done = docker_run(engine, image, "run", data=data, env=env, options=options)
    assert done.returncode == 2, done.stderr
    (line,) = error_lines(done.stderr)
    assert message in line
    assert snapshot(data) == before


def test_all_in_one_with_nothing_to_run_exits(engine: Engine, image: BuiltImage, tmp_path: Path) -> None:
    """No mode and no JOBFILES: the all-in-one says so and exits, it does not serve an empty folder."""
    data = data_folder(tmp_path / "fio-data")
    done = docker_run(engine, image, data=data)
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "Need to set JOBFILES" in line


# ------------------------------------------------------------------ plot


def test_plot_with_fio2gnuplot_flags_draws_the_latest_run(
    engine: Engine, image: BuiltImage, two_runs: TwoRuns
) -> None:
    args = ("plot", "-t", "My16kAWSRandomReadTest", "-b", "-g", "-p", "*_bw*")
    done = docker_run(engine, image, *args, data=two_runs.data)
    assert done.returncode == 0, done.stderr
    graph = two_runs.runs[-1] / "My16kAWSRandomReadTest_bw.png"
    assert done.stdout.split() == [f"/tmp/fio-data/{graph.parent.name}/{graph.name}"]
    assert graph.read_bytes().startswith(b"\x89PNG")
    assert not (two_runs.runs[0] / graph.name).exists()


def test_plot_logs_at_the_top_of_the_folder(
    engine: Engine, image: BuiltImage, two_runs: TwoRuns, tmp_path: Path
) -> None:
    """fio-tools users left fio's logs at the top of /tmp/fio-data: plot draws them in place."""
    data = tmp_path / "fio-data"
    data.mkdir()
    for log in two_runs.runs[0].glob("short_*.log"):
        shutil.copy(log, data / log.name)
    done = docker_run(engine, image, "plot", "-t", "MyIops", "-i", "-g", "-p", "*_iops*", data=data)
    assert done.returncode == 0, done.stderr
    assert (data / "MyIops_iops.png").read_bytes().startswith(b"\x89PNG")


def test_plot_with_nothing_to_draw(engine: Engine, image: BuiltImage, tmp_path: Path) -> None:
    data = data_folder(tmp_path / "fio-data")
    before = snapshot(data)
    done = docker_run(engine, image, "plot", "-b", data=data)
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "no history yet" in line
    assert snapshot(data) == before


# ------------------------------------------------------------------ serve and all in one


@dataclass
class Served:
    container: str
    port: int
    network: str

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def get(url: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as res:  # noqa: S310 - loopback URL of the test
        return res.status, res.read(), res.headers.get("Content-Type", "")


def _runs_listed(served: Served, count: int) -> bool:
    try:
        return len(json.loads(get(served.url("/api/runs"))[1])["runs"]) >= count
    except OSError:
        return False


@pytest.fixture
def network(engine: Engine) -> Iterator[str]:
    """A user-defined network: published ports work only there (the engine has no default bridge)."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    engine.run("network", "create", name)
    try:
        yield name
    finally:
        engine.run("network", "rm", name, check=False)


def start_detached(
    engine: Engine, image: BuiltImage, network: str, data: Path, *args: str, env: dict[str, str] | None = None
) -> Served:
    port = free_port()
    argv = ["run", "-d", "--network", network, "-p", f"127.0.0.1:{port}:8000", "-v", f"{data}:/tmp/fio-data"]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    container = engine.run(*argv, image.latest, *args).stdout.strip()
    return Served(container=container, port=port, network=network)


def stop_within_two_seconds(engine: Engine, served: Served) -> tuple[int, str]:
    """``docker stop -t 2``: a container still running after 2 s is killed (exit 137)."""
    engine.run("stop", "-t", "2", served.container, timeout=60)
    state = json.loads(engine.run("inspect", served.container).stdout)[0]["State"]
    logs = engine.run("logs", served.container).stderr
    engine.run("rm", "-v", served.container)
    return int(state["ExitCode"]), logs


def test_serve_mode_serves_the_folder_and_stops_at_once(
    engine: Engine, image: BuiltImage, two_runs: TwoRuns, network: str
) -> None:
    served = start_detached(engine, image, network, two_runs.data, "serve")
    try:
        wait_until(lambda: _runs_listed(served, 2), timeout=60, what="the dashboard's run list")
        names = sorted(r["name"] for r in json.loads(get(served.url("/api/runs"))[1])["runs"])
        assert names == ["First", "Second"]
        run = two_runs.runs[0].name
        status, body, kind = get(served.url(f"/files/{run}/First_bw.png"))
        assert (status, kind) == (200, "image/png")
        assert body.startswith(b"\x89PNG")
    finally:
        code, logs = stop_within_two_seconds(engine, served)
    assert code == 0, logs
    assert "dashboard stopped" in logs


def test_all_in_one_dashboard_in_chromium(
    engine: Engine,
    image: BuiltImage,
    network: str,
    tmp_path: Path,
    browser: Any,  # noqa: F811
) -> None:
    data = data_folder(tmp_path / "fio-data")
    env = {"JOBFILES": "job.fio", "PLOTNAME": "MyTest"}
    served = start_detached(engine, image, network, data, env=env)
    try:
        wait_until(lambda: _runs_listed(served, 1), timeout=180, what="the all-in-one's run")
        (run,) = runs_in(data)
        assert (run / "MyTest_bw.png").is_file()
        assert (run / "report.html").is_file()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(served.url())
        page.wait_for_selector("tr.run")
        assert page.locator("tr.run").count() == 1
        assert "MyTest" in page.locator("tr.run").inner_text()
        page.click("tr.run a")
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert page.locator(".uplot canvas").count() >= 2
        links = page.locator("#files a")
        assert "MyTest_bw.png" in [links.nth(i).inner_text() for i in range(links.count())]
        with page.expect_response(lambda r: r.url.endswith("/MyTest_bw.png")) as graph:
            page.goto(served.url(f"/files/{run.name}/MyTest_bw.png"))
        assert graph.value.status == 200
        assert graph.value.headers["content-type"] == "image/png"
        page.screenshot(path=str(tmp_path / "dashboard.png"))
        page.close()
        assert errors == []
    finally:
        code, logs = stop_within_two_seconds(engine, served)
    assert code == 0, logs
    assert "dashboard stopped" in logs
    assert (data / "earlier-result.txt").is_file()


def test_stackrig_on_the_host_is_the_same_command(cli: Any, tmp_path: Path) -> None:
    """The entrypoint is a stackrig command: what the image runs, the host runs (and coverage sees)."""
    data = data_folder(tmp_path / "fio-data")
    env = {"JOBFILES": "job.fio", "PLOTNAME": "Host"}
    done = cli("bench", "container", "--fio-data", str(data), "run", "--json", env=env)
    assert done.returncode == 0, done.stderr
    (run,) = runs_in(data)
    assert (run / "Host_bw.png").is_file()
    done = cli("bench", "container", "--fio-data", str(data), "plot", "-t", "Again", "-b", "-p", "*_bw*")
    assert done.returncode == 0, done.stderr
    assert (run / "Again_bw.png").is_file()
    assert STACKRIG.exists()
