"""How long a full ``stackrig tune audit`` of this machine takes, beside the shell a user would type.

Measured in the same run:
  * the audit in-process (``run_audit`` on /: every check, every finding);
  * the whole CLI (``stackrig tune audit --json``: interpreter start, imports, audit, JSON);
  * the shell one-liner that only dumps the same files (``cat`` of every file the audit read,
    with ``ls`` of the folders it listed), i.e. reading without judging anything.
Goal: a full audit under 0.3 s.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from stackrig.tune import AuditSettings, run_audit
from stackrig.tune.audit import make_host

RUNS = 30
CLI_RUNS = 10


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _time(fn: object, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    settings = AuditSettings()
    host = make_host(Path("/"), settings.profile, None)
    report = run_audit(settings, host)
    files = sorted({p for p in host.reads if Path(p).is_file()})
    folders = ["/sys/block", "/sys/devices/system/cpu", "/sys/devices/system/node", "/sys/module"]

    in_process = _time(lambda: run_audit(settings), RUNS)

    stackrig = str(Path(sys.executable).parent / "stackrig")
    env = {**os.environ, "STACKRIG_HOME": "/tmp/stackrig-bench-home"}

    def cli() -> None:
        subprocess.run([stackrig, "tune", "audit", "--json"], capture_output=True, check=False, env=env)

    cli_samples = _time(cli, CLI_RUNS)

    script = f"cat {' '.join(map(shlex.quote, files))} >/dev/null 2>&1; ls {' '.join(folders)} >/dev/null"

    def shell() -> None:
        subprocess.run(["sh", "-c", script], capture_output=True, check=False)

    shell_samples = _time(shell, CLI_RUNS)

    def python_start() -> None:
        subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=False)

    start_samples = _time(python_start, CLI_RUNS)

    def cli_import() -> None:
        subprocess.run([sys.executable, "-c", "import stackrig.cli.app"], capture_output=True, check=False)

    import_samples = _time(cli_import, CLI_RUNS)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"tune audit of this machine: {len(report.findings)} findings from {len(files)} files read")
    print(f"load average before timing: {load} on {os.cpu_count()} CPUs")
    print(f"{'what':66} {'median ms':>10} {'min ms':>8}")
    rows = [
        (f"stackrig run_audit (in-process, {RUNS} runs)", in_process),
        (f"stackrig tune audit --json (CLI process, {CLI_RUNS} runs)", cli_samples),
        (f"sh -c 'cat <same {len(files)} files>; ls <4 folders>' ({CLI_RUNS} runs)", shell_samples),
        (f"python -c pass (interpreter start only, {CLI_RUNS} runs)", start_samples),
        (f"python -c 'import stackrig.cli.app' (start + CLI imports, {CLI_RUNS} runs)", import_samples),
    ]
    for label, samples in rows:
        print(f"{label:66} {_median_ms(samples):10.1f} {min(samples) * 1000:8.1f}")
    goal = "met" if statistics.median(cli_samples) < 0.3 else "NOT met"
    print(f"goal: full audit under 300 ms: {goal} (CLI median {_median_ms(cli_samples):.0f} ms)")


if __name__ == "__main__":
    main()
