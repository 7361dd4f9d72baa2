"""The dashboard under load, beside ``python3 -m http.server`` serving the same files.

A history of 10,000 runs (benchmarks/history_data.py writes it straight into SQLite, no fio)
and one run folder with real-sized raw files. ``stackrig bench serve`` and
``python3 -m http.server`` (in a folder with the same page, the same raw files and the run
list's first page saved as a file) run side by side; wrk (Debian's ``wrk``) drives each with
50 concurrent connections:

- ``/`` (the page shell)                                      goal: above 1,000 requests/s
- a raw file under ``/files/``                               goal: above 1,000 requests/s
- ``/api/runs`` first page (cached by the history's version)  goal: above 200 requests/s
- ``/api/runs`` at random offsets (no two alike: uncached)     shown beside it
- p99 latency of each                                          goal: under 500 ms

Then 500 idle connections: the server's memory before and after, whether it still answers,
and how long until it closes them all (its request deadline). The machine's load average is
printed with each figure: the machine is shared, so compare within one run.
Usage: python benchmarks/web_load.py [--seconds 10] [--connections 50] [--runs 10000]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.history_data import make_history

BIN = Path(sys.executable).parent
RUN = "run-demo"
RANDOM_PAGES = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/runs?limit=50&offset=" .. math.random(0, 9950))
end
"""


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(text: str) -> float:
    """wrk's latency figure (``812.00us``, ``1.20ms``, ``2.01s``, ``1.00m``) in milliseconds; NaN
    (and the text on stderr) for one it does not know."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        print(f"   (wrk printed a latency of {text!r})", file=sys.stderr)
        return math.nan
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> Figures:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    argv += ["-s", str(script)] if script else []
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50, p99 = (_ms(m.group(1)) if (m := re.search(rf"{q}%\s+(\S+)", out)) else math.nan for q in (50, 99))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Figures(rps, p50, p99, errors + (int(non2xx.group(1)) if non2xx else 0))


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def _fill(home: Path, runs: int) -> Path:
    """The history, one run folder with raw files, and http.server's copy of the same files."""
    started = time.perf_counter()
    make_history(home / "stackrig.db", home / "runs", runs)
    print(f"history of {runs:,} runs written in {time.perf_counter() - started:.1f} s")
    folder = home / "runs" / RUN
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{t * 100}, {20000 + t % 500}, 0, 4096, 0\n" for t in range(600))
    (folder / "randread_bw.1.log").write_text(lines)
    (folder / "fio.json").write_text('{"fio version": "fio-3.33", "jobs": []}\n' + " " * 16_000)
    return folder


def _plain_copy(home: Path, dashboard: int) -> Path:
    """What http.server serves: the same page, the same raw files, the first page as a file."""
    plain = home / "plain"
    shutil.copytree(home / "runs" / RUN, plain / "files" / RUN)
    with urllib.request.urlopen(f"http://127.0.0.1:{dashboard}/", timeout=30) as res:
        (plain / "index.html").write_bytes(res.read())
    (plain / "api").mkdir()
    with urllib.request.urlopen(f"http://127.0.0.1:{dashboard}/api/runs?limit=50", timeout=30) as res:
        (plain / "api" / "runs.json").write_bytes(res.read())
    return plain


def _row(what: str, ours: Figures, theirs: Figures | None, goal_rps: float | None) -> None:
    verdict = ""
    if goal_rps is not None:
        ok = ours.rps >= goal_rps and ours.p99_ms < 500 and ours.errors == 0
        verdict = f"goal >{goal_rps:,.0f}/s p99<500ms: {'ok' if ok else 'MISSED'}"
    line = (
        f"{what:<24} {ours.rps:7,.0f}/s p50 {ours.p50_ms:6.1f} ms p99 {ours.p99_ms:6.1f} ms err {ours.errors}"
    )
    if theirs is not None:
        line += (
            f" | http.server {theirs.rps:8,.0f}/s p99 {theirs.p99_ms:7.1f} ms err {theirs.errors}"
            f" | ratio {ours.rps / theirs.rps:5.2f}"
        )
    print(f"{line}  {verdict}  (load {_load()})")


def _idle(port: int, pid: int, count: int, what: str) -> None:
    before = _rss_kib(pid)
    threads_before = _threads(pid)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    time.sleep(1.0)
    during = _rss_kib(pid)
    threads_during = _threads(pid)
    try:
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as res:
            answered = res.status == 200
        answer_ms = (time.monotonic() - started) * 1000
        open_left = list(idle)
        deadline = time.monotonic() + 25  # the dashboard's request deadline is 10 s
        while open_left and time.monotonic() < deadline:
            still = []
            for sock in open_left:
                sock.settimeout(0.01)
                try:
                    closed = sock.recv(1) == b""
                except TimeoutError:
                    closed = False
                except OSError:
                    closed = True
                (still if not closed else []).append(sock)
            open_left = still
            time.sleep(0.2)
        waited = time.monotonic() - started
    finally:
        for sock in idle:
            sock.close()
    print(
        f"{what:<12} {count} idle connections: memory {before / 1024:.1f} -> {during / 1024:.1f} MiB "
        f"(+{(during - before) / 1024:.1f} MiB), threads {threads_before} -> {threads_during}, "
        f"a request meanwhile {'answered' if answered else 'FAILED'} in {answer_ms:.0f} ms, "
        f"{count - len(open_left)} of {count} closed by the server within {waited:.0f} s  (load {_load()})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("needs wrk (apt-get install wrk; make bench installs it)")
        return 1
    with tempfile.TemporaryDirectory(prefix="web-load-") as tmp:
        home = Path(tmp)
        _fill(home, args.runs)
        ours_port, plain_port = _free_port(), _free_port()
        ours = subprocess.Popen(
            [str(BIN / "stackrig"), "--data-dir", str(home), "bench", "serve", "--port", str(ours_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        plain = None
        try:
            _wait(ours_port)
            root = _plain_copy(home, ours_port)
            plain = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(plain_port), "--bind", "127.0.0.1"],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait(plain_port)
            script = home / "pages.lua"
            script.write_text(RANDOM_PAGES)
            a, b = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{plain_port}"
            s, c = args.seconds, args.connections
            print(f"{c} connections, {s} s each, {os.cpu_count()} CPUs, load {_load()}")
            _row("/", wrk(f"{a}/", s, c), wrk(f"{b}/", s, c), 1000)
            raw = f"/files/{RUN}/fio.json"
            _row("raw file (16 KB)", wrk(a + raw, s, c), wrk(b + raw, s, c), 1000)
            first = wrk(f"{a}/api/runs?limit=50", s, c)
            _row("/api/runs first page", first, wrk(f"{b}/api/runs.json", s, c), 200)
            _row("/api/runs random pages", wrk(f"{a}/api/runs", s, c, script), None, 200)
            _idle(ours_port, ours.pid, 500, "dashboard")
            _idle(plain_port, plain.pid, 500, "http.server")
        finally:
            for proc in (ours, plain):
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
