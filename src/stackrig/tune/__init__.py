"""Audit and tune a KVM/Nova compute host, and fit Nova flavors to hosts.

``run_audit`` reads /proc and /sys (under a root) through the checks in
:mod:`stackrig.tune.checks`; ``apply`` plans and writes the fixes with a backup
first, ``revert`` restores from it; ``fit_flavors`` does Nova's placement
arithmetic for one host.
"""

from __future__ import annotations

from stackrig.tune._host import Host, ReadError
from stackrig.tune._model import Change, Finding, Profile, Severity, Status, Style
from stackrig.tune.apply import (
    ApplyResult,
    ApplySettings,
    Plan,
    RevertResult,
    WriteRefusedError,
    apply,
    execute,
    plan_changes,
    revert,
)
from stackrig.tune.audit import AuditReport, AuditSettings, run_audit
from stackrig.tune.checks import CHECKS, Check
from stackrig.tune.flavors import (
    Allocation,
    Flavor,
    FlavorReport,
    FlavorSettings,
    FlavorSpecError,
    HostSpec,
    fit_flavors,
    load_flavors_json,
    parse_flavor,
    parse_host,
    run_flavors,
    this_host,
)

__all__ = [
    "CHECKS",
    "Allocation",
    "ApplyResult",
    "ApplySettings",
    "AuditReport",
    "AuditSettings",
    "Change",
    "Check",
    "Finding",
    "Flavor",
    "FlavorReport",
    "FlavorSettings",
    "FlavorSpecError",
    "Host",
    "HostSpec",
    "Plan",
    "Profile",
    "ReadError",
    "RevertResult",
    "Severity",
    "Status",
    "Style",
    "WriteRefusedError",
    "apply",
    "execute",
    "fit_flavors",
    "load_flavors_json",
    "parse_flavor",
    "parse_host",
    "plan_changes",
    "revert",
    "run_audit",
    "run_flavors",
    "this_host",
]
