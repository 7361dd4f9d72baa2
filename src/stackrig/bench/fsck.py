"""``bench fsck``: the history and the runs folder agree, or are made to.

The history is the one source of truth (``bench list`` and the dashboard show what it has). What
a kill, a full disk or a hand-made change can leave behind is found and, with ``repair``, fixed:

- ``stale-running``: a run the history has as ``running`` whose process is gone → recorded as
  ``interrupted`` (its folder given its final name, its figures indexed when fio wrote any);
- ``row-without-folder``: a run whose folder is gone → its row is deleted (a folder moved within
  the runs folder, found by its ``meta.json``, is indexed again instead);
- ``folder-without-row``: a complete run folder the history does not know → indexed (a
  ``running`` one as ``interrupted``);
- ``unfinished-folder``: a half-built run folder (a killed ``bench import``) → removed.

Nothing is changed without ``repair``. Rows are never deleted when the runs folder is missing
(an unmounted disk is not a reason to forget every run).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from stackrig.bench import liveness
from stackrig.bench.history import History
from stackrig.bench.model import META_FILE, RunRecord, RunStatus, read_meta, write_meta
from stackrig.bench.results import ResultsError, load_results
from stackrig.errors import UsageError

__all__ = ["Finding", "FsckResult", "fsck"]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    """``stale-running``, ``row-without-folder``, ``folder-without-row`` or ``unfinished-folder``."""
    run_id: str | None
    folder: str
    detail: str
    repaired: bool = False


@dataclass(frozen=True, slots=True)
class FsckResult:
    runs_dir: str
    repair: bool
    findings: tuple[Finding, ...]
    rows: int
    folders: int

    @property
    def clean(self) -> bool:
        return not self.findings or (self.repair and all(f.repaired for f in self.findings))


def _index(history: History, record: RunRecord) -> None:
    try:
        results = load_results(record.folder)
    except (ResultsError, UsageError):
        results = None
    history.add(record, results)


def _interrupted(record: RunRecord) -> RunRecord:
    return dataclasses.replace(
        record, status=RunStatus.INTERRUPTED, error=record.error or liveness.GONE, owner={}
    )


def _finish(history: History, record: RunRecord) -> None:
    """A stale ``running`` run becomes ``interrupted``, in a folder with its final name."""
    record = _interrupted(record)
    if record.folder.is_dir():
        write_meta(record)
        record = dataclasses.replace(record, folder=liveness.finish_folder(record.folder))
    _index(history, record)


def _folders(runs_dir: Path) -> tuple[dict[str, RunRecord], list[Path], list[Path]]:
    """Complete run folders by run id, half-built folders, and folders whose meta.json is unreadable."""
    complete: dict[str, RunRecord] = {}
    partial: list[Path] = []
    unreadable: list[Path] = []
    if not runs_dir.is_dir():
        return complete, partial, unreadable
    for folder in sorted(runs_dir.iterdir()):
        if not folder.is_dir() or folder.is_symlink():
            continue
        if liveness.is_partial(folder):
            partial.append(folder)
        elif (folder / META_FILE).is_file():
            try:
                record = read_meta(folder)
            except UsageError:
                unreadable.append(folder)
                continue
            complete[record.id] = record
    return complete, partial, unreadable


def _check_row(
    history: History, row: sqlite3.Row, on_disk: dict[str, RunRecord], runs_dir: Path, repair: bool
) -> Finding | None:
    run_id, folder = str(row["id"]), Path(row["folder"])
    record = RunRecord.from_meta(json.loads(row["meta"]), folder)
    moved = on_disk.get(run_id)
    if moved is not None and moved.folder != folder:  # renamed, and killed before the row said so
        if repair:
            _index(history, moved if moved.status is not RunStatus.RUNNING else _interrupted(moved))
        return Finding("row-without-folder", run_id, str(folder), f"found in {moved.folder}", repair)
    if record.status is RunStatus.RUNNING and liveness.effective(record).status is not RunStatus.RUNNING:
        if repair:
            _finish(history, record)
        return Finding("stale-running", run_id, str(folder), liveness.GONE, repair)
    if folder.is_dir():
        return None
    if not runs_dir.is_dir():  # an unmounted disk is no reason to forget runs
        return Finding("row-without-folder", run_id, str(folder), "the folder is gone; no runs folder", False)
    if repair:
        history.query("DELETE FROM bench_runs WHERE id = ?", (run_id,))
    return Finding("row-without-folder", run_id, str(folder), "the folder is gone", repair)


def fsck(history: History, runs_dir: Path, *, repair: bool = False) -> FsckResult:
    """Compare the history with ``runs_dir``; fix what disagrees when ``repair``."""
    runs_dir = runs_dir.absolute()
    on_disk, partial, _ = _folders(runs_dir)
    rows = history.query("SELECT id, folder, meta FROM bench_runs ORDER BY started").fetchall()
    found = [f for row in rows if (f := _check_row(history, row, on_disk, runs_dir, repair)) is not None]
    known = {str(row["id"]) for row in rows}
    for run_id, record in on_disk.items():
        if run_id not in known:
            if repair:
                _index(history, _interrupted(record) if record.status is RunStatus.RUNNING else record)
            detail = f"status {record.status}"
            found.append(Finding("folder-without-row", run_id, str(record.folder), detail, repair))
    for folder in partial:
        # a running run's folder is the row's business (stale-running); one being built is left alone
        if _in_history(folder, rows) or liveness.lock_is_free(folder) is False:
            continue
        if repair:
            shutil.rmtree(folder, ignore_errors=True)
        detail = "a half-built run (a killed import?)"
        found.append(Finding("unfinished-folder", None, str(folder), detail, repair))
    return FsckResult(str(runs_dir), repair, tuple(found), len(rows), len(on_disk))


def _in_history(folder: Path, rows: list[sqlite3.Row]) -> bool:
    return any(str(folder) == str(row["folder"]) for row in rows)
