"""The tune audit, apply and revert across every host of an Ansible inventory.

Each host runs the same checks as ``stackrig tune audit`` (see :mod:`stackrig.tune._ansible`);
this module turns their answers into a matrix of hosts x checks, groups the hosts
whose results are identical, and names the hosts (and checks) that differ from the
majority. Hosts that could not be audited are listed with the reason.

Exit rule (the design's partial results): 1 when any audited host has a failing
check, any host could not be audited, or any host was unreachable; ``allow_partial``
waives unreachable hosts only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackrig.errors import ExitCode
from stackrig.tune._ansible import FleetTarget, HostRun, HostState, natural_key, run_on_hosts
from stackrig.tune._model import Finding, Profile, Severity, Status
from stackrig.tune.audit import AuditReport, check_ids
from stackrig.tune.checks import CHECKS

__all__ = [
    "Difference",
    "FleetAudit",
    "FleetChange",
    "HostAudit",
    "HostGroup",
    "fleet_apply",
    "fleet_audit",
    "fleet_revert",
    "report_from_doc",
]

# The cell of a check whose findings disagree is the worst of them.
_RANK = {Status.FAIL: 5, Status.ERROR: 4, Status.WARN: 3, Status.PASS: 2, Status.NA: 1, Status.WAIVED: 0}


@dataclass(frozen=True, slots=True)
class HostAudit:
    host: str
    state: HostState
    reason: str
    python: str | None
    report: AuditReport | None


@dataclass(frozen=True, slots=True)
class HostGroup:
    """Hosts whose every check has the same status; ``label`` A is the largest group."""

    label: str
    hosts: tuple[str, ...]
    results: dict[str, Status]


@dataclass(frozen=True, slots=True)
class Difference:
    host: str
    check: str
    status: Status
    majority: Status


@dataclass(frozen=True, slots=True)
class FleetAudit:
    inventory: str
    limit: str | None
    checks: tuple[str, ...]
    hosts: tuple[HostAudit, ...]
    matrix: dict[str, dict[str, Status]]
    groups: tuple[HostGroup, ...]
    majority: str | None
    differences: tuple[Difference, ...]
    counts: dict[str, int]

    @property
    def failed_hosts(self) -> tuple[str, ...]:
        """Audited hosts with a failing check (or one that could not read what it needs)."""
        return tuple(h.host for h in self.hosts if h.report is not None and h.report.failed)

    @property
    def partial(self) -> bool:
        return any(h.state is not HostState.OK for h in self.hosts)

    def exit_code(self, *, allow_partial: bool) -> ExitCode:
        return _exit_code(self.failed_hosts, [(h.host, h.state) for h in self.hosts], allow_partial)

    def problems(self) -> list[str]:
        """One line per host that could not be audited, for stderr."""
        return [f"{h.host}: {h.state.value}: {h.reason}" for h in self.hosts if h.state is not HostState.OK]


def _exit_code(
    failed: Sequence[str], states: Sequence[tuple[str, HostState]], allow_partial: bool
) -> ExitCode:
    waived = {HostState.OK, HostState.UNREACHABLE} if allow_partial else {HostState.OK}
    if failed or any(state not in waived for _host, state in states):
        return ExitCode.FAILED
    return ExitCode.OK


def report_from_doc(doc: Any) -> AuditReport:
    """An AuditReport back from its JSON (what a host printed); ValueError when it is not one."""
    try:
        findings = tuple(
            Finding(**{**f, "severity": Severity(f["severity"]), "status": Status(f["status"])})
            for f in doc["findings"]
        )
        return AuditReport(
            root=str(doc["root"]),
            profile=Profile(doc["profile"]),
            findings=findings,
            counts={str(k): int(v) for k, v in doc["counts"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an audit report ({type(exc).__name__}: {exc})") from exc


def _host_audit(run: HostRun) -> HostAudit:
    if run.state is not HostState.OK:
        return HostAudit(run.host, run.state, run.reason, run.python, None)
    try:
        report = report_from_doc(run.result)
    except ValueError as exc:
        return HostAudit(run.host, HostState.ERROR, f"answered with {exc}", run.python, None)
    return HostAudit(run.host, run.state, "", run.python, report)


def _cells(report: AuditReport) -> dict[str, Status]:
    cells: dict[str, Status] = {}
    for finding in report.findings:
        old = cells.get(finding.check)
        if old is None or _RANK[finding.status] > _RANK[old]:
            cells[finding.check] = finding.status
    return cells


def _label(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"G{index + 1}"


def compare(
    hosts: Sequence[HostAudit],
) -> tuple[
    tuple[str, ...], dict[str, dict[str, Status]], tuple[HostGroup, ...], str | None, tuple[Difference, ...]
]:
    """(checks, matrix, groups, majority label, differences) of the audited hosts."""
    matrix = {h.host: _cells(h.report) for h in hosts if h.report is not None}
    seen = {check for cells in matrix.values() for check in cells}
    checks = tuple(c.id for c in CHECKS if c.id in seen)
    by_key: dict[tuple[Status | None, ...], list[str]] = {}
    for name, cells in matrix.items():
        by_key.setdefault(tuple(cells.get(c) for c in checks), []).append(name)
    members = {key: sorted(hosts, key=natural_key) for key, hosts in by_key.items()}
    ordered = sorted(members.items(), key=lambda kv: (-len(kv[1]), natural_key(kv[1][0])))
    groups = tuple(
        HostGroup(
            _label(i), tuple(members), {c: s for c, s in zip(checks, key, strict=True) if s is not None}
        )
        for i, (key, members) in enumerate(ordered)
    )
    majority = None
    if groups and (len(groups) == 1 or len(groups[0].hosts) > len(groups[1].hosts)):
        majority = groups[0]
    differences: list[Difference] = []
    if majority is not None:
        for group in groups[1:]:
            for host in group.hosts:
                for check in checks:
                    mine, theirs = matrix[host].get(check), majority.results.get(check)
                    if mine != theirs and mine is not None and theirs is not None:
                        differences.append(Difference(host, check, mine, theirs))
    differences.sort(key=lambda d: natural_key(d.host))
    return checks, matrix, groups, majority.label if majority else None, tuple(differences)


def fleet_audit(
    target: FleetTarget,
    *,
    profile: Profile = Profile.COMPUTE_HOST,
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    instances_path: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> FleetAudit:
    """Audit every host of the inventory (under --limit) and compare them."""
    args = ["--profile", profile.value]
    args += [a for i in check_ids(only) for a in ("--only", i)]
    args += [a for i in check_ids(skip) for a in ("--skip", i)]
    if instances_path:
        args += ["--instances-path", instances_path]
    hosts = tuple(_host_audit(run) for run in run_on_hosts(target, "audit", args, environ=environ))
    checks, matrix, groups, majority, differences = compare(hosts)
    counts = {"hosts": len(hosts)} | {s.value: sum(h.state is s for h in hosts) for s in HostState}
    return FleetAudit(
        inventory=str(target.inventory),
        limit=target.limit,
        checks=checks,
        hosts=hosts,
        matrix=matrix,
        groups=groups,
        majority=majority,
        differences=differences,
        counts=counts,
    )


@dataclass(frozen=True, slots=True)
class FleetChange:
    """``tune apply`` / ``tune revert`` on every host: what each host answered (its command's data)."""

    action: str
    inventory: str
    applied: bool
    hosts: tuple[HostRun, ...]

    @property
    def partial(self) -> bool:
        return any(h.state is not HostState.OK for h in self.hosts)

    def exit_code(self, *, allow_partial: bool) -> ExitCode:
        return _exit_code((), [(h.host, h.state) for h in self.hosts], allow_partial)

    def problems(self) -> list[str]:
        return [f"{h.host}: {h.state.value}: {h.reason}" for h in self.hosts if h.state is not HostState.OK]


def fleet_apply(
    target: FleetTarget,
    *,
    only: tuple[str, ...],
    yes: bool = False,
    persist: bool = False,
    profile: Profile = Profile.COMPUTE_HOST,
    instances_path: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> FleetChange:
    """Plan (dry run) or apply the fixes of ``only`` on every host, each with its own backup there."""
    args = ["--profile", profile.value, *(a for i in check_ids(only) for a in ("--only", i))]
    args += ["--yes"] if yes else []
    args += ["--persist"] if persist else []
    args += ["--instances-path", instances_path] if instances_path else []
    runs = tuple(run_on_hosts(target, "apply", args, environ=environ))
    return FleetChange("apply", str(target.inventory), yes, runs)


def fleet_revert(target: FleetTarget, *, environ: Mapping[str, str] | None = None) -> FleetChange:
    """Revert each host's latest backup of its root (kept on that host)."""
    runs = tuple(run_on_hosts(target, "revert", [], environ=environ))
    return FleetChange("revert", str(target.inventory), True, runs)
