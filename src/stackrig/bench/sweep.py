"""``bench sweep JOB --iodepth 1,4,16,64 --numjobs 1,4 --bs 4k,64k [--rw ...] [--repeat N]``.

The matrix of points runs as one group (kind ``sweep``): each point is its own run whose
effective job sets the point's options last in every job section (so they win over the
job's own), and whose ``meta.json`` records the point. The group keeps the spec; when a
sweep is interrupted the finished points stay, and ``--resume g:ID`` runs only the
points (and repeats) that have no good run yet, from the job copies of the first run.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stackrig.bench import jobfile
from stackrig.bench.groups import RunGroup, get_group, group_runs, new_group, resolve_group
from stackrig.bench.history import History
from stackrig.bench.model import GroupMember, RunSettings, RunStatus
from stackrig.bench.repeat import RunStarted
from stackrig.bench.runner import ProgressCallback, RunResult, run_jobs
from stackrig.bench.runplan import prepare
from stackrig.errors import UsageError

__all__ = ["AXES", "SweepAxes", "SweepResult", "parse_axis", "point_key", "resume_settings", "run_sweep"]

#: The options a sweep varies, in the order points are run (iodepth varies fastest).
AXES = ("rw", "bs", "numjobs", "iodepth")
RW_VALUES = frozenset(
    {"read", "write", "trim", "randread", "randwrite", "randtrim", "rw", "readwrite", "randrw", "trimwrite"}
)
_INT = re.compile(r"^[1-9][0-9]*$")
_SIZE = re.compile(r"^[1-9][0-9]*([kmgt]i?b?)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SweepAxes:
    iodepth: tuple[str, ...] = ()
    numjobs: tuple[str, ...] = ()
    bs: tuple[str, ...] = ()
    rw: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {axis: list(getattr(self, axis)) for axis in AXES if getattr(self, axis)}

    def points(self) -> list[dict[str, str]]:
        axes = [(axis, getattr(self, axis)) for axis in AXES if getattr(self, axis)]
        if not axes:
            return []
        return [
            dict(zip([a for a, _ in axes], combo, strict=True))
            for combo in itertools.product(*(v for _, v in axes))
        ]


@dataclass(frozen=True, slots=True)
class SweepResult:
    group: RunGroup
    runs: tuple[RunResult, ...]
    skipped: tuple[str, ...] = field(default=())
    """Points already done (on --resume), as ``key#repeat``."""


def parse_axis(text: str | None, axis: str) -> tuple[str, ...]:
    """``1,4,16`` → ("1", "4", "16"), each value checked for its axis."""
    if not text:
        return ()
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise UsageError(f"--{axis} takes a comma list, e.g. 1,4,16")
    for value in values:
        if axis in ("iodepth", "numjobs") and not _INT.match(value):
            raise UsageError(f"--{axis} {value!r} is not a positive whole number")
        if axis == "bs" and not _SIZE.match(value):
            raise UsageError(f"--bs {value!r} is not a block size", hint="write it like 4k, 64k, 1m or 4096")
        if axis == "rw" and value not in RW_VALUES:
            raise UsageError(
                f"--rw {value!r} is not one of fio's rw modes", hint=", ".join(sorted(RW_VALUES))
            )
    if len(set(values)) != len(values):
        raise UsageError(f"--{axis} lists a value twice")
    return values


def point_key(point: Mapping[str, str]) -> str:
    return " ".join(f"{axis}={point[axis]}" for axis in AXES if axis in point)


def _run_name(name: str, point: Mapping[str, str]) -> str:
    return name + "-" + "-".join(f"{axis}{point[axis]}" for axis in AXES if axis in point)


def run_sweep(
    settings: RunSettings,
    axes: SweepAxes,
    *,
    repeat: int = 1,
    resume: str | None = None,
    progress: ProgressCallback | None = None,
    started: RunStarted | None = None,
) -> SweepResult:
    """Run every point of ``axes`` (``repeat`` times each) as one group, or the missing ones of
    ``resume``'s group (``settings`` then comes from :func:`resume_settings`)."""
    points = axes.points()
    if not points:
        raise UsageError("a sweep needs at least one of --iodepth, --numjobs, --bs, --rw")
    if repeat < 1:
        raise UsageError("--repeat takes 1 or more")
    prepared = prepare(settings)
    for point in points:  # fio checks every point's job before anything runs
        jobfile.validate_jobs(prepared.jobs, prepared.prefix, point)
    name = settings.name or Path(prepared.jobs[0].file).stem
    with History.open(settings.db) as history:
        if resume is not None:
            group = resolve_group(history, resume)
            members = group_runs(history, group.id, warmup=True)
            done = {
                (point_key(r.group.point), int(r.group.point.get("repeat", "0")))
                for r in members
                if r.group is not None and r.status is RunStatus.OK
            }
            seq = max((r.group.seq for r in members if r.group), default=-1) + 1
        else:
            spec = {"jobs": list(settings.jobs), "axes": axes.as_dict(), "repeat": repeat, "name": name,
                    "labels": dict(settings.labels), "logs": settings.logs,
                    "log_avg_msec": settings.log_avg_msec}  # fmt: skip
            group = new_group(history, name, "sweep", spec)
            done, seq = set(), 0
    todo = [(p, rep) for p in points for rep in range(repeat) if (point_key(p), rep) not in done]
    skipped = tuple(
        f"{point_key(p)}#{rep}" for p in points for rep in range(repeat) if (point_key(p), rep) in done
    )
    results: list[RunResult] = []
    for index, (point, rep) in enumerate(todo):
        if started is not None:
            started(index + 1, len(todo), False)
        run = replace(
            settings,
            name=_run_name(name, point),
            params=dict(point),
            group=GroupMember(group.id, seq + index, point={**point, "repeat": str(rep)}),
        )
        results.append(run_jobs(run, progress=progress))
    with History.open(settings.db) as history:
        final = get_group(history, group.id) or group
    return SweepResult(group=final, runs=tuple(results), skipped=skipped)


def resume_settings(history: History, ref: str, base: RunSettings) -> tuple[RunSettings, SweepAxes, int, str]:
    """The settings, axes and repeat of a sweep group to resume (its first run's job copies)."""
    group = resolve_group(history, ref)
    if group.kind != "sweep":
        raise UsageError(f"{group.ref} is not a sweep (it is a {group.kind} group)")
    spec: Mapping[str, Any] = group.spec
    axes = SweepAxes(**{axis: tuple(str(v) for v in spec.get("axes", {}).get(axis, ())) for axis in AXES})
    runs = group_runs(history, group.id, warmup=True)
    jobs: Sequence[str] = spec.get("jobs") or ()
    if runs and runs[0].jobs and all((runs[0].folder / j.file).is_file() for j in runs[0].jobs):
        jobs = [str(runs[0].folder / j.file) for j in runs[0].jobs]
    settings = replace(
        base,
        jobs=tuple(jobs),
        name=str(spec.get("name") or group.name),
        labels={**dict(spec.get("labels") or {}), **base.labels},
        logs=bool(spec.get("logs", base.logs)),
        log_avg_msec=int(spec.get("log_avg_msec") or base.log_avg_msec),
    )
    return settings, axes, int(spec.get("repeat") or 1), group.ref
