"""``bench import``: fio output made elsewhere becomes runs in the history.

The source folder is only read. Each result (with its logs and the job files beside
it) and each folder of unclaimed logs becomes a new run folder holding byte-for-byte
copies; :mod:`stackrig.bench._importscan` says what is taken and what is left.

Importing is idempotent: every file a run is made from is recorded with its sha256,
and a result (or a log of a log-only run) already in the history is not imported
again. ``dry_run`` plans and reports without writing anything, the history included.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from stackrig.bench import liveness
from stackrig.bench._importscan import FileNote, ImportPlan, PlannedRun, plan_import, sha256_of
from stackrig.bench.history import History
from stackrig.bench.model import (
    RESULTS_FILE,
    STDERR_FILE,
    JobSource,
    RunRecord,
    RunStatus,
    SourceFile,
    new_run_id,
    read_meta,
    write_meta,
)
from stackrig.bench.results import FioResults
from stackrig.errors import UsageError

__all__ = ["ImportResult", "Taken", "import_dir"]


@dataclass(frozen=True, slots=True)
class Taken:
    """A file taken into a run: the run (its id, or its name in a dry run) and as what."""

    path: Path
    run: str
    role: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    runs: tuple[RunRecord, ...]
    """The runs created (none in a dry run)."""
    planned: tuple[str, ...]
    """The names of the runs made (or that would be made, in a dry run)."""
    taken: tuple[Taken, ...]
    left: tuple[FileNote, ...]
    """Files that are not fio output, with why."""
    failed: tuple[FileNote, ...]
    """Files that should be fio output or logs but could not be read: the import is partial."""
    duplicates: tuple[FileNote, ...] = ()
    """Files already imported (the why names the run)."""
    dry_run: bool = False

    @property
    def partial(self) -> bool:
        return bool(self.failed)


def _copy(src: Path, dst: Path) -> None:
    try:
        shutil.copyfile(src, dst)
    except OSError as exc:
        raise UsageError(f"cannot copy {src}: {exc.strerror or exc}") from exc


def _free_name(name: str, taken: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in taken:
        candidate = f"{counter}-{name}"
        counter += 1
    taken.add(candidate)
    return candidate


def _known(history: History | None, path: Path) -> tuple[str, str | None]:
    digest = sha256_of(path)
    return digest, history.imported(digest) if history is not None else None


def _started(run: PlannedRun) -> dt.datetime:
    if run.parsed is not None and run.parsed.timestamp:
        return dt.datetime.fromtimestamp(run.parsed.timestamp, dt.UTC)
    times = [p.stat().st_mtime for p in run.logs]
    return dt.datetime.fromtimestamp(min(times), dt.UTC) if times else dt.datetime.now(dt.UTC)


def _status(run: PlannedRun) -> tuple[RunStatus, str | None]:
    if run.parsed is None or not run.parsed.failed_jobs:
        return RunStatus.OK, None
    stderr = run.stderr.read_text(encoding="utf-8", errors="replace") if run.stderr else ""
    return RunStatus.FAILED, run.parsed.failure(stderr)


def _version(results: FioResults | None) -> str | None:
    text = results.fio_version if results is not None else None
    return text.removeprefix("fio-") if text else None


def _create(
    run: PlannedRun, history: History, runs_dir: Path, labels: Mapping[str, str], digests: dict[Path, str]
) -> RunRecord:
    # Built under a hidden name and renamed when every file is in: a killed import leaves no run
    # (bench fsck --repair removes what it left).
    folder = liveness.partial_folder(runs_dir, run.name, _started(run))
    try:
        with liveness.hold_lock(folder):
            record = _fill(folder, run, labels, digests)
            write_meta(record)
            record = replace(record, folder=liveness.finish_folder(folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # still the hidden name: nobody saw it
        raise
    history.add(record, run.parsed)
    return record


def _fill(folder: Path, run: PlannedRun, labels: Mapping[str, str], digests: dict[Path, str]) -> RunRecord:
    """Copy a planned run's files into ``folder``; the record of the imported run."""
    names: set[str] = set()
    sources: list[SourceFile] = []
    if run.results is not None:
        _copy(run.results, folder / _free_name(RESULTS_FILE, names))
        sources.append(SourceFile(str(run.results.absolute()), digests[run.results], "results"))
    if run.stderr is not None:
        _copy(run.stderr, folder / _free_name(STDERR_FILE, names))
    for log in run.logs:
        _copy(log, folder / _free_name(log.name, names))
        sources.append(SourceFile(str(log.absolute()), digests[log], "log"))
    jobs = []
    for job in run.jobs:
        copy = _free_name(job.name, names)
        _copy(job, folder / copy)
        digest = sha256_of(job)
        jobs.append(JobSource(copy, str(job.absolute()), digest, job.stat().st_size))
        sources.append(SourceFile(str(job.absolute()), digest, "job"))
    meta: RunRecord | None = None
    if run.meta is not None:
        try:
            meta = read_meta(run.meta.parent)
        except UsageError:
            meta = None
    status, error = _status(run)
    results = run.parsed
    record = RunRecord(
        id=new_run_id(),
        name=run.name,
        folder=folder,
        status=status,
        started=_started(run),
        ended=None,
        exit_code=meta.exit_code if meta else None,
        command=meta.command if meta else (),
        jobs=tuple(jobs),
        labels={**(meta.labels if meta else {}), **labels},
        hosts=results.hosts if results else (),
        machine=dict(meta.machine) if meta else {},
        fio_version=_version(results),
        error=error,
        imported_from=str((run.results or run.folder).absolute()),
        sources=tuple(sources),
        log_only=run.log_only,
    )
    return record


def import_dir(
    source: Path,
    *,
    runs_dir: Path,
    history: History | None,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import every result and log under ``source``; with ``dry_run``, only say what would happen.

    ``history`` may be None in a dry run without a history yet (nothing is then a duplicate).
    Raises UsageError when ``source`` is not a folder, or holds nothing to import and nothing
    already imported.
    """
    if not source.is_dir():
        raise UsageError(f"{source} is not a folder", hint="give the folder that holds fio's output or logs")
    plan = plan_import(source, name=name)
    fresh, duplicates, digests = _new_runs(plan, history)
    if not fresh and not duplicates:
        detail = "; ".join(f"{n.path}: {n.why}" for n in plan.failed) or "no fio output and no fio logs"
        raise UsageError(f"nothing to import from {source}: {detail}")
    created: list[RunRecord] = []
    if not dry_run:
        if history is None:  # pragma: no cover - the CLI always opens one for a real import
            raise UsageError("an import needs a history")
        created = [_create(run, history, runs_dir, labels or {}, digests) for run in fresh]
    owners = [record.id for record in created] if created else [run.name for run in fresh]
    taken = [
        Taken(path, owner, role)
        for run, owner in zip(fresh, owners, strict=True)
        for path, role in _files_of(run)
    ]
    return ImportResult(
        runs=tuple(created),
        planned=tuple(run.name for run in fresh),
        taken=tuple(taken),
        left=plan.left,
        failed=plan.failed,
        duplicates=tuple(duplicates),
        dry_run=dry_run,
    )


def _files_of(run: PlannedRun) -> list[tuple[Path, str]]:
    files = [(run.results, "results")] if run.results is not None else []
    return files + [(log, "log") for log in run.logs] + [(job, "job") for job in run.jobs]


def _new_runs(
    plan: ImportPlan, history: History | None
) -> tuple[list[PlannedRun], list[FileNote], dict[Path, str]]:
    """The planned runs not imported before (log-only runs keep only their new logs)."""
    fresh: list[PlannedRun] = []
    duplicates: list[FileNote] = []
    digests: dict[Path, str] = {}
    for run in plan.runs:
        if run.results is not None:
            digests[run.results], owner = _known(history, run.results)
            for log in run.logs:
                digests[log] = sha256_of(log)
            if owner is not None:
                duplicates.append(FileNote(run.results, f"already imported as run {owner}"))
                continue
            fresh.append(run)
            continue
        new_logs = []
        for log in run.logs:
            digests[log], owner = _known(history, log)
            if owner is None:
                new_logs.append(log)
            else:
                duplicates.append(FileNote(log, f"already imported as run {owner}"))
        if new_logs:
            fresh.append(
                PlannedRun(run.name, run.folder, None, None, tuple(new_logs), run.jobs, None, run.meta)
            )
    return fresh, duplicates, digests
