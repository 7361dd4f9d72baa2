"""``migrate ecs``: an Amazon ECS task definition from compose files (in place of the retired ecs-cli).

The compose files are read as Docker Compose reads them (``-f`` files merged,
variables from the environment, ``.env`` or ``--env-file``, ``extends``,
``include``, profiles; see :mod:`stackrig.migrate._project`). Each service becomes
one container definition, key by key (:mod:`stackrig.migrate._ecs_map` and the
modules it names); the findings of that translation are one table, which
``migrate lint`` lists whole and this command prints as warnings where ECS
truly cannot express a key.

By default the task runs on EC2 in bridge mode; ``--launch-type fargate`` gives
awsvpc, a valid Fargate size and a USAGE error for what Fargate forbids. A
service without memory gets a soft limit (``--default-memory``, 512 MiB).
Secrets never reach the task definition (see :mod:`stackrig.migrate._ecs_env`); a
compose secret without an ARN refers to the SSM parameter ``/FAMILY/NAME`` with a
warning, or is a USAGE error under ``--require-secret-arns``.

The result is checked against botocore's RegisterTaskDefinition input model and
ECS's own rules (:mod:`stackrig.migrate._ecs_checks`) before it is written or
registered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stackrig._io import atomic_write, ensure_not_input
from stackrig.errors import UsageError
from stackrig.migrate._ecs_checks import canonical, check_task_definition
from stackrig.migrate._ecs_ctx import Context, Finding, merge_extension, no_container
from stackrig.migrate._ecs_map import container_definition
from stackrig.migrate._ecs_task import finish_task, forbidden, network_mode_of, sanitize_family
from stackrig.migrate._project import ComposeInput, Project, hiding_secrets, load_project
from stackrig.migrate._redact import is_secret_variable
from stackrig.migrate._register import Registration, register_if_changed
from stackrig.migrate._yaml import mapping

__all__ = [
    "EcsResult",
    "EcsSettings",
    "TaskDefinitionError",
    "check_task_definition",
    "make_task_definition",
    "task_definition",
    "translate",
]

DEFAULT_MEMORY = 512


class TaskDefinitionError(UsageError):
    """A task definition that botocore's model or ECS's rules reject."""


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
    overrides: tuple[Path, ...] = ()
    env_files: tuple[Path, ...] = ()
    profiles: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    launch_type: Literal["ec2", "fargate"] | None = None  # None: from x-ecs, else ec2
    default_memory: int = DEFAULT_MEMORY
    secrets: Mapping[str, str] = field(default_factory=dict)
    image_prefix: str | None = None
    dry_run: bool = False
    require_secret_arns: bool = False  # a compose secret without an ARN is a USAGE error, not /FAMILY/NAME

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.compose, *self.overrides)

    def compose_input(self) -> ComposeInput:
        return ComposeInput(self.files, self.env_files, self.profiles, self.environ)


@dataclass(frozen=True, slots=True)
class EcsResult:
    task_definition: dict[str, Any]
    content: str
    warnings: tuple[str, ...]
    written: Path | None = None
    registered_arn: str | None = None
    containers: tuple[str, ...] = field(default=())
    findings: tuple[Finding, ...] = ()
    secret_file: bool = False
    builds: tuple[dict[str, Any], ...] = ()
    registration: Registration | None = None


@dataclass(frozen=True, slots=True)
class Translation:
    """A task definition with every finding made on the way (shared by ``ecs`` and ``lint``)."""

    task_definition: dict[str, Any]
    findings: tuple[Finding, ...]
    project: Project
    holds_literal_secrets: bool
    builds: tuple[dict[str, Any], ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f.text() for f in self.findings if f.warns)


def translate(project: Project, settings: EcsSettings, *, refuse: bool = True) -> Translation:
    """Translate a loaded project; forbidden keys (Fargate) raise a UsageError listing them."""
    services = project.services
    if not services:
        only = [str(k) for k in project.model if str(k) in ("volumes", "networks", "secrets", "configs")]
        raise UsageError(
            f"compose file {settings.compose} has no services"
            + (f" (only {', '.join(only)})" if only else "")
            + ": a task definition needs at least one container",
            hint="add a service, or give the file that defines them (-f)",
        )
    if settings.default_memory < 6:
        raise UsageError(f"--default-memory {settings.default_memory} is below Docker's minimum of 6 MiB")
    extension = mapping(project.model, "x-ecs")  # what migrate compose --from-ecs kept for the way back
    family = sanitize_family(settings.family or str(extension.get("family") or "") or project.name)
    launch_type = settings.launch_type or (
        "fargate" if "FARGATE" in (extension.get("requiresCompatibilities") or []) else "ec2"
    )
    network_mode = network_mode_of(services, launch_type)
    if launch_type == "ec2" and extension.get("networkMode") in ("awsvpc", "host", "none", "bridge"):
        network_mode = str(extension["networkMode"])
    ctx = Context(
        project=project,
        launch_type=launch_type,
        network_mode=network_mode,
        family=family,
        secret_arns=dict(settings.secrets),
        default_memory=settings.default_memory,
        log_group=settings.log_group or f"/ecs/{family}",
        region=settings.region,
        require_secret_arns=settings.require_secret_arns,
        image_prefix=settings.image_prefix,
    )
    for text in project.unset_warnings():
        ctx.findings.append(Finding(None, "variables", "changed", text, None, True))
    containers = []
    for name, svc in services.items():
        absent = no_container(svc)
        if absent is not None:
            key, reason = absent
            extra = (
                " (ECS has no equivalent; set the variables it gives others by hand)"
                if key == "provider"
                else ""
            )
            node = svc["deploy"] if key == "deploy.replicas" else svc
            ctx.add(
                str(name),
                key,
                "cannot",
                f"{reason}; left out of the task{extra}",
                node=node,
                at=key.split(".")[-1],
            )
            continue
        container = container_definition(ctx, str(name), svc)
        merge_extension(container, svc.get("x-ecs") if isinstance(svc, dict) else None)
        containers.append(container)
    if not containers:
        raise UsageError(
            f"compose file {settings.compose} has no service that runs a container (provider services, "
            "0 replicas): a task definition needs at least one container"
        )
    td = finish_task(
        ctx,
        containers,
        cpu=settings.cpu if settings.cpu is not None else _int(extension.get("cpu")),
        memory=settings.memory if settings.memory is not None else _int(extension.get("memory")),
        execution_role=settings.execution_role or extension.get("executionRoleArn"),
    )
    merge_extension(td, {k: v for k, v in extension.items() if k not in _DECIDED})
    _scrub_secrets(ctx, td)
    if refuse:
        missing = ctx.missing_secrets_error()
        if missing is not None:
            raise missing
        forbidden(ctx)
    unknown = sorted(set(settings.secrets) - ctx.used_secret_names - _env_names(td))
    if unknown:
        raise UsageError(f"--secret {unknown[0]}: no secret or variable of that name in the compose file")
    return Translation(
        td, tuple(ctx.findings), project, bool(ctx.task.get("literal_secrets")), tuple(ctx.builds)
    )


# x-ecs fields translate() decides with (flags win over them); the others are merged as they are.
_DECIDED = {"family", "cpu", "memory", "executionRoleArn", "requiresCompatibilities", "networkMode"}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _env_names(td: Mapping[str, Any]) -> set[str]:
    return {s["name"] for c in td["containerDefinitions"] for s in c.get("secrets", [])}


def _scrub_secrets(ctx: Context, td: dict[str, Any]) -> None:
    """The last guard: a secret value that reached any other field is replaced by ``${VARIABLE}``."""
    secrets = {v: n for v, n in ctx.project.variables.secret_values.items() if len(v) >= 4}
    if not secrets:
        return

    def walk(obj: Any, where: str, container: dict[str, Any]) -> Any:
        if isinstance(obj, str):
            for value, variable in secrets.items():
                if value in obj:
                    obj = obj.replace(value, "${" + variable + "}")
                    ctx.add(
                        container.get("name"),
                        where,
                        "cannot",
                        f"held the value of {variable}; written as "
                        f"${{{variable}}}, which only a shell expands (the variable is a secret entry)",
                    )
                    _ensure_secret(ctx, container, variable)
            return obj
        if isinstance(obj, list):
            return [walk(v, where, container) for v in obj]
        if isinstance(obj, dict):
            return {k: (v if k == "valueFrom" else walk(v, where, container)) for k, v in obj.items()}
        return obj

    for c in td["containerDefinitions"]:
        for key in list(c):
            if key not in ("secrets", "name"):
                c[key] = walk(c[key], key, c)


def _ensure_secret(ctx: Context, container: dict[str, Any], variable: str) -> None:
    entries = container.setdefault("secrets", [])
    if not any(e["name"] == variable for e in entries):
        entries.append({"name": variable, "valueFrom": ctx.secret_reference(variable, "the environment")})
        entries.sort(key=lambda e: e["name"])


def task_definition(compose: Mapping[str, Any], settings: EcsSettings) -> tuple[dict[str, Any], list[str]]:
    """The task definition for an in-memory compose document (no files, no variables), and warnings."""
    from stackrig.migrate._interpolate import Variables
    from stackrig.migrate._merge import normalize_service
    from stackrig.migrate._yaml import Node, unshare

    model = unshare(dict(compose))
    if not isinstance(model, Node):
        raise UsageError("a compose document must be a mapping")
    for name in list(model.get("services") or {}):
        model["services"][name] = normalize_service(model["services"][name])
    name = str(model.get("name") or settings.compose.resolve().parent.name or "app")
    project = Project(name, model, settings.compose.resolve().parent, (settings.compose,), Variables({}))
    translation = translate(project, settings)
    return translation.task_definition, list(translation.warnings)


def make_task_definition(settings: EcsSettings) -> EcsResult:
    """Read, translate, check; write to ``settings.output``; register when asked."""
    if settings.output is not None:
        ensure_not_input(settings.output, list(settings.files))
    project = load_project(settings.compose_input())
    with hiding_secrets(project.variables):
        translation = translate(project, settings)
    td = translation.task_definition
    problems = check_task_definition(td)
    if problems:
        raise TaskDefinitionError(
            "the task definition would be rejected:\n  " + "\n  ".join(problems),
            hint="adjust the compose file or the --cpu/--memory flags",
        )
    td = canonical(td)
    content = json.dumps(td, indent=2) + "\n"
    secret = translation.holds_literal_secrets or any(
        is_secret_variable(e["name"]) for c in td["containerDefinitions"] for e in c.get("environment", [])
    )
    written = atomic_write(settings.output, content, secret=secret) if settings.output is not None else None
    registration = None
    if settings.register or settings.dry_run:
        registration = register_if_changed(
            td, region=settings.region, endpoint_url=settings.endpoint_url, dry_run=settings.dry_run
        )
    return EcsResult(
        td,
        content,
        translation.warnings,
        written,
        registration.arn if registration else None,
        tuple(c["name"] for c in td["containerDefinitions"]),
        translation.findings,
        secret,
        translation.builds,
        registration,
    )
