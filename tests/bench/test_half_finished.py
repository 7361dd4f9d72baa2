"""Half-finished runs: kill -9 during ``bench run`` and ``bench import``, then the history,
``bench list`` and the dashboard agree, and ``bench fsck`` reports and repairs what was left."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from stackrig.bench import liveness
from stackrig.bench.fsck import fsck
from stackrig.bench.history import History
from stackrig.bench.model import RunRecord, RunStatus, write_meta
from stackrig.bench.web import DashboardSettings, start
from tests.bench.conftest import DATA, SharedRun, stackrig
from tests.conftest import STACKRIG
from tests.services import FILL_TMPFS, in_small_tmpfs, wait_until


def _listed(home_args: list[str]) -> dict[str, str]:
    done = stackrig(*home_args, "bench", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {r["id"]: r["status"] for r in json.loads(done.stdout)["data"]["runs"]}


def _dashboard(runs: Path, db: Path) -> dict[str, str]:
    dash = start(DashboardSettings(runs_dir=runs, db=db, port=0))
    try:
        with urllib.request.urlopen(f"{dash.url}api/runs?limit=500", timeout=30) as res:  # noqa: S310
            doc = json.loads(res.read())
    finally:
        dash.stop()
    return {r["id"]: r["status"] for r in doc["runs"]}


def _fsck(home_args: list[str], *extra: str) -> tuple[int, dict[str, Any]]:
    done = stackrig(*home_args, "bench", "fsck", *extra, "--json")
    return done.returncode, json.loads(done.stdout)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # stackrig and the fio it started, no chance to clean up
    proc.wait(timeout=30)


def test_kill_9_during_bench_run(home_args: list[str], data_dir: Path) -> None:
    runs, db = data_dir / "runs", data_dir / "stackrig.db"
    argv = [str(STACKRIG), *home_args, "bench", "run", str(DATA / "long.fio"), "--name", "cut"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:

        def fio_running() -> bool:
            partial = list(runs.glob(".partial-*-cut-*")) if runs.exists() else []
            return bool(partial) and (partial[0] / "fio.stderr").exists()

        wait_until(fio_running, timeout=60, what="fio started")
        (partial,) = runs.glob(".partial-*-cut-*")
        (run_id,) = _listed(home_args)
        assert _listed(home_args) == {run_id: "running"}  # the history has it while it runs
        assert _dashboard(runs, db) == {run_id: "running"}
    finally:
        _kill_group(proc)
    # the process is gone: every reader says interrupted, and they agree
    assert _listed(home_args) == {run_id: "interrupted"}
    assert _dashboard(runs, db) == {run_id: "interrupted"}
    code, doc = _fsck(home_args)
    assert code == 1
    assert [(f["kind"], f["run_id"], f["repaired"]) for f in doc["data"]["findings"]] == [
        ("stale-running", run_id, False)
    ]
    assert partial.is_dir()  # a dry run changes nothing
    code, doc = _fsck(home_args, "--repair")
    assert code == 0, doc
    assert doc["data"]["findings"][0]["repaired"] is True
    assert not partial.exists()
    (final,) = [p for p in runs.iterdir() if p.name.endswith("-cut")]
    meta = json.loads((final / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert "owner" not in meta
    assert not (final / ".running.lock").exists()
    shown = json.loads(stackrig(*home_args, "bench", "show", run_id, "--json").stdout)["data"]
    assert Path(shown["run"]["folder"]) == final
    assert _listed(home_args) == _dashboard(runs, db) == {run_id: "interrupted"}
    assert _fsck(home_args)[0] == 0  # clean now


def _import_source(shared: SharedRun, root: Path, count: int) -> Path:
    """``count`` runs of real fio output, each with a large log (so a copy takes a moment)."""
    source = root / "source"
    for n in range(count):
        folder = source / f"run-{n}"
        shutil.copytree(shared.folder, folder)
        (folder / "meta.json").unlink()
        doc = json.loads((folder / "fio.json").read_text())
        doc["timestamp"] = int(doc.get("timestamp", 0)) + n  # each run its own (import is by content)
        (folder / "fio.json").write_text(json.dumps(doc))
        with (folder / "randread_bw.1.log").open("a") as log:
            block = "".join(f"{t}, 4096, 0, 4096, 0\n" for t in range(100_000, 110_000))
            for _ in range(150):
                log.write(block)
            log.write(f"999999999, {n + 1}, 0, 4096, 0\n")
    return source


def test_kill_9_during_bench_import(
    shared_runs: dict[str, SharedRun], home_args: list[str], data_dir: Path, tmp_path: Path
) -> None:
    runs, db = data_dir / "runs", data_dir / "stackrig.db"
    source = _import_source(shared_runs["logs"], tmp_path, 3)
    argv = [str(STACKRIG), *home_args, "bench", "import", str(source)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_until(
            lambda: runs.exists() and any(p.name.startswith(".partial-") for p in runs.iterdir()),
            timeout=120,
            interval=0.005,
            what="a run folder being built",
        )
    finally:
        _kill_group(proc)
    listed = _listed(home_args)
    assert len(listed) < 3
    assert _dashboard(runs, db) == listed  # the dashboard shows what the history has, no more
    visible = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert len(visible) == len(listed)  # no half-copied folder under a run's name
    assert len([p for p in runs.iterdir() if p.name.startswith(".partial-")]) == 1
    code, doc = _fsck(home_args)
    assert code == 1
    assert [f["kind"] for f in doc["data"]["findings"]] == ["unfinished-folder"]
    code, doc = _fsck(home_args, "--repair")
    assert code == 0, doc
    assert [p.name for p in runs.iterdir() if p.name.startswith(".")] == []
    assert _fsck(home_args)[0] == 0
    # importing again brings in the rest, once
    again = stackrig(*home_args, "bench", "import", str(source), "--json")
    assert again.returncode == 0, again.stderr
    final = _listed(home_args)
    assert len(final) == 3
    assert set(final.values()) == {"ok"}
    assert _dashboard(runs, db) == final


def _record(runs: Path, name: str, status: str = "ok") -> RunRecord:
    folder = runs / f"20260101T00000{len(list(runs.iterdir())) if runs.exists() else 0}Z-{name}"
    folder.mkdir(parents=True)
    record = RunRecord(
        id=f"id{name}",
        name=name,
        folder=folder,
        status=RunStatus(status),
        started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ended=None,
        exit_code=0,
        command=(),
        jobs=(),
    )
    write_meta(record)
    return record


def test_fsck_rows_without_folders_and_folders_without_rows(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with History.open(tmp_path / "stackrig.db") as history:
        gone, kept, unknown = (_record(runs, n) for n in ("gone", "kept", "unknown"))
        history.add(gone, None)
        history.add(kept, None)
        shutil.rmtree(gone.folder)
        # an older stackrig's running run, without lock or owner, whose folder is there: left alone
        old_style = _record(runs, "old", status="running")
        history.add(old_style, None)
        result = fsck(history, runs)
        assert sorted((f.kind, f.run_id) for f in result.findings) == [
            ("folder-without-row", unknown.id),
            ("row-without-folder", gone.id),
        ]
        assert not result.clean
        assert history.get(gone.id) is not None  # a dry run
        assert fsck(history, tmp_path / "elsewhere", repair=True).findings[0].repaired is False
        assert history.get(gone.id) is not None  # no runs folder: no row forgotten
        repaired = fsck(history, runs, repair=True)
        assert repaired.clean
        assert history.get(gone.id) is None
        assert history.get(unknown.id) is not None
        assert fsck(history, runs).findings == ()


def test_a_running_run_without_its_lock_reads_interrupted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    folder = liveness.partial_folder(runs, "live", dt.datetime.now(dt.UTC))
    record = RunRecord(
        id="live1",
        name="live",
        folder=folder,
        status=RunStatus.RUNNING,
        started=dt.datetime.now(dt.UTC),
        ended=None,
        exit_code=None,
        command=(),
        jobs=(),
        owner=liveness.owner(),
    )
    with History.open(tmp_path / "stackrig.db") as history:
        with liveness.hold_lock(folder):
            write_meta(record)
            history.add(record, None)
            assert history.get("live1").status is RunStatus.RUNNING  # type: ignore[union-attr]
            assert liveness.lock_is_free(folder) is False
            assert fsck(history, runs).findings == ()  # being built: nothing to report
        seen = history.get("live1")
        assert seen is not None
        assert seen.status is RunStatus.INTERRUPTED
        assert seen.error == liveness.GONE
        (folder / liveness.LOCK_FILE).unlink()  # no lock: the recorded process decides (this one lives)
        assert history.get("live1").status is RunStatus.RUNNING  # type: ignore[union-attr]
        dead = dataclasses.replace(record, owner={**record.owner, "start": -1})  # a pid now reused
        history.add(dead, None)
        assert history.get("live1").status is RunStatus.INTERRUPTED  # type: ignore[union-attr]


@pytest.mark.parametrize("left", [0, 16], ids=["full", "nearly-full"])
def test_a_run_on_a_full_disk_is_not_left_running(tmp_path: Path, left: int) -> None:
    """The runs folder on a small tmpfs with ``left`` 4 KiB blocks free (0: even the run's lock
    cannot be written; 16: fio cannot lay out its files): the run ends failed or not at all, never
    ``running``, no half-built folder stays, and the history and the folders agree."""
    db = tmp_path / "out" / "stackrig.db"
    run = f'"$STACKRIG" bench run {DATA / "quick.fio"} --runs-dir "$MNT/runs" --db {db} --name full'
    out = in_small_tmpfs(
        tmp_path,
        f"""
        mkdir "$MNT/runs"
        {FILL_TMPFS}; rm -f "$MNT/filler"
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - {left} )) status=none
        {run} --json > "$OUT/run.json" 2> "$OUT/run.err"; echo $? > "$OUT/run.rc"
        ls -A "$MNT/runs" > "$OUT/ls"
        rm "$MNT/filler"
        "$STACKRIG" bench list --db {db} --json > "$OUT/list.json"
        "$STACKRIG" bench fsck --runs-dir "$MNT/runs" --db {db} --json > "$OUT/fsck.json"
        """,
    )
    err = (out / "run.err").read_text()
    assert (out / "run.rc").read_text().strip() == "1", err
    error = json.loads((out / "run.json").read_text())["error"]
    if left == 0:
        runs_dir = tmp_path / "small" / "runs"
        assert error["message"] == f"no space left on device in {runs_dir} (writing a new run folder)"
        assert error["type"] == "DiskFullError"
    else:
        assert "No space left on device" in error["message"]  # fio's own words, in a failed run
    assert "Traceback" not in err
    runs = json.loads((out / "list.json").read_text())["data"]["runs"]
    assert [r["status"] for r in runs] == ([] if left == 0 else ["failed"])
    assert not [name for name in (out / "ls").read_text().split() if name.startswith(".partial-")]
    assert len((out / "ls").read_text().split()) == len(runs)  # the history says what exists
    assert json.loads((out / "fsck.json").read_text())["data"]["findings"] == []
