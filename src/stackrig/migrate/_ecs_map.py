"""One compose service → one ECS container definition (the per-key mapping of ``migrate ecs``)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_checks import HEALTH_RANGES, NAME
from stackrig.migrate._schema import parse_bytes

__all__ = ["MIB", "container_definition", "network_aliases"]

MIB = 1024 * 1024
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|h|m|s)")
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_CONDITIONS = {
    "service_healthy": "HEALTHY",
    "service_started": "START",
    "service_completed_successfully": "SUCCESS",
}
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


def _seconds(value: Any, where: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    pieces = _DURATION.findall(text)
    if not pieces or "".join(n + u for n, u in pieces) != text:
        raise UsageError(f"{where}: {value!r} is not a duration such as 30s or 1m30s")
    return round(sum(float(n) * _SECONDS[u] for n, u in pieces))


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
    for key, (low, high) in HEALTH_RANGES.items():
        if key in check and not low <= check[key] <= high:
            clamped = min(max(check[key], low), high)
            warnings.append(
                f"{name}: healthcheck {key} {check[key]} outside ECS's {low}-{high}; set to {clamped}"
            )
            check[key] = clamped
    if "start_interval" in value:
        warnings.append(f"{name}: healthcheck start_interval has no ECS equivalent; left out")
    return check


def container_definition(  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    name: str,
    svc: Mapping[str, Any],
    *,
    log_group: str,
    region: str,
    volumes: dict[str, dict[str, Any]],
    aliases: Mapping[str, list[str]],
    warnings: list[str],
) -> dict[str, Any]:
    cname = name if NAME.match(name) else re.sub(r"[^A-Za-z0-9_-]", "-", name)[:255]
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
        own = network_aliases(svc)
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


def network_aliases(svc: Mapping[str, Any]) -> list[str]:
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
