"""The bench history at a team's years of runs: 10,000 runs and two groups of 20.

A synthetic history (benchmarks/history_data.py, no fio) is timed three ways, each beside the
same query done with a plain ``sqlite3`` shell on the same file:

- ``stackrig bench list`` (the newest 100, the total counted)     goal: under 0.3 s
- the dashboard's run list API, first page (``/api/runs``)         goal: under 0.1 s
- ``stackrig bench compare g:A g:B`` of two 20-run groups           goal: under 1 s

Figures are medians of several runs, with the machine's load average.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.history_data import make_history

RUNS = 10_000
REPEATS = 7
LIST_SQL = (
    "SELECT id, started, name, status, machine FROM bench_runs ORDER BY started DESC LIMIT 100;"
    " SELECT COUNT(*) FROM bench_runs;"
)
PAGE_SQL = (
    "SELECT r.*, (SELECT SUM(iops) FROM bench_results s WHERE s.run_id = r.id) FROM bench_runs r"
    " ORDER BY started DESC LIMIT 50; SELECT COUNT(*) FROM bench_runs;"
)
COMPARE_SQL = (
    "SELECT r.group_id, s.job, s.direction, AVG(s.iops), AVG(s.bw_bytes), AVG(s.lat_p99_ns)"
    " FROM bench_results s JOIN bench_runs r ON r.id = s.run_id WHERE r.group_id IN (GROUPS)"
    " GROUP BY 1, 2, 3;"
)


def _median(action: Callable[[], object], repeats: int = REPEATS) -> float:
    action()  # warm-up: caches, page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _run(argv: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(argv, capture_output=True, check=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _row(what: str, ours: float, theirs: float, goal: float) -> None:
    verdict = "ok" if ours <= goal else "OVER GOAL"
    print(f"{what:<42} {ours * 1000:8.1f} ms   sqlite3 {theirs * 1000:7.1f} ms   "
          f"ratio {ours / theirs:5.2f}   goal {goal * 1000:.0f} ms: {verdict}")  # fmt: skip


def main() -> int:
    stackrig = Path(sys.executable).parent / "stackrig"
    sqlite = shutil.which("sqlite3")
    if sqlite is None or not stackrig.exists():
        print("needs the sqlite3 shell and the stackrig console script (make bench installs both)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="stackrig-history-scale-"))
    server = None
    try:
        db, runs_dir = work / "stackrig.db", work / "runs"
        start = time.perf_counter()
        base, cand = make_history(db, runs_dir, RUNS, groups=2, group_size=20)
        print(f"{RUNS} synthetic runs written in {time.perf_counter() - start:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        home = ["--data-dir", str(work)]
        ours = _median(_run([str(stackrig), *home, "bench", "list"]))
        theirs = _median(_run([sqlite, str(db), LIST_SQL]))
        _row("bench list (newest 100 of 10,000)", ours, theirs, 0.3)
        port = _free_port()
        server = subprocess.Popen(
            [str(stackrig), *home, "bench", "serve", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        if server.stdout is not None:
            server.stdout.readline()  # the URL line: it listens
        url = f"http://127.0.0.1:{port}/api/runs?limit=50"

        def page() -> object:
            with urllib.request.urlopen(url, timeout=30) as res:
                return json.loads(res.read())

        ours = _median(page, repeats=21)
        theirs = _median(_run([sqlite, str(db), PAGE_SQL]))
        _row("dashboard /api/runs, first page of 50", ours, theirs, 0.1)
        ours = _median(_run([str(stackrig), *home, "bench", "compare", base, cand, "--json"]), repeats=5)
        groups = f"'{base.removeprefix('g:')}', '{cand.removeprefix('g:')}'"
        theirs = _median(_run([sqlite, str(db), COMPARE_SQL.replace("GROUPS", groups)]), repeats=5)
        _row("bench compare of two 20-run groups", ours, theirs, 1.0)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
