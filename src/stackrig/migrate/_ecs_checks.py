"""Checks of a task definition before it is written or registered.

botocore's own ``RegisterTaskDefinition`` input model (types, required members)
and the rules ECS enforces on top of it that the model does not carry (enums,
names, ranges, references between containers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["HEALTH_RANGES", "NAME", "check_task_definition"]

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}


def check_task_definition(td: Mapping[str, Any]) -> list[str]:
    """Problems found by botocore's input shape and our own enum and range checks (empty when fine)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(dict(td), shape)
    problems = [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    problems = [p for p in problems if not p.startswith("Parameter validation failed")]
    problems.extend(_own_checks(td, shape))
    return problems


def _int(value: Any) -> bool:
    """True for an int that is not a bool (botocore reports wrong types; our checks skip them)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _own_checks(td: Mapping[str, Any], shape: Any) -> list[str]:  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    problems: list[str] = []

    def enum(value: Any, member: Any, where: str) -> None:
        allowed = getattr(member, "enum", None) or []
        if allowed and value not in allowed:
            problems.append(f"{where}: {value!r} is not one of {', '.join(allowed)}")

    members = shape.members
    enum(td.get("networkMode", "bridge"), members["networkMode"], "networkMode")
    for comp in td.get("requiresCompatibilities", []):
        enum(comp, members["requiresCompatibilities"].member, "requiresCompatibilities")
    if not NAME.match(str(td.get("family", ""))):
        problems.append(f"family {td.get('family')!r}: letters, digits, - and _ only, 1-255 long")
    cdef = members["containerDefinitions"].member.members
    names = [c.get("name") for c in td.get("containerDefinitions", [])]
    checked = {c.get("name"): bool(c.get("healthCheck")) for c in td.get("containerDefinitions", [])}
    if len(set(names)) != len(names):
        problems.append("containerDefinitions: container names are not unique")
    for c in td.get("containerDefinitions", []):
        where = f"container {c.get('name')}"
        if not NAME.match(str(c.get("name", ""))):
            problems.append(f"{where}: name must be letters, digits, - and _ (1-255)")
        if _int(c.get("cpu")) and not 0 <= c["cpu"] <= 10240:
            problems.append(f"{where}: cpu {c['cpu']} outside 0-10240 units")
        if "memory" not in td and "memory" not in c and "memoryReservation" not in c:
            problems.append(
                f"{where}: needs memory or memoryReservation (mem_limit in compose) or a task --memory"
            )
        for key in ("memory", "memoryReservation"):
            if _int(c.get(key)) and c[key] < 6:
                problems.append(f"{where}: {key} {c[key]} MiB is below Docker's minimum of 6 MiB")  # noqa: PERF401 - the loop reads better with its condition
        for pm in c.get("portMappings", []):
            enum(pm.get("protocol", "tcp"), cdef["portMappings"].member.members["protocol"], f"{where} port")
            for key in ("containerPort", "hostPort"):
                if _int(pm.get(key)) and not 0 <= pm[key] <= 65535:
                    problems.append(f"{where}: {key} {pm[key]} outside 0-65535")  # noqa: PERF401 - the loop reads better with its condition
        for dep in c.get("dependsOn", []):
            enum(dep.get("condition"), cdef["dependsOn"].member.members["condition"], f"{where} dependsOn")
            if dep.get("containerName") not in names:
                problems.append(f"{where}: depends on {dep.get('containerName')}, which is not in the task")
            elif dep.get("condition") == "HEALTHY" and not checked.get(dep.get("containerName")):
                problems.append(
                    f"{where}: waits for {dep.get('containerName')} to be HEALTHY, which has no healthCheck"
                )
        for link in c.get("links", []):
            if link.split(":", 1)[0] not in names:
                problems.append(f"{where}: links to {link}, which is not in the task")  # noqa: PERF401 - the loop reads better with its condition
        check = c.get("healthCheck")
        if check:
            if not check.get("command") or check["command"][0] not in ("CMD", "CMD-SHELL"):
                problems.append(f"{where}: healthCheck command must start with CMD or CMD-SHELL")
            for key, (low, high) in HEALTH_RANGES.items():
                if _int(check.get(key)) and not low <= check[key] <= high:
                    problems.append(f"{where}: healthCheck {key} {check[key]} outside {low}-{high}")
        log = c.get("logConfiguration")
        if log:
            enum(log.get("logDriver"), cdef["logConfiguration"].members["logDriver"], f"{where} logDriver")
    if "cpu" in td and not str(td["cpu"]).isdigit():
        problems.append(f"task cpu {td['cpu']!r} must be CPU units (e.g. 256, 1024)")
    if "memory" in td and not str(td["memory"]).isdigit():
        problems.append(f"task memory {td['memory']!r} must be MiB (e.g. 512)")
    if "memory" in td:
        total = sum(c.get("memory", 0) for c in td.get("containerDefinitions", []))
        if total > int(td["memory"]):
            problems.append(f"containers' memory ({total} MiB) exceeds the task's {td['memory']} MiB")
    return problems
