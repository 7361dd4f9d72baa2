"""numa-balancing: automatic NUMA balancing on hosts with more than one node."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Change, Finding, Severity, Status
from stackrig.tune.checks._base import Check, sysctl_change, sysctl_path

_KEY = "kernel.numa_balancing"


class NumaBalancing(Check):
    id = "numa-balancing"
    title = "Automatic NUMA balancing moves guests' memory next to their CPUs"
    severity = Severity.LOW
    rationale = (
        "Guests that Nova does not pin to a NUMA node wander between nodes; automatic NUMA balancing "
        "migrates their memory to the node they run on, so memory access stays local."
    )
    source = (
        "Linux kernel docs: Documentation/admin-guide/sysctl/kernel.rst (numa_balancing); "
        "Nova docs: admin/cpu-topologies"
    )

    def check(self, host: Host) -> Iterable[Finding]:
        nodes = len(host.numa_nodes())
        text = host.read_optional(sysctl_path(_KEY))
        if text is None:
            return [
                self.finding(
                    Status.NA, current="absent", expected="1", reason="kernel without NUMA balancing"
                )
            ]
        value = host.read_int(sysctl_path(_KEY))
        current = f"{_KEY}={value} on {nodes} NUMA node{'s' if nodes != 1 else ''}"
        if nodes < 2:
            return [
                self.finding(
                    Status.NA, current=current, expected="1", reason="one NUMA node: nothing to balance"
                )
            ]
        if value != 0:
            return [self.finding(Status.PASS, current=current, expected="1")]
        return [
            self.finding(
                Status.WARN,
                current=current,
                expected="1 (0 only when every guest is pinned with hw:numa_nodes / hw:cpu_policy)",
                reason="unpinned guests keep memory on a remote node",
                fix=f"sysctl -w {_KEY}=1",
            )
        ]

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        return [sysctl_change(host, finding, _KEY, "1")]
