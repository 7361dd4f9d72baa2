"""``stackrig doctor``: which outside programs are here, their versions, which commands run them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from stackrig._tools import TOOLS, ToolStatus, family_tools, needed_by_family, probe
from stackrig.errors import UsageError

__all__ = ["FAMILIES", "DoctorReport", "ToolCheck", "run_doctor"]

#: The command families, in the order ``stackrig --help`` lists them.
FAMILIES = ("fleet", "bench", "tune", "qos", "migrate", "landscape")


@dataclass(frozen=True, slots=True)
class ToolCheck:
    name: str
    found: bool
    path: str | None
    version: str | None
    purpose: str
    used_by: tuple[str, ...]
    install: str
    #: With ``--family``: the family needs it (a command runs it without a flag asking for it).
    needed: bool = False


@dataclass(frozen=True, slots=True)
class DoctorReport:
    tools: tuple[ToolCheck, ...]
    family: str | None = None

    @property
    def missing(self) -> tuple[ToolCheck, ...]:
        return tuple(t for t in self.tools if not t.found)

    @property
    def needed_missing(self) -> tuple[ToolCheck, ...]:
        """Programs the family needs that are not installed (with ``--family``)."""
        return tuple(t for t in self.missing if t.needed)


def _check(status: ToolStatus, family: str | None) -> ToolCheck:
    entry = status.tool
    return ToolCheck(
        name=entry.name,
        found=status.found,
        path=status.path,
        version=status.version,
        purpose=entry.purpose,
        used_by=entry.used_by,
        install=entry.install,
        needed=family is not None and needed_by_family(entry, family),
    )


def run_doctor(family: str | None = None) -> DoctorReport:
    """Probe every registered program, or those ``family`` runs (in parallel: some are slow to answer)."""
    if family is not None and family not in FAMILIES:
        raise UsageError(f"no family {family!r}", hint=f"one of: {', '.join(FAMILIES)}")
    entries = family_tools(family) if family is not None else tuple(TOOLS.values())
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(probe, entries))
    return DoctorReport(tuple(_check(s, family) for s in statuses), family)
