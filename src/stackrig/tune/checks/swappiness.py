"""swappiness: vm.swappiness at most 10 on a host (30 in a guest)."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Change, Finding, Profile, Severity, Status
from stackrig.tune.checks._base import Check, sysctl_change, sysctl_path

_KEY = "vm.swappiness"
LIMIT = {Profile.COMPUTE_HOST: 10, Profile.GUEST: 30}


class Swappiness(Check):
    id = "swappiness"
    title = "The host keeps guest memory out of swap"
    severity = Severity.MEDIUM
    rationale = (
        "Guest RAM is anonymous memory of QEMU: a high swappiness swaps it out to keep page cache, and a "
        "guest touching swapped memory stalls; hosts keep it at 10 or lower, guests at 30."
    )
    source = (
        "Linux kernel docs: Documentation/admin-guide/sysctl/vm.rst (swappiness); "
        "tuned throughput-performance, virtual-guest"
    )

    def check(self, host: Host) -> Iterable[Finding]:
        value = host.read_int(sysctl_path(_KEY))
        limit = LIMIT[host.profile]
        expected = f"<= {limit}"
        if value <= limit:
            return [self.finding(Status.PASS, current=str(value), expected=expected)]
        status = Status.FAIL if host.profile is Profile.COMPUTE_HOST else Status.WARN
        return [
            self.finding(
                status,
                current=str(value),
                expected=expected,
                reason=f"swappiness {value} swaps guest memory early",
                fix=f"sysctl -w {_KEY}={limit}",
            )
        ]

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        return [sysctl_change(host, finding, _KEY, str(LIMIT[host.profile]))]
