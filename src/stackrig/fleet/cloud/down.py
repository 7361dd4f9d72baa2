"""``fleet down``: terminate a fleet's instances, wait until they are gone, delete its security group."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from stackrig.errors import WaitTimeoutError
from stackrig.fleet._aws import AwsTarget
from stackrig.fleet.cloud._ec2 import (
    FLEET_TAG,
    LIVE_STATES,
    Ec2,
    FleetInstance,
    Progress,
    as_fleet_instance,
    check_prefix,
    order,
    quiet,
)

__all__ = ["DownPlan", "DownResult", "execute_down", "fleet_down", "plan_down"]


@dataclass(frozen=True, slots=True)
class DownPlan:
    prefix: str
    region: str
    instances: tuple[FleetInstance, ...]
    security_groups: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.instances and not self.security_groups


@dataclass(frozen=True, slots=True)
class DownResult:
    plan: DownPlan
    terminated: tuple[str, ...]
    deleted_groups: tuple[str, ...]
    dry_run: bool


def plan_down(target: AwsTarget, prefix: str) -> DownPlan:
    """What ``fleet down`` would terminate and delete (nothing is changed)."""
    check_prefix(prefix)
    ec2 = Ec2(target)
    instances = [as_fleet_instance(i) for i in ec2.fleet_instances(prefix)]
    groups = [
        str(g["GroupId"])
        for g in ec2.groups(f"{prefix}-sg")
        if any(t.get("Key") == FLEET_TAG and t.get("Value") == prefix for t in g.get("Tags", []) or [])
    ]
    return DownPlan(
        prefix=prefix,
        region=ec2.region,
        instances=tuple(order(prefix, instances)),
        security_groups=tuple(groups),
    )


def execute_down(
    target: AwsTarget,
    plan: DownPlan,
    *,
    poll_interval: float = 2.0,
    timeout: float = 600.0,
    progress: Progress = quiet,
) -> DownResult:
    """Terminate the plan's instances, wait until they are gone, then delete the security group."""
    ec2 = Ec2(target)
    ids = [m.instance_id for m in plan.instances]
    if ids:
        progress(f"terminating {len(ids)} instance(s)")
        ec2.call(f"terminate fleet {plan.prefix}", "terminate_instances", InstanceIds=ids)
        deadline = time.monotonic() + timeout
        while True:
            left = [
                str(i["InstanceId"])
                for i in ec2.fleet_instances(plan.prefix, (*LIVE_STATES, "shutting-down"))
                if str(i["InstanceId"]) in set(ids)
            ]
            progress(f"waiting: {len(ids) - len(left)}/{len(ids)} terminated")
            if not left:
                break
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"{len(left)} instance(s) of fleet {plan.prefix} still shutting down "
                    f"after {timeout:g} s; "
                    "the security group was kept",
                    hint="run stackrig fleet down again in a minute",
                )
            time.sleep(poll_interval)
    deleted: list[str] = []
    for group_id in plan.security_groups:
        progress(f"deleting security group {group_id}")
        ec2.call(f"delete security group {group_id}", "delete_security_group", GroupId=group_id)
        deleted.append(group_id)
    return DownResult(plan=plan, terminated=tuple(ids), deleted_groups=tuple(deleted), dry_run=False)


def fleet_down(
    target: AwsTarget,
    plan: DownPlan,
    *,
    cache_root: Path | None = None,
    poll_interval: float = 2.0,
    timeout: float = 600.0,
    progress: Progress = quiet,
) -> DownResult:
    """``fleet down`` after consent: execute the plan, then forget the region's discover caches."""
    from stackrig.fleet.discover import forget_region

    try:
        return execute_down(target, plan, poll_interval=poll_interval, timeout=timeout, progress=progress)
    finally:
        if cache_root is not None:
            forget_region(cache_root, target, plan.region)
