"""hugepages: static huge pages reserved (of every size), and whether guests use them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stackrig.tune._host import Host
from stackrig.tune._model import Finding, Severity, Status
from stackrig.tune.checks._base import Check

_DIR = "sys/kernel/mm/hugepages"
_SIZE_DIR = re.compile(r"hugepages-(\d+)kB")


def pools(host: Host) -> list[tuple[int, int, int]]:
    """(page size in kB, total, free) per huge page size; from /sys, else /proc/meminfo's default size."""
    found = []
    for name in host.listdir(_DIR):
        match = _SIZE_DIR.fullmatch(name)
        if match:
            total = host.read_int(f"{_DIR}/{name}/nr_hugepages")
            free = host.read_int(f"{_DIR}/{name}/free_hugepages")
            found.append((int(match.group(1)), total, free))
    if found:
        return sorted(found)
    info = host.meminfo()
    return [(info.get("Hugepagesize", 2048), info.get("HugePages_Total", 0), info.get("HugePages_Free", 0))]


def _size(kb: int) -> str:
    # Not stackrig._units: checks also run on hosts' Python 3.9 (tune's zipapp), stdlib only.
    for unit, size in (("GiB", 1024 * 1024), ("MiB", 1024)):
        if kb >= size:
            return f"{kb // size} {unit}"
    return f"{kb} KiB"  # 64 KiB pages (arm64)


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
        found = pools(host)
        current = "; ".join(
            f"{_size(kb)} pages: HugePages_Total={total} HugePages_Free={free} "
            f"({total * kb // 1024} MiB reserved)"
            for kb, total, free in found
        )
        expected = "none reserved, or reserved and partly in use"
        reserved = [(kb, total, free) for kb, total, free in found if total > 0]
        if not reserved:
            reason = "no static huge pages: guests use transparent huge pages"
            return [self.finding(Status.PASS, current=current, expected=expected, reason=reason)]
        unused = [(kb, total) for kb, total, free in reserved if free == total]
        if unused:
            kb, total = unused[0]
            return [
                self.finding(
                    Status.WARN,
                    current=current,
                    expected=expected,
                    reason=f"{total * kb // 1024} MiB of {_size(kb)} pages reserved and unused: only flavors "
                    "with hw:mem_page_size use them",
                    fix=f"echo 0 > /{_DIR}/hugepages-{kb}kB/nr_hugepages  # or give flavors hw:mem_page_size",
                )
            ]
        full = [(kb, total) for kb, total, free in reserved if free == 0]
        if full:
            kb, total = full[0]
            return [
                self.finding(
                    Status.WARN,
                    current=current,
                    expected=expected,
                    reason=f"every {_size(kb)} huge page is in use: the next hw:mem_page_size guest "
                    "cannot start",
                    fix=f"echo {total * 2} > /{_DIR}/hugepages-{kb}kB/nr_hugepages",
                )
            ]
        used = ", ".join(
            f"{_size(kb)}: {(total - free) * 100 // total}% in use" for kb, total, free in reserved
        )
        return [self.finding(Status.PASS, current=current, expected=expected, reason=used)]
