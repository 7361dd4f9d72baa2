"""Every check of ``stackrig tune``, one module each, in an explicit, ordered registry.

Add a check: write ``checks/<name>.py`` with one :class:`Check` subclass, add
it to :data:`CHECKS`, add ``tests/tune/trees/<id>/{pass,fail}-*/``, and bump
the count pinned in ``tests/tune/test_checks.py``.
"""

from __future__ import annotations

from stackrig.tune.checks._base import Check
from stackrig.tune.checks.cpu_governor import CpuGovernor
from stackrig.tune.checks.dirty_ratios import DirtyRatios
from stackrig.tune.checks.hugepages import Hugepages
from stackrig.tune.checks.instances_path import InstancesPath
from stackrig.tune.checks.io_scheduler import IoScheduler
from stackrig.tune.checks.ksm import Ksm
from stackrig.tune.checks.kvm import Kvm
from stackrig.tune.checks.numa_balancing import NumaBalancing
from stackrig.tune.checks.smt import Smt
from stackrig.tune.checks.swappiness import Swappiness
from stackrig.tune.checks.transparent_hugepages import TransparentHugepages
from stackrig.tune.checks.zone_reclaim import ZoneReclaim

__all__ = ["CHECKS", "Check", "by_id"]

CHECKS: tuple[Check, ...] = (
    IoScheduler(),
    TransparentHugepages(),
    Hugepages(),
    Ksm(),
    Smt(),
    ZoneReclaim(),
    Swappiness(),
    DirtyRatios(),
    NumaBalancing(),
    CpuGovernor(),
    Kvm(),
    InstancesPath(),
)


def by_id() -> dict[str, Check]:
    return {c.id: c for c in CHECKS}
