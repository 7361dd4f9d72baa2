"""``tune apply`` / ``tune revert``: dry run, backup first, byte-exact round trip, refused writes, root."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackrig.tune import (
    ApplySettings,
    AuditSettings,
    Status,
    WriteRefusedError,
    execute,
    plan_changes,
    revert,
    run_audit,
)
from tests.services import run_unprivileged

from .conftest import snapshot

STACKRIG = str(Path(sys.executable).parent / "stackrig")
GOLDEN = Path(__file__).resolve().parent / "golden"
FIXABLE = (
    "io-scheduler",
    "transparent-hugepages",
    "ksm",
    "zone-reclaim",
    "swappiness",
    "dirty-ratios",
    "numa-balancing",
    "cpu-governor",
)


def test_dry_run_lists_writes_and_changes_nothing(cli, host_copy, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("legacy-hdd-numa")
    before = snapshot(root)
    done = cli("tune", "apply", "--root", str(root), "--persist", "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["applied"] is False
    assert data["backup"] is None
    changes = {c["path"]: (c["old"], c["new"]) for c in data["plan"]["changes"]}
    assert changes["proc/sys/vm/swappiness"] == ("60", "10")
    assert changes["sys/block/sda/queue/scheduler"] == ("cfq", "deadline")
    assert changes["sys/block/sdb/queue/scheduler"] == ("cfq", "noop")
    assert changes["sys/kernel/mm/ksm/run"] == ("0", "1")
    assert changes["sys/devices/system/cpu/cpu3/cpufreq/scaling_governor"] == ("powersave", "performance")
    persisted = {p["path"] for p in data["plan"]["persist"]}
    assert persisted == {
        "etc/sysctl.d/90-stackrig.conf",
        "etc/udev/rules.d/90-stackrig-scheduler.rules",
        "etc/tmpfiles.d/90-stackrig.conf",
    }
    assert {m["id"] for m in data["plan"]["manual"]} >= {"instances-path[noatime]"}
    assert snapshot(root) == before
    assert not data_dir.exists() or not any(data_dir.rglob("*.json"))
    text = cli("tune", "apply", "--root", str(root)).stdout
    assert "/proc/sys/vm/swappiness" in text
    assert "Dry run: nothing written" in text


def test_apply_then_revert_restores_every_byte(cli, host_copy, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("legacy-hdd-numa")
    before = snapshot(root)
    done = cli("tune", "apply", "--root", str(root), "--yes", "--persist", "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["applied"] is True
    backup = Path(data["backup"])
    assert backup.parent == data_dir / "tune" / "backups"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    saved = json.loads(backup.read_text())
    assert {c["path"] for c in saved["changes"]} == {c["path"] for c in data["plan"]["changes"]}

    # Byte for byte what the reviewed golden tree holds (tests/tune/build_trees.py writes it).
    assert snapshot(root) == snapshot(GOLDEN / "legacy-hdd-numa-applied")

    # The tree now reads as the kernel would after the writes: the fixable checks pass.
    report = run_audit(AuditSettings(root=root, only=FIXABLE))
    assert [f.id for f in report.findings if f.status is not Status.PASS and f.status is not Status.NA] == []
    assert (root / "sys/block/sda/queue/scheduler").read_text() == "noop [deadline] cfq\n"
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"
    sysctl = (root / "etc/sysctl.d/90-stackrig.conf").read_text()
    assert "vm.swappiness = 10\n" in sysctl
    assert "vm.zone_reclaim_mode = 0\n" in sysctl
    udev = (root / "etc/udev/rules.d/90-stackrig-scheduler.rules").read_text()
    assert 'KERNEL=="sda", ATTR{queue/scheduler}="deadline"' in udev
    tmpfiles = (root / "etc/tmpfiles.d/90-stackrig.conf").read_text()
    assert "w /sys/kernel/mm/ksm/run - - - - 1" in tmpfiles

    done = cli("tune", "revert", str(backup))
    assert done.returncode == 0, done.stderr
    assert "removed /etc/sysctl.d/90-stackrig.conf" in done.stdout
    assert snapshot(root) == before


def test_text_apply_prints_backup_and_undo(cli, host_copy) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("this-machine")
    done = cli("tune", "apply", "--root", str(root), "--only", "swappiness", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Backup: " in done.stdout
    assert "stackrig tune revert " in done.stdout
    assert (root / "proc/sys/vm/swappiness").read_text() == "10\n"


def test_nothing_to_apply(cli, host_copy, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("tuned-nvme")
    done = cli("tune", "apply", "--root", str(root), "--yes", "--json")
    assert done.returncode == 0
    assert done.json()["data"]["applied"] is False
    assert not (data_dir / "tune").exists()


def test_persist_merges_with_an_earlier_run(host_copy, tmp_path: Path) -> None:
    root = host_copy("legacy-hdd-numa")
    first = plan_changes(ApplySettings(root=root, only=("swappiness",), persist=True))
    execute(first, tmp_path / "backups")
    second = plan_changes(ApplySettings(root=root, only=("zone-reclaim",), persist=True))
    backup = execute(second, tmp_path / "backups")
    text = (root / "etc/sysctl.d/90-stackrig.conf").read_text()
    assert "vm.swappiness = 10" in text
    assert "vm.zone_reclaim_mode = 0" in text
    revert(backup)
    text = (root / "etc/sysctl.d/90-stackrig.conf").read_text()
    assert "vm.swappiness = 10" in text
    assert "zone_reclaim" not in text


def test_refused_write_mid_apply_leaves_the_tree_as_it_was(host_copy, tmp_path: Path) -> None:
    root = host_copy("legacy-hdd-numa")
    plan = plan_changes(ApplySettings(root=root))
    assert len(plan.changes) > 3
    # The kernel refuses the fourth write: a folder where its file was (plan made before).
    victim = root / plan.changes[3].path
    victim.unlink()
    victim.mkdir()
    before = snapshot(root)
    with pytest.raises(WriteRefusedError) as caught:
        execute(plan, tmp_path / "backups")
    assert plan.changes[3].path in caught.value.message
    assert "put back the 3 change(s)" in caught.value.message
    assert snapshot(root) == before


def test_refused_persist_write_through_the_cli(cli, host_copy) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("legacy-hdd-numa")
    (root / "etc/sysctl.d/90-stackrig.conf").mkdir(parents=True)
    before = snapshot(root)
    done = cli("tune", "apply", "--root", str(root), "--yes", "--persist", "--json")
    assert done.returncode == 1
    error = done.json()["error"]
    assert error["type"] == "WriteRefusedError"
    assert "etc/sysctl.d/90-stackrig.conf was refused" in error["message"]
    assert "nothing was changed" in error["message"]  # refused before any setting changed
    assert snapshot(root) == before


@pytest.fixture
def world_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="stackrig-tune-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_not_root_on_the_live_machine_exits_3(world_dir: Path) -> None:
    home = world_dir / "home"
    home.mkdir()
    home.chmod(0o777)
    swappiness = Path("/proc/sys/vm/swappiness").read_text()
    done = run_unprivileged(
        [STACKRIG, "tune", "apply", "--yes", "--persist"], env={**os.environ, "STACKRIG_HOME": str(home)}
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "needs root; nothing was written" in done.stderr
    assert list(home.rglob("*")) == []
    assert Path("/proc/sys/vm/swappiness").read_text() == swappiness
    assert not Path("/etc/sysctl.d/90-stackrig.conf").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_not_root_revert_of_a_live_backup_exits_3(world_dir: Path) -> None:
    backup = world_dir / "live.json"
    live = {"stackrig_tune_backup": 1, "root": "/", "live": True, "changes": [], "persist": []}
    backup.write_text(json.dumps(live))
    backup.chmod(0o644)
    done = run_unprivileged([STACKRIG, "tune", "revert", str(backup)])
    assert done.returncode == 3
    assert "restoring the running kernel's settings needs root" in done.stderr


def test_dry_run_needs_no_root_and_writes_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    swappiness = Path("/proc/sys/vm/swappiness").read_text()
    done = cli("tune", "apply", "--json")
    assert done.returncode == 0
    assert done.json()["data"]["plan"]["live"] is True
    assert Path("/proc/sys/vm/swappiness").read_text() == swappiness


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"stackrig_tune_backup": 99}', "is not a stackrig tune backup"),
        ('{"stackrig_tune_backup": 1, "root": "/x", "live": false}', "is damaged"),
        (
            '{"stackrig_tune_backup": 1, "root": "/x", "live": false, '
            '"changes": [{"path": 1}], "persist": []}',
            "is damaged",
        ),
    ],
)
def test_bad_backup_files(cli, tmp_path: Path, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    backup = tmp_path / "b.json"
    backup.write_text(content)
    done = cli("tune", "revert", str(backup), "--json")
    assert done.returncode == 2
    assert message in done.json()["error"]["message"]
    assert backup.read_text() == content


def test_missing_backup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "revert", str(tmp_path / "nope.json"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_revert_reports_what_it_cannot_restore(host_copy, tmp_path: Path) -> None:
    root = host_copy("this-machine")
    backup = execute(plan_changes(ApplySettings(root=root, only=("swappiness",))), tmp_path / "b")
    target = root / "proc/sys/vm/swappiness"
    target.unlink()
    target.mkdir()
    from stackrig.errors import FailedError

    with pytest.raises(FailedError, match="could not restore 1 setting"):
        revert(backup)


def test_apply_unknown_check_id(cli, host_copy) -> None:  # type: ignore[no-untyped-def]
    root = host_copy("this-machine")
    before = snapshot(root)
    done = cli("tune", "apply", "--root", str(root), "--only", "nope", "--yes")
    assert done.returncode == 2
    assert "unknown check id nope" in done.stderr
    assert snapshot(root) == before


def test_guest_profile_plans_guest_values(host_copy) -> None:
    from stackrig.tune import Profile

    root = host_copy("this-machine")
    plan = plan_changes(ApplySettings(root=root, profile=Profile.GUEST, only=("swappiness", "dirty-ratios")))
    assert {(c.path, c.new) for c in plan.changes} == {("proc/sys/vm/swappiness", "30")}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_dry_run_as_nobody_shows_the_plan(world_dir: Path) -> None:
    home = world_dir / "home"
    done = run_unprivileged(
        [STACKRIG, "tune", "apply", "--json"], env={**os.environ, "STACKRIG_HOME": str(home)}
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)["data"]["plan"]
    assert plan["live"] is True
    assert not home.exists()


def test_a_symlink_out_of_the_tree_is_refused(host_copy, tmp_path: Path) -> None:
    root = host_copy("this-machine")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "swappiness").write_text("60\n")
    target = root / "proc/sys/vm/swappiness"
    target.unlink()
    target.symlink_to(outside / "swappiness")
    before = snapshot(root)
    plan = plan_changes(ApplySettings(root=root, only=("swappiness", "dirty-ratios")))
    with pytest.raises(WriteRefusedError, match="leads outside"):
        execute(plan, tmp_path / "backups")
    assert (outside / "swappiness").read_text() == "60\n"
    assert snapshot(root) == before
