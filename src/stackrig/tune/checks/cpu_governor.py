"""cpu-governor: the CPU frequency governor keeps cores at full speed on a host."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Change, Finding, Profile, Severity, Status, Style
from stackrig.tune.checks._base import Check

_CPU = "sys/devices/system/cpu"
_CPU_DIR = re.compile(r"cpu\d+")
WANTED = "performance"


class CpuGovernor(Check):
    id = "cpu-governor"
    title = "CPU frequency governor is performance"
    severity = Severity.LOW
    rationale = (
        "Power-saving governors lower the clock between bursts, so a guest's vCPU waits for the core to "
        "speed up; a host serving guests keeps the performance governor."
    )
    source = "Linux kernel docs: Documentation/admin-guide/pm/cpufreq.rst; tuned throughput-performance"

    def _governors(self, host: Host) -> dict[str, str]:
        found: dict[str, str] = {}
        for name in host.listdir(_CPU):
            if _CPU_DIR.fullmatch(name):
                text = host.read_optional(f"{_CPU}/{name}/cpufreq/scaling_governor")
                if text is not None:
                    found[name] = text.strip()
        return found

    def check(self, host: Host) -> Iterable[Finding]:
        governors = self._governors(host)
        if not governors:
            return [
                self.finding(
                    Status.NA,
                    current="no cpufreq",
                    expected=WANTED,
                    reason="no cpufreq driver: the firmware or the hypervisor sets the clock",
                )
            ]
        counts: dict[str, int] = {}
        for governor in governors.values():
            counts[governor] = counts.get(governor, 0) + 1
        current = ", ".join(f"{g} on {n} CPU{'s' if n != 1 else ''}" for g, n in sorted(counts.items()))
        if set(counts) == {WANTED}:
            return [self.finding(Status.PASS, current=current, expected=WANTED)]
        return [
            self.finding(
                Status.WARN if host.profile is Profile.COMPUTE_HOST else Status.NA,
                current=current,
                expected=WANTED,
                reason="vCPUs wait for cores to clock up"
                if host.profile is Profile.COMPUTE_HOST
                else "a guest",
                fix=f"for g in /{_CPU}/cpu*/cpufreq/scaling_governor; do echo {WANTED} > $g; done",
            )
        ]

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        changes = []
        for name, governor in self._governors(host).items():
            available = host.read_optional(f"{_CPU}/{name}/cpufreq/scaling_available_governors") or ""
            if governor == WANTED or WANTED not in available.split():
                continue
            rel = f"{_CPU}/{name}/cpufreq/scaling_governor"
            raw = host.read(rel)
            changes.append(
                Change(finding=finding.id, path=rel, old=governor, new=WANTED, old_raw=raw, style=Style.PLAIN)
            )
        return changes
