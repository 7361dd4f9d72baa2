"""``bench run --repeat N [--interleave] [--warmup K]``: one job run N times, kept as a group.

Storage varies from run to run (5-20% on cloud volumes); a group of runs lets ``bench
compare`` tell noise from a real change. Every run is a normal run folder and history
row that also carries the group id and its position. ``--warmup K`` runs K more first:
they are kept (marked ``warmup``) and left out of the group's statistics. With several
job files, ``--interleave`` runs each file on its own, round robin (A B A B ...), so
a slow drift of the machine touches every job alike; without it each run runs them all.
A failed or interrupted run stops the group; the runs made so far stay in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from stackrig.bench import jobfile
from stackrig.bench.groups import RunGroup, new_group
from stackrig.bench.history import History
from stackrig.bench.model import GroupMember, RunSettings
from stackrig.bench.runner import ProgressCallback, RunResult, run_jobs
from stackrig.bench.runplan import prepare
from stackrig.errors import UsageError

__all__ = ["GroupResult", "RunStarted", "run_group"]

#: Called before each run of a group: (1-based position, total, warm-up or not).
RunStarted = Callable[[int, int, bool], None]


@dataclass(frozen=True, slots=True)
class GroupResult:
    group: RunGroup
    runs: tuple[RunResult, ...]
    warmups: int = 0

    @property
    def counted(self) -> tuple[RunResult, ...]:
        """The runs the group's statistics use (warm-ups left out)."""
        return tuple(r for r in self.runs if not (r.run.group and r.run.group.warmup))


def run_group(
    settings: RunSettings,
    *,
    repeat: int,
    warmup: int = 0,
    interleave: bool = False,
    progress: ProgressCallback | None = None,
    started: RunStarted | None = None,
) -> GroupResult:
    """Run ``settings`` ``warmup + repeat`` times (per job file with ``interleave``) as one group."""
    if repeat < 1:
        raise UsageError("--repeat takes 1 or more")
    if warmup < 0:
        raise UsageError("--warmup takes 0 or more")
    if interleave and len(settings.jobs) < 2:
        raise UsageError("--interleave needs two or more job files")
    prepared = prepare(settings)  # every job read and checked before the group exists
    jobfile.validate_jobs(prepared.jobs, prepared.prefix, prepared.params)
    rounds = [(job,) for job in settings.jobs] if interleave else [settings.jobs]
    name = settings.name or Path(prepared.jobs[0].file).stem
    spec = {
        "jobs": list(settings.jobs),
        "repeat": repeat,
        "warmup": warmup,
        "interleave": interleave,
        "labels": dict(settings.labels),
    }
    with History.open(settings.db) as history:
        group = new_group(history, name, "repeat", spec)
    total = (warmup + repeat) * len(rounds)
    done: list[RunResult] = []
    for index in range(warmup + repeat):
        for jobs in rounds:
            seq = len(done)
            is_warmup = index < warmup
            if started is not None:
                started(seq + 1, total, is_warmup)
            run = replace(
                settings,
                jobs=jobs,
                name=settings.name or (name if not interleave else None),
                group=GroupMember(group.id, seq, warmup=is_warmup),
            )
            done.append(run_jobs(run, progress=progress))
    return GroupResult(group=replace(group, runs=len(done)), runs=tuple(done), warmups=warmup * len(rounds))
