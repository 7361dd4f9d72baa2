"""ksm: kernel same-page merging, and whether it earns its CPU on this host."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Change, Finding, Profile, Severity, Status, Style
from stackrig.tune.checks._base import Check

_DIR = "sys/kernel/mm/ksm"
PAGE_SIZE = 4096
_MODES = {0: "stopped", 1: "running", 2: "unmerging"}


class Ksm(Check):
    id = "ksm"
    title = "KSM runs when RAM is overcommitted"
    severity = Severity.MEDIUM
    rationale = (
        "KSM merges identical guest pages so more guests fit when Nova overcommits RAM "
        "(ram_allocation_ratio > 1); without overcommit its scanning only costs CPU."
    )
    source = (
        "Linux kernel docs: Documentation/admin-guide/mm/ksm.rst; Nova docs: admin/configuration/schedulers"
    )

    def _ratio(self, host: Host) -> float | None:
        return host.nova_ratio("ram_allocation_ratio")

    def check(self, host: Host) -> Iterable[Finding]:
        if host.profile is Profile.GUEST:
            return [
                self.finding(
                    Status.NA, current="-", expected="-", reason="KSM matters on the host, not in a guest"
                )
            ]
        run_text = host.read_optional(f"{_DIR}/run")
        if run_text is None:
            return [
                self.finding(Status.NA, current="absent", expected="-", reason="kernel built without KSM")
            ]
        run = host.read_int(f"{_DIR}/run")
        shared = host.read_int(f"{_DIR}/pages_shared")
        sharing = host.read_int(f"{_DIR}/pages_sharing")
        saved = sharing * PAGE_SIZE // (1024 * 1024)
        current = (
            f"{_MODES.get(run, run)} (run={run}), pages_shared={shared}, "
            f"pages_sharing={sharing}, saves {saved} MiB"
        )
        ratio = self._ratio(host)
        if ratio is None:
            return [
                self.finding(
                    Status.NA,
                    current=current,
                    expected="running when RAM is overcommitted",
                    reason="no ram_allocation_ratio in /etc/nova/nova.conf: "
                    "cannot tell whether RAM is overcommitted",
                )
            ]
        if ratio > 1.0:
            expected = f"running (ram_allocation_ratio {ratio:g} overcommits RAM)"
            if run == 1:
                return [self.finding(Status.PASS, current=current, expected=expected)]
            return [
                self.finding(
                    Status.FAIL,
                    current=current,
                    expected=expected,
                    reason=f"RAM is overcommitted {ratio:g}x but KSM is not merging pages",
                    fix=f"echo 1 > /{_DIR}/run",
                )
            ]
        expected = f"stopped (ram_allocation_ratio {ratio:g}: no overcommit)"
        if run != 1:
            return [self.finding(Status.PASS, current=current, expected=expected)]
        return [
            self.finding(
                Status.WARN,
                current=current,
                expected=expected,
                reason=f"RAM is not overcommitted; KSM scanning costs CPU to save {saved} MiB",
                fix=f"echo 0 > /{_DIR}/run",
            )
        ]

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        ratio = self._ratio(host)
        if ratio is None:
            return []
        rel = f"{_DIR}/run"
        raw = host.read(rel)
        new = "1" if ratio > 1.0 else "0"
        if raw.strip() == new:
            return []
        return [
            Change(finding=finding.id, path=rel, old=raw.strip(), new=new, old_raw=raw, style=Style.PLAIN)
        ]
