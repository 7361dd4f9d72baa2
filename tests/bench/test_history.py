"""list / show / compare / export / import / delete / prune on real runs, and the fio server command."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bench.conftest import SharedRun, needs_fio, stackrig
from tests.services import free_port, running, wait_until

pytestmark = needs_fio


def _db(runs: dict[str, SharedRun]) -> list[str]:
    return ["--db", str(runs["logs"].db)]


def test_list_filters(shared_runs: dict[str, SharedRun]) -> None:
    def ids(*args: str) -> list[str]:
        done = stackrig("bench", "list", *_db(shared_runs), *args, "--json")
        assert done.returncode == 0, done.stderr
        return [r["id"] for r in json.loads(done.stdout)["data"]["runs"]]

    every = ids()
    assert every == [shared_runs[k].id for k in ("throttled", "plain", "logs")]  # newest first
    assert ids("--label", "cloud=aws") == [shared_runs["plain"].id, shared_runs["logs"].id]
    assert ids("--label", "cloud=aws", "--label", "volume=gp3") == [shared_runs["logs"].id]
    assert ids("--name", "sl*") == [shared_runs["throttled"].id]
    assert ids("--since", "2999-01-01") == []
    assert ids("--since", "2999-01-01T00:00:00+02:00") == []
    assert ids("--since", "3650d") == every  # an age: within the last ten years
    assert ids("--since", "2000-01-01") == every
    bad = stackrig("bench", "list", *_db(shared_runs), "--since", "last week", "--json")
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["error"]["message"] == "--since 'last week' is neither a date nor an age"
    assert "7d" in bad.stderr
    assert ids("--host", "no-such-machine") == []
    text = stackrig("bench", "list", *_db(shared_runs)).stdout
    assert "3 runs" in text
    assert "cloud=gcp" in text


def test_show_resolves_every_kind_of_ref(shared_runs: dict[str, SharedRun]) -> None:
    run = shared_runs["plain"]
    for ref in (run.id, run.id[:8], str(run.folder), run.folder.name):
        done = stackrig("bench", "show", ref, *_db(shared_runs), "--json")
        assert done.returncode == 0, (ref, done.stderr)
        assert json.loads(done.stdout)["data"]["run"]["id"] == run.id
    latest = json.loads(stackrig("bench", "show", "latest", *_db(shared_runs), "--json").stdout)
    assert latest["data"]["run"]["id"] == shared_runs["throttled"].id
    text = stackrig("bench", "show", run.id, *_db(shared_runs)).stdout
    assert "randread" in text
    assert "seqwrite" in text
    assert run.id in text


def test_run_ref_matching_nothing(shared_runs: dict[str, SharedRun]) -> None:
    done = stackrig("bench", "show", "zzzz", *_db(shared_runs))
    assert done.returncode == 2
    assert "no run matches 'zzzz'" in done.stderr


def test_ambiguous_prefix_with_seeded_ids(tmp_path: Path, shared_runs: dict[str, SharedRun]) -> None:
    """Two imported runs whose ids share a prefix: a prefix matching both is refused, naming both."""
    from stackrig.bench import History
    from stackrig.bench.model import read_meta

    db = tmp_path / "h.db"
    with History.open(db) as history:
        base = read_meta(shared_runs["logs"].folder)
        from dataclasses import replace

        history.add(replace(base, id="abc111"), None)
        history.add(replace(base, id="abc222", folder=shared_runs["plain"].folder), None)
    done = stackrig("bench", "show", "abc", "--db", str(db))
    assert done.returncode == 2
    assert "'abc' matches 2 runs" in done.stderr
    assert "abc111" in done.stderr
    assert "abc222" in done.stderr
    assert stackrig("bench", "show", "abc2", "--db", str(db), "--json").returncode == 0


def test_compare_flags_the_seeded_regression(shared_runs: dict[str, SharedRun]) -> None:
    base, slow = shared_runs["logs"].id, shared_runs["throttled"].id
    done = stackrig("bench", "compare", base, slow, *_db(shared_runs), "--metric", "iops,lat_p99", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["baseline"]["id"] == base
    iops = {c["job"]: c for c in data["changes"] if c["metric"] == "iops"}
    assert iops["randread"]["regression"] is True
    assert iops["randread"]["change_pct"] < -50
    assert {c["metric"] for c in data["changes"]} == {"iops", "lat_p99"}
    failing = stackrig("bench", "compare", base, slow, *_db(shared_runs), "--fail-on-regression", "20")
    assert failing.returncode == 1
    assert "REGRESSION" in failing.stdout
    assert "randread" in failing.stdout
    # the throttled run as baseline: the read job got faster, no read regression
    reverse = stackrig("bench", "compare", slow, base, *_db(shared_runs), "--metric", "iops", "--json")
    changes = json.loads(reverse.stdout)["data"]["changes"]
    assert next(c for c in changes if c["job"] == "randread")["regression"] is False


def test_compare_by_label_and_bad_metric(shared_runs: dict[str, SharedRun]) -> None:
    done = stackrig("bench", "compare", "--label", "cloud=aws", *_db(shared_runs), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["baseline"]["id"] == shared_runs["logs"].id
    assert [r["id"] for r in data["runs"]] == [shared_runs["plain"].id]
    bad = stackrig("bench", "compare", "latest", "latest", "--metric", "speed", *_db(shared_runs))
    assert bad.returncode == 2
    assert "unknown metric 'speed'" in bad.stderr
    one = stackrig("bench", "compare", "latest", *_db(shared_runs))
    assert one.returncode == 2
    assert "at least two runs" in one.stderr


def test_export_csv_and_json(shared_runs: dict[str, SharedRun], tmp_path: Path) -> None:
    ids = [shared_runs["logs"].id, shared_runs["throttled"].id]
    done = stackrig("bench", "export", *ids, "--format", "csv", *_db(shared_runs))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 4  # 2 runs x 2 jobs x 1 direction
    assert {(r["run_id"], r["job"], r["direction"]) for r in rows} == {
        (i, j, d) for i in ids for j, d in (("randread", "read"), ("seqwrite", "write"))
    }
    assert all(float(r["iops"]) > 0 for r in rows)
    target = tmp_path / "out.json"
    done = stackrig(
        "bench",
        "export",
        "--label",
        "cloud=aws",
        "--format",
        "json",
        "-o",
        str(target),
        *_db(shared_runs),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    exported = json.loads(target.read_text())
    assert {r["run_id"] for r in exported} == {shared_runs["logs"].id, shared_runs["plain"].id}
    env = json.loads(
        stackrig("bench", "export", "latest", "--format", "json", *_db(shared_runs), "--json").stdout
    )
    assert json.loads(env["data"]["content"])[0]["run_id"] == shared_runs["throttled"].id
    bad = stackrig("bench", "export", "latest", "--format", "xml", *_db(shared_runs))
    assert bad.returncode == 2
    results = shared_runs["logs"].folder / "fio.json"
    before = results.read_bytes()
    for target in (results, results.parent / "new.csv"):  # any file of any run folder
        refused = stackrig("bench", "export", "latest", "-o", str(target), *_db(shared_runs))
        assert refused.returncode == 4
        assert "inside a run folder" in refused.stderr
    assert results.read_bytes() == before
    assert not (results.parent / "new.csv").exists()
    refused = stackrig("bench", "export", "latest", "-o", str(shared_runs["logs"].db), *_db(shared_runs))
    assert refused.returncode == 4
    assert "refusing to overwrite" in refused.stderr


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_import_copies_and_names_corrupt_file(
    shared_runs: dict[str, SharedRun], tmp_path: Path, home_args: list[str], data_dir: Path
) -> None:
    source = tmp_path / "fio-data"
    shutil.copytree(shared_runs["logs"].folder, source)
    (source / "meta.json").unlink()  # like an old fio-tools folder: output, logs, job
    (source / "broken.json").write_text('{"fio version": "fio-3.33", "jobs": [')
    before = _tree_digest(source)
    done = stackrig(*home_args, "bench", "import", str(source), "--label", "origin=old", "--json")
    assert done.returncode == 1, done.stderr  # partial: the rest imported, the bad file named
    doc = json.loads(done.stdout)
    assert doc["partial"] is True
    assert doc["ok"] is False
    assert doc["exit_code"] == 1
    assert any("broken.json" in w for w in doc["warnings"])
    runs = doc["data"]["runs"]
    assert len(runs) == 1
    folder = Path(runs[0]["folder"])
    assert folder.parent == data_dir / "runs"
    names = {p.name for p in folder.iterdir()}
    assert {"fio.json", "quick.fio", "meta.json", "randread_bw.1.log"} <= names
    assert runs[0]["labels"] == {"origin": "old"}
    assert _tree_digest(source) == before  # the source is never changed
    text = stackrig(*home_args, "bench", "import", str(source))
    assert "broken.json" in text.stderr
    assert text.returncode == 1
    quiet = stackrig("-q", *home_args, "bench", "import", str(source))
    assert quiet.returncode == 1
    assert "broken.json" in quiet.stderr  # the reason for exit 1 is an error: said under -q too
    assert "warning" not in quiet.stderr
    allowed = stackrig(*home_args, "bench", "import", str(source), "--allow-partial", "--json")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["partial"] is True
    assert "broken.json" in allowed.stderr  # named on stderr in JSON mode too
    shown = json.loads(stackrig(*home_args, "bench", "show", runs[0]["id"], "--json").stdout)
    assert len(shown["data"]["results"]) == 2


def test_import_nothing_readable(tmp_path: Path, home_args: list[str]) -> None:
    source = tmp_path / "bad"
    source.mkdir()
    (source / "fio.json").write_text("not json at all")
    done = stackrig(*home_args, "bench", "import", str(source))
    assert done.returncode == 2
    assert "fio.json" in done.stderr
    assert "nothing to import" in done.stderr


def _import_two(shared_runs: dict[str, SharedRun], home_args: list[str]) -> list[str]:
    ids = []
    for key in ("logs", "throttled"):
        done = stackrig(*home_args, "bench", "import", str(shared_runs[key].folder), "--json")
        assert done.returncode == 0, done.stderr
        ids.append(json.loads(done.stdout)["data"]["runs"][0]["id"])
    return ids


def test_delete_needs_consent_and_removes(shared_runs: dict[str, SharedRun], home_args: list[str]) -> None:
    first, second = _import_two(shared_runs, home_args)
    folder = Path(
        json.loads(stackrig(*home_args, "bench", "show", first, "--json").stdout)["data"]["run"]["folder"]
    )
    refused = stackrig(*home_args, "bench", "delete", first)
    assert refused.returncode == 4
    assert "--yes" in refused.stderr
    assert folder.is_dir()
    done = stackrig(*home_args, "bench", "delete", first, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert not folder.exists()
    assert shared_runs["logs"].folder.is_dir()  # the import source is untouched
    listed = json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)["data"]["runs"]
    assert [r["id"] for r in listed] == [second]


def test_prune(shared_runs: dict[str, SharedRun], home_args: list[str]) -> None:
    _import_two(shared_runs, home_args)
    assert stackrig(*home_args, "bench", "prune", "--keep", "1").returncode == 4
    assert stackrig(*home_args, "bench", "prune", "--yes").returncode == 2
    nothing = json.loads(
        stackrig(*home_args, "bench", "prune", "--older-than", "3650d", "--yes", "--json").stdout
    )
    assert nothing["data"]["deleted"] == []
    before_2000 = stackrig(*home_args, "bench", "prune", "--older-than", "2000-01-01", "--yes", "--json")
    assert json.loads(before_2000.stdout)["data"]["deleted"] == []
    # A bare number was DAYS before units were one syntax: it is refused now, not read as seconds.
    bare = stackrig(*home_args, "bench", "prune", "--older-than", "30", "--yes")
    assert bare.returncode == 2
    assert "--older-than '30' has no unit" in bare.stderr
    assert "30d (days)" in bare.stderr
    assert len(json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)["data"]["runs"]) == 2
    done = stackrig(*home_args, "bench", "prune", "--keep", "1", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["data"]["deleted"]) == 1
    assert len(json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)["data"]["runs"]) == 1
    everything = stackrig(*home_args, "bench", "prune", "--older-than", "0s", "--yes", "--json")
    assert len(json.loads(everything.stdout)["data"]["deleted"]) == 1
    assert json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)["data"]["runs"] == []


def test_server_warns_beyond_loopback(tmp_path: Path) -> None:
    from tests.conftest import STACKRIG
    from tests.services import port_open

    port = free_port("127.0.0.5")
    with running(
        "bench-server",
        [str(STACKRIG), "bench", "server", "--host", "127.0.0.5", "--port", str(port)],
        workdir=tmp_path,
        host="127.0.0.5",
        port=port,
    ) as service:
        assert port_open("127.0.0.5", port)
        wait_until(lambda: "listening" in service.log_tail(), timeout=10, what="banner")
        assert "no authentication" not in service.log_tail()
    # beyond loopback: the warning comes first; 192.0.2.1 (TEST-NET) is not ours, so fio cannot bind
    done = stackrig("bench", "server", "--host", "192.0.2.1", "--port", str(port), timeout=60)
    assert "no authentication" in done.stderr
    assert done.returncode == 1


@pytest.mark.parametrize("args", [["--port", "0"]])
def test_server_bad_port(args: list[str]) -> None:
    done = stackrig("bench", "server", *args)
    assert done.returncode == 2
    assert "bad port" in done.stderr


def test_delete_asks_on_a_terminal(
    shared_runs: dict[str, SharedRun], home_args: list[str], tmp_path: Path
) -> None:
    """On a terminal delete asks; 'n' keeps the run (CONFLICT), 'y' deletes it."""
    if shutil.which("script") is None:
        pytest.skip("script(1) from util-linux is needed for a pseudo-terminal")
    from tests.conftest import STACKRIG

    (run_id,) = _import_two(shared_runs, home_args)[:1]
    command = " ".join([str(STACKRIG), *home_args, "bench", "delete", run_id])
    for answer, code in (("n", 4), ("y", 0)):
        done = subprocess.run(
            ["script", "-qec", command, str(tmp_path / f"typescript-{answer}")],
            input=f"{answer}\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == code, done.stdout
        assert "delete run" in done.stdout
    listed = json.loads(stackrig(*home_args, "bench", "list", "--json").stdout)["data"]["runs"]
    assert run_id not in [r["id"] for r in listed]
