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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import atomic_write, ensure_not_input
from stackrig.errors import FailedError, MissingError, UsageError
from stackrig.migrate._ecs_checks import check_task_definition
from stackrig.migrate._ecs_map import container_definition, network_aliases
from stackrig.migrate._schema import validate_compose
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
    aliases = {str(n): network_aliases(s) for n, s in services.items() if isinstance(s, dict)}
    containers = [
        container_definition(
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
