"""How long a full ``stackrig tune audit`` of this machine takes, beside the shell a user would type.

Measured in the same run, interleaved round by round so that load from other
processes falls on every candidate alike:
  * the audit in-process (``run_audit`` on /: every check, every finding);
  * the whole CLI (``stackrig tune audit --json``: interpreter start, imports, audit, JSON);
  * the same CLI without the test venv's coverage hook (the test venv imports coverage in
    every process through a .pth file; a user's install has no such hook);
  * the shell one-liner that only dumps the same files (``cat`` of every file the audit read,
    ``ls`` of the folders it listed): reading without judging anything;
  * a bare interpreter start, and the start plus the CLI's imports, to show where time goes.
Goal: a full audit under 0.3 s.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

from stackrig.tune import AuditSettings, run_audit
from stackrig.tune.audit import make_host

ROUNDS = 15
IN_PROCESS_RUNS = 200


def _run(argv: list[str], env: dict[str, str]) -> Callable[[], None]:
    def go() -> None:
        subprocess.run(argv, capture_output=True, check=False, env=env)

    return go


def main() -> None:
    settings = AuditSettings()
    host = make_host(Path("/"), settings.profile, None)
    report = run_audit(settings, host)
    files = sorted({p for p in host.reads if Path(p).is_file()})
    folders = ["/sys/block", "/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/module"]

    env = {**os.environ, "STACKRIG_HOME": "/tmp/stackrig-bench-home"}
    env.pop("COVERAGE_PROCESS_START", None)
    stackrig = str(Path(sys.executable).parent / "stackrig")
    purelib = sysconfig.get_paths()["purelib"]
    src = str(Path(__file__).resolve().parents[1] / "src")
    bare = (
        f"import sys; sys.path[:0] = [{src!r}, {purelib!r}]; "
        "from stackrig.cli.app import run; sys.exit(run(['tune', 'audit', '--json']))"
    )
    script = f"cat {' '.join(map(shlex.quote, files))} >/dev/null 2>&1; ls {' '.join(folders)} >/dev/null"
    candidates: list[tuple[str, Callable[[], None]]] = [
        ("stackrig tune audit --json (CLI process)", _run([stackrig, "tune", "audit", "--json"], env)),
        ("same CLI without the test venv's coverage hook", _run([sys.executable, "-S", "-c", bare], env)),
        (f"sh -c 'cat <same {len(files)} files>; ls <4 folders>'", _run(["sh", "-c", script], env)),
        ("python -c pass (interpreter start only)", _run([sys.executable, "-c", "pass"], env)),
        (
            "python -c 'import stackrig.cli.app' (start + CLI imports)",
            _run([sys.executable, "-c", "import stackrig.cli.app"], env),
        ),
    ]
    samples: dict[str, list[float]] = {label: [] for label, _ in candidates}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for _ in range(ROUNDS):
        for label, fn in candidates:
            start = time.perf_counter()
            fn()
            samples[label].append(time.perf_counter() - start)

    in_process = []
    for _ in range(IN_PROCESS_RUNS):
        start = time.perf_counter()
        run_audit(settings)
        in_process.append(time.perf_counter() - start)

    print(f"tune audit of this machine: {len(report.findings)} findings from {len(files)} files read")
    print(f"load average before timing: {load} on {os.cpu_count()} CPUs; {ROUNDS} interleaved rounds")
    print(f"{'what':62} {'median ms':>10} {'min ms':>8}")
    rows = [(f"stackrig run_audit (in-process, {IN_PROCESS_RUNS} runs)", in_process), *samples.items()]
    for label, values in rows:
        print(f"{label:62} {statistics.median(values) * 1000:10.1f} {min(values) * 1000:8.1f}")
    for label in list(samples)[:2]:
        median = statistics.median(samples[label])
        goal = "met" if median < 0.3 else "NOT met"
        print(f"goal < 300 ms, {label}: {goal} (median {median * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
