"""bench run --dry-run (fio's own verdict, nothing run) and --from RUN (a run repeated exactly)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from stackrig.cli.app import run
from tests.bench.conftest import DATA, FIO, needs_fio, stackrig

pytestmark = needs_fio

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "corpus" / "fio" / "fio-examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.fio"))
#: Every ``examples/*.fio`` of axboe/fio in the stored copy the corpus came from (SOURCES.md).
FIO_EXAMPLES = 117


def _fio_verdict(job: Path) -> tuple[bool, str]:
    """What ``fio --parse-only`` says of the job, run as a user would: in the job's folder.

    ``--clocksource`` only skips fio's clock calibration at start-up (half of its 0.25 s here):
    on all 117 examples fio prints the same and exits the same with it as without it.
    """
    assert FIO is not None
    done = subprocess.run(
        [FIO, "--clocksource=clock_gettime", "--parse-only", job.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=job.parent,
    )
    said = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    return done.returncode == 0, said[0] if said else ""


def test_every_fio_example_is_in_the_corpus_and_in_sources_md() -> None:
    """A dropped or unlisted example fails here, not silently in the test below."""
    listed = re.findall(
        r"^\| ([\w.-]+\.fio) \| [0-9a-f]{40} \|$", (EXAMPLES_DIR.parent / "SOURCES.md").read_text(), re.M
    )
    assert len(EXAMPLES) == FIO_EXAMPLES
    assert sorted(listed) == [p.name for p in EXAMPLES]


@pytest.mark.parametrize("job", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_dry_run_gives_fio_s_verdict_on_its_examples(
    job: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``bench run JOB --dry-run`` exits 0 where fio accepts the job, 2 where it refuses it,
    quoting fio. Each example is checked, none left out: where this machine's fio lacks an
    engine (http, libblkio, ...), an option (newer than its fio) or an environment variable the
    example expects (``${RDMA_SERVER}``), fio refuses it and so must stackrig (SOURCES.md lists
    the reasons). The CLI runs in-process (:func:`stackrig.cli.app.run`, the console script's
    own path) to keep 117 checks fast; fio itself runs for real each time."""
    accepted, said = _fio_verdict(job)
    code = run(["--data-dir", str(data_dir), "bench", "run", str(job), "--dry-run", "--json"])
    out = capsys.readouterr().out
    assert code == (0 if accepted else 2), out
    (check,) = json.loads(out)["data"]["jobs"]
    assert check["accepted"] is accepted
    assert check["text"].endswith(job.read_text())  # fio checked the example itself
    if accepted:
        assert not check["complaint"]
    else:
        assert said in check["complaint"]  # fio's own first word on it
    assert not data_dir.exists()  # nothing created


def test_dry_run_shows_the_effective_job_and_command(home_args: list[str], data_dir: Path) -> None:
    done = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), "--logs", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "job " + str(DATA / "quick.fio") + ": accepted by fio" in done.stdout
    assert "directory=${STACKRIG_RUN_SCRATCH}" in done.stdout
    assert "write_bw_log" in done.stdout
    assert "command (run in the new run folder): fio --output-format=json+" in done.stdout
    assert done.stdout.rstrip().endswith("quick.effective.fio")
    assert not data_dir.exists()


def test_dry_run_refuses_what_fio_refuses_even_with_stackrig_s_section(
    tmp_path: Path, home_args: list[str]
) -> None:
    """An option outside any section is refused by fio; stackrig's [global] must not adopt it."""
    job = tmp_path / "loose.fio"
    job.write_text("rw=read\n[j]\nioengine=null\nsize=1m\n")
    done = stackrig(*home_args, "bench", "run", str(job), "--dry-run")
    assert done.returncode == 2
    assert "REFUSED by fio" in done.stdout
    assert "outside of" in done.stdout
    refused = stackrig(*home_args, "bench", "run", str(job))
    assert refused.returncode == 2
    assert "fio rejects job file" in refused.stderr


def test_run_from_repeats_a_run(tmp_path: Path, home_args: list[str]) -> None:
    job = tmp_path / "crlf.fio"
    job.write_bytes(b"[crlf]\r\nioengine=null\r\nsize=2m\r\nrw=read\r\nbs=4k")  # CRLF, no last newline
    first = stackrig(
        *home_args, "bench", "run", str(job), "--logs", "--log-avg-msec", "50", "--label", "a=1", "--json"
    )
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)["data"]["run"]
    folder = Path(one["folder"])
    assert (folder / "crlf.fio").read_bytes() == job.read_bytes()
    job.unlink()  # the run folder is enough to repeat it
    again = stackrig(*home_args, "bench", "run", "--from", one["id"], "--label", "b=2", "--json")
    assert again.returncode == 0, again.stderr
    two = json.loads(again.stdout)["data"]["run"]
    other = Path(two["folder"])
    assert other != folder
    assert (other / "crlf.fio").read_bytes() == (folder / "crlf.fio").read_bytes()
    assert (other / "crlf.effective.fio").read_bytes() == (folder / "crlf.effective.fio").read_bytes()
    meta = json.loads((other / "meta.json").read_text())
    assert meta["replay"]["from"] == one["id"]
    assert meta["replay"]["log_avg_msec"] == 50
    assert meta["labels"] == {"a": "1", "b": "2"}
    assert meta["command"] == one["command"]
    assert meta["name"] == one["name"]
    assert sorted(p.name for p in other.glob("*.log")) == sorted(p.name for p in folder.glob("*.log"))


def test_run_from_bad_input(tmp_path: Path, home_args: list[str]) -> None:
    both = stackrig(*home_args, "bench", "run", str(DATA / "quick.fio"), "--from", "latest")
    assert both.returncode == 2
    assert "not both" in both.stderr
    neither = stackrig(*home_args, "bench", "run")
    assert neither.returncode == 2
    assert "--from RUN" in neither.stderr
    nothing = stackrig(*home_args, "bench", "run", "--from", "nosuchrun")
    assert nothing.returncode == 2
    job = tmp_path / "gone.fio"
    job.write_text("[gone]\nioengine=null\nsize=1m\nrw=read\n")
    done = stackrig(*home_args, "bench", "run", str(job), "--json")
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["data"]["run"]["folder"])
    kept = (folder / "gone.fio").read_bytes()
    (folder / "gone.fio").unlink()
    missing = stackrig(*home_args, "bench", "run", "--from", "latest")
    assert missing.returncode == 2
    assert "lacks its job copies" in missing.stderr
    assert (folder / "meta.json").is_file()  # nothing of the earlier run was touched
    (folder / "gone.fio").write_bytes(kept)
    corpus = Path(__file__).resolve().parents[1] / "corpus" / "fio" / "fio-2.18"
    imported = stackrig(*home_args, "bench", "import", str(corpus), "--json")
    assert imported.returncode == 0, imported.stderr
    run_id = json.loads(imported.stdout)["data"]["runs"][0]["id"]
    no_jobs = stackrig(*home_args, "bench", "run", "--from", run_id)
    assert no_jobs.returncode == 2
    assert "kept no job files" in no_jobs.stderr
