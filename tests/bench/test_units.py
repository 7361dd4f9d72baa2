"""In-process tests of the bench library: the forgiving reader, the contract, parsing helpers."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackrig import bench
from stackrig.bench import History, ResultsError, RunStatus, load_results, parse_results
from stackrig.bench.compare import combine_rows, format_rows, parse_metrics
from stackrig.bench.history import ResultRow
from stackrig.bench.inventory import hosts_from_listing
from stackrig.bench.jobfile import JobFetchError, _copy_name, fetch_job, header, prepare_jobs
from stackrig.bench.manage import is_loopback, plan_prune
from stackrig.bench.model import (
    FioHost,
    JobSource,
    RunRecord,
    make_run_folder,
    parse_host,
    parse_label,
    read_meta,
    safe_name,
    write_meta,
)
from stackrig.bench.runner import Progress, _final_output, _Reader, _seconds, _status, build_argv
from stackrig.errors import ConflictError, UsageError
from tests.bench.conftest import DATA


def test_public_names_sorted_and_complete() -> None:
    assert bench.__all__ == sorted(bench.__all__)
    for name in bench.__all__:
        assert hasattr(bench, name)
    assert "run folder" in (bench.__doc__ or "")


# ---------------------------------------------------------------- reader


def test_missing_fields_are_absent() -> None:
    results = parse_results('{"jobs": [{"jobname": "j", "read": {"io_bytes": 4096, "iops": "12.5"}}]}')
    job = results.jobs[0]
    read = job.direction("read")
    assert read is not None
    assert read.iops == 12.5
    assert read.bw_bytes is None
    assert read.clat is None
    assert read.latency_percentile(99.0) is None
    assert job.usr_cpu is None
    assert job.groupid is None
    assert results.fio_version is None
    assert results.disk_util == ()
    assert not results.group_reporting


def test_junk_types_never_raise() -> None:
    doc = {
        "fio version": 3,
        "global options": ["x"],
        "jobs": [
            "nope",
            {
                "jobname": 5,
                "read": [],
                "write": {
                    "total_ios": "many",
                    "io_kbytes": 2,
                    "bw": 1,
                    "clat_ns": {"percentile": {"x": 1, "50.0": "s"}, "bins": {"a": 1}},
                },
            },
        ],
        "disk_util": [{"name": "vda", "util": float("nan")}, {"util": 3}, 7],
    }
    results = parse_results(json.dumps(doc).replace("NaN", '"nan"'))
    job = results.jobs[0]
    assert job.name == "?"
    write = job.direction("write")
    assert write is not None
    assert write.io_bytes == 2048
    assert write.bw_bytes == 1024
    assert write.clat is not None
    assert write.clat.percentiles == ()
    assert write.clat.bins == ()
    assert [d.name for d in results.disk_util] == ["vda"]
    assert results.disk_util[0].util is None


def test_old_fio_microseconds_are_converted() -> None:
    doc = {
        "jobs": [
            {
                "jobname": "old",
                "read": {
                    "io_bytes": 10,
                    "total_ios": 1,
                    "clat": {"mean": 2.0, "percentile": {"99.000000": 5}},
                },
            }
        ]
    }
    read = parse_results(json.dumps(doc)).jobs[0].direction("read")
    assert read is not None
    assert read.clat is not None
    assert read.clat.mean_ns == 2000.0
    assert read.clat.percentile(99.0) == 5000.0


def test_preamble_status_documents_and_group_reporting() -> None:
    first = {"jobs": [{"jobname": "a", "read": {"io_bytes": 1, "total_ios": 1}}]}
    last = {
        "global options": {"group_reporting": ""},
        "client_stats": [
            {"jobname": "a", "hostname": "h1", "port": 1, "read": {"io_bytes": 5, "total_ios": 5}},
            {"jobname": "All clients", "hostname": "h1", "read": {"io_bytes": 5, "total_ios": 5}},
        ],
    }
    text = "<h1> a: (g=0): rw=read\n<h1> Starting 1 process\n\n" + json.dumps(first, indent=1) + "\n"
    text += json.dumps(last, indent=1) + "\n"
    results = parse_results(text)
    assert results.preamble == ("<h1> a: (g=0): rw=read", "<h1> Starting 1 process")
    assert results.client_mode
    assert results.group_reporting
    assert results.hosts == ("h1",)
    assert [j.aggregate for j in results.all_jobs] == [False, True]
    assert bench.rows_from_results(results)[0].host == "h1:1"
    assert bench.rows_from_results(results)[1].host == "all"


def test_no_document_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "out.json"
    bad.write_text("fio: something went wrong\n{ not json\n")
    with pytest.raises(ResultsError, match=str(bad)):
        load_results(bad)
    bad.write_text('{"hello": 1}')
    with pytest.raises(ResultsError, match="not fio output"):
        load_results(bad)
    with pytest.raises(ResultsError, match="do not exist"):
        load_results(tmp_path / "absent")
    with pytest.raises(ResultsError, match="do not exist"):
        load_results(tmp_path)  # a folder without fio.json


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "jobs",
                    "client_stats",
                    "read",
                    "write",
                    "clat_ns",
                    "lat_ns",
                    "percentile",
                    "bins",
                    "jobname",
                    "iops",
                    "io_bytes",
                    "total_ios",
                    "disk_util",
                    "name",
                    "job options",
                    "hostname",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["jobs", "client_stats", "disk_util", "global options"]), json_values))
def test_reader_never_raises_anything_but_results_error(doc: dict[str, Any]) -> None:
    try:
        results = parse_results(json.dumps(doc))
    except ResultsError:
        return
    bench.rows_from_results(results)


# ---------------------------------------------------------------- the contract


def _record(folder: Path, **kw: Any) -> RunRecord:
    base = RunRecord(
        id="abc123",
        name="n",
        folder=folder,
        status=RunStatus.OK,
        started=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        ended=None,
        exit_code=0,
        command=("fio", "x.fio"),
        jobs=(JobSource("x.fio", "/src/x.fio", "00", 3),),
        labels={"cloud": "aws"},
    )
    return replace(base, **kw)


def test_meta_round_trip_and_junk(tmp_path: Path) -> None:
    record = _record(tmp_path)
    write_meta(record)
    assert read_meta(tmp_path) == record
    (tmp_path / "meta.json").write_text(
        json.dumps({"status": "weird", "jobs": "x", "labels": [], "exit_code": "0"})
    )
    junk = read_meta(tmp_path)
    assert junk.status is RunStatus.FAILED
    assert junk.id == tmp_path.name
    assert junk.jobs == ()
    assert junk.exit_code is None
    (tmp_path / "meta.json").write_text("[1]")
    with pytest.raises(UsageError, match="not a run description"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text("{")
    with pytest.raises(UsageError, match="cannot read"):
        read_meta(tmp_path)
    with pytest.raises(UsageError, match="not a run folder"):
        read_meta(tmp_path / "nowhere")


def test_run_folder_names(tmp_path: Path) -> None:
    when = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    first = make_run_folder(tmp_path, "rand read/../x", when)
    assert first.name == "20260506T070809Z-rand-read-..-x"
    second = make_run_folder(tmp_path, "rand read/../x", when)
    assert second.name.startswith(first.name + "-")
    assert len(second.name) == len(first.name) + 5
    assert safe_name("///") == "run"


def test_hosts_and_labels() -> None:
    assert parse_host("h") == FioHost("h", 8765)
    assert parse_host("h:9") == FioHost("h", 9)
    assert parse_host("[::1]:7") == FioHost("::1", 7)
    assert parse_host("[::1]").client_arg == "ip6:::1,8765"
    assert str(parse_host("h:9")) == "h:9"
    for bad in ("", "h:x", "h:0", "[::1"):
        with pytest.raises(UsageError):
            parse_host(bad)
    assert parse_label("a=b=c") == ("a", "b=c")
    with pytest.raises(UsageError):
        parse_label("=v")


def test_inventory_listing() -> None:
    listing = {
        "_meta": {"hostvars": {"n1": {"ansible_host": "10.0.0.1", "fio_port": "9000"}, "n2": {}}},
        "all": {"children": ["ungrouped", "db"]},
        "db": {"hosts": ["n1"], "children": ["db"]},
        "ungrouped": {"hosts": ["n2"]},
    }
    assert hosts_from_listing(listing, None) == (FioHost("n2", 8765), FioHost("10.0.0.1", 9000))
    assert hosts_from_listing(listing, "db") == (FioHost("10.0.0.1", 9000),)
    with pytest.raises(UsageError, match="not in the inventory"):
        hosts_from_listing(listing, "web")
    with pytest.raises(UsageError, match="no hosts"):
        hosts_from_listing({"all": {}}, None)
    listing["_meta"]["hostvars"]["n1"]["fio_port"] = "x"
    with pytest.raises(UsageError, match="fio_port"):
        hosts_from_listing(listing, "db")


# ---------------------------------------------------------------- job files and the runner


def test_job_copy_names_and_header(tmp_path: Path) -> None:
    taken: set[str] = set()
    assert _copy_name("job.fio", taken) == "job.fio"
    assert _copy_name("job.fio", taken) == "job-2.fio"
    assert _copy_name("fio.json", taken) == "job-fio.json"
    assert _copy_name("x_bw.1.log", taken) == "job-x_bw.1.log"
    assert _copy_name(".hidden", taken) == "hidden"
    assert header(target=None, logs=False, log_avg_msec=5) == ""
    text = header(target=Path("/t"), logs=True, log_avg_msec=5)
    assert "[global]\ndirectory=/t\nwrite_bw_log" in text
    with pytest.raises(JobFetchError, match="only paths and http"):
        fetch_job("ftp://x/y.fio")
    with pytest.raises(UsageError, match="at least one job"):
        prepare_jobs(())


def test_argv_and_status() -> None:
    from stackrig.bench.model import RunSettings

    local = RunSettings(jobs=("a",), runs_dir=Path(), db=Path(), status_interval=0.5)
    assert build_argv(local, ("a.fio",)) == ["--output-format=json+", "--status-interval=500ms", "a.fio"]
    fleet = replace(local, hosts=(FioHost("h1", 1), FioHost("h2", 2)))
    assert build_argv(fleet, ("a.fio", "b.fio")) == [
        "--output-format=json+",
        "--client=h1,1",
        "a.fio",
        "b.fio",
        "--client=h2,2",
        "a.fio",
        "b.fio",
    ]
    ok = parse_results('{"jobs": [{"jobname": "j", "error": 0, "read": {"io_bytes": 1}}]}')
    bad = parse_results('{"jobs": [{"jobname": "j", "error": 5, "read": {"io_bytes": 1}}]}')
    assert _status(0, False, ok, "")[0] is RunStatus.OK
    assert _status(0, True, ok, "")[0] is RunStatus.INTERRUPTED
    assert _status(0, False, bad, "")[1] == "job j: error 5 (Input/output error)"
    said = _status(
        0, False, bad, "fio: pid=7, err=5/file:io_u.c:1, func=io_u error, error=Input/output error\n"
    )[1]
    assert said == (
        "job j: error 5 (Input/output error); fio said: fio: pid=7, err=5/file:io_u.c:1, func=io_u error, "
        "error=Input/output error"
    )
    assert _status(0, False, None, "")[1] == "fio wrote no results"
    assert "10.0.0.9:1" in (_status(0, False, ok, "fio: failed to connect to 10.0.0.9:1\n")[1] or "")


def test_progress_from_status_documents() -> None:
    def doc(elapsed: int, ios: int) -> str:
        return (
            json.dumps(
                {
                    "global options": {"runtime": "10s"},
                    "jobs": [
                        {
                            "jobname": "j",
                            "elapsed": elapsed,
                            "job options": {"ramp_time": "0"},
                            "read": {"total_ios": ios, "io_bytes": ios * 4096},
                            "write": {"total_ios": 0, "io_bytes": 0},
                        }
                    ],
                },
                indent=2,
            )
            + "\n"
        )

    stream = io.StringIO("<h> text\n" + doc(2, 2000) + doc(4, 6000))
    reader = _Reader(stream)
    reader.run()
    progress = reader.progress
    assert progress is not None
    assert progress.percent == 40.0
    assert progress.eta_s == 6.0
    assert progress.read_iops > 0
    assert "40.0%" in progress.line()
    assert _final_output(reader.lines).startswith("<h> text\n{")
    assert _final_output(reader.lines).count('"jobname"') == 1
    assert _final_output(["plain\n"]) == "plain\n"
    assert _seconds("1m") == 60.0
    assert _seconds("bogus") is None
    assert "running" in Progress(1.0, None, None, 2e6, 3e9, 1500.0, 2048.0).line()
    waiting = Progress(3.0, hosts=2)
    assert not waiting.measured
    assert waiting.line() == "running on 2 hosts  elapsed    3s"


# ---------------------------------------------------------------- history and compare


def test_history_resolve_and_delete_guards(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    folder = make_run_folder(runs, "n", dt.datetime.now(dt.UTC))
    record = _record(folder)
    write_meta(record)
    with History.open(tmp_path / "h.db") as history:
        with pytest.raises(bench.RunNotFoundError, match="no runs yet"):
            history.resolve("latest")
        with pytest.raises(bench.RunNotFoundError, match="empty"):
            history.resolve(" ")
        # a folder not in the history still resolves, from its meta.json
        assert history.resolve(str(folder)).id == "abc123"
        assert history.rows(record) == []
        history.add(record, None)
        assert history.resolve("abc").id == "abc123"
        assert history.list(host="n*") == []
        moved = replace(record, id="other")
        with pytest.raises(ConflictError, match="does not hold run other"):
            history.delete(moved)
        assert plan_prune(history, keep=None, older_than=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)) == [
            record
        ]
        with pytest.raises(UsageError):
            plan_prune(history, keep=None, older_than=None)
        with pytest.raises(UsageError):
            plan_prune(history, keep=-1, older_than=None)
        history.delete(record)
        assert not folder.exists()
        assert history.list() == []


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="not a stackrig database"):
        History.open(bad)


def _row(job: str, iops: float, p99: float | None) -> ResultRow:
    return ResultRow("", job, "read", iops, iops * 4096, 1, 1, 1.0, 1.0, p99, None, None, None)


def test_combine_and_metrics() -> None:
    combined = combine_rows([_row("j", 10, 100), _row("j", 30, 300), _row("k", 5, None)])
    assert combined[("", "j", "read")]["iops"] == 40
    assert combined[("", "j", "read")]["lat_p99"] == 200
    assert combined[("", "k", "read")]["lat_p99"] is None
    assert parse_metrics(None) == ("iops", "bw", "lat_p50", "lat_p99", "lat_p999")
    assert parse_metrics("iops, lat_mean") == ("iops", "lat_mean")
    with pytest.raises(UsageError):
        parse_metrics(",")
    assert format_rows([], "csv").startswith("run_id,")
    assert format_rows([], "json") == "[]\n"
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("example.org")
    assert not is_loopback("10.1.1.1")


@pytest.mark.skipif(shutil.which("fio") is None, reason="fio is not installed")
def test_validation_names_the_bad_job_of_several() -> None:
    from stackrig.bench.jobfile import InvalidJobError, validate_jobs

    root = Path(__file__).resolve().parents[2]
    good = prepare_jobs((str(root / "examples" / "randread.fio"), str(DATA / "quick.fio")))
    validate_jobs(good, header(target=Path("/tmp"), logs=True, log_avg_msec=100))
    mixed = prepare_jobs((str(DATA / "quick.fio"), str(DATA / "invalid.fio")))
    with pytest.raises(InvalidJobError, match=r"invalid\.fio") as caught:
        validate_jobs(mixed, "")
    assert "quick.fio" not in caught.value.message


def test_url_that_never_answers_times_out() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/job.fio"
        with pytest.raises(JobFetchError, match=r"no answer within 0\.3 s|timed out"):
            fetch_job(url, timeout=0.3)


def test_database_errors_are_translated(tmp_path: Path) -> None:
    history = History.open(tmp_path / "h.db")
    history.close()
    with pytest.raises(UsageError, match="cannot read the bench history"):
        history.list()
    with pytest.raises(UsageError, match="cannot write the bench history"):
        history.add(_record(tmp_path), None)


def test_the_package_api_is_imported_on_first_use() -> None:
    """``stackrig.bench`` names its public API but imports each part when first asked for."""
    import importlib

    from stackrig import bench

    for name in bench.__all__:
        value = getattr(bench, name)
        assert getattr(importlib.import_module(bench._HOMES[name]), name) is value
    assert set(bench.__all__) <= set(dir(bench))
    assert set(bench._HOMES) == set(bench.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        bench.nothing_here  # noqa: B018
