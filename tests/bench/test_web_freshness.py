"""The dashboard's cached answers stay true while it runs: a new import shows at once, a run
whose process is killed reads ``interrupted`` and a growing log's series changes within a
second, without restarting the dashboard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from stackrig.bench.web import DashboardSettings, start
from tests.bench.conftest import DATA, SharedRun, needs_fio, stackrig
from tests.conftest import STACKRIG
from tests.services import wait_until

pytestmark = needs_fio


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as res:  # noqa: S310 (127.0.0.1)
        return json.loads(res.read())


def _statuses(url: str) -> dict[str, str]:
    return {r["name"]: r["status"] for r in _get(f"{url}api/runs?limit=500")["runs"]}


def test_answers_follow_the_history_the_processes_and_the_logs(
    shared_runs: dict[str, SharedRun], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    args = ["--data-dir", str(home)]
    first = stackrig(*args, "bench", "import", str(shared_runs["logs"].folder), "--name", "first")
    assert first.returncode == 0, first.stderr
    dash = start(DashboardSettings(runs_dir=home / "runs", db=home / "stackrig.db", port=0))
    proc = None
    try:
        assert _statuses(dash.url) == {"first": "ok"}
        # a commit by another process changes the history's data version: seen on the next request
        second = stackrig(*args, "bench", "import", str(shared_runs["plain"].folder), "--name", "second")
        assert second.returncode == 0, second.stderr
        assert _statuses(dash.url) == {"first": "ok", "second": "ok"}

        # a log that grows (as a running run's does): the series follows within a second
        (run,) = [r for r in _get(f"{dash.url}api/runs")["runs"] if r["name"] == "first"]
        series = f"{dash.url}api/runs/{run['id']}/series?kind=bw"
        before = _get(series)
        (log,) = (home / "runs").glob("*-first/randread_bw.*.log")
        last_ms = int(log.read_text().splitlines()[-1].split(",")[0])
        with log.open("a") as handle:
            handle.writelines(f"{last_ms + 1000 * n}, 4096, 0, 4096, 0\n" for n in range(1, 31))
        wait_until(lambda: _get(series)["t"] != before["t"], timeout=10, what="the series to grow")

        # a running run whose process is killed: interrupted, with no commit to announce it
        argv = [str(STACKRIG), *args, "bench", "run", str(DATA / "long.fio"), "--name", "cut"]
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_until(lambda: _statuses(dash.url).get("cut") == "running", timeout=60, what="cut running")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        wait_until(
            lambda: _statuses(dash.url).get("cut") == "interrupted", timeout=10, what="cut interrupted"
        )
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        dash.stop()
