"""What a run will be before it runs: the checked jobs, the effective job files, the command.

``bench run --dry-run`` stops here (:func:`plan_run`): each job checked with
``fio --parse-only`` as given and as it will run, the effective job shown, the command
line printed, nothing created. ``bench run --from RUN`` starts here too
(:func:`settings_from_run`): the byte-for-byte job copies of an earlier run folder and
the settings its ``meta.json`` recorded give the same effective jobs again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stackrig.bench import jobfile
from stackrig.bench.model import FioHost, RunRecord, RunSettings, parse_host
from stackrig.errors import UsageError

__all__ = ["Prepared", "RunPlan", "build_argv", "plan_run", "prepare", "replay_of", "settings_from_run"]

SCRATCH_DIR = "scratch"


@dataclass(frozen=True, slots=True)
class Prepared:
    """The jobs read (or downloaded) and the section stackrig puts before each."""

    jobs: tuple[jobfile.JobFile, ...]
    prefix: str
    scratch: bool
    """fio lays out its files in the run's scratch folder (no ``--target``, not client mode)."""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when fio runs an effective job rather than the copy as given."""
        return bool(self.prefix or self.params)

    @property
    def run_files(self) -> tuple[str, ...]:
        """The job files fio is given: the effective ones, or the copies when nothing is added."""
        return tuple(job.effective if self.changed else job.file for job in self.jobs)

    def text(self, job: jobfile.JobFile) -> bytes:
        return jobfile.job_text(job, self.prefix, self.params)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """``bench run --dry-run``: fio's verdict on each job, the effective jobs and the command."""

    jobs: tuple[jobfile.JobCheck, ...]
    command: tuple[str, ...]
    scratch: str | None
    """Where ``${STACKRIG_RUN_SCRATCH}`` would point (inside the new run folder), if used."""

    @property
    def valid(self) -> bool:
        return all(check.accepted for check in self.jobs)


def prepare(settings: RunSettings) -> Prepared:
    """Read or download every job (nothing checked, nothing created)."""
    if settings.target is not None and not settings.hosts and not settings.target.is_dir():
        raise UsageError(f"--target {settings.target} is not a folder", hint="create it or choose another")
    jobs = jobfile.prepare_jobs(settings.jobs, max_bytes=settings.url_max_bytes, timeout=settings.url_timeout)
    included = [job.source for job in jobs if job.includes]
    if settings.hosts and included:
        # fio's client sends the job text to each server, which cannot follow an include of it
        raise UsageError(
            f"job file {included[0]} has include lines, which fio's client mode (--hosts) does not follow",
            hint="put the included options into the job file for a run on fio servers",
        )
    scratch = settings.target is None and not settings.hosts
    prefix = jobfile.header(
        target=settings.target,
        logs=settings.logs,
        log_avg_msec=settings.log_avg_msec,
        scratch=scratch,
        extra=settings.steady_state,
    )
    return Prepared(jobs, prefix, scratch, dict(settings.params))


def build_argv(settings: RunSettings, files: tuple[str, ...]) -> list[str]:
    argv = ["--output-format=json+"]
    if settings.hosts:
        for host in settings.hosts:
            argv.append(f"--client={host.client_arg}")
            argv.extend(files)
        return argv
    if settings.status_interval > 0:
        # fio takes a time with a unit; a bare "0.5" makes it print nothing at all
        argv.append(f"--status-interval={max(1, round(settings.status_interval * 1000))}ms")
    argv.extend(files)
    return argv


def plan_run(settings: RunSettings) -> RunPlan:
    """Check every job with fio and say what ``bench run`` would run; create nothing."""
    prepared = prepare(settings)
    checks = jobfile.check_jobs(prepared.jobs, prepared.prefix, prepared.params)
    argv = build_argv(settings, prepared.run_files)
    where = f"<{settings.runs_dir}/<new run folder>/{SCRATCH_DIR}>" if prepared.scratch else None
    return RunPlan(jobs=checks, command=("fio", *argv), scratch=where)


def replay_of(settings: RunSettings) -> dict[str, Any]:
    """What ``meta.json`` keeps so that ``bench run --from`` can repeat the run."""
    return {
        "logs": settings.logs,
        "log_avg_msec": settings.log_avg_msec,
        "target": str(settings.target) if settings.target else None,
        "hosts": [str(h) for h in settings.hosts],
        "status_interval": settings.status_interval,
        "from": settings.repeat_of,
        "params": dict(settings.params),
        "steady_state": dict(settings.steady_state),
        "precondition": settings.precondition,
    }


def _hosts(items: Any) -> tuple[FioHost, ...]:
    return tuple(parse_host(str(h)) for h in items or ())


def settings_from_run(
    record: RunRecord, base: RunSettings, *, name: str | None, labels: Mapping[str, str]
) -> RunSettings:
    """Settings that repeat ``record``: its job copies (never re-downloaded) and its options.

    ``base`` gives the folders and database; ``name``/``labels`` override the run's own.
    """
    if not record.jobs:
        raise UsageError(f"run {record.id} kept no job files; it cannot be repeated", hint="was it imported?")
    missing = [job.file for job in record.jobs if not (record.folder / job.file).is_file()]
    if missing:
        raise UsageError(
            f"run {record.id} lacks its job copies in {record.folder}: {', '.join(missing)}",
            hint="a run can be repeated only while its folder holds the job files",
        )
    replay = record.replay
    target = replay.get("target")
    return replace(
        base,
        jobs=tuple(str(record.folder / job.file) for job in record.jobs),
        name=name or record.name,
        labels={**record.labels, **labels},
        target=Path(target) if target else None,
        logs=bool(replay.get("logs", False)),
        log_avg_msec=int(replay.get("log_avg_msec") or base.log_avg_msec),
        hosts=_hosts(replay.get("hosts")) or base.hosts,
        status_interval=float(replay.get("status_interval") or base.status_interval),
        repeat_of=record.id,
        params={str(k): str(v) for k, v in (replay.get("params") or {}).items()},
        steady_state={str(k): str(v) for k, v in (replay.get("steady_state") or {}).items()},
        precondition=bool(replay.get("precondition", False)),
    )
