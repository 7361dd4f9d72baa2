"""zone-reclaim: vm.zone_reclaim_mode is 0 on NUMA hosts."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Change, Finding, Severity, Status
from stackrig.tune.checks._base import Check, sysctl_change, sysctl_path

_KEY = "vm.zone_reclaim_mode"


class ZoneReclaim(Check):
    id = "zone-reclaim"
    title = "Zone reclaim is off"
    severity = Severity.HIGH
    rationale = (
        "With zone reclaim on, a NUMA node short of free pages reclaims its own page cache (and may "
        "write or swap) instead of using free memory on the other node, which stalls guests."
    )
    source = "Linux kernel docs: Documentation/admin-guide/sysctl/vm.rst (zone_reclaim_mode)"

    def check(self, host: Host) -> Iterable[Finding]:
        value = host.read_int(sysctl_path(_KEY))
        nodes = len(host.numa_nodes())
        current = f"{_KEY}={value} on {nodes} NUMA node{'s' if nodes != 1 else ''}"
        if value == 0:
            return [self.finding(Status.PASS, current=current, expected="0")]
        if nodes < 2:
            return [
                self.finding(
                    Status.NA,
                    current=current,
                    expected="0",
                    reason="one NUMA node: zone reclaim has no effect",
                )
            ]
        return [
            self.finding(
                Status.FAIL,
                current=current,
                expected="0",
                reason="reclaims page cache on a node while the other has free memory",
                fix=f"sysctl -w {_KEY}=0",
            )
        ]

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        return [sysctl_change(host, finding, _KEY, "0")]
