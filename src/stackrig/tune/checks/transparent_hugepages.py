"""transparent-hugepages: THP enabled for guest memory, without synchronous compaction stalls."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host, ReadError, parse_bracket
from stackrig.tune._model import Change, Finding, Profile, Severity, Status, Style
from stackrig.tune.checks._base import Check

_DIR = "sys/kernel/mm/transparent_hugepage"
# setting → (values that pass, value to write)
_WANTED = {
    "enabled": (("always", "madvise"), "madvise"),
    "defrag": (("madvise", "defer+madvise", "defer"), "madvise"),
}


class TransparentHugepages(Check):
    id = "transparent-hugepages"
    title = "Transparent huge pages back guest memory"
    severity = Severity.MEDIUM
    rationale = (
        "QEMU asks for huge pages on guest RAM with madvise, which cuts TLB misses of two-level paging; "
        "enabled=never forbids it, and defrag=always makes every process stall on compaction."
    )
    source = "Linux kernel docs: Documentation/admin-guide/mm/transhuge.rst; tuned throughput-performance"

    def check(self, host: Host) -> Iterable[Finding]:
        if not host.exists(_DIR):
            return [
                self.finding(
                    Status.NA,
                    current="absent",
                    expected="-",
                    reason="kernel built without transparent huge pages",
                )
            ]
        findings = []
        for setting, (good, target) in _WANTED.items():
            expected = " or ".join(good)
            try:
                selected, _choices = parse_bracket(host.read(f"{_DIR}/{setting}"))
            except ReadError as exc:
                findings.append(self.unreadable(exc, expected=expected, key=setting))
                continue
            if selected in good:
                findings.append(
                    self.finding(Status.PASS, current=str(selected), expected=expected, key=setting)
                )
                continue
            bad = (
                Status.FAIL if setting == "enabled" and host.profile is Profile.COMPUTE_HOST else Status.WARN
            )
            findings.append(
                self.finding(
                    bad,
                    current=str(selected),
                    expected=expected,
                    reason=f"{setting}={selected}",
                    fix=f"echo {target} > /{_DIR}/{setting}",
                    key=setting,
                )
            )
        return findings

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        setting = finding.id[len(self.id) + 1 : -1]
        good, target = _WANTED[setting]
        rel = f"{_DIR}/{setting}"
        raw = host.read(rel)
        selected, choices = parse_bracket(raw)
        if selected is None or selected in good or target not in choices:
            return []
        return [
            Change(finding=finding.id, path=rel, old=selected, new=target, old_raw=raw, style=Style.BRACKET)
        ]
