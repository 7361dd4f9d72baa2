"""dirty-ratios: when the kernel starts writing dirty pages back, and when it throttles writers."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host, ReadError
from stackrig.tune._model import Change, Finding, Profile, Severity, Status
from stackrig.tune.checks._base import Check, sysctl_change, sysctl_path

# key → per profile (largest value that passes, value to write)
_WANTED = {
    "vm.dirty_background_ratio": {Profile.COMPUTE_HOST: 5, Profile.GUEST: 10},
    "vm.dirty_ratio": {Profile.COMPUTE_HOST: 40, Profile.GUEST: 30},
}
_BYTES = {"vm.dirty_background_ratio": "vm.dirty_background_bytes", "vm.dirty_ratio": "vm.dirty_bytes"}


class DirtyRatios(Check):
    id = "dirty-ratios"
    title = "Dirty page write-back starts early and throttles late"
    severity = Severity.LOW
    rationale = (
        "On a host with much RAM, the default 10% background ratio lets gigabytes of guest writes pile up "
        "and then flush in one burst; starting write-back at 5% smooths guests' I/O."
    )
    source = (
        "Linux kernel docs: Documentation/admin-guide/sysctl/vm.rst (dirty_*); "
        "tuned virtual-host, virtual-guest"
    )

    def check(self, host: Host) -> Iterable[Finding]:
        findings = []
        for key, limits in _WANTED.items():
            limit = limits[host.profile]
            expected = f"<= {limit}"
            try:
                in_bytes = host.read_optional(sysctl_path(_BYTES[key]))
                if in_bytes is not None and in_bytes.strip() not in ("", "0"):
                    findings.append(
                        self.finding(
                            Status.NA,
                            current=f"{_BYTES[key]}={in_bytes.strip()}",
                            expected=expected,
                            reason=f"set in bytes: {key} is ignored",
                            key=key,
                        )
                    )
                    continue
                value = host.read_int(sysctl_path(key))
            except ReadError as exc:
                findings.append(self.unreadable(exc, expected=expected, key=key))
                continue
            if value <= limit:
                findings.append(self.finding(Status.PASS, current=str(value), expected=expected, key=key))
            else:
                findings.append(
                    self.finding(
                        Status.WARN,
                        current=str(value),
                        expected=expected,
                        reason=f"{key}={value}",
                        fix=f"sysctl -w {key}={limit}",
                        key=key,
                    )
                )
        return findings

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        key = finding.id[len(self.id) + 1 : -1]
        return [sysctl_change(host, finding, key, str(_WANTED[key][host.profile]))]
