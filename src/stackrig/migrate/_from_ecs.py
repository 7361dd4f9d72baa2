"""``migrate compose --from-ecs``: the way back, from an ECS task definition to a compose file.

The input is a task definition as ``register-task-definition`` takes it, as
``describe-task-definition`` returns it (``{"taskDefinition": ...}``), or read
through the API (``--family NAME [--revision N]``). Every mapping ``migrate ecs``
makes comes back as the compose key it came from, so that ``migrate ecs`` of the
result gives the same task definition again:

- secrets come back as compose ``secrets`` whose ARN is in ``x-aws-secret-arn``
  (never as values);
- what compose has no key for (task-level cpu/memory, roles, Fargate, EFS
  volumes, firelens ...) is kept in ``x-ecs`` extension fields, which
  ``migrate ecs`` merges back into the task definition;
- every ``$`` is written ``$$``, so that Compose's interpolation gives it back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_ctx import ecs_name

__all__ = [
    "RESPONSE_ONLY",
    "compose_from_task_definition",
    "task_definition_of",
]

# Fields describe-task-definition adds that register-task-definition does not take.
RESPONSE_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "inferenceAccelerators",
)
_CONDITIONS = {
    "START": "service_started",
    "HEALTHY": "service_healthy",
    "SUCCESS": "service_completed_successfully",
}
_PERMISSIONS = {"read": "r", "write": "w", "mknod": "m"}
_ARCH = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}
# Container fields handled below; any other one is kept under the service's x-ecs.
_HANDLED = {
    "name",
    "image",
    "essential",
    "cpu",
    "memory",
    "memoryReservation",
    "portMappings",
    "environment",
    "environmentFiles",
    "secrets",
    "dependsOn",
    "links",
    "healthCheck",
    "command",
    "entryPoint",
    "workingDirectory",
    "user",
    "hostname",
    "privileged",
    "readonlyRootFilesystem",
    "pseudoTerminal",
    "interactive",
    "dockerLabels",
    "stopTimeout",
    "logConfiguration",
    "restartPolicy",
    "linuxParameters",
    "ulimits",
    "systemControls",
    "dockerSecurityOptions",
    "extraHosts",
    "dnsServers",
    "dnsSearchDomains",
    "mountPoints",
    "volumesFrom",
    "resourceRequirements",
}
_TASK_HANDLED = {"containerDefinitions", "volumes", "networkMode", "pidMode", "ipcMode", "runtimePlatform"}


def task_definition_of(document: Any, *, what: str) -> dict[str, Any]:
    """The task definition in a register input or a describe output, without the response-only fields."""
    if isinstance(document, dict) and isinstance(document.get("taskDefinition"), dict):
        document = document["taskDefinition"]
    if not isinstance(document, dict) or not isinstance(document.get("containerDefinitions"), list):
        raise UsageError(
            f"{what} is not a task definition (no containerDefinitions)",
            hint="give the register-task-definition input or the describe-task-definition output",
        )
    return {k: v for k, v in document.items() if k not in RESPONSE_ONLY}


def _escape(value: Any) -> Any:
    """Every ``$`` as ``$$``, so that Compose's interpolation leaves the text as it was."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    return value


def _seconds(value: int) -> str:
    return f"{int(value)}s"


def _ports(c: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for pm in c.get("portMappings") or []:
        proto = str(pm.get("protocol") or "tcp")
        if pm.get("name") or pm.get("appProtocol"):
            long: dict[str, Any] = {
                "target": pm.get("containerPortRange") or pm.get("containerPort"),
                "protocol": proto,
            }
            if pm.get("hostPort") is not None:
                long["published"] = str(pm["hostPort"])
            for key, compose_key in (("name", "name"), ("appProtocol", "app_protocol")):
                if pm.get(key):
                    long[compose_key] = pm[key]
            out.append(long)
            continue
        target = pm.get("containerPortRange") or pm.get("containerPort")
        text = f"{pm['hostPort']}:{target}" if pm.get("hostPort") is not None else str(target)
        out.append(text if proto == "tcp" else f"{text}/{proto}")
    return out


def _health(check: Mapping[str, Any]) -> dict[str, Any]:
    command = [str(c) for c in check.get("command") or []]
    test: Any = command
    out: dict[str, Any] = {"test": test}
    defaults = {"interval": 30, "timeout": 5, "retries": 3}  # ECS's own, when the definition leaves them out
    for key, compose_key in (
        ("interval", "interval"),
        ("timeout", "timeout"),
        ("startPeriod", "start_period"),
    ):
        value = check.get(key, defaults.get(key))
        if value is not None:
            out[compose_key] = _seconds(value)
    out["retries"] = int(check.get("retries", defaults["retries"]))
    return out


def _linux(c: Mapping[str, Any], svc: dict[str, Any], extra: dict[str, Any]) -> None:
    linux = dict(c.get("linuxParameters") or {})
    caps = linux.pop("capabilities", None) or {}
    if caps.get("add"):
        svc["cap_add"] = list(caps["add"])
    if caps.get("drop"):
        svc["cap_drop"] = list(caps["drop"])
    if "initProcessEnabled" in linux:
        svc["init"] = bool(linux.pop("initProcessEnabled"))
    if "sharedMemorySize" in linux:
        svc["shm_size"] = f"{int(linux.pop('sharedMemorySize'))}m"
    tmpfs = []
    for mount in linux.pop("tmpfs", None) or []:
        options = [f"size={int(mount.get('size', 0))}m", *(mount.get("mountOptions") or [])]
        tmpfs.append(f"{mount['containerPath']}:{','.join(options)}")
    if tmpfs:
        svc["tmpfs"] = tmpfs
    devices = []
    for device in linux.pop("devices", None) or []:
        perms = "".join(_PERMISSIONS[p] for p in device.get("permissions") or [] if p in _PERMISSIONS)
        inside = device.get("containerPath") or device["hostPath"]
        devices.append(f"{device['hostPath']}:{inside}" + (f":{perms}" if perms else ""))
    if devices:
        svc["devices"] = devices
    if "maxSwap" in linux and c.get("memory") is not None:
        svc["memswap_limit"] = f"{int(c['memory']) + int(linux.pop('maxSwap'))}m"
        if "swappiness" in linux:
            svc["mem_swappiness"] = int(linux.pop("swappiness"))
    if linux:
        extra["linuxParameters"] = linux


def _logging(c: Mapping[str, Any], family: str, region: str, extra: dict[str, Any]) -> dict[str, Any] | None:
    log = c.get("logConfiguration")
    if not isinstance(log, dict):
        extra["logConfiguration"] = None  # none at all: migrate ecs would otherwise add awslogs
        return None
    default = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": f"/ecs/{family}",
            "awslogs-region": region,
            "awslogs-stream-prefix": c.get("name"),
        },
    }
    if log == default:
        return None  # what migrate ecs writes when nothing is set
    out: dict[str, Any] = {"driver": log.get("logDriver")}
    if log.get("options"):
        out["options"] = dict(log["options"])
    return out


def _restart(c: Mapping[str, Any], svc: dict[str, Any], extra: dict[str, Any]) -> None:
    policy = c.get("restartPolicy")
    if not isinstance(policy, dict) or not policy.get("enabled"):
        if policy:
            extra["restartPolicy"] = policy
        return
    codes = policy.get("ignoredExitCodes") or []
    condition = "on-failure" if codes == [0] else "any"
    if codes not in ([], [0]):
        extra["restartPolicy"] = policy
        return
    if "restartAttemptPeriod" in policy:
        svc.setdefault("deploy", {})["restart_policy"] = {
            "condition": condition,
            "window": _seconds(policy["restartAttemptPeriod"]),
        }
    else:
        svc["restart"] = "on-failure" if condition == "on-failure" else "always"


def _service(  # noqa: PLR0912, PLR0915 - one branch per field of a container definition
    c: Mapping[str, Any], td: Mapping[str, Any], volumes: Mapping[str, Any], top: dict[str, Any], region: str
) -> dict[str, Any]:
    svc: dict[str, Any] = {"image": c.get("image")}
    extra: dict[str, Any] = {k: v for k, v in c.items() if k not in _HANDLED}
    if "cpu" in c:
        svc["cpu_shares"] = int(c["cpu"])
    if "memory" in c:
        svc["mem_limit"] = f"{int(c['memory'])}m"
    if "memoryReservation" in c:
        svc["mem_reservation"] = f"{int(c['memoryReservation'])}m"
    ports = _ports(c)
    if ports:
        svc["ports"] = ports
    env = {str(e["name"]): str(e.get("value", "")) for e in c.get("environment") or []}
    if env:
        svc["environment"] = env
    files = [f["value"] for f in c.get("environmentFiles") or [] if f.get("type", "s3") == "s3"]
    if files:
        svc["env_file"] = files
    secrets = []
    for secret in c.get("secrets") or []:
        name = str(secret["name"])
        # Locally Compose reads the value from the variable of that name; ECS from the ARN.
        top.setdefault("secrets", {})[name] = {"environment": name, "x-aws-secret-arn": secret["valueFrom"]}
        secrets.append({"source": name, "target": name})
    if secrets:
        svc["secrets"] = secrets
    depends = {}
    for dep in c.get("dependsOn") or []:
        condition = _CONDITIONS.get(str(dep.get("condition")))
        if condition is None:
            extra.setdefault("dependsOn", []).append(dep)
            continue
        depends[str(dep["containerName"])] = {"condition": condition}
    if depends:
        svc["depends_on"] = depends
    if c.get("links"):
        svc["links"] = list(c["links"])
    if isinstance(c.get("healthCheck"), dict):
        svc["healthcheck"] = _health(c["healthCheck"])
    for key, compose_key in (("command", "command"), ("entryPoint", "entrypoint")):
        if c.get(key):
            svc[compose_key] = list(c[key])
    for key, compose_key in (
        ("workingDirectory", "working_dir"),
        ("user", "user"),
        ("hostname", "hostname"),
        ("privileged", "privileged"),
        ("readonlyRootFilesystem", "read_only"),
        ("pseudoTerminal", "tty"),
        ("interactive", "stdin_open"),
    ):
        if key in c:
            svc[compose_key] = c[key]
    if c.get("dockerLabels"):
        svc["labels"] = dict(c["dockerLabels"])
    if "stopTimeout" in c:
        svc["stop_grace_period"] = _seconds(c["stopTimeout"])
    logging = _logging(c, str(td.get("family")), region, extra)
    if logging:
        svc["logging"] = logging
    _restart(c, svc, extra)
    _linux(c, svc, extra)
    if c.get("ulimits"):
        svc["ulimits"] = {
            u["name"]: u["softLimit"]
            if u["softLimit"] == u["hardLimit"]
            else {"soft": u["softLimit"], "hard": u["hardLimit"]}
            for u in c["ulimits"]
        }
    if c.get("systemControls"):
        svc["sysctls"] = {s["namespace"]: s["value"] for s in c["systemControls"]}
    if c.get("dockerSecurityOptions"):
        svc["security_opt"] = list(c["dockerSecurityOptions"])
    if c.get("extraHosts"):
        svc["extra_hosts"] = [f"{h['hostname']}={h['ipAddress']}" for h in c["extraHosts"]]
    if c.get("dnsServers"):
        svc["dns"] = list(c["dnsServers"])
    if c.get("dnsSearchDomains"):
        svc["dns_search"] = list(c["dnsSearchDomains"])
    mounts = _mounts(c, volumes, top, str(c.get("name")))
    if mounts:
        svc["volumes"] = mounts
    if c.get("volumesFrom"):
        svc["volumes_from"] = [
            f"{v['sourceContainer']}:ro" if v.get("readOnly") else str(v["sourceContainer"])
            for v in c["volumesFrom"]
        ]
    gpus = [r for r in c.get("resourceRequirements") or [] if r.get("type") == "GPU"]
    others = [r for r in c.get("resourceRequirements") or [] if r.get("type") != "GPU"]
    if (
        gpus
        and len(gpus) == 1
        and str(gpus[0].get("value", "")).isdigit()
        and not gpus[0].get("sharingStrategy")
    ):
        svc["gpus"] = [{"count": int(gpus[0]["value"])}]
    else:
        others = list(c.get("resourceRequirements") or [])
    if others:
        extra["resourceRequirements"] = others
    essential = c.get("essential", True)
    success = any(
        d.get("condition") == "SUCCESS" and d.get("containerName") == c.get("name")
        for o in td["containerDefinitions"]
        for d in o.get("dependsOn") or []
    )
    if bool(essential) == success:  # migrate ecs makes exactly the targets of SUCCESS non-essential
        extra["essential"] = essential
    if extra:
        svc["x-ecs"] = extra
    return svc


def _mounts(c: Mapping[str, Any], volumes: Mapping[str, Any], top: dict[str, Any], cname: str) -> list[Any]:
    out: list[Any] = []
    for mount in c.get("mountPoints") or []:
        name = str(mount.get("sourceVolume"))
        target = str(mount.get("containerPath"))
        volume = volumes.get(name, {})
        read_only = bool(mount.get("readOnly"))
        host = volume.get("host") if isinstance(volume.get("host"), dict) else None
        rest = {k: v for k, v in volume.items() if k not in ("name", "host", "dockerVolumeConfiguration")}
        if host is not None and host.get("sourcePath") and not rest:
            long = {"type": "bind", "source": host["sourcePath"], "target": target, "x-ecs-volume": name}
            if read_only:
                long["read_only"] = True
            out.append(long)
        elif (
            host is None
            and not volume.get("dockerVolumeConfiguration")
            and not rest
            and name == ecs_name(f"{cname}{target.replace('/', '-')}")
        ):
            out.append(target + (":ro" if read_only else ""))  # an anonymous volume
        else:
            top.setdefault("volumes", {})[name] = _named_volume(volume)
            out.append(f"{name}:{target}" + (":ro" if read_only else ""))
    return out


def _named_volume(volume: Mapping[str, Any]) -> dict[str, Any]:
    config = volume.get("dockerVolumeConfiguration")
    out: dict[str, Any] = {}
    extra = {k: v for k, v in volume.items() if k not in ("name", "dockerVolumeConfiguration")}
    if isinstance(config, dict):
        if config.get("driver") and config["driver"] != "local":
            out["driver"] = config["driver"]
        if config.get("driverOpts"):
            out["driver_opts"] = dict(config["driverOpts"])
        if config.get("labels"):
            out["labels"] = dict(config["labels"])
        if config.get("autoprovision") is False:
            out["external"] = True
        odd = {
            k: v for k, v in config.items() if k not in ("driver", "driverOpts", "labels", "autoprovision")
        }
        if odd.get("scope", "shared") != "shared" or set(odd) - {"scope"} or config.get("driver") is None:
            extra["dockerVolumeConfiguration"] = config
    else:
        extra["dockerVolumeConfiguration"] = None
    if extra:
        out["x-ecs"] = extra
    return out


def compose_from_task_definition(td: Mapping[str, Any], *, region: str = "us-east-1") -> dict[str, Any]:  # noqa: PLR0912 - one branch per task-level field
    """The compose document whose ``migrate ecs`` gives ``td`` back."""
    family = str(td.get("family") or "app")
    volumes = {str(v.get("name")): v for v in td.get("volumes") or [] if isinstance(v, dict)}
    top: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for c in td["containerDefinitions"]:
        if not isinstance(c, dict) or not c.get("name"):
            raise UsageError("a container definition without a name")
        services[str(c["name"])] = _service(c, td, volumes, top, region)
    mode = str(td.get("networkMode") or "bridge")
    task_extra = {k: v for k, v in td.items() if k not in _TASK_HANDLED}
    fargate = "FARGATE" in (td.get("requiresCompatibilities") or [])
    if mode in ("host", "none"):
        for svc in services.values():
            svc["network_mode"] = mode
    elif mode == "awsvpc" and not fargate:
        task_extra["networkMode"] = mode
    for key, compose_key in (("pidMode", "pid"), ("ipcMode", "ipc")):
        value = td.get(key)
        if value:
            mapped = {"task": "shareable", "none": "private"}.get(value, value) if key == "ipcMode" else value
            if key == "pidMode" and value == "task":
                task_extra[key] = value
                continue
            for svc in services.values():
                svc[compose_key] = mapped
    platform = td.get("runtimePlatform")
    if (
        isinstance(platform, dict)
        and platform.get("cpuArchitecture") in _ARCH
        and platform.get("operatingSystemFamily", "LINUX") == "LINUX"
        and set(platform) <= {"cpuArchitecture", "operatingSystemFamily"}
    ):
        for svc in services.values():
            svc["platform"] = _ARCH[platform["cpuArchitecture"]]
    elif platform:
        task_extra["runtimePlatform"] = platform
    used = {m.get("sourceVolume") for c in td["containerDefinitions"] for m in c.get("mountPoints") or []}
    for name, volume in volumes.items():
        if name not in used:
            task_extra.setdefault("volumes", []).append(volume)
    doc: dict[str, Any] = {}
    if re.fullmatch(r"[a-z0-9][a-z0-9_-]*", family):
        doc["name"] = family
        task_extra.pop("family", None)  # the project name gives it back
    doc["services"] = services
    doc.update(top)
    if task_extra:
        doc["x-ecs"] = task_extra
    return _escape(doc)  # type: ignore[no-any-return]
