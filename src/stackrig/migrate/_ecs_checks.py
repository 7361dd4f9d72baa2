"""Checks of a task definition before it is written or registered.

botocore's own ``RegisterTaskDefinition`` input model (types, required members,
enums it declares) and the rules ECS enforces on top of it that the model does
not carry: names, ranges, port mappings per network mode, references between
containers and volumes, and what Fargate accepts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from stackrig.migrate._ecs_ctx import mapping

__all__ = ["HEALTH_RANGES", "NAME", "canonical", "check_task_definition"]

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")
_FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")


def check_task_definition(td: Mapping[str, Any]) -> list[str]:
    """Problems found by botocore's input model and ECS's own rules (empty when fine)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(dict(td), shape)
    problems = [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    problems = [p for p in problems if not p.startswith("Parameter validation failed")]
    containers = [c for c in td.get("containerDefinitions") or [] if isinstance(c, dict)]
    _Checker(td, shape, containers, problems).run()
    return problems


def canonical(td: Mapping[str, Any]) -> dict[str, Any]:
    """``td`` with every object's keys in the order of botocore's model, so that the same task
    definition is always written byte for byte the same (however it was put together)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape

    def order(value: Any, shape: Any) -> Any:
        if isinstance(value, dict) and getattr(shape, "type_name", "") == "structure":
            members = shape.members
            known = [k for k in members if k in value]
            rest = [k for k in value if k not in members]
            return {k: order(value[k], members.get(k)) for k in [*known, *rest]}
        if isinstance(value, list) and getattr(shape, "type_name", "") == "list":
            return [order(v, shape.member) for v in value]
        return value

    result: dict[str, Any] = order(dict(td), shape)
    return result


def _int(value: Any) -> bool:
    """True for an int that is not a bool (botocore reports wrong types; these checks skip them)."""
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    def __init__(
        self, td: Mapping[str, Any], shape: Any, containers: list[dict[str, Any]], problems: list[str]
    ) -> None:
        self.td = td
        self.members = shape.members
        self.cdef = self.members["containerDefinitions"].member.members
        self.containers = containers
        self.problems = problems
        self.names = [c.get("name") for c in containers]
        self.mode = str(td.get("networkMode") or "bridge")
        self.fargate = "FARGATE" in (td.get("requiresCompatibilities") or [])

    def enum(self, value: Any, member: Any, where: str) -> None:
        allowed = getattr(member, "enum", None) or []
        if allowed and value not in allowed:
            self.problems.append(f"{where}: {value!r} is not one of {', '.join(allowed)}")

    def run(self) -> None:
        self.task()
        volumes = self.volumes()
        host_ports: Counter[tuple[int, str]] = Counter()
        for c in self.containers:
            where = f"container {c.get('name')}"
            self.container(c, where)
            self.ports(c, where, host_ports)
            self.references(c, where, volumes)
            self.health(c, where)
        for (port, proto), count in host_ports.items():
            if count > 1:
                self.problems.append(
                    f"host port {port}/{proto} is published by {count} port mappings of the task"
                )
        if self.fargate:
            self.fargate_rules()

    def task(self) -> None:
        td = self.td
        self.enum(td.get("networkMode", "bridge"), self.members["networkMode"], "networkMode")
        for comp in td.get("requiresCompatibilities") or []:
            self.enum(comp, self.members["requiresCompatibilities"].member, "requiresCompatibilities")
        if not NAME.match(str(td.get("family", ""))):
            self.problems.append(f"family {td.get('family')!r}: letters, digits, - and _ only, 1-255 long")
        if not self.containers:
            self.problems.append("containerDefinitions: a task needs at least one container")
        elif not any(c.get("essential", True) for c in self.containers):
            self.problems.append("containerDefinitions: at least one container must be essential")
        if len(set(self.names)) != len(self.names):
            self.problems.append("containerDefinitions: container names are not unique")
        if "cpu" in td and not str(td["cpu"]).isdigit():
            self.problems.append(f"task cpu {td['cpu']!r} must be CPU units (e.g. 256, 1024)")
        if "memory" in td and not str(td["memory"]).isdigit():
            self.problems.append(f"task memory {td['memory']!r} must be MiB (e.g. 512)")
        if "memory" in td and str(td["memory"]).isdigit():
            total = sum(c["memory"] for c in self.containers if _int(c.get("memory")))
            if total > int(td["memory"]):
                self.problems.append(
                    f"containers' memory ({total} MiB) exceeds the task's {td['memory']} MiB"
                )
        for key in ("pidMode", "ipcMode"):
            if key in td:
                self.enum(td[key], self.members[key], key)

    def volumes(self) -> set[str]:
        names: list[str] = []
        for vol in self.td.get("volumes") or []:
            if not isinstance(vol, dict):
                continue
            name = str(vol.get("name", ""))
            names.append(name)
            if not NAME.match(name):
                self.problems.append(f"volume {name!r}: name must be letters, digits, - and _ (1-255)")
            config = vol.get("dockerVolumeConfiguration")
            if isinstance(config, dict) and config.get("scope") == "task" and "autoprovision" in config:
                self.problems.append(f"volume {name}: autoprovision applies only to shared volumes")
            host = vol.get("host")
            if (
                isinstance(host, dict)
                and host.get("sourcePath")
                and not str(host["sourcePath"]).startswith("/")
            ):
                self.problems.append(f"volume {name}: host sourcePath {host['sourcePath']} must be absolute")
        if len(set(names)) != len(names):
            self.problems.append("volumes: volume names are not unique")
        return set(names)

    def container(self, c: dict[str, Any], where: str) -> None:  # noqa: PLR0912 - one branch per rule
        problems = self.problems
        if not NAME.match(str(c.get("name", ""))):
            problems.append(f"{where}: name must be letters, digits, - and _ (1-255)")
        if _int(c.get("cpu")) and not 0 <= c["cpu"] <= 10240:
            problems.append(f"{where}: cpu {c['cpu']} outside 0-10240 units")
        if "memory" not in self.td and "memory" not in c and "memoryReservation" not in c:
            problems.append(
                f"{where}: needs memory or memoryReservation (mem_limit in compose) or a task --memory"
            )
        for key in ("memory", "memoryReservation"):
            if _int(c.get(key)) and c[key] < 6:
                problems.append(f"{where}: {key} {c[key]} MiB is below Docker's minimum of 6 MiB")
        if (
            _int(c.get("memory"))
            and _int(c.get("memoryReservation"))
            and c["memoryReservation"] > c["memory"]
        ):
            problems.append(
                f"{where}: memoryReservation {c['memoryReservation']} MiB exceeds memory {c['memory']}"
            )
        env = [e.get("name") for e in c.get("environment") or [] if isinstance(e, dict)]
        secrets = [s.get("name") for s in c.get("secrets") or [] if isinstance(s, dict)]
        dupes = sorted({str(n) for n in env + secrets if (env + secrets).count(n) > 1})
        if dupes:
            problems.append(
                f"{where}: variables set twice (environment/secrets): {', '.join(map(str, dupes))}"
            )
        log = c.get("logConfiguration")
        if isinstance(log, dict):
            self.enum(
                log.get("logDriver"), self.cdef["logConfiguration"].members["logDriver"], f"{where} logDriver"
            )
        for ulimit in c.get("ulimits") or []:
            if (
                isinstance(ulimit, dict)
                and _int(ulimit.get("softLimit"))
                and _int(ulimit.get("hardLimit"))
                and ulimit["softLimit"] > ulimit["hardLimit"]
            ):
                problems.append(f"{where}: ulimit {ulimit.get('name')} soft limit exceeds the hard limit")
        if self.mode == "awsvpc":
            for key in ("links", "hostname", "extraHosts", "dnsServers", "dnsSearchDomains"):
                if c.get(key):
                    problems.append(f"{where}: {key} is not supported in awsvpc network mode")
        elif self.mode == "host" and c.get("links"):
            problems.append(f"{where}: links are not supported in host network mode")

    def ports(self, c: dict[str, Any], where: str, host_ports: Counter[tuple[int, str]]) -> None:
        seen: set[tuple[Any, str]] = set()
        member = self.cdef["portMappings"].member.members
        for pm in c.get("portMappings") or []:
            if not isinstance(pm, dict):
                continue
            proto = str(pm.get("protocol", "tcp"))
            self.enum(proto, member["protocol"], f"{where} port")
            for key in ("containerPort", "hostPort"):
                if _int(pm.get(key)) and not 0 <= pm[key] <= 65535:
                    self.problems.append(f"{where}: {key} {pm[key]} outside 0-65535")
            span = pm.get("containerPortRange")
            if span is not None:
                match = _RANGE.match(str(span))
                if not match or not 1 <= int(match.group(1)) < int(match.group(2)) <= 65535:
                    self.problems.append(
                        f"{where}: containerPortRange {span!r} must be LOW-HIGH within 1-65535"
                    )
                if "containerPort" in pm or "hostPort" in pm:
                    self.problems.append(
                        f"{where}: containerPortRange {span} cannot go with containerPort/hostPort"
                    )
                if self.mode not in ("bridge", "awsvpc"):
                    self.problems.append(f"{where}: port ranges need bridge or awsvpc network mode")
                continue
            port = pm.get("containerPort")
            if (port, proto) in seen:
                self.problems.append(f"{where}: containerPort {port}/{proto} is mapped twice")
            seen.add((port, proto))
            host = pm.get("hostPort")
            if self.mode in ("awsvpc", "host") and host is not None and host != port:
                self.problems.append(
                    f"{where}: in {self.mode} mode hostPort {host} must equal containerPort {port}"
                )
            if _int(host) and host:
                host_ports[(host, proto)] += 1
            if pm.get("appProtocol") and not pm.get("name"):
                self.problems.append(f"{where}: a port mapping with appProtocol needs a name")

    def references(self, c: dict[str, Any], where: str, volumes: set[str]) -> None:  # noqa: PLR0912 - one branch per rule
        names = self.names
        checked = {x.get("name"): bool(x.get("healthCheck")) for x in self.containers}
        for dep in c.get("dependsOn") or []:
            if not isinstance(dep, dict):
                continue
            self.enum(
                dep.get("condition"), self.cdef["dependsOn"].member.members["condition"], f"{where} dependsOn"
            )
            target = dep.get("containerName")
            if target not in names:
                self.problems.append(f"{where}: depends on {target}, which is not in the task")
            elif target == c.get("name"):
                self.problems.append(f"{where}: depends on itself")
            elif dep.get("condition") == "HEALTHY" and not checked.get(target):
                self.problems.append(f"{where}: waits for {target} to be HEALTHY, which has no healthCheck")
        for link in c.get("links") or []:
            if str(link).split(":", 1)[0] not in names:
                self.problems.append(f"{where}: links to {link}, which is not in the task")
        for mount in c.get("mountPoints") or []:
            if isinstance(mount, dict) and mount.get("sourceVolume") not in volumes:
                self.problems.append(
                    f"{where}: mounts volume {mount.get('sourceVolume')}, which the task does not define"
                )
            if isinstance(mount, dict) and not str(mount.get("containerPath", "")).startswith("/"):
                self.problems.append(
                    f"{where}: containerPath {mount.get('containerPath')!r} must be absolute"
                )
        for source in c.get("volumesFrom") or []:
            if not isinstance(source, dict):
                continue
            if source.get("sourceContainer") not in names or source.get("sourceContainer") == c.get("name"):
                self.problems.append(
                    f"{where}: volumesFrom {source.get('sourceContainer')}, which is not another "
                    "container of the task"
                )

    def health(self, c: dict[str, Any], where: str) -> None:
        check = c.get("healthCheck")
        if not isinstance(check, dict):
            return
        command = check.get("command")
        if not command or not isinstance(command, list) or command[0] not in ("CMD", "CMD-SHELL"):
            self.problems.append(f"{where}: healthCheck command must start with CMD or CMD-SHELL")
        for key, (low, high) in HEALTH_RANGES.items():
            if _int(check.get(key)) and not low <= check[key] <= high:
                self.problems.append(f"{where}: healthCheck {key} {check[key]} outside {low}-{high}")

    def fargate_rules(self) -> None:
        from stackrig.migrate._ecs_task import FARGATE_SIZES

        td = self.td
        if self.mode != "awsvpc":
            self.problems.append("Fargate needs networkMode awsvpc")
        cpu, memory = str(td.get("cpu", "")), str(td.get("memory", ""))
        if not any(str(u) == cpu and memory in map(str, m) for u, m in FARGATE_SIZES):
            self.problems.append(
                f"Fargate needs a valid task cpu/memory pair, not {cpu or '-'}/{memory or '-'}"
            )
        for vol in td.get("volumes") or []:
            if isinstance(vol, dict) and (vol.get("host") or vol.get("dockerVolumeConfiguration")):
                self.problems.append(
                    f"volume {vol.get('name')}: Fargate allows neither host paths nor Docker "
                    "volume configurations"
                )
        uses_role = False
        for c in self.containers:
            where = f"container {c.get('name')}"
            if c.get("privileged"):
                self.problems.append(f"{where}: Fargate does not allow privileged containers")
            linux = mapping(c, "linuxParameters")
            for key in ("devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness"):
                if key in linux:
                    self.problems.append(f"{where}: Fargate does not support linuxParameters.{key}")
            log = mapping(c, "logConfiguration")
            if log and log.get("logDriver") not in _FARGATE_LOG_DRIVERS:
                self.problems.append(
                    f"{where}: Fargate supports log drivers {', '.join(_FARGATE_LOG_DRIVERS)}"
                )
            uses_role = uses_role or log.get("logDriver") == "awslogs" or bool(c.get("secrets"))
        if uses_role and not td.get("executionRoleArn"):
            self.problems.append(
                "Fargate needs an execution role (--execution-role ARN) to send logs to awslogs "
                "and to read secrets"
            )
