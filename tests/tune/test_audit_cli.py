"""``stackrig tune audit`` and ``tune checks`` through the real console script."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stackrig.tune import AuditSettings, Status, run_audit
from tests.services import run_unprivileged

from .conftest import TREES

STATUSES = {s.value for s in Status}
STACKRIG = str(Path(sys.executable).parent / "stackrig")


def _assert_sane(doc: dict) -> None:  # type: ignore[type-arg]
    findings = doc["data"]["findings"]
    assert findings
    for f in findings:
        assert f["status"] in STATUSES
        assert not f["id"].startswith("internal-error"), f
        assert f["rationale"]
        assert f["source"]


def test_audit_of_this_machine_does_not_crash(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "audit", "--json")
    assert done.returncode in (0, 1), done.stderr
    doc = done.json()
    assert doc["command"] == "tune audit"
    _assert_sane(doc)
    failed = any(f["status"] in ("fail", "error") for f in doc["data"]["findings"])
    assert done.returncode == (1 if failed else 0)


def test_audit_of_this_machine_with_an_instances_path_and_guest_profile(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (["--instances-path", "/tmp"], ["--profile", "guest"], ["--instances-path", "/proc"]):
        done = cli("tune", "audit", "--json", *args)
        assert done.returncode in (0, 1), done.stderr
        _assert_sane(done.json())


def test_audit_of_this_machine_as_nobody_does_not_crash() -> None:
    done = run_unprivileged([STACKRIG, "tune", "audit", "--json"], env={"STACKRIG_HOME": "/nonexistent"})
    assert done.returncode in (0, 1), done.stderr
    _assert_sane(json.loads(done.stdout))


def test_audit_in_process_of_this_machine() -> None:
    report = run_audit(AuditSettings(instances_path="/"))
    ids = [f.id for f in report.findings]
    assert "instances-path[device]" in ids
    assert not [i for i in ids if i.startswith("internal-error")]


def test_tuned_host_passes_with_exit_0(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "audit", "--root", str(TREES / "hosts" / "tuned-nvme"), "--json")
    assert done.returncode == 0, done.stdout
    doc = done.json()
    assert doc["ok"] is True
    assert doc["data"]["counts"]["fail"] == 0


def test_legacy_host_fails_with_exit_1_and_explains(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "audit", "--root", str(TREES / "hosts" / "legacy-hdd-numa"))
    assert done.returncode == 1
    out = done.stdout
    assert "io-scheduler[sda]" in out
    assert "io-scheduler[sda] (medium): fail: hdd device uses cfq" in out
    assert "fix: echo deadline > /sys/block/sda/queue/scheduler" in out
    assert "why:" in out
    assert "fix: sysctl -w vm.zone_reclaim_mode=0" in out
    assert "Documentation/admin-guide/sysctl/vm.rst" in out


def test_legacy_host_json_statuses(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "audit", "--root", str(TREES / "hosts" / "legacy-hdd-numa"), "--json")
    doc = done.json()
    by_id = {f["id"]: f for f in doc["data"]["findings"]}
    assert by_id["io-scheduler[sda]"]["status"] == "fail"
    assert by_id["io-scheduler[sda]"]["expected"] == "deadline"
    assert by_id["io-scheduler[sdb]"]["expected"] == "noop or deadline"
    assert by_id["zone-reclaim"]["status"] == "fail"
    assert by_id["ksm"]["status"] == "fail"
    assert by_id["smt"]["status"] == "pass"
    assert by_id["numa-balancing"]["status"] == "warn"
    assert by_id["instances-path[noatime]"]["status"] == "warn"
    assert by_id["instances-path[device]"]["status"] == "pass"
    assert by_id["kvm[nested]"]["current"] == "nested=N (off)"


def test_only_and_skip(cli) -> None:  # type: ignore[no-untyped-def]
    root = str(TREES / "hosts" / "legacy-hdd-numa")
    done = cli("tune", "audit", "--root", root, "--only", "swappiness,ksm", "--skip", "ksm", "--json")
    assert done.returncode == 1
    findings = done.json()["data"]["findings"]
    assert [(f["id"], f["status"]) for f in findings] == [("ksm", "waived"), ("swappiness", "fail")]
    done = cli(
        "tune", "audit", "--root", root, "--skip", "swappiness", "--skip", "zone-reclaim,ksm,io-scheduler"
    )
    assert "waived" in done.stdout


def test_skipping_every_failure_exits_0(cli) -> None:  # type: ignore[no-untyped-def]
    root = str(TREES / "hosts" / "this-machine")
    done = cli("tune", "audit", "--root", root, "--skip", "io-scheduler,swappiness", "--json")
    assert done.returncode == 0, done.stdout


def test_unknown_check_id_is_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "audit", "--only", "swapiness", "--json")
    assert done.returncode == 2
    error = done.json()["error"]
    assert "unknown check id swapiness" in error["message"]
    assert "swappiness" in error["hint"]


def test_bad_roots(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "audit", "--root", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "is not a folder" in done.stderr
    done = cli("tune", "audit", "--root", str(tmp_path))
    assert done.returncode == 2
    assert "neither proc/ nor sys/" in done.stderr


def test_unreadable_file_is_an_error_finding_not_a_traceback(cli, host_copy) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("this-machine")
    swappiness = root / "proc/sys/vm/swappiness"
    swappiness.unlink()
    swappiness.mkdir()
    done = cli("tune", "audit", "--root", str(root), "--json")
    assert done.returncode == 1
    doc = done.json()
    assert doc["partial"] is True
    [finding] = [f for f in doc["data"]["findings"] if f["check"] == "swappiness"]
    assert finding["status"] == "error"
    assert finding["reason"] == "cannot read /proc/sys/vm/swappiness: it is a folder"
    assert "Traceback" not in done.stderr


def test_checks_lists_the_catalogue(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "checks", "--json")
    assert done.returncode == 0
    rows = done.json()["data"]["checks"]
    assert len(rows) == 12
    for row in rows:
        assert set(row) == {"id", "title", "severity", "rationale", "source"}
        assert row["severity"] in {"info", "low", "medium", "high"}
    text = cli("tune", "checks").stdout
    assert "zone-reclaim (high)" in text
    assert "source: " in text
