"""Run the checks against a root and collect their findings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from stackrig.errors import UsageError
from stackrig.tune._host import Host, ReadError
from stackrig.tune._model import Finding, Profile, Severity, Status
from stackrig.tune.checks import CHECKS, Check

__all__ = [
    "AuditReport",
    "AuditSettings",
    "check_ids",
    "make_host",
    "run_audit",
    "run_check",
    "select_checks",
]

log = logging.getLogger("stackrig.tune")


@dataclass(frozen=True)
class AuditSettings:
    """What to audit: built once from the flags at the CLI edge."""

    root: Path = Path("/")
    profile: Profile = Profile.COMPUTE_HOST
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    instances_path: str | None = None
    # Waivers of one host from its inventory (stackrig_tune_skip), beside the --skip of the command.
    host_skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditReport:
    root: str
    profile: Profile
    findings: tuple[Finding, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when any check failed or could not read what it needs (exit 1)."""
        return any(f.status in (Status.FAIL, Status.ERROR) for f in self.findings)

    @property
    def partial(self) -> bool:
        return any(f.status is Status.ERROR for f in self.findings)


def _split(ids: tuple[str, ...]) -> list[str]:
    return [part.strip() for item in ids for part in item.split(",") if part.strip()]


def check_ids(ids: tuple[str, ...], what: str = "check id") -> list[str]:
    """Comma-separated or repeated ids, each known; an unknown one is a UsageError listing the known."""
    known = {c.id for c in CHECKS}
    wanted = _split(ids)
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise UsageError(
            f"unknown {what} {', '.join(sorted(set(unknown)))}",
            hint=f"known ids: {', '.join(c.id for c in CHECKS)} (stackrig tune checks)",
        )
    return wanted


def select_checks(only: tuple[str, ...], skip: tuple[str, ...]) -> tuple[list[Check], list[Check]]:
    """(checks to run, checks waived); unknown ids are a UsageError listing the known ones."""
    wanted, waived = check_ids(only), check_ids(skip)
    chosen = [c for c in CHECKS if not wanted or c.id in wanted]
    return [c for c in chosen if c.id not in waived], [c for c in chosen if c.id in waived]


def make_host(root: Path, profile: Profile, instances_path: str | None) -> Host:
    if not root.is_dir():
        raise UsageError(f"root {root} is not a folder")
    if not (root / "proc").is_dir() and not (root / "sys").is_dir():
        raise UsageError(
            f"root {root} holds neither proc/ nor sys/", hint="point --root at a copy of a host's /"
        )
    return Host(root=root, profile=profile, instances_path=instances_path)


def run_check(check: Check, host: Host) -> list[Finding]:
    """A check's findings; an unreadable file or a bug in the check becomes a finding, never a traceback."""
    try:
        return list(check.check(host))
    except ReadError as exc:
        return [check.unreadable(exc, expected="readable")]
    except Exception as exc:
        log.debug("check %s crashed", check.id, exc_info=True)
        return [
            Finding(
                id=f"internal-error[{check.id}]",
                check=check.id,
                title=check.title,
                severity=Severity.HIGH,
                status=Status.ERROR,
                current=f"{type(exc).__name__}: {exc}",
                expected="the check runs",
                reason="a bug in stackrig: please report it (stackrig -vv shows the traceback)",
                rationale=check.rationale,
                source=check.source,
            )
        ]


def run_audit(settings: AuditSettings, host: Host | None = None) -> AuditReport:
    run, waived = select_checks(settings.only, settings.skip)
    host_waived = set(check_ids(settings.host_skip, "check id in stackrig_tune_skip"))
    host = host or make_host(settings.root, settings.profile, settings.instances_path)
    findings: list[Finding] = []
    for check in CHECKS:
        if check in waived:
            findings.append(
                check.finding(Status.WAIVED, current="-", expected="-", reason="waived with --skip")
            )
        elif check in run and check.id in host_waived:
            reason = "waived for this host (inventory variable stackrig_tune_skip)"
            findings.append(check.finding(Status.WAIVED, current="-", expected="-", reason=reason))
        elif check in run:
            findings.extend(run_check(check, host))
    counts = {s.value: 0 for s in Status}
    for f in findings:
        counts[f.status.value] += 1
    return AuditReport(
        root=str(settings.root), profile=settings.profile, findings=tuple(findings), counts=counts
    )
