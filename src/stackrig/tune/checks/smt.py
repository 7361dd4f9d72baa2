"""smt: hyper-threading, sibling threads, and what Nova's CPU allocation ratio makes of them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stackrig.tune._host import Host, ReadError, parse_cpu_list
from stackrig.tune._model import Finding, Profile, Severity, Status
from stackrig.tune.checks._base import Check

_CPU = "sys/devices/system/cpu"
NOVA_INITIAL_CPU_RATIO = 16.0
_CPU_DIR = re.compile(r"cpu\d+")


class Smt(Check):
    id = "smt"
    title = "Hyper-threading is safe for the guests that share cores"
    severity = Severity.MEDIUM
    rationale = (
        "With SMT on, Nova counts each hardware thread as a CPU, so two vCPUs on sibling threads share "
        "one core; on CPUs whose flaws read 'SMT vulnerable' (L1TF, MDS) guests of different tenants on "
        "siblings can read each other's data."
    )
    source = (
        "Linux kernel docs: Documentation/admin-guide/hw-vuln/l1tf.rst, mds.rst; "
        "Nova docs: admin/cpu-topologies"
    )

    def check(self, host: Host) -> Iterable[Finding]:
        if host.profile is Profile.GUEST:
            return [self.finding(Status.NA, current="-", expected="-", reason="SMT is the host's decision")]
        control = (host.read_optional(f"{_CPU}/smt/control") or "").strip() or "unknown"
        groups: set[tuple[int, ...]] = set()
        for name in host.listdir(_CPU):
            if not _CPU_DIR.fullmatch(name):
                continue
            text = host.read_optional(f"{_CPU}/{name}/topology/thread_siblings_list")
            if text is None:
                continue  # offline CPU: no topology
            try:
                groups.add(tuple(parse_cpu_list(text)))
            except ValueError as exc:
                raise ReadError(host.shown(f"{_CPU}/{name}/topology/thread_siblings_list"), str(exc)) from exc
        if not groups:
            raise ReadError(host.shown(f"{_CPU}/cpu*/topology/thread_siblings_list"), "no CPU topology found")
        threads = sum(len(g) for g in groups)
        per_core = max(len(g) for g in groups)
        smt_on = per_core > 1
        ordered = sorted(groups)
        siblings = " ".join(",".join(map(str, g)) for g in ordered[:4]) + (" ..." if len(ordered) > 4 else "")
        ratio = host.nova_ratio("cpu_allocation_ratio")
        ratio_text = (
            f"{ratio:g}" if ratio is not None else f"{NOVA_INITIAL_CPU_RATIO:g} (Nova's initial default)"
        )
        vcpus = threads * (ratio if ratio is not None else NOVA_INITIAL_CPU_RATIO)
        current = (
            f"SMT {'on' if smt_on else 'off'} (control={control}): {threads} logical CPUs = "
            f"{len(groups)} cores x {per_core} threads; siblings {siblings}; "
            f"cpu_allocation_ratio {ratio_text} "
            f"-> {vcpus:g} vCPUs, {vcpus / len(groups):g} per physical core"
        )
        expected = "SMT off, or on without 'SMT vulnerable' CPU flaws"
        if not smt_on:
            return [self.finding(Status.PASS, current=current, expected=expected)]
        vulnerable = []
        for flaw in host.listdir(f"{_CPU}/vulnerabilities"):
            text = host.read_optional(f"{_CPU}/vulnerabilities/{flaw}") or ""
            if "SMT vulnerable" in text:
                vulnerable.append(flaw)
        if not vulnerable:
            return [self.finding(Status.PASS, current=current, expected=expected)]
        return [
            self.finding(
                Status.WARN,
                current=current,
                expected=expected,
                reason=f"SMT vulnerable: {', '.join(vulnerable)}; keep tenants off sibling threads "
                "(hw:cpu_thread_policy=isolate) or turn SMT off",
                fix=f"echo off > /{_CPU}/smt/control",
            )
        ]
