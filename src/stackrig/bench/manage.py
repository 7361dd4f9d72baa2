"""Import fio output made elsewhere; choose, export and prune runs; run a fio server.

``import`` only reads the source folder: fio outputs, logs and job files are
copied into new run folders; the source is never changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import shutil
import signal
import socket
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stackrig import _io, _proc
from stackrig.bench.compare import export_rows, format_rows
from stackrig.bench.history import History
from stackrig.bench.model import (
    META_FILE,
    RESULTS_FILE,
    JobSource,
    RunRecord,
    RunStatus,
    make_run_folder,
    new_run_id,
    read_meta,
    write_meta,
)
from stackrig.bench.results import FioResults, ResultsError, load_results
from stackrig.errors import ConflictError, FailedError, InterruptError, UsageError

__all__ = [
    "ExportResult",
    "ImportResult",
    "delete_runs",
    "export_runs",
    "import_dir",
    "is_loopback",
    "plan_prune",
    "run_fio_server",
    "select_runs",
]

log = logging.getLogger("stackrig.bench")


@dataclass(frozen=True, slots=True)
class ImportResult:
    runs: tuple[RunRecord, ...]
    skipped: tuple[str, ...]
    """Files that looked like fio output but could not be read, with the reason."""


def _regular_files(folder: Path) -> list[Path]:
    files = []
    for entry in sorted(folder.iterdir()):
        try:
            mode = entry.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode):
            files.append(entry)
    return files


def _is_log(path: Path) -> bool:
    return path.name.endswith(".log") or ".log." in path.name


def _copy(src: Path, dst: Path) -> None:
    try:
        shutil.copyfile(src, dst)
    except OSError as exc:
        raise UsageError(f"cannot copy {src}: {exc.strerror or exc}") from exc


def import_dir(
    source: Path,
    *,
    runs_dir: Path,
    history: History,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> ImportResult:
    """One new run per fio output file in ``source`` (``*.json``, ``*.out``, ``*.txt``, ``fio.json``).

    Logs go with the output whose jobs they belong to (fio names logs after
    the job); job files (``*.fio``, ``*.job``, ``*.ini``) go with every run.
    """
    if not source.is_dir():
        raise UsageError(f"{source} is not a folder", hint="give the folder that holds fio's JSON output")
    files = _regular_files(source)
    candidates = [f for f in files if f.suffix in {".json", ".out", ".txt"} and f.name != META_FILE]
    jobs = [f for f in files if f.suffix in {".fio", ".job", ".ini"}]
    logs = [f for f in files if _is_log(f)]
    parsed: list[tuple[Path, FioResults]] = []
    skipped: list[str] = []
    for path in candidates:
        try:
            parsed.append((path, load_results(path)))
        except ResultsError as exc:
            skipped.append(f"{path}: {exc.message}")
    if not parsed:
        detail = "; ".join(skipped) if skipped else "no *.json, *.out or *.txt file"
        raise UsageError(f"nothing to import from {source}: {detail}")
    source_meta: RunRecord | None = None
    if (source / META_FILE).is_file():
        try:
            source_meta = read_meta(source)
        except UsageError as exc:
            skipped.append(f"{source / META_FILE}: {exc.message}")
    extras = _Extras(jobs=jobs, logs=logs, only=len(parsed) == 1, meta=source_meta)
    runs = [
        _import_one(path, results, extras, runs_dir=runs_dir, history=history, name=name, labels=labels or {})
        for path, results in parsed
    ]
    return ImportResult(tuple(runs), tuple(skipped))


@dataclass(frozen=True, slots=True)
class _Extras:
    jobs: list[Path]
    logs: list[Path]
    only: bool
    meta: RunRecord | None


def _import_one(
    output: Path,
    results: FioResults,
    extras: _Extras,
    *,
    runs_dir: Path,
    history: History,
    name: str | None,
    labels: Mapping[str, str],
) -> RunRecord:
    jobs, logs, only, source_meta = extras.jobs, extras.logs, extras.only, extras.meta
    run_name = name or (output.parent.name if only else output.stem) or "import"
    now = dt.datetime.now(dt.UTC)
    started = dt.datetime.fromtimestamp(results.timestamp, dt.UTC) if results.timestamp else now
    folder = make_run_folder(runs_dir, run_name, started)
    _copy(output, folder / RESULTS_FILE)
    job_names = {job.name for job in results.all_jobs}
    for log_file in logs:
        if only or any(log_file.name.startswith(f"{job}_") for job in job_names):
            _copy(log_file, folder / log_file.name)
    sources = []
    for job in jobs:
        _copy(job, folder / job.name)
        data = job.read_bytes()
        sources.append(JobSource(job.name, str(job), hashlib.sha256(data).hexdigest(), len(data)))
    merged = dict(source_meta.labels) if source_meta else {}
    merged.update(labels)
    failed = any(job.error for job in results.all_jobs)
    record = RunRecord(
        id=new_run_id(),
        name=run_name,
        folder=folder,
        status=RunStatus.FAILED if failed else RunStatus.OK,
        started=started,
        ended=None,
        exit_code=source_meta.exit_code if source_meta else None,
        command=source_meta.command if source_meta else (),
        jobs=tuple(sources),
        labels=merged,
        hosts=tuple(f"{h}" for h in results.hosts),
        machine=dict(source_meta.machine) if source_meta else {},
        fio_version=(results.fio_version or "").removeprefix("fio-") or None,
        imported_from=str(output.absolute()),
    )
    write_meta(record)
    history.add(record, results)
    return record


def select_runs(
    history: History,
    refs: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    all_when_empty: bool = False,
) -> list[RunRecord]:
    """The runs named by ``refs`` (in order), then those carrying every label (oldest first).

    With neither refs nor labels: every run when ``all_when_empty``, else UsageError.
    """
    chosen = [history.resolve(ref) for ref in refs]
    if labels or (all_when_empty and not chosen):
        known = {r.id for r in chosen}
        chosen += [r for r in history.list(labels=labels, newest_first=False) if r.id not in known]
    if not chosen and not all_when_empty:
        raise UsageError("name the runs (RUN... and/or --label)")
    return chosen


@dataclass(frozen=True, slots=True)
class ExportResult:
    runs: tuple[str, ...]
    output: Path | None
    """The file written, or None when the content goes to stdout."""
    content: str | None = None
    """The exported text when it was not written to a file."""


def export_runs(history: History, runs: Sequence[RunRecord], fmt: str, output: Path | None) -> ExportResult:
    """Rows of ``runs`` as CSV or JSON, written atomically to ``output`` (or returned)."""
    content = format_rows(export_rows(history, runs), fmt)
    ids = tuple(r.id for r in runs)
    if output is None:
        return ExportResult(ids, None, content)
    if (output.absolute().parent / META_FILE).is_file():
        raise ConflictError(
            f"refusing to write {output}: it is inside a run folder, which holds a run's own files",
            hint="write the export outside the runs folder",
        )
    _io.ensure_not_input(output, [history.path])
    _io.atomic_write(output, content)
    return ExportResult(ids, output)


def delete_runs(history: History, runs: Sequence[RunRecord]) -> list[RunRecord]:
    """Delete each run (history rows and folder), in order; return those deleted."""
    deleted = []
    for record in runs:
        history.delete(record)
        deleted.append(record)
    return deleted


def plan_prune(history: History, *, keep: int | None, older_than_days: float | None) -> list[RunRecord]:
    """The runs ``prune`` would delete: beyond the newest ``keep``, and/or older than the age."""
    if keep is None and older_than_days is None:
        raise UsageError("say what to prune", hint="use --keep N and/or --older-than DAYS")
    if keep is not None and keep < 0:
        raise UsageError("--keep takes 0 or more")
    runs = history.list()
    doomed = runs[keep:] if keep is not None else runs
    if older_than_days is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)
        doomed = [r for r in doomed if r.started < cutoff]
    return doomed


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(host: str, port: int) -> None:
    """fio exits 0 when it cannot listen; find out first and say why."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise FailedError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="use an address of this machine and a free port",
        ) from exc


def run_fio_server(host: str, port: int) -> int:
    """Run ``fio --server`` in the foreground until it ends or Ctrl-C; return fio's exit code."""
    if not 0 < port < 65536:
        raise UsageError(f"bad port {port}", hint="use 1-65535")
    address = f"ip6:{host},{port}" if ":" in host else f"ip:{host},{port}"
    _check_bind(host, port)
    proc = _proc.start("fio", [f"--server={address}"], stdout=None, stderr=None, needed_for="bench server")
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise InterruptError("fio server stopped") from None
    if code != 0:
        raise FailedError(
            f"fio --server={address} exited with {code}", hint="is the address local and the port free?"
        )
    return code
