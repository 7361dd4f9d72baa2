"""hugepages: static huge pages reserved at boot, and whether guests use them."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Finding, Severity, Status
from stackrig.tune.checks._base import Check


class Hugepages(Check):
    id = "hugepages"
    title = "Static huge pages are used, not stranded"
    severity = Severity.LOW
    rationale = (
        "Static huge pages are taken from RAM at boot and serve only guests whose flavor asks for "
        "hw:mem_page_size; reserved but unused they are memory nobody can use, and exhausted they stop "
        "such guests from starting."
    )
    source = "Linux kernel docs: Documentation/admin-guide/mm/hugetlbpage.rst; Nova docs: admin/huge-pages"

    def check(self, host: Host) -> Iterable[Finding]:
        info = host.meminfo()
        total = info.get("HugePages_Total", 0)
        free = info.get("HugePages_Free", 0)
        size_kb = info.get("Hugepagesize", 2048)
        mib = total * size_kb // 1024
        current = f"HugePages_Total={total} HugePages_Free={free} ({size_kb} kB each, {mib} MiB reserved)"
        expected = "none reserved, or reserved and partly in use"
        if total == 0:
            return [
                self.finding(
                    Status.PASS,
                    current=current,
                    expected=expected,
                    reason="no static huge pages: guests use transparent huge pages",
                )
            ]
        if free == total:
            return [
                self.finding(
                    Status.WARN,
                    current=current,
                    expected=expected,
                    reason=f"{mib} MiB reserved and unused: only flavors with hw:mem_page_size use them",
                    fix="echo 0 > /proc/sys/vm/nr_hugepages  # or give flavors hw:mem_page_size=large",
                )
            ]
        if free == 0:
            return [
                self.finding(
                    Status.WARN,
                    current=current,
                    expected=expected,
                    reason="every static huge page is in use: the next hw:mem_page_size guest cannot start",
                    fix=f"echo {total * 2} > /proc/sys/vm/nr_hugepages",
                )
            ]
        used = (total - free) * 100 // total
        return [self.finding(Status.PASS, current=current, expected=expected, reason=f"{used}% in use")]
