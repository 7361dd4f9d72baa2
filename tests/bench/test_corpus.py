"""The corpus of public fio output (tests/corpus/fio/, see SOURCES.md) imported as a user would.

Each folder is imported with the real CLI; the history's figures are checked against the raw
JSON with the unit rules written out here (not taken from the reader); every file is accounted
for; every log is imported; every graph asked for is drawn or explained.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.bench.conftest import stackrig

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "fio"
FOLDERS = ("fio-plot-floppy", "fio-2.18", "ceph-cbt", "fio-plot-failed")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _import(home: list[str], folder: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    done = stackrig(*home, "bench", "import", str(folder), "--json", *extra)
    return done.returncode, json.loads(done.stdout), done.stderr


def _export(home: list[str], run_id: str) -> list[dict[str, Any]]:
    done = stackrig(*home, "bench", "export", run_id, "--format", "json", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(json.loads(done.stdout)["data"]["content"]))


def _raw(path: Path, io_bytes_unit: int) -> dict[str, float]:
    """fio's figures for the one job and direction of a corpus result, normalised by hand."""
    text = path.read_text()
    doc = json.loads(text[text.index("{") :])
    job = doc["jobs"][0]
    direction = next(d for d in ("read", "write") if job[d]["total_ios"])
    stats = job[direction]
    lat = stats["lat_ns"]["mean"] if "lat_ns" in stats else stats["lat"]["mean"] * 1000.0
    return {
        "iops": stats["iops"],
        "bw_bytes": stats.get("bw_bytes", stats["bw"] * 1024.0),
        "io_bytes": stats["io_bytes"] * io_bytes_unit,
        "lat_mean_ns": lat,
        "direction": direction,  # type: ignore[dict-item]
    }


@pytest.mark.parametrize(
    ("folder", "result", "unit", "expected"),
    [
        # fio 2.18 wrote io_bytes in KiB: 69708 KiB = 17427 I/Os x 4 KiB
        ("fio-2.18", "randwrite-01.json", 1024, {"io_bytes": 71_380_992, "bw_bytes": 1_188_864.0}),
        ("fio-plot-floppy", "randread-1-1.json", 1, {"io_bytes": 1_474_560, "bw_bytes": 10_240.0}),
        ("ceph-cbt", "output.1", 1, {"io_bytes": 31_203_000_320, "bw_bytes": 520_032_670.0}),
    ],
)
def test_figures_match_fio_after_normalisation(
    home_args: list[str], folder: str, result: str, unit: int, expected: dict[str, float]
) -> None:
    code, doc, stderr = _import(home_args, CORPUS / folder)
    assert code == 0, stderr
    source = CORPUS / folder / result
    run = next(t["run"] for t in doc["data"]["taken"] if t["path"] == str(source) and t["role"] == "results")
    raw = _raw(source, unit)
    (row,) = _export(home_args, run)
    assert row["direction"] == raw["direction"]
    for key in ("iops", "bw_bytes", "io_bytes", "lat_mean_ns"):
        assert row[key] == pytest.approx(raw[key], rel=1e-9), key
    for key, value in expected.items():
        assert row[key] == value, key  # written out by hand for the awkward cases
    record = next(r for r in doc["data"]["runs"] if r["id"] == run)
    version = json.loads(source.read_text()[source.read_text().index("{") :])["fio version"]
    assert record["fio_version"] == version.removeprefix("fio-")


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_file_is_taken_or_named_and_the_source_is_unchanged(home_args: list[str], folder: str) -> None:
    source = CORPUS / folder
    before = _digest(source)
    _code, doc, _stderr = _import(home_args, source, "--allow-partial")
    data = doc["data"]
    seen = (
        {t["path"] for t in data["taken"]}
        | {n["path"] for n in data["left"]}
        | {n["path"] for n in data["failed"]}
    )
    files = {str(p) for p in source.rglob("*") if p.is_file()}
    assert files == seen, files ^ seen
    assert _digest(source) == before
    # every log in the folder is in some run folder, byte for byte
    for log in (p for p in source.rglob("*") if ".log" in p.name):
        run = next(t["run"] for t in data["taken"] if t["path"] == str(log))
        folder_of = Path(next(r["folder"] for r in data["runs"] if r["id"] == run))
        assert (folder_of / log.name).read_bytes() == log.read_bytes()


def test_fio_plot_logs_follow_write_log_names(home_args: list[str]) -> None:
    """fio-plot names logs after write_*_log= (randread-iodepth-1-numjobs-1), not the job (iotest):
    each log goes with its own result; the log no result names becomes a log-only run."""
    code, doc, stderr = _import(home_args, CORPUS / "fio-plot-floppy")
    assert code == 0, stderr
    runs = {r["name"]: r for r in doc["data"]["runs"]}
    assert set(runs) == {"randread-1-1", "randread-16-1", "fio-plot-floppy-logs"}
    logs = {name: sorted(p.name for p in Path(r["folder"]).glob("*.log")) for name, r in runs.items()}
    assert logs["randread-1-1"] == [
        "randread-iodepth-1-numjobs-1_bw.1.log",
        "randread-iodepth-1-numjobs-1_clat.1.log",
        "randread-iodepth-1-numjobs-1_iops.1.log",
    ]
    assert logs["randread-16-1"] == ["randread-iodepth-16-numjobs-1_bw.1.log"]
    assert logs["fio-plot-floppy-logs"] == ["randread-iodepth-2-numjobs-1_bw.1.log"]
    only = runs["fio-plot-floppy-logs"]
    assert only["log_only"] is True
    assert not (Path(only["folder"]) / "fio.json").exists()
    shown = stackrig(*home_args, "bench", "show", only["id"])
    assert "log-only run" in shown.stdout
    # a log-only run plots like any other
    plotted = stackrig(
        *home_args, "bench", "plot", only["id"], "-b", "-d", str(Path(only["folder"])), "--json"
    )
    assert plotted.returncode == 0, plotted.stderr
    assert [Path(p).name for p in json.loads(plotted.stdout)["data"]["files"]] == ["fio_bw.png"]


def test_importing_twice_adds_nothing(home_args: list[str], tmp_path: Path) -> None:
    source = tmp_path / "floppy"
    shutil.copytree(CORPUS / "fio-plot-floppy", source)
    code, first, stderr = _import(home_args, source)
    assert code == 0, stderr
    assert len(first["data"]["runs"]) == 3
    code, again, stderr = _import(home_args, source)
    assert code == 0, stderr
    assert again["data"]["runs"] == []
    assert {Path(n["path"]).name for n in again["data"]["duplicates"]} == {
        "randread-1-1.json", "randread-16-1.json", "randread-iodepth-2-numjobs-1_bw.1.log",
    }  # fmt: skip
    listed = json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)["data"]["runs"]
    assert len(listed) == 3
    # a new log beside the log-only one: only it is imported
    shutil.copy(source / "randread-iodepth-2-numjobs-1_bw.1.log", source / "other_bw.1.log")
    (source / "other_bw.1.log").write_text("1000, 8, 0, 0\n")
    code, third, stderr = _import(home_args, source)
    assert code == 0, stderr
    (new,) = third["data"]["runs"]
    assert sorted(p.name for p in Path(new["folder"]).glob("*.log")) == ["other_bw.1.log"]


def test_dry_run_writes_nothing(data_dir: Path, home_args: list[str]) -> None:
    done = stackrig(*home_args, "bench", "import", str(CORPUS / "fio-plot-floppy"), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would import run randread-1-1" in done.stdout
    assert "would import run fio-plot-floppy-logs" in done.stdout
    assert not data_dir.exists()  # no history, no runs folder
    code, doc, _ = _import(home_args, CORPUS / "fio-plot-failed", "--dry-run")
    assert code == 1  # the empty result makes even a dry run partial
    assert doc["partial"] is True
    assert doc["data"]["planned"] == ["fio-plot-failed"]
    assert not data_dir.exists()


def test_cbt_output_found_by_content(home_args: list[str]) -> None:
    code, doc, stderr = _import(home_args, CORPUS / "ceph-cbt")
    assert code == 0, stderr
    (run,) = doc["data"]["runs"]
    folder = Path(run["folder"])
    assert (folder / "fio.json").read_bytes() == (CORPUS / "ceph-cbt" / "output.1").read_bytes()
    assert (folder / "output.1_clat.1.log").is_file()  # named after an absolute write_lat_log path
    assert run["imported_from"] == str(CORPUS / "ceph-cbt" / "output.1")


def test_failed_job_shows_fio_message_and_an_empty_file_is_partial(home_args: list[str]) -> None:
    code, doc, stderr = _import(home_args, CORPUS / "fio-plot-failed")
    assert code == 1
    assert doc["partial"] is True
    assert "write-64-8.json: empty file" in stderr
    (run,) = doc["data"]["runs"]
    assert run["status"] == "failed"
    assert "job 1m: error 22 (Invalid argument)" in run["error"]
    assert "err=22/file:filesetup.c:1155, func=total_file_size" in run["error"]
    report = stackrig(*home_args, "bench", "report", run["id"])
    assert report.returncode == 0, report.stderr
    assert "No results: the run failed: job 1m: error 22 (Invalid argument)" in report.stdout
    assert "fio.json is missing" not in report.stdout
    allowed = stackrig(*home_args, "bench", "import", str(CORPUS / "fio-plot-failed"), "--allow-partial")
    assert allowed.returncode == 0  # already imported; the empty file is still named
    assert "write-64-8.json" in allowed.stderr


def test_corrupt_files_among_many(home_args: list[str], tmp_path: Path) -> None:
    source = tmp_path / "mixed"
    shutil.copytree(CORPUS / "fio-plot-floppy", source)
    (source / "cut.json").write_text('{"fio version" : "fio-3.1", "jobs" : [ {"jobname": ')
    (source / "notes_bw.1.log").write_text("this is not a log\n")
    (source / "README.md").write_text("benchmarks of a floppy\n")
    sub = source / "more" / "deeper"
    sub.mkdir(parents=True)
    shutil.copy(CORPUS / "fio-2.18" / "randwrite-01.json", sub / "result.txt")
    before = _digest(source)
    code, doc, stderr = _import(home_args, source)
    assert code == 1
    assert "cut.json: not valid JSON" in stderr
    assert "notes_bw.1.log: not a fio log" in stderr
    data = doc["data"]
    assert {Path(n["path"]).name for n in data["failed"]} == {"cut.json", "notes_bw.1.log"}
    assert {Path(n["path"]).name: n["why"] for n in data["left"]} == {
        "README.md": "not fio output: no JSON document in it"
    }
    names = {r["name"] for r in data["runs"]}
    assert names == {"randread-1-1", "randread-16-1", "mixed-logs", "more-deeper-result"}
    assert _digest(source) == before
    assert stackrig(*home_args, "bench", "import", str(source), "--allow-partial").returncode == 0


def test_every_graph_asked_for_is_drawn_or_explained(home_args: list[str], tmp_path: Path) -> None:
    asked = {"bw": "-b", "iops": "-i", "lat": "--lat", "percentiles": "--percentiles", "hist": "--hist"}
    for folder in ("fio-plot-floppy", "ceph-cbt"):
        _code, doc, _stderr = _import(home_args, CORPUS / folder)
        for run in doc["data"]["runs"]:
            out = tmp_path / run["id"]
            done = stackrig(*home_args, "bench", "plot", run["id"], "-d", str(out), *asked.values(), "--json")
            assert done.returncode == 0, done.stderr
            data = json.loads(done.stdout)["data"]
            drawn = " ".join(Path(p).name for p in data["files"])
            said = " ".join(data["skipped"])
            for graph, words in {
                "bw": ("_bw.", "bandwidth:"),
                "iops": ("_iops.", "IOPS:"),
                "lat": ("lat.", "latency:"),
                "percentiles": ("_percentiles.", "latency percentiles:"),
                "hist": ("_clat_hist.", "latency histogram:"),
            }.items():
                assert words[0] in drawn or words[1] in said, (folder, run["name"], graph, drawn, said)
