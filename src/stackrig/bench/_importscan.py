"""What ``bench import`` finds in a folder: fio results (by content), logs, job files.

Every regular file under the folder (sub-folders included, symlinks never followed) is
put in one of four piles, and no file is dropped without a word:

- **results**: fio JSON output, found by parsing (the suffix does not matter: Ceph CBT's
  ``output.0``, fio-plot's ``randread-1-1.json``, text lines before the document allowed);
- **logs**: files named like fio logs (``<prefix>_<kind>[.<N>].log[.<host>]``), matched to
  the results whose jobs fio named them after (:func:`stackrig.bench.lognames.log_prefixes`);
  those no result claims become a log-only run per folder;
- **left**: files that are not fio output (with why): images, text, job files with nothing
  beside them, ...;
- **failed**: files that should have been fio output or logs but cannot be read (a cut
  JSON document, an empty ``.json``, a log whose first line is not numbers): the import is
  then partial.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stackrig.bench.jobfile import job_sections
from stackrig.bench.lognames import LogName, LogPrefix, log_prefixes, parse_log_name, prefix_of
from stackrig.bench.model import META_FILE, RESULTS_FILE, STDERR_FILE
from stackrig.bench.results import FioResults, ResultsError, looks_like_fio_json, parse_results

__all__ = ["FileNote", "ImportPlan", "PlannedRun", "plan_import", "sha256_of"]

JOB_SUFFIXES = frozenset({".fio", ".job", ".ini"})
RESULT_SUFFIXES = frozenset({".json", ".out"})
MAX_RESULTS_BYTES = 256 * 1024 * 1024
_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class FileNote:
    """A file and what happened to it (why it was left, or why it could not be read)."""

    path: Path
    why: str


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """One run to create: from a result file (with its logs) or from a folder of logs."""

    name: str
    folder: Path
    """The source folder the files come from."""
    results: Path | None
    parsed: FioResults | None
    logs: tuple[Path, ...]
    jobs: tuple[Path, ...] = ()
    stderr: Path | None = None
    meta: Path | None = None

    @property
    def log_only(self) -> bool:
        return self.results is None


@dataclass(frozen=True, slots=True)
class ImportPlan:
    root: Path
    runs: tuple[PlannedRun, ...]
    left: tuple[FileNote, ...]
    failed: tuple[FileNote, ...]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class _Folder:
    results: list[tuple[Path, FioResults]] = field(default_factory=list)
    jobs: list[Path] = field(default_factory=list)
    meta: Path | None = None
    stderr: Path | None = None


@dataclass(slots=True)
class _Scan:
    folders: dict[Path, _Folder] = field(default_factory=dict)
    logs: list[LogName] = field(default_factory=list)
    left: list[FileNote] = field(default_factory=list)
    failed: list[FileNote] = field(default_factory=list)

    def folder(self, path: Path) -> _Folder:
        return self.folders.setdefault(path, _Folder())


def _files(root: Path) -> Iterator[Path]:
    """Regular files under ``root``, in name order, hidden folders and symlinks skipped."""
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(here) / name
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode):
                yield path


def _first_line(path: Path) -> bytes:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                return line.strip()
    return b""


def _log_problem(path: Path) -> str | None:
    """Why a file named like a log is not one (a quick look at its first line), or None."""
    try:
        first = _first_line(path)
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if not first:
        return None  # an empty log: fio wrote no sample (said when plotting)
    fields = [part.strip() for part in first.split(b",")]
    numeric = all(part.lstrip(b"-").isdigit() or part.lower().startswith(b"0x") for part in fields)
    if len(fields) < 2 or not numeric:
        shown = first[:60].decode("utf-8", "replace")
        return f"not a fio log: line 1 is {shown!r}"
    return None


def _json_problem(text: str) -> str:
    start = text.find("{")
    if start < 0:
        return "no JSON document in it"
    try:
        json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    return "JSON, but not fio output (no jobs, no client_stats)"


def _classify(path: Path, scan: _Scan) -> None:
    """Put one file that is neither a log nor a job file in its pile."""
    folder = scan.folder(path.parent)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_HEAD)
    except OSError as exc:
        scan.failed.append(FileNote(path, f"cannot read it: {exc.strerror or exc}"))
        return
    expected = path.suffix.lower() in RESULT_SUFFIXES or looks_like_fio_json(head)
    if not head.strip():
        (scan.failed if expected else scan.left).append(FileNote(path, "empty file"))
        return
    if b"\0" in head[:8192]:
        scan.left.append(FileNote(path, "binary file, not fio output"))
        return
    if size > MAX_RESULTS_BYTES:
        scan.left.append(FileNote(path, f"too large for fio's JSON output ({size} bytes)"))
        return
    text = path.read_bytes().decode("utf-8", "replace")
    try:
        folder.results.append((path, parse_results(text, source=path)))
    except ResultsError:
        why = _json_problem(text)
        if expected:
            scan.failed.append(FileNote(path, why))
        else:
            scan.left.append(FileNote(path, f"not fio output: {why}"))


def _scan(root: Path) -> _Scan:
    scan = _Scan()
    for path in _files(root):
        folder = scan.folder(path.parent)
        name = parse_log_name(path)
        if name is not None:
            problem = _log_problem(path)
            if problem:
                scan.failed.append(FileNote(path, problem))
            else:
                scan.logs.append(name)
        elif path.suffix.lower() in JOB_SUFFIXES:
            folder.jobs.append(path)
        elif path.name == META_FILE:
            folder.meta = path
        elif path.name == STDERR_FILE and (path.parent / RESULTS_FILE).is_file():
            folder.stderr = path
        else:
            _classify(path, scan)
    return scan


def _owned(results: FioResults, jobs: list[Path]) -> set[LogPrefix]:
    """Where the jobs of a result wrote their logs, from its JSON and the job files beside it."""
    names = {job.name for job in results.all_jobs if not job.aggregate}
    owned: set[LogPrefix] = set()
    for job in results.all_jobs:
        if not job.aggregate:
            owned |= log_prefixes({**results.global_options, **job.options}, job.name)
    for path in jobs:
        try:
            sections = job_sections(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        for name, options in sections.items():
            if name in names or options.get("name") in names:
                owned |= log_prefixes(options, name)
    return owned


def _stem(path: Path) -> str:
    return path.stem if path.suffix.lower() in RESULT_SUFFIXES | {".txt"} else path.name


def _run_name(root: Path, path: Path, single: bool, given: str | None) -> str:
    """``--name``; else the folder's name for a lone run, or the file's path in the folder.

    With several runs ``--name`` becomes their common prefix (``NAME-<path>``).
    """
    if single:
        base = path if path.is_dir() else path.parent
        return given or base.resolve().name or "import"
    relative = path.relative_to(root)
    if path.is_dir():
        parts = [*(relative.parts or (root.resolve().name,)), "logs"]
    else:
        parts = [*relative.parent.parts, _stem(path)]
    default = "-".join(parts) or "import"
    return f"{given}-{default}" if given else default


def plan_import(root: Path, *, name: str | None = None) -> ImportPlan:
    """Everything ``bench import`` would do with ``root``; reads, never writes."""
    scan = _scan(root)
    claims: dict[Path, list[Path]] = {}
    owners: list[tuple[Path, FioResults, set[LogPrefix], Path]] = []
    for folder_path, folder in scan.folders.items():
        for path, results in folder.results:
            owners.append((path, results, _owned(results, folder.jobs), folder_path))
    for log in scan.logs:
        for path, _results, owned, folder_path in owners:
            if folder_path in (log.path.parent, *log.path.parents) and prefix_of(log, folder_path) in owned:
                claims.setdefault(path, []).append(log.path)
    claimed = {log for logs in claims.values() for log in logs}
    orphans: dict[Path, list[Path]] = {}
    for log in scan.logs:
        if log.path not in claimed:
            orphans.setdefault(log.path.parent, []).append(log.path)
    total = len(owners) + len(orphans)
    runs: list[PlannedRun] = []
    for path, results, _owned_prefixes, folder_path in owners:
        folder = scan.folders[folder_path]
        runs.append(
            PlannedRun(
                name=_run_name(root, path, total == 1, name),
                folder=folder_path,
                results=path,
                parsed=results,
                logs=tuple(claims.get(path, ())),
                jobs=tuple(folder.jobs),
                stderr=folder.stderr,
                meta=folder.meta,
            )
        )
    for folder_path, logs in sorted(orphans.items()):
        folder = scan.folder(folder_path)
        runs.append(
            PlannedRun(
                name=_run_name(root, folder_path, total == 1, name),
                folder=folder_path,
                results=None,
                parsed=None,
                logs=tuple(logs),
                jobs=tuple(folder.jobs),
                meta=folder.meta,
            )
        )
    left = list(scan.left)
    used_folders = {run.folder for run in runs}
    for folder_path, folder in scan.folders.items():
        if folder_path not in used_folders:
            left += [FileNote(job, "job file with no fio output or logs beside it") for job in folder.jobs]
            if folder.meta is not None:
                left.append(FileNote(folder.meta, "run description with no fio output beside it"))
    return ImportPlan(root=root, runs=tuple(runs), left=tuple(sorted(left, key=lambda n: n.path)),
                      failed=tuple(sorted(scan.failed, key=lambda n: n.path)))  # fmt: skip
