"""CPU, memory, swap and GPUs of a service → a container definition's cpu, memory and resourceRequirements."""

from __future__ import annotations

from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_ctx import Context, mapping, mib

__all__ = ["RESOURCE_KEYS", "resources"]

RESOURCE_KEYS = (
    "cpu_shares",
    "cpus",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "deploy",
    "gpus",
)
_SERVICE_LEVEL = {
    "replicas": "the number of copies is the ECS service's desiredCount",
    "mode": "ECS services choose REPLICA or DAEMON scheduling",
    "placement": "placement belongs to the ECS service (placementConstraints, placementStrategy)",
    "update_config": "rolling updates belong to the ECS service's deploymentConfiguration",
    "rollback_config": "rollbacks belong to the ECS service's deploymentConfiguration (circuit breaker)",
    "endpoint_mode": "ECS services find each other through Service Connect or a load balancer",
    "labels": "ECS service tags take the place of swarm service labels",
}


def _float(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what}: {value!r} is not a number of CPUs") from None


def _units(cpus: Any, what: str) -> int:
    return max(round(_float(cpus, what) * 1024), 0)


def _gpu_count(ctx: Context, name: str, value: Any, node: Any, key: str) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    ctx.add(name, key, "cannot", f"ECS needs a number of GPUs, not {value!r}; left out", node=node)
    return None


def resources(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:  # noqa: PLR0912 - one branch per compose key
    where = f"services.{name}"
    deploy = mapping(svc, "deploy")
    res = mapping(deploy, "resources")
    limits = mapping(res, "limits")
    reservations = mapping(res, "reservations")
    if "cpu_shares" in svc:
        c["cpu"] = int(svc["cpu_shares"])
    elif "cpus" in reservations:
        c["cpu"] = _units(reservations["cpus"], f"{where}.deploy.resources.reservations.cpus")
    elif "cpus" in limits or "cpus" in svc:
        node, value = (limits, limits["cpus"]) if "cpus" in limits else (svc, svc["cpus"])
        key = "deploy.resources.limits.cpus" if node is limits else "cpus"
        c["cpu"] = _units(value, f"{where}.{key}")
        ctx.add(
            name,
            key,
            "changed",
            f"{value} CPUs become {c['cpu']} CPU units, which ECS reserves rather "
            "than caps (a hard limit needs task-level cpu)",
            node=node,
            at="cpus",
        )
    if "mem_limit" in svc:
        c["memory"] = mib(svc["mem_limit"], f"{where}.mem_limit")
    elif "memory" in limits:
        c["memory"] = mib(limits["memory"], f"{where}.deploy.resources.limits.memory")
    if "mem_reservation" in svc:
        c["memoryReservation"] = mib(svc["mem_reservation"], f"{where}.mem_reservation")
    elif "memory" in reservations:
        c["memoryReservation"] = mib(reservations["memory"], f"{where}.deploy.resources.reservations.memory")
    if "pids" in limits:
        ctx.add(
            name,
            "deploy.resources.limits.pids",
            "cannot",
            "ECS has no PID limit; left out",
            node=limits,
            at="pids",
        )
    _swap(ctx, name, svc, c)
    gpus = None
    if "gpus" in svc:
        value = svc["gpus"]
        count = (
            value[0].get("count")
            if isinstance(value, list) and value and isinstance(value[0], dict)
            else value
        )
        gpus = _gpu_count(ctx, name, count, svc, "gpus")
    for device in reservations.get("devices") or []:
        if isinstance(device, dict) and "gpu" in (device.get("capabilities") or []):
            gpus = _gpu_count(
                ctx, name, device.get("count", "all"), reservations, "deploy.resources.reservations"
            )
    if "generic_resources" in reservations:
        ctx.add(
            name,
            "deploy.resources.reservations.generic_resources",
            "cannot",
            "ECS has no generic resources",
            node=reservations,
            at="generic_resources",
        )
    if gpus:
        if ctx.fargate:
            ctx.add(name, "gpus", "cannot", "Fargate has no GPUs; left out", node=svc)
        else:
            c["resourceRequirements"] = [{"type": "GPU", "value": str(gpus)}]
    for key, reason in _SERVICE_LEVEL.items():
        if key in deploy:
            ctx.add(
                name,
                f"deploy.{key}",
                "cannot",
                f"{reason}; not part of a task definition",
                node=deploy,
                at=key,
            )


def _swap(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    if "memswap_limit" in svc:
        total = svc["memswap_limit"]
        if str(total) == "-1":
            pass  # unlimited swap: ECS's default when maxSwap is not set
        elif ctx.fargate:
            ctx.add(name, "memswap_limit", "cannot", "Fargate has no swap; left out", node=svc)
        elif "memory" not in c:
            ctx.add(
                name,
                "memswap_limit",
                "cannot",
                "swap is counted from mem_limit, which is not set; left out",
                node=svc,
            )
        else:
            swap = max(mib(total, f"services.{name}.memswap_limit") - int(c["memory"]), 0)
            c.setdefault("linuxParameters", {})["maxSwap"] = swap
            ctx.add(
                name, "memswap_limit", "changed", f"memory plus swap becomes maxSwap {swap} MiB", node=svc
            )
    if "mem_swappiness" in svc:
        if ctx.fargate:
            ctx.add(name, "mem_swappiness", "cannot", "Fargate has no swap; left out", node=svc)
        elif "maxSwap" not in c.get("linuxParameters", {}):
            ctx.add(
                name,
                "mem_swappiness",
                "cannot",
                "ECS applies swappiness only with a swap limit (memswap_limit); left out",
                node=svc,
            )
        else:
            c["linuxParameters"]["swappiness"] = int(svc["mem_swappiness"])
