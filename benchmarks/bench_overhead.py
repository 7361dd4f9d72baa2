"""What does `stackrig bench run` cost over bare fio?

The same 10 s job (psync 4k random reads on a 64 MiB file) runs with bare
``fio --output-format=json+`` and through ``stackrig bench run``, alternating,
three times each, in one run of this script. Reported: IOPS of each, the IOPS
ratio (stackrig / fio; the issue asks >= 0.98) and the wall time stackrig adds
(the issue asks <= 0.5 s).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 3
JOB = """[global]
ioengine=psync
size=64M
runtime=10
time_based
directory={directory}

[randread]
rw=randread
bs=4k
"""


def _iops(doc: dict[str, Any]) -> float:
    return float(sum(job["read"]["iops"] for job in doc["jobs"]))


def _mean_wall(argv: list[str]) -> float:
    walls = []
    for _ in range(RUNS):
        start = time.monotonic()
        subprocess.run(argv, capture_output=True, check=True)
        walls.append(time.monotonic() - start)
    return statistics.mean(walls)


def main() -> int:
    fio = shutil.which("fio")
    stackrig = Path(sys.executable).parent / "stackrig"
    if fio is None or not stackrig.exists():
        print("needs fio and the stackrig console script (make bench installs both)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="stackrig-bench-overhead-"))
    try:
        data = work / "data"
        data.mkdir()
        job = work / "overhead.fio"
        job.write_text(JOB.format(directory=data))
        # lay the file out once so neither side pays for it
        subprocess.run([fio, "--runtime=1", str(job)], capture_output=True, check=True)
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for i in range(RUNS):
            out = work / f"bare-{i}.json"
            start = time.monotonic()
            subprocess.run([fio, "--output-format=json+", f"--output={out}", str(job)], check=True)
            bare.append((time.monotonic() - start, _iops(json.loads(out.read_text()))))
            start = time.monotonic()
            done = subprocess.run(
                [str(stackrig), "--data-dir", str(work / "home"), "bench", "run", str(job), "--json"],
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.monotonic() - start
            rows = json.loads(done.stdout)["data"]["results"]
            ours.append((wall, sum(r["iops"] for r in rows)))
        print(f"{'run':>4} {'fio wall s':>11} {'fio IOPS':>10} {'stackrig wall s':>16} {'stackrig IOPS':>14}")
        for i, ((bw, bi), (sw, si)) in enumerate(zip(bare, ours, strict=True), 1):
            print(f"{i:>4} {bw:>11.2f} {bi:>10.0f} {sw:>16.2f} {si:>14.0f}")
        bare_iops = statistics.mean(i for _, i in bare)
        our_iops = statistics.mean(i for _, i in ours)
        added = statistics.mean(w for w, _ in ours) - statistics.mean(w for w, _ in bare)
        ratio = our_iops / bare_iops
        print(f"mean IOPS: fio {bare_iops:.0f}, stackrig {our_iops:.0f}; ratio {ratio:.3f} (goal >= 0.98)")
        print(f"added wall time per run: {added:+.2f} s (goal <= 0.5 s)")
        startup = _mean_wall([str(stackrig), "--version"])
        check = _mean_wall([fio, "--clocksource=clock_gettime", "--parse-only", str(job)])
        interpreter = _mean_wall([sys.executable, "-c", "pass"])
        print(
            f"where it goes (mean of {RUNS}): python start-up of this venv {interpreter:.2f} s, "
            f"stackrig CLI start-up (--version) {startup:.2f} s, fio --parse-only check {check:.2f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
