"""``stackrig doctor``: which outside programs are here, their versions, who needs them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from stackrig._tools import TOOLS, ToolStatus, probe

__all__ = ["DoctorReport", "ToolCheck", "run_doctor"]


@dataclass(frozen=True, slots=True)
class ToolCheck:
    name: str
    found: bool
    path: str | None
    version: str | None
    purpose: str
    used_by: tuple[str, ...]
    install: str


@dataclass(frozen=True, slots=True)
class DoctorReport:
    tools: tuple[ToolCheck, ...]

    @property
    def missing(self) -> tuple[ToolCheck, ...]:
        return tuple(t for t in self.tools if not t.found)


def _check(status: ToolStatus) -> ToolCheck:
    entry = status.tool
    return ToolCheck(
        name=entry.name,
        found=status.found,
        path=status.path,
        version=status.version,
        purpose=entry.purpose,
        used_by=entry.used_by,
        install=entry.install,
    )


def run_doctor() -> DoctorReport:
    """Probe every registered tool (in parallel: some take a second to print a version)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(probe, TOOLS.values()))
    return DoctorReport(tuple(_check(s) for s in statuses))
