"""What every check is: a class with a stable id, a title, a severity, a why and its source."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from stackrig.tune._host import Host, ReadError
from stackrig.tune._model import Change, Finding, Severity, Status, Style

__all__ = ["Check", "sysctl_change", "sysctl_path"]


class Check:
    """Base of every check. Subclasses set the class attributes and implement :meth:`check`.

    ``check`` returns one finding, or one per device/node with a sub-key
    (``io-scheduler[vda]``). ``plan_fix`` returns the writes that would turn a
    failed or warned finding into a passing one (none when the fix is not a
    plain file write, e.g. a mount option or a reboot).
    """

    id: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[Severity]
    rationale: ClassVar[str]
    source: ClassVar[str]

    def check(self, host: Host) -> Iterable[Finding]:
        raise NotImplementedError

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        return []

    def finding(
        self,
        status: Status,
        *,
        current: str,
        expected: str,
        reason: str = "",
        fix: str = "",
        key: str | None = None,
    ) -> Finding:
        return Finding(
            id=f"{self.id}[{key}]" if key else self.id,
            check=self.id,
            title=self.title,
            severity=self.severity,
            status=status,
            current=current,
            expected=expected,
            reason=reason,
            rationale=self.rationale,
            source=self.source,
            fix=fix,
        )

    def unreadable(self, exc: ReadError, *, expected: str, key: str | None = None) -> Finding:
        return self.finding(Status.ERROR, current="unreadable", expected=expected, reason=str(exc), key=key)


def sysctl_path(name: str) -> str:
    """``vm.swappiness`` → ``proc/sys/vm/swappiness``."""
    return "proc/sys/" + name.replace(".", "/")


def sysctl_change(host: Host, finding: Finding, name: str, new: str) -> Change:
    rel = sysctl_path(name)
    raw = host.read(rel)
    return Change(
        finding=finding.id, path=rel, old=raw.strip(), new=new, old_raw=raw, style=Style.PLAIN, sysctl=name
    )
