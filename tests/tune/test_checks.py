"""Every check against its pass/fail fixture trees, and the catalogue as a whole."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackrig.tune import CHECKS, Check, Finding, Host, Profile, Severity, Status
from stackrig.tune._host import parse_bracket, parse_cpu_list, render_bracket
from stackrig.tune.audit import run_check
from stackrig.tune.checks import by_id
from stackrig.tune.checks.instances_path import mount_of, parse_mountinfo

from .conftest import TREES

CHECKS_DIR = Path(__file__).resolve().parents[2] / "src" / "stackrig" / "tune" / "checks"
ID_PATTERN = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# Most severe first; n/a is the least (a tree whose findings are pass and n/a is a "pass" tree).
ORDER = [Status.ERROR, Status.FAIL, Status.WARN, Status.PASS, Status.NA]
PREFIX = {
    "error": Status.ERROR,
    "fail": Status.FAIL,
    "warn": Status.WARN,
    "pass": Status.PASS,
    "na": Status.NA,
}


def worst(findings: Iterable[Finding]) -> Status:
    return min((f.status for f in findings), key=ORDER.index)


CASES = sorted(
    (check_dir.name, case.name)
    for check_dir in TREES.iterdir()
    if check_dir.name != "hosts"
    for case in check_dir.iterdir()
)


@pytest.mark.parametrize(("check_id", "case"), CASES, ids=[f"{c}/{v}" for c, v in CASES])
def test_check_against_tree(check_id: str, case: str) -> None:
    check = by_id()[check_id]
    findings = run_check(check, Host(root=TREES / check_id / case))
    assert findings
    assert not [f for f in findings if f.id.startswith("internal-error")], findings
    expected = PREFIX[case.split("-", maxsplit=1)[0]]
    assert worst(findings) is expected, [(f.id, f.status, f.current, f.reason) for f in findings]
    for f in findings:
        assert f.check == check_id
        assert f.id == check_id or re.fullmatch(re.escape(check_id) + r"\[[^\]]+\]", f.id)
        if f.status in (Status.FAIL, Status.WARN, Status.NA, Status.ERROR):
            assert f.reason, f
        if f.status is Status.ERROR:
            assert "cannot read" in f.reason


def test_catalogue_is_pinned_and_well_formed() -> None:
    assert len(CHECKS) == 12, "a check was added or removed: update this count and its trees"
    ids = [c.id for c in CHECKS]
    assert len(set(ids)) == len(ids)
    for check in CHECKS:
        assert ID_PATTERN.fullmatch(check.id), check.id
        assert isinstance(check.severity, Severity)
        assert check.title
        assert check.title[0].isupper()
        assert len(check.rationale) > 40
        assert check.source
        assert (CHECKS_DIR / (check.id.replace("-", "_") + ".py")).is_file(), "one module per check"


def test_every_check_has_pass_and_bad_trees() -> None:
    for check in CHECKS:
        kinds = {p.name.split("-")[0] for p in (TREES / check.id).iterdir()}
        assert "pass" in kinds, check.id
        assert kinds & {"fail", "warn"}, check.id


def test_failing_findings_carry_a_fix() -> None:
    for check_id, case in CASES:
        if not case.startswith("fail-"):
            continue
        findings = run_check(by_id()[check_id], Host(root=TREES / check_id / case))
        failed = [f for f in findings if f.status is Status.FAIL]
        assert failed
        if case != "fail-no-wanted-scheduler":
            assert all(f.fix for f in failed), (check_id, case)


class _Crashing(Check):
    id = "crashing"
    title = "A check with a bug"
    severity = Severity.LOW
    rationale = "exists to prove a bug in a check becomes a finding, not a traceback"
    source = "tests"

    def check(self, host: Host) -> Iterable[Finding]:
        raise ZeroDivisionError("boom")


def test_a_crashing_check_is_an_internal_error_finding(tmp_path: Path) -> None:
    [finding] = run_check(_Crashing(), Host(root=tmp_path))
    assert finding.id == "internal-error[crashing]"
    assert finding.status is Status.ERROR
    assert "ZeroDivisionError: boom" in finding.current


def test_guest_profile() -> None:
    host = Host(root=TREES / "hosts" / "virtio-guest", profile=Profile.GUEST)
    results = {c.id: run_check(c, host) for c in CHECKS}
    for check_id in ("ksm", "smt", "kvm", "instances-path"):
        assert [f.status for f in results[check_id]] == [Status.NA]
    assert results["swappiness"][0].status is Status.PASS  # 30 is fine in a guest
    assert results["io-scheduler"][0].status is Status.PASS


def test_ksm_reports_saved_memory() -> None:
    [finding] = run_check(by_id()["ksm"], Host(root=TREES / "ksm" / "pass-overcommit-on"))
    assert "pages_sharing=25600" in finding.current
    assert "saves 100 MiB" in finding.current


def test_smt_reports_what_the_ratio_makes_of_threads() -> None:
    [finding] = run_check(by_id()["smt"], Host(root=TREES / "smt" / "pass-on-not-vulnerable"))
    assert "8 logical CPUs = 4 cores x 2 threads" in finding.current
    assert "cpu_allocation_ratio 4 -> 32 vCPUs, 8 per physical core" in finding.current


def test_legacy_scheduler_names() -> None:
    findings = run_check(by_id()["io-scheduler"], Host(root=TREES / "io-scheduler" / "fail-legacy-cfq"))
    assert findings[0].id == "io-scheduler[sda]"
    assert findings[0].expected == "deadline"
    assert findings[0].fix == "echo deadline > /sys/block/sda/queue/scheduler"


def test_bracket_round_trip() -> None:
    text = "noop deadline [cfq]\n"
    selected, choices = parse_bracket(text)
    assert (selected, choices) == ("cfq", ["noop", "deadline", "cfq"])
    assert render_bracket(choices, "cfq") == text
    assert render_bracket(choices, "deadline") == "noop [deadline] cfq\n"
    assert parse_bracket("none") == (None, ["none"])


def test_cpu_list() -> None:
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    with pytest.raises(ValueError, match="bad CPU range"):
        parse_cpu_list("5-2")


def test_mountinfo_escapes_and_longest_match() -> None:
    text = (
        "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "2 1 8:17 / /srv/nova\\040disks rw,noatime - xfs /dev/sdb1 rw\n"
        "garbage line\n"
    )
    mounts = parse_mountinfo(text)
    assert [m.point for m in mounts] == ["/", "/srv/nova disks"]
    found = mount_of("/srv/nova disks/instances", mounts)
    assert found is not None
    assert found.source == "/dev/sdb1"
    other = mount_of("/srv/nova", mounts)
    assert other is not None
    assert other.point == "/"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parsers_never_crash_on_garbage(text: str) -> None:
    parse_bracket(text)
    for mount in parse_mountinfo(text):
        assert mount.fstype
    with contextlib.suppress(ValueError):
        parse_cpu_list(text)
