"""fio's JSON across versions: io_bytes units, unified (mixed) reporting, steadystate, json+ bins,
jobs without group_reporting and failed jobs, read the same way from fio 2.x to 3.3x."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stackrig.bench._fiotypes import fio_messages, parse_version
from stackrig.bench.history import rows_from_results
from stackrig.bench.results import load_results, parse_results
from tests.bench.conftest import FIO, SharedRun, needs_fio, stackrig


def _doc(version: str | None, direction: dict[str, Any], options: dict[str, str] | None = None) -> str:
    job: dict[str, Any] = {"jobname": "j", "error": 0, "write": direction}
    if options is not None:
        job["job options"] = options
    doc: dict[str, Any] = {"jobs": [job]}
    if version is not None:
        doc["fio version"] = version
    return json.dumps(doc)


def _io_bytes(
    version: str | None, direction: dict[str, Any], options: dict[str, str] | None = None
) -> int | None:
    stats = parse_results(_doc(version, direction, options)).jobs[0].direction("write")
    assert stats is not None
    return stats.io_bytes


def test_versions_parse() -> None:
    assert parse_version("fio-2.18-59-g618e") == (2, 18)
    assert parse_version("fio-2.2.10") == (2, 2, 10)
    assert parse_version("fio-3.39-30-g58818") == (3, 39)
    assert parse_version("fio-3.33") == (3, 33)
    assert parse_version(None) is None
    assert parse_version("fio-git") is None
    assert (2, 2, 10) < (2, 21) <= (2, 21, 0) < (3, 0)


@pytest.mark.parametrize(
    ("version", "direction", "options", "expected"),
    [
        # 2.21+ writes io_kbytes beside io_bytes: io_bytes is bytes
        ("fio-3.33", {"io_bytes": 8192, "io_kbytes": 8, "total_ios": 2}, None, 8192),
        # before 2.21: KiB, by the version alone (no other evidence)
        ("fio-2.18-59-g618e", {"io_bytes": 8, "total_ios": 2}, None, 8192),
        ("fio-2.2.10", {"io_bytes": 8, "total_ios": 2}, None, 8192),
        # no version: total_ios x bs decides (2 I/Os of 4 KiB = 8 KiB)
        (None, {"io_bytes": 8, "total_ios": 2}, {"bs": "4k"}, 8192),
        (None, {"io_bytes": 8192, "total_ios": 2}, {"bs": "4k"}, 8192),
        # an odd version string: bandwidth x runtime decides (1 KiB/s for 8 s = 8 KiB)
        ("fio-git-1234", {"io_bytes": 8, "total_ios": 2, "bw": 1, "runtime": 8000}, None, 8192),
        # the numbers win over a version they contradict (a hand-edited file)
        ("fio-2.18", {"io_bytes": 8192, "total_ios": 2}, {"bs": "4k"}, 8192),
        # read,write block sizes: the write one counts for writes
        (None, {"io_bytes": 128, "total_ios": 2}, {"bs": "4k,64k"}, 131072),
        # nothing to go by: bytes (every fio since 2017)
        (None, {"io_bytes": 8192, "total_ios": 2}, None, 8192),
    ],
)
def test_io_bytes_units(
    version: str | None, direction: dict[str, Any], options: dict[str, str] | None, expected: int
) -> None:
    assert _io_bytes(version, direction, options) == expected


def test_unified_rw_reporting_mixed_direction() -> None:
    doc = {
        "fio version": "fio-2.6",
        "global options": {"unified_rw_reporting": "1"},
        "client_stats": [
            {
                "jobname": "All clients",
                "error": 0,
                "mixed": {
                    "io_bytes": 2021176,
                    "bw": 16653,
                    "iops": 2252.49,
                    "runtime": 121363,
                    "total_ios": 273369,
                    "lat": {"mean": 1782.92},
                },
                "hostname": "loader2",
                "port": 8765,
            }
        ],
    }
    results = parse_results(json.dumps(doc))
    (row,) = rows_from_results(results)
    assert (row.host, row.direction) == ("all", "mixed")
    assert row.io_bytes == 2021176 * 1024  # KiB before 2.21, and bw x runtime agrees
    assert row.bw_bytes == 16653 * 1024
    assert row.lat_mean_ns == pytest.approx(1782920.0)


def test_fio_messages_pick_the_complaints() -> None:
    complaint = "fio: pid=0, err=22/file:filesetup.c:1155, func=total_file_size, error=Invalid argument"
    lines = ["<h1> running", complaint, "1m: you need to specify size=", complaint]
    assert fio_messages(lines) == [lines[1], lines[2]]


@needs_fio
def test_json_plus_bins_and_jobs_without_group_reporting(shared_runs: dict[str, SharedRun]) -> None:
    results = load_results(shared_runs["logs"].folder)
    read = results.jobs[0].direction("read")
    assert read is not None
    assert read.clat is not None
    assert read.clat.bins, "json+ bins"
    assert sum(count for _, count in read.clat.bins) == read.total_ios


@needs_fio
def test_numjobs_without_group_reporting_and_steadystate(tmp_path: Path) -> None:
    """Two clones of one job (no group_reporting) and fio's steadystate section, from real fio."""
    assert FIO is not None
    job = tmp_path / "ss.fio"
    job.write_text(
        "[ss]\nioengine=psync\nsize=2m\nfilename=ss.dat\nrw=randread\nbs=4k\nnumjobs=2\n"
        "time_based\nruntime=3\nsteadystate=iops:90%\nsteadystate_duration=2s\n"
    )
    done = subprocess.run(
        [FIO, "--output-format=json", str(job)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    results = parse_results(done.stdout)
    assert [j.name for j in results.jobs] == ["ss", "ss"]
    raw = json.loads(done.stdout)["jobs"][0]
    for parsed in results.jobs:
        state = parsed.steadystate
        assert state is not None
        assert state.criterion.startswith("iops:")
        assert state.duration_s == 2
        assert state.bw_bytes
        assert state.iops
    state = results.jobs[0].steadystate
    assert state is not None
    assert state.attained == bool(raw["steadystate"]["attained"])
    # fio reports the steadystate bandwidth in bytes/s: the same magnitude as bw_bytes, not KiB
    read = results.jobs[0].direction("read")
    assert read is not None
    assert read.bw_bytes is not None
    assert state.bw_mean_bytes is not None
    assert 0.2 < state.bw_mean_bytes / read.bw_bytes < 5


@needs_fio
def test_logs_in_a_subfolder_and_by_job_index_go_with_their_result(
    tmp_path: Path, home_args: list[str]
) -> None:
    """``write_lat_log=lat/x`` puts logs in a folder beside the output; numjobs clones and later
    jobs number them on (.1 .2 .3); a valueless ``write_bw_log`` leaves the job name (and the JSON
    says nothing of it)."""
    assert FIO is not None
    (tmp_path / "lat").mkdir()
    (tmp_path / "j.fio").write_text(
        "[global]\nwrite_bw_log\nwrite_lat_log=lat/x\nlog_avg_msec=100\nioengine=null\nsize=1m\n"
        "[jobA]\nrw=read\nnumjobs=2\n[jobB]\nrw=write\n"
    )
    done = subprocess.run([FIO, "--output-format=json", "--output=out.json", "j.fio"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    logs = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.log"))
    assert "jobA_bw.2.log" in logs
    assert "lat/x_clat.3.log" in logs
    imported = stackrig(*home_args, "bench", "import", str(tmp_path), "--json")
    assert imported.returncode == 0, imported.stderr
    data = json.loads(imported.stdout)["data"]
    (run,) = data["runs"]  # no log-only run: every log belongs to the result
    taken = sorted(str(Path(t["path"]).relative_to(tmp_path)) for t in data["taken"] if t["role"] == "log")
    assert taken == logs
    assert run["log_only"] is False
