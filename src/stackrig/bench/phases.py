"""Preconditioning and steady state (``bench run --precondition``, ``--steady-state``).

**Preconditioning**, as the SNIA Performance Test Specification describes it: before
the workload, the files (or device) the job will use are written sequentially, twice
over. The job itself is run with its options overridden last in each job section
(``rw=write``, ``bs=128k``, ``loops=2``, no time limit, no rate limit, no verify), in the
same place (``directory=``, filenames, sizes), from the ``precondition/`` sub-folder of
the run (its output is kept there). A raw device as target is refused without consent.

**Steady state** is fio's own (``steadystate``, ``steadystate_duration``,
``steadystate_ramp_time``): ``--steady-state iops:10%:60s[:RAMP]`` puts them in stackrig's
``[global]`` section; after the run, each job's ``steadystate`` section says whether it
was attained and, since fio ends a job when it is, after how long.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackrig import _io, _proc
from stackrig.bench import jobfile
from stackrig.bench.results import FioResults, ResultsError, parse_results
from stackrig.errors import ConflictError, UsageError

__all__ = [
    "PRECONDITION",
    "PRECONDITION_DIR",
    "parse_steady_state",
    "raw_devices",
    "run_precondition",
    "steady_outcome",
]

PRECONDITION_DIR = "precondition"
#: Set last in every job section: a sequential write of everything the job uses, twice.
PRECONDITION: dict[str, str] = {
    "rw": "write",
    "bs": "128k",
    "loops": "2",
    "time_based": "0",
    "runtime": "0",
    "ramp_time": "0",
    "rate": "0",
    "rate_iops": "0",
    "thinktime": "0",
    "verify": "0",
    "do_verify": "0",
    "steadystate_duration": "0",
}
_METRICS = ("iops", "iops_slope", "bw", "bw_slope", "lat", "lat_slope")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def _seconds(text: str, what: str) -> int:
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"{what} {text!r} is not a duration", hint="write it like 500ms, 60s, 5m, 2h or 1d")
    seconds = float(match.group(1)) * _SCALE[match.group(2)]
    if seconds < 1:
        raise UsageError(f"{what} {text!r} is shorter than fio's 1 s steady-state check")
    return round(seconds)


def parse_steady_state(text: str) -> dict[str, str]:
    """``iops:10%:60s[:RAMP]`` → fio's steadystate, steadystate_duration (and _ramp_time) options."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (3, 4) or not all(parts):
        raise UsageError(
            f"--steady-state {text!r} is not METRIC:LIMIT:DURATION[:RAMP]",
            hint="e.g. iops:10%:60s (IOPS within 10% of their mean for 60 s) or iops_slope:0.1%:5m:30s",
        )
    metric, limit = parts[0], parts[1]
    if metric not in _METRICS:
        raise UsageError(f"--steady-state metric {metric!r} is not one of {', '.join(_METRICS)}")
    if not re.fullmatch(r"\d+(\.\d+)?%?", limit):
        raise UsageError(f"--steady-state limit {limit!r} is not a number or a percentage (10%, 0.5)")
    options = {
        "steadystate": f"{metric}:{limit}",
        "steadystate_duration": f"{_seconds(parts[2], '--steady-state duration')}s",
    }
    if len(parts) == 4:
        options["steadystate_ramp_time"] = f"{_seconds(parts[3], '--steady-state ramp')}s"
    return options


def raw_devices(jobs: tuple[jobfile.JobFile, ...]) -> list[str]:
    """The block devices (``filename=/dev/...``) the jobs write to directly."""
    found: list[str] = []
    for job in jobs:
        for options in jobfile.job_sections(job.expanded()).values():
            for name in (options.get("filename") or "").split(":"):
                if name.startswith("/dev/") and name not in found:
                    found.append(name)
    return found


def check_precondition(jobs: tuple[jobfile.JobFile, ...], *, yes: bool) -> None:
    devices = raw_devices(jobs)
    if devices and not yes:
        raise ConflictError(
            f"--precondition would overwrite {', '.join(devices)} (twice, sequentially)",
            hint="pass --yes if that device holds nothing you need",
        )


def run_precondition(
    folder: Path, jobs: tuple[jobfile.JobFile, ...], prefix: str, argv_for: Any, env: Mapping[str, str] | None
) -> str | None:
    """Write the job's files sequentially twice, from ``folder/precondition``; None when done,
    else why not (fio's words). KeyboardInterrupt stops fio and propagates."""
    where = _io.ensure_dir(folder / PRECONDITION_DIR)
    jobfile.write_includes(where, jobs)
    files = []
    for job in jobs:
        path = where / job.file
        _io.atomic_write(path, jobfile.job_text(job, prefix, PRECONDITION))
        files.append(job.file)
    done = _proc.run(
        "fio", argv_for(tuple(files)), timeout=None, cwd=where, check=False,
        env={**os.environ, **(env or {})}, needed_for="bench run --precondition",
    )  # fmt: skip
    _io.atomic_write(where / "fio.json", done.stdout)
    _io.atomic_write(where / "fio.stderr", done.stderr)
    try:
        results = parse_results(done.stdout, source=where / "fio.json")
    except ResultsError:
        results = None
    failure = results.failure(done.stderr) if results is not None else None
    if failure or done.returncode != 0:
        return failure or f"fio exited with {done.returncode}: {_proc.tail(done.stderr, 3)}".strip()
    return None


def steady_outcome(results: FioResults | None) -> dict[str, Any]:
    """Per job: fio's steady-state criterion, whether it was attained, and after how long (s)."""
    outcome: dict[str, Any] = {}
    if results is None:
        return outcome
    for job in results.jobs:
        state = job.steadystate
        if state is None:
            continue
        runtime = job.runtime_ms or max((d.runtime_ms or 0 for d in job.directions), default=0)
        outcome[job.name] = {
            "criterion": state.criterion,
            "window_s": state.duration_s,
            "attained": state.attained and outcome.get(job.name, {}).get("attained", True),
            "after_s": round(runtime / 1000.0, 3) if state.attained else None,
        }
    return outcome
