"""What runs on each host of ``tune ... --inventory``: the packed file on real old and new Pythons,
the remote entry's JSON, the fleet comparison, and ``revert --latest``."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stackrig.tune import AuditSettings, run_audit
from stackrig.tune._ansible import HostRun, HostState, _outcome, natural_key
from stackrig.tune._zipapp import build
from stackrig.tune.apply import ApplySettings, NoBackupError, apply, latest_backup
from stackrig.tune.fleet import HostAudit, compare, report_from_doc
from stackrig.tune.remote import main, report_doc
from tests.tune.pythons import python

from .conftest import TREES, snapshot

HOSTS = sorted(p.name for p in (TREES / "hosts").iterdir())


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("zipapp") / "stackrig-tune")


def _run(packed: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([str(packed), *args], capture_output=True, text=True, timeout=120, check=False)
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    return done.returncode, json.loads(lines[0])


def test_packed_file_holds_only_what_the_remote_entry_needs(packed: Path) -> None:
    with zipfile.ZipFile(packed) as archive:
        names = set(archive.namelist())
    assert "__main__.py" in names
    assert "stackrig/tune/remote.py" in names
    assert "stackrig/tune/checks/swappiness.py" in names
    assert not any("cli/" in n or "flavors" in n or "fleet" in n for n in names)
    assert packed.read_bytes().startswith(b"#!/bin/sh\n")
    assert build(packed.with_name("again")).read_bytes() == packed.read_bytes()  # reproducible


@pytest.mark.parametrize("host", HOSTS)
def test_python_39_without_site_packages_gives_the_single_host_report(packed: Path, host: str) -> None:
    """The oldest Python allowed, run with -S (stdlib only), answers exactly what tune audit --json says."""
    root = TREES / "hosts" / host
    done = subprocess.run(
        [python("3.9"), "-S", str(packed), "audit", "--vars", json.dumps({"root": str(root)})],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(done.stdout)
    assert doc["ok"] is True
    assert doc["python"].startswith("3.9.")
    assert doc["result"] == report_doc(run_audit(AuditSettings(root=root)))


def test_python_39_applies_and_reverts_with_a_backup(packed: Path, tmp_path: Path) -> None:
    """apply --yes and revert on the oldest Python allowed, stdlib only: backup first, bytes restored."""
    root = tmp_path / "root"
    shutil.copytree(TREES / "hosts" / "legacy-hdd-numa", root)
    before = snapshot(root)
    host = json.dumps({"root": str(root), "data_dir": str(tmp_path / "data")})
    py = [python("3.9"), "-S", str(packed)]

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run([*py, *args], capture_output=True, text=True, timeout=120, check=True)
        doc: dict[str, Any] = json.loads(done.stdout)
        return doc

    applied = run("apply", "--vars", host, "--only", "swappiness", "--yes")
    assert applied["python"].startswith("3.9.")
    assert Path(applied["result"]["backup"]).is_file()
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
    reverted = run("revert", "--vars", host)
    assert reverted["result"]["backup"] == applied["result"]["backup"]
    assert snapshot(root) == before


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.8"])
def test_older_pythons_say_too_old_as_json(packed: Path, version: str) -> None:
    code, doc = _run(packed, python(version), "audit")
    assert code == 3
    assert doc["ok"] is False
    assert doc["error"]["kind"] == "python-too-old"
    assert f"Python {version}." in doc["error"]["message"]
    assert "needs 3.9 or newer" in doc["error"]["message"]
    run = _outcome("h", "failed", {"stdout": json.dumps(doc) + "\n", "rc": 3})
    assert run.state is HostState.PYTHON_TOO_OLD


def test_a_missing_interpreter_is_no_python(packed: Path, tmp_path: Path) -> None:
    code, doc = _run(packed, str(tmp_path / 'no "such" python'), "audit")
    assert code == 3
    assert doc["error"] == {
        "kind": "no-python",
        "message": f"no Python at {tmp_path}/no such python (ansible_python_interpreter)",
    }


def test_auto_interpreter_finds_a_new_enough_python(packed: Path) -> None:
    code, doc = _run(
        packed, "auto_silent", "audit", "--vars", json.dumps({"root": str(TREES / "hosts" / HOSTS[0])})
    )
    assert code == 0
    assert tuple(int(p) for p in doc["python"].split(".")[:2]) >= (3, 9)


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_remote_waivers_as_a_list_or_comma_string(capsys: pytest.CaptureFixture[str]) -> None:
    root = str(TREES / "hosts" / "legacy-hdd-numa")
    for skip in ("ksm, smt", ["ksm", "smt"]):
        code, doc = _main(capsys, "audit", "--vars", json.dumps({"root": root, "skip": skip}))
        assert code == 0
        waived = {f["check"]: f["reason"] for f in doc["result"]["findings"] if f["status"] == "waived"}
        assert set(waived) == {"ksm", "smt"}
        assert "stackrig_tune_skip" in waived["ksm"]


@pytest.mark.parametrize(
    ("vars_", "message"),
    [
        ("{not json", "--vars is not JSON"),
        ("[1]", "--vars is not a JSON object"),
        ('{"skip": "ksm,bogus"}', "unknown check id in stackrig_tune_skip bogus"),
        ('{"skip": 3}', "stackrig_tune_skip must be check ids"),
        ('{"root": 5}', "stackrig_tune_root must be a path"),
        ('{"root": "/nonexistent-root"}', "root /nonexistent-root is not a folder"),
    ],
)
def test_remote_bad_host_variables_come_back_as_errors(
    capsys: pytest.CaptureFixture[str], vars_: str, message: str
) -> None:
    code, doc = _main(capsys, "audit", "--vars", vars_)
    assert code == 2
    assert doc["ok"] is False
    assert message in doc["error"]["message"]
    run = _outcome("h", "failed", {"stdout": json.dumps(doc), "rc": 2})
    assert run.state is HostState.ERROR
    assert message in run.reason


def test_outcomes_without_a_result_line() -> None:
    unreachable = _outcome("h", "unreachable", {"msg": "Task failed: Failed to connect to the host via ssh"})
    assert unreachable == HostRun("h", HostState.UNREACHABLE, "Failed to connect to the host via ssh")
    noise = _outcome("h", "failed", {"stdout": "Traceback\n", "stderr": "boom\n", "rc": 1})
    assert noise.state is HostState.ERROR
    assert noise.reason == "boom"
    assert _outcome("h", "failed", {"rc": 5}).reason == "the script exited with 5 and printed no result"


def test_apply_and_revert_latest_step_back_one_backup_at_a_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(TREES / "hosts" / "legacy-hdd-numa", root)
    before = snapshot(root)
    data = tmp_path / "data"
    host = json.dumps({"root": str(root), "data_dir": str(data), "skip": "ksm"})
    code, doc = _main(capsys, "apply", "--vars", host, "--only", "swappiness", "--yes")
    assert code == 0
    first = doc["result"]["backup"]
    assert first.startswith(str(data / "tune" / "backups"))
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
    _main(capsys, "apply", "--vars", host, "--only", "zone-reclaim", "--yes")
    code, doc = _main(capsys, "apply", "--vars", host, "--only", "ksm", "--yes")
    assert doc["result"] == {"plan": None, "applied": False, "backup": None, "waived": ["ksm"]}
    code, doc = _main(capsys, "revert", "--vars", host)
    assert (root / "proc/sys/vm/zone_reclaim_mode").read_text() == "1\n"
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
    code, doc = _main(capsys, "revert", "--vars", host)
    assert doc["result"]["backup"] == first
    assert snapshot(root) == before
    code, doc = _main(capsys, "revert", "--vars", host)
    assert code == 0
    assert doc["result"]["backup"] is None
    assert "no backup of" in doc["result"]["reason"]


def test_latest_backup_ignores_other_roots_and_unreadable_files(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    roots = []
    for name in ("a", "b"):
        root = tmp_path / name
        shutil.copytree(TREES / "hosts" / "legacy-hdd-numa", root)
        roots.append(root)
        apply(ApplySettings(root=root, only=("swappiness",), yes=True, backups=backups))
    (backups / "tune-99999999T000000.000000Z.json").write_text("{broken")
    assert json.loads(latest_backup(backups, roots[0]).read_text())["root"] == str(roots[0])
    with pytest.raises(NoBackupError, match="no backup of"):
        latest_backup(backups, tmp_path / "c")


def test_local_revert_latest_and_its_bad_inputs(cli: Any, tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(TREES / "hosts" / "legacy-hdd-numa", root)
    before = snapshot(root)
    assert cli("tune", "apply", "--root", str(root), "--only", "swappiness", "--yes").returncode == 0
    done = cli("tune", "revert", "--latest", "--root", str(root), "--json")
    assert done.returncode == 0, done.stderr
    assert snapshot(root) == before
    again = cli("tune", "revert", "--latest", "--root", str(root))
    assert again.returncode == 2
    assert "no backup of" in again.stderr
    both = cli("tune", "revert", "x.json", "--latest")
    assert both.returncode == 2
    assert "give a backup file or --latest" in both.stderr
    assert snapshot(root) == before


def _audit(host: str, tree: str) -> HostAudit:
    report = run_audit(AuditSettings(root=TREES / "hosts" / tree))
    return HostAudit(host, HostState.OK, "", "3.11", report)


def test_compare_groups_and_majority() -> None:
    hosts = [_audit("n-10", "tuned-nvme"), _audit("n-2", "tuned-nvme"), _audit("n-3", "legacy-hdd-numa")]
    checks, matrix, groups, majority, differences = compare(hosts)
    assert [g.hosts for g in groups] == [("n-2", "n-10"), ("n-3",)]
    assert majority == "A"
    assert {d.check for d in differences} == {c for c in checks if matrix["n-3"][c] != matrix["n-2"][c]}
    assert all(d.host == "n-3" for d in differences)
    _c, _m, tie, none, nothing = compare(hosts[1:])
    assert none is None
    assert nothing == ()
    assert len(tie) == 2


def test_report_from_doc_round_trip_and_refusal() -> None:
    report = run_audit(AuditSettings(root=TREES / "hosts" / "tuned-nvme"))
    assert report_from_doc(report_doc(report)) == report
    with pytest.raises(ValueError, match="not an audit report"):
        report_from_doc({"findings": [{"status": "bogus"}]})


def test_natural_order() -> None:
    assert sorted(["cmp-10", "cmp-2", "cmp-1", "db"], key=natural_key) == ["cmp-1", "cmp-2", "cmp-10", "db"]
