"""Run fio: locally, or on fio servers through ``fio --client=HOST,PORT job ...`` in one invocation.

:func:`run_jobs` reads and checks the job files, creates a new run folder,
runs fio there with ``--output-format=json+`` (logs land in the folder; in
client mode fio names them ``*.log.<host>``), reports progress to the caller's
callback from the ``--status-interval`` documents fio prints (the CLI draws it),
and records the run in the history. A failed fio run or Ctrl-C keeps the folder and records it as
``failed`` / ``interrupted`` before the error (exit 1 / 130) is raised.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from stackrig import _io, _proc, _units
from stackrig._units import format_count, format_size
from stackrig.bench import jobfile, liveness, phases
from stackrig.bench.history import History, ResultRow, rows_from_results
from stackrig.bench.model import (
    RESULTS_FILE,
    STDERR_FILE,
    FioHost,
    RunRecord,
    RunSettings,
    RunStatus,
    machine_info,
    new_run_id,
    write_meta,
)
from stackrig.bench.results import FioResults, ResultsError, parse_results, split_output
from stackrig.bench.runplan import SCRATCH_DIR, Prepared, build_argv, prepare, replay_of
from stackrig.errors import FailedError, InterruptError, MissingError, StackrigError

__all__ = [
    "FioRunFailedError",
    "FioServerUnreachableError",
    "Progress",
    "ProgressCallback",
    "RunResult",
    "fio_version",
    "run_jobs",
]

log = logging.getLogger("stackrig.bench")

_CONNECT_FAILED = re.compile(r"failed to connect to (\S+)")
_STOP_GRACE = 30.0


class FioRunFailedError(FailedError):
    """fio ran and failed; the run folder is kept."""


class FioServerUnreachableError(MissingError):
    """A fio server of ``--hosts`` does not answer."""


def fio_version() -> str | None:
    done = _proc.run("fio", ["--version"], timeout=30, check=False, needed_for="bench run")
    text = done.stdout.strip() or done.stderr.strip()
    return text.removeprefix("fio-") or None


def check_reachable(hosts: tuple[FioHost, ...], timeout: float = 5.0) -> None:
    """Connect to each fio server once; name every one that does not answer."""
    down: list[str] = []
    for host in hosts:
        try:
            with socket.create_connection((host.host, host.port), timeout=timeout):
                pass
        except OSError as exc:
            down.append(f"{host} ({exc.strerror or exc})")
    if down:
        raise FioServerUnreachableError(
            "fio server unreachable: " + ", ".join(down),
            hint="start `stackrig bench server --host ADDR` (or fio --server) on each host; nothing was run",
        )


# ---------------------------------------------------------------- progress


def _seconds(value: str | None) -> float | None:
    """fio's ``runtime``/``ramp_time`` (its time suffixes are ours; a bare number is seconds)."""
    if not value:
        return None
    try:
        return _units.parse_duration(value)
    except _units.UnitError:
        return None


def _iops(value: float) -> str:
    return format_count(value, decimals=1, small_decimals=0)


@dataclass(frozen=True, slots=True)
class Progress:
    """One live reading, handed to the caller's progress callback about four times a second.

    The rates are None until fio has printed its first status document (and in client
    mode, where fio prints none).
    """

    elapsed_s: float
    percent: float | None = None
    eta_s: float | None = None
    read_iops: float | None = None
    read_bw: float | None = None
    write_iops: float | None = None
    write_bw: float | None = None
    hosts: int = 0

    @property
    def measured(self) -> bool:
        return self.read_iops is not None

    def line(self) -> str:
        """The reading as one line of text (the CLI draws it; the library never prints)."""
        if not self.measured:
            where = f" on {self.hosts} hosts" if self.hosts else ""
            return f"running{where}  elapsed {self.elapsed_s:4.0f}s"
        head = f"{self.percent:5.1f}%  eta {self.eta_s:4.0f}s" if self.percent is not None else "running"
        return (
            f"{head}  elapsed {self.elapsed_s:4.0f}s  "
            f"read {_iops(self.read_iops or 0.0)} IOPS {format_size(self.read_bw or 0.0)}/s  "
            f"write {_iops(self.write_iops or 0.0)} IOPS {format_size(self.write_bw or 0.0)}/s"
        )


ProgressCallback = Callable[[Progress], None]


def _totals(doc: Mapping[str, Any]) -> tuple[float, dict[str, tuple[float, float]], float | None]:
    """(elapsed s, {direction: (ios, bytes)}, expected total s) of a status document."""
    jobs = doc.get("jobs") if isinstance(doc.get("jobs"), list) else []
    elapsed = 0.0
    expected: float | None = None
    sums: dict[str, tuple[float, float]] = {"read": (0.0, 0.0), "write": (0.0, 0.0)}
    global_opts = doc.get("global options") if isinstance(doc.get("global options"), Mapping) else {}
    for job in jobs or []:
        if not isinstance(job, Mapping):
            continue
        elapsed = max(elapsed, float(job.get("elapsed") or 0))
        opts = {**(global_opts or {}), **(job.get("job options") or {})}
        runtime = _seconds(opts.get("runtime"))
        if runtime is not None:
            total = runtime + (_seconds(opts.get("ramp_time")) or 0.0)
            expected = max(expected or 0.0, total)
        for direction, (ios, nbytes) in list(sums.items()):
            stats = job.get(direction)
            if isinstance(stats, Mapping):
                sums[direction] = (
                    ios + float(stats.get("total_ios") or 0),
                    nbytes + float(stats.get("io_bytes") or 0),
                )
    return elapsed, sums, expected


class _Reader(threading.Thread):
    """Collects fio's stdout; turns each complete status document into a Progress."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(daemon=True, name="fio-stdout")
        self.stream = stream
        self.lines: list[str] = []
        self.progress: Progress | None = None
        self._doc_start: int | None = None
        self._last: tuple[float, dict[str, tuple[float, float]]] | None = None

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line)
            if line.startswith("{") and line.strip() == "{":
                self._doc_start = len(self.lines) - 1
            elif line.rstrip() == "}" and self._doc_start is not None:
                self._status("".join(self.lines[self._doc_start :]))
                self._doc_start = None

    def _status(self, text: str) -> None:
        _, docs = split_output(text)
        if not docs:
            return
        now = time.monotonic()
        elapsed, sums, expected = _totals(docs[-1])
        rates = {"read": (0.0, 0.0), "write": (0.0, 0.0)}
        if self._last is not None:
            then, before = self._last
            span = max(now - then, 1e-3)
            for direction, (ios, nbytes) in sums.items():
                old_ios, old_bytes = before.get(direction, (0.0, 0.0))
                rates[direction] = ((ios - old_ios) / span, (nbytes - old_bytes) / span)
        elif elapsed > 0:
            rates = {d: (ios / elapsed, nbytes / elapsed) for d, (ios, nbytes) in sums.items()}
        self._last = (now, sums)
        percent = eta = None
        if expected:
            percent = min(100.0, 100.0 * elapsed / expected)
            eta = max(0.0, expected - elapsed)
        self.progress = Progress(
            elapsed, percent, eta, rates["read"][0], rates["read"][1], rates["write"][0], rates["write"][1]
        )


# ---------------------------------------------------------------- one run


def _wait(
    proc: subprocess.Popen[str],
    reader: _Reader,
    settings: RunSettings,
    started: float,
    progress: ProgressCallback | None,
) -> bool:
    """Wait for fio, reporting progress; True when interrupted (fio was asked to stop and has stopped)."""
    try:
        while True:
            try:
                proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                if progress is not None:
                    reading = reader.progress
                    if reading is None:
                        reading = Progress(time.monotonic() - started, hosts=len(settings.hosts))
                    progress(reading)
        return False
    except KeyboardInterrupt:
        _stop(proc)
        return True


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, systemd, CI timeouts) stops the run like Ctrl-C: fio's results are kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Ask fio to stop (it then writes its results), kill it if it does not."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=_STOP_GRACE)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _final_output(lines: list[str]) -> str:
    """fio.json: the text lines before the first document and the last document."""
    starts = [i for i, line in enumerate(lines) if line.startswith("{") and line.strip() == "{"]
    if not starts:
        return "".join(lines)
    return "".join(lines[: starts[0]]) + "".join(lines[starts[-1] :])


def _status(
    rc: int, interrupted: bool, results: FioResults | None, stderr: str
) -> tuple[RunStatus, str | None]:
    if interrupted:
        return RunStatus.INTERRUPTED, "interrupted by the user"
    unreachable = _CONNECT_FAILED.findall(stderr)
    if unreachable:
        return RunStatus.FAILED, "fio server unreachable: " + ", ".join(unreachable)
    failure = results.failure(stderr) if results is not None else None
    if failure:  # fio's own account: which job, which error, what fio said
        return RunStatus.FAILED, failure
    if rc != 0:
        return RunStatus.FAILED, f"fio exited with {rc}: {_proc.tail(stderr, 3)}".strip()
    if results is None:
        return RunStatus.FAILED, "fio wrote no results"
    return RunStatus.OK, None


def _checked_jobs(settings: RunSettings) -> Prepared:
    """Read, download and check every job; reach every server. Nothing is created here."""
    prepared = prepare(settings)
    jobfile.validate_jobs(prepared.jobs, prepared.prefix, prepared.params)
    if settings.precondition:
        phases.check_precondition(prepared.jobs, yes=settings.allow_raw_device)
    if settings.hosts:
        check_reachable(settings.hosts)
    return prepared


def _execute(
    folder: Path,
    argv: list[str],
    settings: RunSettings,
    progress: ProgressCallback | None,
    scratch: Path | None,
) -> tuple[int, bool, list[str]]:
    """Run fio in ``folder``: (exit code, interrupted, stdout lines)."""
    mono = time.monotonic()
    # The handler is in place before fio starts: a SIGTERM in between must stop fio too,
    # never leave it running orphaned.
    with (folder / STDERR_FILE).open("w", encoding="utf-8") as err, _sigterm_as_interrupt():
        env = {**os.environ, jobfile.SCRATCH_VAR: str(scratch)} if scratch is not None else None
        proc = _proc.start("fio", argv, cwd=folder, stderr=err.fileno(), env=env, needed_for="bench run")
        if proc.stdout is None:  # pragma: no cover - start() always pipes stdout
            raise FailedError("fio gave no output stream")
        reader = _Reader(proc.stdout)
        try:
            reader.start()
            interrupted = _wait(proc, reader, settings, mono, progress)
        except KeyboardInterrupt:
            _stop(proc)
            interrupted = True
        if reader.ident is not None:  # started
            reader.join(timeout=_STOP_GRACE)
        proc.stdout.close()
    return proc.returncode, interrupted, reader.lines


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished run: its record and its result rows (host, job, direction), as indexed."""

    run: RunRecord
    results: tuple[ResultRow, ...]


def run_jobs(settings: RunSettings, *, progress: ProgressCallback | None = None) -> RunResult:
    """Run the jobs of ``settings`` into a new run folder; return the run (status ok) and its rows.

    ``progress`` is called about four times a second while fio runs. Raises
    FioRunFailedError (1) or InterruptError (130) after saving a failed or
    interrupted run; nothing is created when a job is invalid or a server
    unreachable.
    """
    prepared = _checked_jobs(settings)
    jobs = prepared.jobs
    with History.open(settings.db) as history:  # a bad database fails before fio runs
        started = dt.datetime.now(dt.UTC)
        name = settings.name or Path(jobs[0].file).stem
        # Built under a hidden name, renamed when complete; locked while this process runs it.
        folder = liveness.partial_folder(settings.runs_dir, name, started)
        try:
            with liveness.hold_lock(folder):  # on a full disk, taking the lock fails already
                record, results = _run_in(
                    folder, settings, prepared, name=name, started=started, history=history, progress=progress
                )
        except (StackrigError, OSError) as exc:  # a full disk, fio gone: the history says so
            liveness.abandon(history, folder, getattr(exc, "message", None) or str(exc))
            raise
    folder = record.folder
    if record.status is RunStatus.INTERRUPTED:
        raise InterruptError(f"interrupted; the partial run {record.id} is kept in {folder}")
    if record.status is RunStatus.FAILED:
        raise FioRunFailedError(
            f"fio run failed ({record.error}); the run {record.id} is kept in {folder}",
            hint=f"see {folder / STDERR_FILE}",
        )
    return RunResult(record, tuple(rows_from_results(results)) if results is not None else ())


def _run_in(
    folder: Path,
    settings: RunSettings,
    prepared: Prepared,
    *,
    name: str,
    started: dt.datetime,
    history: History,
    progress: ProgressCallback | None,
) -> tuple[RunRecord, FioResults | None]:
    """Run fio in the (partial) run folder; the final record (its folder renamed) and results."""
    # Without --target, fio lays out its data files in a scratch folder removed after the run.
    scratch = folder / SCRATCH_DIR if prepared.scratch else None
    if scratch is not None:
        _io.ensure_dir(scratch)
    for job in prepared.jobs:
        _io.atomic_write(folder / job.file, job.data)  # byte for byte, as given
        if prepared.changed:
            _io.atomic_write(folder / job.effective, prepared.text(job))
    jobfile.write_includes(folder, prepared.jobs)  # beside the copies, where fio looks for them
    argv = build_argv(settings, prepared.run_files)
    record = RunRecord(
        id=new_run_id(),
        name=name,
        folder=folder,
        status=RunStatus.RUNNING,
        started=started,
        ended=None,
        exit_code=None,
        command=("fio", *argv),
        jobs=tuple(job.record(effective=prepared.changed) for job in prepared.jobs),
        labels=dict(settings.labels),
        hosts=tuple(str(h) for h in settings.hosts),
        machine=machine_info(),
        replay=replay_of(settings),
        group=settings.group,
        owner=liveness.owner(),
    )
    write_meta(record)
    history.add(record, None)  # the history knows the run while it runs
    log.info("running fio in %s", folder)
    failure = None
    try:
        failure = _precondition(folder, prepared, settings, scratch) if settings.precondition else None
        if failure is None:
            returncode, interrupted, lines = _execute(folder, argv, settings, progress, scratch)
        else:
            returncode, interrupted, lines = 1, False, []
    except KeyboardInterrupt:  # during the precondition: fio was stopped with it
        returncode, interrupted, lines = 130, True, []
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return _record_outcome(record, history, returncode, interrupted, lines, failure=failure)


def _precondition(
    folder: Path, prepared: Prepared, settings: RunSettings, scratch: Path | None
) -> str | None:
    """Write what the jobs use twice, sequentially; None when done, else why not."""
    prefix = jobfile.header(
        target=settings.target, logs=False, log_avg_msec=settings.log_avg_msec, scratch=prepared.scratch
    )
    env = {jobfile.SCRATCH_VAR: str(scratch)} if scratch is not None else None
    quiet = replace(settings, status_interval=0)
    failure = phases.run_precondition(
        folder, prepared.jobs, prefix, lambda files: build_argv(quiet, files), env
    )
    return None if failure is None else f"precondition failed: {failure}"


def _record_outcome(
    record: RunRecord,
    history: History,
    returncode: int,
    interrupted: bool,
    lines: list[str],
    *,
    failure: str | None = None,
) -> tuple[RunRecord, FioResults | None]:
    """Write fio.json and the final meta.json, index the run; return the final record and results."""
    folder = record.folder
    stderr = (folder / STDERR_FILE).read_text(encoding="utf-8", errors="replace")
    text = _final_output(lines)
    _io.atomic_write(folder / RESULTS_FILE, text)
    results: FioResults | None
    try:
        results = parse_results(text, source=folder / RESULTS_FILE)
    except ResultsError:
        results = None
    status, error = _status(returncode, interrupted, results, stderr)
    if failure is not None and not interrupted:
        status, error = RunStatus.FAILED, failure
    version = results.fio_version.removeprefix("fio-") if results and results.fio_version else fio_version()
    record = replace(
        record,
        status=status,
        ended=dt.datetime.now(dt.UTC),
        exit_code=returncode,
        error=error,
        fio_version=version,
        steady=phases.steady_outcome(results),
        owner={},
    )
    write_meta(record)
    record = replace(record, folder=liveness.finish_folder(folder))  # complete: its final name
    history.add(record, results)
    return record, results
