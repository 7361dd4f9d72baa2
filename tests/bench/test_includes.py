"""Job files with fio's ``include FILE`` lines: checked with fio's verdict, the included files kept
byte for byte beside the job copy (sha256 in meta.json) so ``bench run --from`` repeats the run."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stackrig.bench import phases
from stackrig.bench.jobfile import prepare_jobs
from stackrig.errors import ConflictError
from tests.bench.conftest import FIO, needs_fio, stackrig

pytestmark = needs_fio

JOB = "[global]\ninclude common.inc\n\n[reader]\nrw=read\nbs=4k\n"
COMMON = "; shared settings\nioengine=null\nsize=1m\n"


def _fio(job: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """fio on the job as a user runs it (from another folder than the job's)."""
    assert FIO is not None
    return subprocess.run(
        [FIO, *args, str(job)], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def _fio_accepts(job: Path, cwd: Path) -> bool:
    """``fio --parse-only``'s verdict on the job."""
    done = _fio(job, cwd, "--parse-only")
    return done.returncode == 0 and "unable to open" not in done.stderr


def _given(tmp_path: Path, job: str = JOB, **files: str) -> Path:
    folder = tmp_path / "given"
    folder.mkdir(parents=True)
    (folder / "job.fio").write_text(job)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder / "job.fio"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_relative_include_gets_fio_s_verdict(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    job = _given(tmp_path, **{"common.inc": COMMON})
    assert _fio_accepts(job, tmp_path)
    done = stackrig(*home_args, "bench", "run", str(job), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    (check,) = json.loads(done.stdout)["data"]["jobs"]
    assert check["accepted"] is True
    assert check["includes"] == ["common.inc"]
    assert "include common.inc" in check["text"]
    text = stackrig(*home_args, "bench", "run", str(job), "--dry-run")
    assert "includes (copied beside it): common.inc" in text.stdout
    assert not data_dir.exists()  # nothing created


def test_included_option_fio_refuses_is_refused(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    job = _given(tmp_path, **{"common.inc": COMMON + "no_such_option=1\n"})
    assert not _fio_accepts(job, tmp_path)
    done = stackrig(*home_args, "bench", "run", str(job), "--dry-run")
    assert done.returncode == 2
    assert "REFUSED by fio" in done.stdout
    assert "no_such_option" in done.stdout  # fio's own words
    assert not data_dir.exists()


def test_nested_include_is_kept_and_run_from_repeats_it(tmp_path: Path, home_args: list[str]) -> None:
    job = _given(
        tmp_path,
        job="[reader]\r\ninclude sub/one.inc ; the device\r\nrw=read\r\n",  # CRLF, a comment after it
        **{"sub/one.inc": "bs=4k\ninclude two.inc\n", "sub/two.inc": COMMON},
    )
    assert _fio_accepts(job, tmp_path)
    first = stackrig(*home_args, "bench", "run", str(job), "--json")
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)["data"]["run"]
    folder = Path(one["folder"])
    given = job.parent
    for name in ("job.fio", "sub/one.inc", "sub/two.inc"):
        assert (folder / name).read_bytes() == (given / name).read_bytes(), name
    meta = json.loads((folder / "meta.json").read_text())
    (entry,) = meta["jobs"]
    assert entry["sha256"] == _sha(job)
    assert [(i["file"], i["sha256"], i["size"]) for i in entry["includes"]] == [
        (name, _sha(given / name), (given / name).stat().st_size) for name in ("sub/one.inc", "sub/two.inc")
    ]
    assert entry["includes"][0]["source"] == str(given / "sub/one.inc")
    shutil.rmtree(given)  # the run folder alone repeats the run
    again = stackrig(*home_args, "bench", "run", "--from", one["id"], "--json")
    assert again.returncode == 0, again.stderr
    other = Path(json.loads(again.stdout)["data"]["run"]["folder"])
    assert other != folder
    for name in ("job.fio", "job.effective.fio", "sub/one.inc", "sub/two.inc"):
        assert (other / name).read_bytes() == (folder / name).read_bytes(), name
    repeated = json.loads((other / "meta.json").read_text())
    assert [i["sha256"] for i in repeated["jobs"][0]["includes"]] == [i["sha256"] for i in entry["includes"]]
    assert repeated["command"] == meta["command"]
    assert repeated["replay"]["from"] == one["id"]


def test_include_leaving_the_job_folder_is_refused(
    tmp_path: Path, home_args: list[str], data_dir: Path
) -> None:
    """fio reads ``../shared.inc``; stackrig refuses it: fio would read it from outside the run
    folder at run time, and the run could not be repeated from its folder."""
    (tmp_path / "shared.inc").write_text(COMMON)
    job = _given(tmp_path, job="[reader]\nrw=read\ninclude ../shared.inc\n")
    assert _fio_accepts(job, tmp_path)  # fio's verdict differs here, on purpose
    before = job.read_bytes()
    done = stackrig(*home_args, "bench", "run", str(job), "--dry-run")
    assert done.returncode == 2
    assert f"{job} line 3: include ../shared.inc leaves the job file's folder" in done.stderr
    assert "copy the file into the job file's folder" in done.stderr
    absolute = _given(tmp_path / "abs", job=f"[reader]\nrw=read\ninclude {tmp_path / 'shared.inc'}\n")
    refused = stackrig(*home_args, "bench", "run", str(absolute))
    assert refused.returncode == 2
    assert "is not a path relative to the job file's folder" in refused.stderr
    assert not data_dir.exists()
    assert job.read_bytes() == before


def test_missing_include_is_a_usage_error(tmp_path: Path, home_args: list[str], data_dir: Path) -> None:
    job = _given(tmp_path, job="[reader]\nrw=read\ninclude sub/nothere.inc\n", **{"sub/other.inc": COMMON})
    # fio refuses it too: --parse-only names it (fio 3.33 still exits 0 when the include is
    # the last line) and a real run exits 1
    assert "unable to open" in _fio(job, tmp_path, "--parse-only").stderr
    assert _fio(job, tmp_path, "--ioengine=null", "--size=1m", "--output=/dev/null").returncode == 1
    before = job.read_bytes()
    for extra in (["--dry-run"], []):
        done = stackrig(*home_args, "bench", "run", str(job), *extra)
        assert done.returncode == 2, done.stderr
        assert f"{job} line 3: included file sub/nothere.inc does not exist" in done.stderr
        assert "Traceback" not in done.stderr
    nested = _given(tmp_path / "n", **{"common.inc": "include gone.inc\n"})
    done = stackrig(*home_args, "bench", "run", str(nested))
    assert done.returncode == 2
    assert "common.inc line 1: included file gone.inc does not exist" in done.stderr
    assert not data_dir.exists()  # nothing written
    assert job.read_bytes() == before
    assert (job.parent / "sub/other.inc").read_text() == COMMON


def test_include_cycle_and_client_mode_are_refused(tmp_path: Path, home_args: list[str]) -> None:
    job = _given(tmp_path, **{"common.inc": "size=1m\ninclude common.inc\n"})
    done = stackrig(*home_args, "bench", "run", str(job), "--dry-run")
    assert done.returncode == 2
    assert "includes itself" in done.stderr
    ok = _given(tmp_path / "c", **{"common.inc": COMMON})
    client = stackrig(*home_args, "bench", "run", str(ok), "--hosts", "127.0.0.2:1", "--dry-run")
    assert client.returncode == 2
    assert "client mode (--hosts) does not follow" in client.stderr


def test_include_relative_to_a_url_is_fetched_from_the_same_base(
    http_root: tuple[str, Path], home_args: list[str], data_dir: Path
) -> None:
    base, root = http_root
    folder = root / "inc"
    folder.mkdir(parents=True)
    (folder / "job.fio").write_text(JOB)
    (folder / "common.inc").write_text(COMMON)
    done = stackrig(*home_args, "bench", "run", f"{base}/inc/job.fio", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["jobs"][0]["includes"] == ["common.inc"]
    (folder / "up.fio").write_text("[reader]\nrw=read\ninclude ../quick.fio\n")
    escaped = stackrig(*home_args, "bench", "run", f"{base}/inc/up.fio", "--dry-run")
    assert escaped.returncode == 2
    assert "leaves the job file's folder" in escaped.stderr
    # an absolute include of a URL job is never read from this machine's disk
    (folder / "abs.fio").write_text("[reader]\nrw=read\ninclude /etc/hostname\n")
    local = stackrig(*home_args, "bench", "run", f"{base}/inc/abs.fio", "--dry-run")
    assert local.returncode == 2
    assert "is not a path relative" in local.stderr
    (folder / "gone.fio").write_text("[reader]\nrw=read\ninclude gone.inc\n")
    gone = stackrig(*home_args, "bench", "run", f"{base}/inc/gone.fio", "--dry-run")
    assert gone.returncode == 2
    assert "gone.fio line 3: included file gone.inc: cannot download" in gone.stderr
    assert f"{base}/inc/gone.inc" in gone.stderr
    assert "HTTP 404" in gone.stderr
    assert not data_dir.exists()


def test_precondition_sees_a_raw_device_named_in_an_include(tmp_path: Path) -> None:
    job = _given(tmp_path, job="[w]\nrw=write\ninclude dev.inc\n", **{"dev.inc": "filename=/dev/sdz\n"})
    jobs = prepare_jobs((str(job),))
    assert phases.raw_devices(jobs) == ["/dev/sdz"]
    with pytest.raises(ConflictError, match="/dev/sdz"):
        phases.check_precondition(jobs, yes=False)
