"""The task around the containers: network mode, Fargate sizes, memory defaults, task-wide settings."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_ctx import Context, Finding, ecs_name, mapping

__all__ = ["FARGATE_SIZES", "fargate_size", "finish_task", "network_mode_of"]

# Valid task-level (cpu units, memory MiB) pairs of Fargate.
FARGATE_SIZES: tuple[tuple[int, tuple[int, ...]], ...] = (
    (256, (512, 1024, 2048)),
    (512, (1024, 2048, 3072, 4096)),
    (1024, tuple(range(2048, 8193, 1024))),
    (2048, tuple(range(4096, 16385, 1024))),
    (4096, tuple(range(8192, 30721, 1024))),
    (8192, tuple(range(16384, 61441, 4096))),
    (16384, tuple(range(32768, 122881, 8192))),
)
_PLATFORMS = {
    "linux/amd64": "X86_64",
    "linux/x86_64": "X86_64",
    "linux/arm64": "ARM64",
    "linux/arm64/v8": "ARM64",
}


def fargate_size(cpu: int, memory: int) -> tuple[int, int]:
    """The smallest valid Fargate (cpu, memory) covering what the containers need."""
    for units, memories in FARGATE_SIZES:
        if units < cpu:
            continue
        for mem in memories:
            if mem >= memory:
                return units, mem
    raise UsageError(
        f"the containers need {cpu} CPU units and {memory} MiB together, more than the largest Fargate task "
        "(16384 units, 122880 MiB)",
        hint="split the services over several task definitions, or use --launch-type ec2",
    )


def _check_fargate_pair(cpu: int, memory: int) -> None:
    for units, memories in FARGATE_SIZES:
        if units == cpu and memory in memories:
            return
    valid = "; ".join(f"{u}: {m[0]}-{m[-1]}" for u, m in FARGATE_SIZES)
    raise UsageError(
        f"--cpu {cpu} --memory {memory} is not a Fargate size",
        hint=f"valid cpu: memory (MiB) ranges are {valid}",
    )


def network_mode_of(services: dict[str, Any], launch_type: str) -> str:
    """awsvpc on Fargate; on EC2 the mode most services ask for (bridge when none does)."""
    if launch_type == "fargate":
        return "awsvpc"
    modes = Counter(
        str(s.get("network_mode")) if str(s.get("network_mode")) in ("host", "bridge", "none") else "bridge"
        for s in services.values()
        if isinstance(s, dict)
    )
    return modes.most_common(1)[0][0] if modes else "bridge"


def _task_wide(ctx: Context, td: dict[str, Any]) -> None:
    """pidMode, ipcMode and runtimePlatform: one per task, so services must agree."""
    for key in ("pidMode", "ipcMode"):
        wanted: dict[str, Any] = ctx.task.get(key, {})
        modes = {mode for mode, _ in wanted.values()}
        if len(modes) == 1:
            td[key] = modes.pop()
        elif modes:
            chosen = Counter(mode for mode, _ in wanted.values()).most_common(1)[0][0]
            td[key] = chosen
            for service, (mode, loc) in wanted.items():
                if mode != chosen:
                    ctx.findings.append(
                        Finding(
                            service, key[:3], "cannot", f"the task's {key} is {chosen}; {mode} left out", loc
                        )
                    )
    platforms: dict[str, str] = {}
    for name, svc in ctx.project.services.items():
        platform = svc.get("platform") if isinstance(svc, dict) else None
        if not platform:
            continue
        arch = _PLATFORMS.get(str(platform).lower())
        if arch is None:
            ctx.add(
                name, "platform", "cannot", f"ECS runs linux/amd64 or linux/arm64, not {platform}", node=svc
            )
            continue
        platforms[name] = arch
    if platforms:
        arch = Counter(platforms.values()).most_common(1)[0][0]
        td["runtimePlatform"] = {"operatingSystemFamily": "LINUX", "cpuArchitecture": arch}
        for name, other in platforms.items():
            if other != arch:
                ctx.add(
                    name,
                    "platform",
                    "cannot",
                    f"the task runs on {arch} (one platform per task)",
                    node=ctx.project.services[name],
                )


def _top_level(ctx: Context) -> None:
    model = ctx.project.model
    networks = mapping(model, "networks")
    used = {
        str(n)
        for s in ctx.project.services.values()
        if isinstance(s, dict)
        for n in (s.get("networks") or {})
    }
    configured = [
        n
        for n, spec in networks.items()
        if isinstance(spec, dict) and any(not str(k).startswith("x-") and k != "name" for k in spec)
    ]
    if len(used | set(networks)) > 1 or configured:
        shown = ", ".join(sorted(map(str, set(networks) | used)))
        ctx.add(
            None,
            "networks",
            "cannot",
            f"a task has one network: the separation (and drivers) of {shown} are lost",
            node=model,
        )
    for key in ("configs", "models"):
        if model.get(key):
            ctx.add(
                None,
                key,
                "cannot",
                "ECS has no task-level equivalent; see the services that use them",
                node=model,
            )


def finish_task(  # noqa: PLR0912 - one branch per task-level decision
    ctx: Context,
    containers: list[dict[str, Any]],
    *,
    cpu: int | None,
    memory: int | None,
    execution_role: str | None,
) -> dict[str, Any]:
    """The task definition around ``containers``; findings for what the whole task decides."""
    services = ctx.project.services
    names = {ecs_name(str(n)): str(n) for n in services}
    succeed = {
        d
        for s in services.values()
        if isinstance(s, dict)
        for d, spec in (s.get("depends_on") or {}).items()
        if isinstance(spec, dict) and spec.get("condition") == "service_completed_successfully"
    }
    for c in containers:
        if names.get(c["name"]) in succeed:
            c["essential"] = False
            ctx.add(
                names[c["name"]],
                "essential",
                "changed",
                "runs to completion (others wait for it to succeed):"
                " not essential, so the task keeps running after it exits",
                warn=False,
            )
    if all(not c["essential"] for c in containers):
        containers[0]["essential"] = True
    without = [c for c in containers if "memory" not in c and "memoryReservation" not in c]
    if without and memory is None:
        for c in without:
            c["memoryReservation"] = ctx.default_memory
        ctx.add(
            None,
            "mem_limit",
            "changed",
            f"no memory set for {', '.join(names.get(c['name'], c['name']) for c in without)}:"
            f" each gets a soft limit (memoryReservation) of {ctx.default_memory} MiB; set mem_limit or "
            "pass --default-memory",
            warn=True,
        )
    if ctx.awsvpc and len(containers) > 1:
        ctx.add(
            None,
            "services",
            "cannot",
            "in awsvpc mode the containers of a task reach each other on localhost:"
            f" names such as {containers[1]['name']} do not resolve",
            warn=True,
        )
    _top_level(ctx)
    td: dict[str, Any] = {"family": ctx.family, "networkMode": ctx.network_mode}
    if ctx.fargate:
        # EC2 is what ECS assumes when nothing is required (naming it adds nothing; moto 5 then also
        # refuses containers that set only memoryReservation, which ECS itself accepts).
        td["requiresCompatibilities"] = ["FARGATE"]
    td["containerDefinitions"] = containers
    if ctx.volumes:
        td["volumes"] = list(ctx.volumes.values())
    _task_wide(ctx, td)
    if ctx.fargate:
        need_cpu = sum(int(c.get("cpu") or 0) for c in containers)
        need_mem = sum(
            max(int(c.get("memory") or 0), int(c.get("memoryReservation") or 0)) for c in containers
        )
        if cpu is not None or memory is not None:
            cpu_units, mem = (
                cpu or fargate_size(need_cpu, memory or need_mem)[0],
                memory or fargate_size(cpu or need_cpu, need_mem)[1],
            )
            _check_fargate_pair(cpu_units, mem)
        else:
            cpu_units, mem = fargate_size(need_cpu, need_mem)
            ctx.add(
                None,
                "cpu",
                "changed",
                f"Fargate size {cpu_units} CPU units / {mem} MiB covers the containers "
                f"({need_cpu} units, {need_mem} MiB)",
                warn=False,
            )
        td["cpu"], td["memory"] = str(cpu_units), str(mem)
    else:
        if cpu is not None:
            td["cpu"] = str(cpu)
        if memory is not None:
            td["memory"] = str(memory)
    if execution_role:
        td["executionRoleArn"] = execution_role
    if ctx.unresolved_secrets:
        shown = ", ".join(f"{n} ({o})" for n, o in sorted(ctx.unresolved_secrets.items()))
        ctx.add(
            None,
            "secrets",
            "changed",
            f"no ARN for {shown}: valueFrom names the SSM parameters "
            f"/{ctx.family}/NAME; create them (SecureString) or pass --secret NAME=ARN",
            warn=True,
        )
    return td


def forbidden(ctx: Context) -> None:
    """Stop with one USAGE error listing what the launch type forbids."""
    refused = [f for f in ctx.findings if f.status == "forbidden"]
    if refused:
        raise UsageError(
            "Fargate cannot run this: "
            + ("\n  " if len(refused) > 1 else "")
            + "\n  ".join(f.text() for f in refused),
            hint="drop those keys for Fargate, or use --launch-type ec2",
        )


def sanitize_family(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:255] or "app"
