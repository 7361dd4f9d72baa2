"""``migrate ecs``: an Amazon ECS task definition from a compose file (in place of the retired ecs-cli).

Mapping (per service → one container definition)::

    image                 image (a build-only service gets <name>:latest and a warning)
    cpu_shares            cpu (both are relative CPU shares; 1024 = one vCPU)
    mem_limit (bytes)     memory in MiB, rounded down (117964800 → 112)
    mem_reservation       memoryReservation
    ports                 portMappings (host IPs and ranges: warnings)
    environment           environment (sorted name/value pairs)
    depends_on            dependsOn: service_healthy → HEALTHY, service_started → START,
                          service_completed_successfully → SUCCESS; also links (bridge mode)
    healthcheck           healthCheck (durations in seconds, clamped to ECS's ranges)
    command / entrypoint  command / entryPoint
    named volumes         task volumes (docker scope shared, autoprovision) + mountPoints
    (always)              essential: true, awslogs log configuration

Anything else compose can say is reported as a warning, never dropped silently.
The result is checked against botocore's RegisterTaskDefinition input shape and
our own enum and range checks before it is written or registered.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig import _units
from stackrig._io import atomic_write, ensure_not_input
from stackrig.errors import FailedError, MissingError, UsageError
from stackrig.migrate._schema import parse_bytes, validate_compose
from stackrig.migrate.compose import load_compose

__all__ = [
    "EcsResult",
    "EcsSettings",
    "TaskDefinitionError",
    "check_task_definition",
    "make_task_definition",
    "register_task_definition",
    "task_definition",
]

MIB = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_CONDITIONS = {
    "service_healthy": "HEALTHY",
    "service_started": "START",
    "service_completed_successfully": "SUCCESS",
}
_HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
_HANDLED = {
    "image",
    "build",
    "cpu_shares",
    "mem_limit",
    "mem_reservation",
    "ports",
    "expose",
    "environment",
    "env_file",
    "depends_on",
    "links",
    "healthcheck",
    "command",
    "entrypoint",
    "working_dir",
    "user",
    "volumes",
    "hostname",
    "privileged",
    "read_only",
    "labels",
    "ulimits",
    "networks",
}


class TaskDefinitionError(UsageError):
    """A task definition that botocore's shape or our checks reject."""


@dataclass(frozen=True, slots=True)
class EcsSettings:
    compose: Path
    output: Path | None = None
    family: str | None = None
    cpu: int | None = None
    memory: int | None = None
    execution_role: str | None = None
    log_group: str | None = None
    region: str = "us-east-1"
    register: bool = False
    endpoint_url: str | None = None


@dataclass(frozen=True, slots=True)
class EcsResult:
    task_definition: dict[str, Any]
    content: str
    warnings: tuple[str, ...]
    written: Path | None = None
    registered_arn: str | None = None
    containers: tuple[str, ...] = field(default=())


def _seconds(value: Any, where: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    try:
        return round(_units.parse_duration(str(value), what=where, bare=None))
    except _units.UnitError:
        raise UsageError(f"{where}: {value!r} is not a duration such as 30s or 1m30s") from None


def _env(value: Any, name: str, warnings: list[str]) -> list[dict[str, str]]:
    if value is None:
        return []
    items: dict[str, str | None] = {}
    if isinstance(value, dict):
        items = {str(k): None if v is None else str(v) for k, v in value.items()}
    else:
        for entry in value:
            key, sep, val = str(entry).partition("=")
            items[key] = val if sep else None
    out = []
    for key in sorted(items):
        if items[key] is None:
            warnings.append(f"{name}: environment {key} takes its value from the host at run time; left out")
            continue
        value = str(items[key])
        if "${" in value or re.search(r"\$[A-Za-z_]", value):
            warnings.append(f"{name}: environment {key} holds a variable reference; ECS passes it literally")
        out.append({"name": key, "value": value})
    return out


def _ports(value: Any, name: str, warnings: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in value or []:
        if isinstance(item, dict):
            target, published, proto = item.get("target"), item.get("published"), item.get("protocol", "tcp")
            if item.get("host_ip"):
                warnings.append(f"{name}: port {target} host_ip {item['host_ip']} has no ECS equivalent")
        else:
            text, _, proto = str(item).partition("/")
            proto = proto or "tcp"
            parts = text.split(":")
            if len(parts) == 3:
                warnings.append(f"{name}: port {item}: ECS cannot bind a host IP; {parts[0]} left out")
                parts = parts[1:]
            target = parts[-1]
            published = parts[0] if len(parts) == 2 else None
        if "-" in str(target) or "-" in str(published or ""):
            warnings.append(f"{name}: port range {item} left out (use containerPortRange by hand)")
            continue
        mapping: dict[str, Any] = {"containerPort": int(str(target)), "protocol": str(proto).lower()}
        if published not in (None, ""):
            mapping["hostPort"] = int(str(published))
        out.append(mapping)
    return out


def _command(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return shlex.split(str(value))


def _health(value: Mapping[str, Any], name: str, warnings: list[str]) -> dict[str, Any] | None:
    if value.get("disable") in (True, "true"):
        return None
    test = value.get("test")
    if test is None:
        warnings.append(f"{name}: healthcheck without test left out (the image's own check is used)")
        return None
    if isinstance(test, str):
        command = ["CMD-SHELL", test]
    else:
        command = [str(t) for t in test]
        if command and command[0] == "NONE":
            return None
    # Compose escapes $ as $$; ECS passes the command to Docker as is.
    command = [c.replace("$$", "$") for c in command]
    check: dict[str, Any] = {"command": command}
    for key, ecs_key in (("interval", "interval"), ("timeout", "timeout"), ("start_period", "startPeriod")):
        if key in value:
            check[ecs_key] = _seconds(value[key], f"{name}: healthcheck {key}")
    if "retries" in value:
        check["retries"] = int(value["retries"])
    for key, (low, high) in _HEALTH_RANGES.items():
        if key in check and not low <= check[key] <= high:
            clamped = min(max(check[key], low), high)
            warnings.append(
                f"{name}: healthcheck {key} {check[key]} outside ECS's {low}-{high}; set to {clamped}"
            )
            check[key] = clamped
    if "start_interval" in value:
        warnings.append(f"{name}: healthcheck start_interval has no ECS equivalent; left out")
    return check


def _container(  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    name: str,
    svc: Mapping[str, Any],
    *,
    log_group: str,
    region: str,
    volumes: dict[str, dict[str, Any]],
    aliases: Mapping[str, list[str]],
    warnings: list[str],
) -> dict[str, Any]:
    cname = name if _NAME.match(name) else re.sub(r"[^A-Za-z0-9_-]", "-", name)[:255]
    if cname != name:
        warnings.append(f"service {name}: container named {cname} (ECS allows letters, digits, - and _)")
    image = svc.get("image")
    if not image:
        image = f"{cname}:latest"
        warnings.append(
            f"{name}: build-only service; build and push an image, then set it (placeholder {image})"
        )
    elif "build" in svc:
        warnings.append(f"{name}: build is ignored by ECS; the image {image} must be pushed to a registry")
    c: dict[str, Any] = {"name": cname, "image": str(image), "essential": True}
    if "cpu_shares" in svc:
        c["cpu"] = int(svc["cpu_shares"])
    if "mem_limit" in svc:
        c["memory"] = parse_bytes(svc["mem_limit"], what=f"{name}: mem_limit") // MIB
    if "mem_reservation" in svc:
        c["memoryReservation"] = parse_bytes(svc["mem_reservation"], what=f"{name}: mem_reservation") // MIB
    ports = _ports(svc.get("ports"), name, warnings)
    if ports:
        c["portMappings"] = ports
    if "expose" in svc:
        warnings.append(
            f"{name}: expose has no ECS equivalent (containers in bridge mode reach it through links)"
        )
    env = _env(svc.get("environment"), name, warnings)
    if env:
        c["environment"] = env
    if svc.get("env_file"):
        files = svc["env_file"] if isinstance(svc["env_file"], list) else [svc["env_file"]]
        shown = ", ".join(str(f.get("path") if isinstance(f, dict) else f) for f in files)
        warnings.append(
            f"{name}: env_file {shown} is not sent to ECS: put its secrets in Secrets Manager or SSM "
            "and reference them under secrets (or upload the file to S3 for environmentFiles)"
        )
    depends = svc.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {d: {"condition": "service_started"} for d in depends}
    targets = {*depends, *(str(link).split(":", 1)[0] for link in svc.get("links") or [])}
    links = sorted({*targets, *(f"{t}:{a}" for t in targets for a in aliases.get(t, []))})
    if depends:
        c["dependsOn"] = [
            {"containerName": dep, "condition": _CONDITIONS[str(spec.get("condition", "service_started"))]}
            for dep, spec in depends.items()
        ]
    if links:
        c["links"] = links
    if isinstance(svc.get("healthcheck"), dict):
        check = _health(svc["healthcheck"], name, warnings)
        if check:
            c["healthCheck"] = check
    if "command" in svc:
        c["command"] = _command(svc["command"])
    if "entrypoint" in svc:
        c["entryPoint"] = _command(svc["entrypoint"])
    for key, ecs_key in (
        ("working_dir", "workingDirectory"),
        ("user", "user"),
        ("hostname", "hostname"),
        ("privileged", "privileged"),
        ("read_only", "readonlyRootFilesystem"),
    ):
        if key in svc:
            c[ecs_key] = svc[key]
    if isinstance(svc.get("labels"), dict):
        c["dockerLabels"] = {str(k): str(v) for k, v in svc["labels"].items()}
    mounts = _mounts(svc.get("volumes") or [], name, volumes, warnings)
    if mounts:
        c["mountPoints"] = mounts
    if isinstance(svc.get("networks"), dict):
        own = _aliases(svc)
        if own:
            warnings.append(
                f"{name}: network aliases {', '.join(own)} become link aliases of the containers "
                "that depend on it (ECS bridge mode has no network aliases)"
            )
    c["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": cname},
    }
    for key in svc:
        if key not in _HANDLED and not key.startswith("x-"):
            warnings.append(f"{name}: {key} has no ECS equivalent here; left out")  # noqa: PERF401 - the loop reads better with its condition
    return c


def _aliases(svc: Mapping[str, Any]) -> list[str]:
    networks = svc.get("networks")
    if not isinstance(networks, dict):
        return []
    return [str(a) for n in networks.values() if isinstance(n, dict) for a in n.get("aliases") or []]


def _mounts(
    items: list[Any], name: str, volumes: dict[str, dict[str, Any]], warnings: list[str]
) -> list[dict[str, Any]]:
    mounts = []
    for item in items:
        if isinstance(item, dict):
            source, target = item.get("source"), item.get("target")
            read_only = bool(item.get("read_only"))
        else:
            parts = str(item).split(":")
            if len(parts) == 1:
                warnings.append(f"{name}: anonymous volume {item} left out")
                continue
            source, target = parts[0], parts[1]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        if not source or not target:
            continue
        source = str(source)
        if source.startswith(("/", ".", "~")):
            vol = re.sub(r"[^A-Za-z0-9_-]", "-", source.strip("/.~")) or "root"
            volumes.setdefault(vol, {"name": vol, "host": {"sourcePath": source}})
            warnings.append(f"{name}: bind mount {source} becomes a host path on the container instance")
        else:
            vol = source
            volumes.setdefault(
                vol,
                {
                    "name": vol,
                    "dockerVolumeConfiguration": {
                        "scope": "shared",
                        "autoprovision": True,
                        "driver": "local",
                    },
                },
            )
        mounts.append({"sourceVolume": vol, "containerPath": str(target), "readOnly": read_only})
    return mounts


def task_definition(compose: Mapping[str, Any], settings: EcsSettings) -> tuple[dict[str, Any], list[str]]:
    """The RegisterTaskDefinition input for a (current-format) compose document, and warnings."""
    warnings: list[str] = []
    services = compose.get("services")
    if not isinstance(services, dict) or not services:
        raise UsageError(
            f"compose file {settings.compose} has no services",
            hint="a version-1 file? upgrade it first: stackrig migrate compose --upgrade OLD.yml -o NEW.yml",
        )
    family = settings.family or str(compose.get("name") or settings.compose.resolve().parent.name or "app")
    family = re.sub(r"[^A-Za-z0-9_-]", "-", family)[:255]
    log_group = settings.log_group or f"/ecs/{family}"
    volumes: dict[str, dict[str, Any]] = {}
    aliases = {str(n): _aliases(s) for n, s in services.items() if isinstance(s, dict)}
    containers = [
        _container(
            str(n),
            s,
            log_group=log_group,
            region=settings.region,
            volumes=volumes,
            aliases=aliases,
            warnings=warnings,
        )
        for n, s in services.items()
    ]
    for key in compose:
        if key not in ("services", "volumes", "name", "version") and not str(key).startswith("x-"):
            warnings.append(f"top-level {key} has no ECS equivalent here; left out")  # noqa: PERF401 - the loop reads better with its condition
    td: dict[str, Any] = {
        "family": family,
        "networkMode": "bridge",
        "requiresCompatibilities": ["EC2"],
        "containerDefinitions": containers,
    }
    if volumes:
        td["volumes"] = list(volumes.values())
    if settings.cpu is not None:
        td["cpu"] = str(settings.cpu)
    if settings.memory is not None:
        td["memory"] = str(settings.memory)
    if settings.execution_role:
        td["executionRoleArn"] = settings.execution_role
    return td, warnings


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
    if not _NAME.match(str(td.get("family", ""))):
        problems.append(f"family {td.get('family')!r}: letters, digits, - and _ only, 1-255 long")
    cdef = members["containerDefinitions"].member.members
    names = [c.get("name") for c in td.get("containerDefinitions", [])]
    checked = {c.get("name"): bool(c.get("healthCheck")) for c in td.get("containerDefinitions", [])}
    if len(set(names)) != len(names):
        problems.append("containerDefinitions: container names are not unique")
    for c in td.get("containerDefinitions", []):
        where = f"container {c.get('name')}"
        if not _NAME.match(str(c.get("name", ""))):
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
            for key, (low, high) in _HEALTH_RANGES.items():
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


def register_task_definition(td: Mapping[str, Any], *, region: str, endpoint_url: str | None) -> str:
    """Register through boto3; return the task definition ARN."""
    import boto3
    import botocore.exceptions

    try:
        client = boto3.client("ecs", region_name=region, endpoint_url=endpoint_url)
        answer = client.register_task_definition(**td)
    except botocore.exceptions.NoCredentialsError as exc:
        raise MissingError(
            "no AWS credentials for --register",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        ) from exc
    except botocore.exceptions.EndpointConnectionError as exc:
        raise MissingError(f"cannot reach the ECS endpoint {exc.kwargs.get('endpoint_url', '')}") from exc
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        raise FailedError(
            f"ECS refused the task definition: {err.get('Code', '?')}: {err.get('Message', '')}"
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise FailedError(f"ECS register failed: {exc}") from exc
    return str(answer["taskDefinition"]["taskDefinitionArn"])


def make_task_definition(settings: EcsSettings) -> EcsResult:
    """Read, translate, check; write to ``settings.output``; register when asked."""
    if settings.output is not None:
        ensure_not_input(settings.output, [settings.compose])
    compose = load_compose(settings.compose)
    if "services" in compose:
        validate_compose(compose, what=f"compose file {settings.compose}")
    td, warnings = task_definition(compose, settings)
    problems = check_task_definition(td)
    if problems:
        raise TaskDefinitionError(
            "the task definition would be rejected:\n  " + "\n  ".join(problems),
            hint="adjust the compose file or the --cpu/--memory flags",
        )
    content = json.dumps(td, indent=2) + "\n"
    written = atomic_write(settings.output, content) if settings.output is not None else None
    arn = None
    if settings.register:
        arn = register_task_definition(td, region=settings.region, endpoint_url=settings.endpoint_url)
    return EcsResult(
        td, content, tuple(warnings), written, arn, tuple(c["name"] for c in td["containerDefinitions"])
    )
