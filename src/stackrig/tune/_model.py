"""Values of the tune family: severities, statuses, findings, planned changes."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Change", "Finding", "Profile", "Severity", "Status", "Style"]


class Severity(enum.Enum):
    """How much a failed check costs a compute host (fixed scale, like ansible-lint's)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Status(enum.Enum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    NA = "n/a"
    ERROR = "error"
    WAIVED = "waived"


class Profile(str, enum.Enum):
    """What the audited machine is: a hypervisor running guests, or a guest itself."""

    def __str__(self) -> str:
        return self.value

    COMPUTE_HOST = "compute-host"
    GUEST = "guest"


class Style(enum.Enum):
    """How a kernel file shows its value when read back.

    ``plain``: the value and a newline (``60``). ``bracket``: every choice with
    the selected one in brackets (``none [mq-deadline] kyber bfq``).
    """

    PLAIN = "plain"
    BRACKET = "bracket"


@dataclass(frozen=True)
class Finding:
    """One result of one check, possibly for one device or node (``io-scheduler[vda]``)."""

    id: str
    check: str
    title: str
    severity: Severity
    status: Status
    current: str
    expected: str
    reason: str
    rationale: str
    source: str
    fix: str = ""


@dataclass(frozen=True)
class Change:
    """One planned write of a kernel setting under the root.

    ``path`` is relative to the root (``proc/sys/vm/swappiness``); ``old`` and
    ``new`` are values as written to the kernel; ``old_raw`` is the file's whole
    text before the change (restored byte for byte in a copied tree).
    ``sysctl`` names the setting for /etc/sysctl.d (``vm.swappiness``) and
    ``device`` the block device for the udev rule.
    """

    finding: str
    path: str
    old: str
    new: str
    old_raw: str
    style: Style = Style.PLAIN
    sysctl: str = ""
    device: str = ""
