"""What the compose → ECS mapping shares: its findings (one table for ``migrate ecs`` and ``migrate lint``).

Every key of every service is judged once, while it is translated:

- ``as-is``: ECS expresses it exactly;
- ``changed``: ECS expresses it differently (the finding says how);
- ``cannot``: ECS has no way to express it; left out (``migrate ecs`` warns);
- ``forbidden``: the launch type refuses it (``migrate ecs`` stops with a USAGE error).

``migrate ecs`` prints as warnings exactly the findings that :attr:`Finding.warns`,
and ``migrate lint`` lists them all, so the two can never disagree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stackrig.errors import UsageError
from stackrig.migrate._project import Project
from stackrig.migrate._schema import parse_bytes
from stackrig.migrate._syntax import parse_duration
from stackrig.migrate._yaml import Loc, loc_of, mapping, plain

__all__ = [
    "MIB",
    "Context",
    "Finding",
    "Status",
    "ecs_name",
    "mapping",
    "merge_extension",
    "mib",
    "no_container",
    "seconds",
    "text_map",
    "truthy",
]

MIB = 1024 * 1024
Status = Literal["as-is", "changed", "cannot", "forbidden"]
STATUSES: tuple[Status, ...] = ("as-is", "changed", "cannot", "forbidden")


@dataclass(frozen=True, slots=True)
class Finding:
    """How one compose key of one service (or of the file) fares on the target."""

    service: str | None
    key: str
    status: Status
    message: str
    loc: Loc | None = None
    warn: bool | None = None  # None: warn exactly when status is "cannot"

    @property
    def warns(self) -> bool:
        return self.status == "cannot" if self.warn is None else self.warn

    def text(self) -> str:
        where = f"{self.loc}: " if self.loc is not None else ""
        who = f"{self.service}: " if self.service else ""
        return f"{where}{who}{self.key}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "key": self.key,
            "status": self.status,
            "message": self.message,
            "file": self.loc.file if self.loc else None,
            "line": self.loc.line if self.loc else None,
        }


@dataclass
class Context:
    """One translation: the project, the target, and everything found on the way."""

    project: Project
    launch_type: Literal["ec2", "fargate"]
    network_mode: str
    family: str
    secret_arns: Mapping[str, str]
    default_memory: int
    log_group: str
    region: str
    require_secret_arns: bool = False  # a compose secret without an ARN stops the command
    findings: list[Finding] = field(default_factory=list)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    unresolved_secrets: dict[str, str] = field(default_factory=dict)  # name -> where it came from
    # compose secrets with no ARN under --require-secret-arns: name -> the services using them, and where
    missing_secrets: dict[str, list[tuple[str, Loc | None]]] = field(default_factory=dict)
    used_secret_names: set[str] = field(default_factory=set)
    task: dict[str, Any] = field(default_factory=dict)  # task-level settings services ask for
    image_prefix: str | None = None
    builds: list[dict[str, Any]] = field(default_factory=list)  # images a CI job must build and push

    @property
    def fargate(self) -> bool:
        return self.launch_type == "fargate"

    @property
    def awsvpc(self) -> bool:
        return self.network_mode == "awsvpc"

    def add(
        self,
        service: str | None,
        key: str,
        status: Status,
        message: str,
        *,
        node: Any = None,
        at: Any = None,
        warn: bool | None = None,
    ) -> None:
        """Record a finding; ``node``/``at`` locate it (``at`` a key of ``node``, default ``key``)."""
        loc = None
        if node is not None:
            loc = loc_of(node, key.split(".", 1)[0] if at is None else at)
        self.findings.append(Finding(service, key, status, message, loc, warn))

    def fargate_refuses(self, service: str, key: str, what: str, node: Any) -> None:
        """A key that Fargate forbids: a finding now, a USAGE error once the whole file is judged."""
        self.add(service, key, "forbidden", f"Fargate does not allow {what}", node=node)

    def secret_arn(self, name: str, *, declared: Mapping[str, Any] | None = None) -> str | None:
        """The ARN for a secret: --secret NAME=ARN, then x-aws-secret-arn / an external ARN name."""
        if name in self.secret_arns:
            return self.secret_arns[name]
        if declared:
            for key in ("x-aws-secret-arn", "x-aws-arn", "x-arn"):
                if isinstance(declared.get(key), str):
                    return str(declared[key])
            external_name = declared.get("name")
            if (
                declared.get("external")
                and isinstance(external_name, str)
                and external_name.startswith("arn:")
            ):
                return external_name
        extension = self.project.model.get("x-aws-secrets")
        if isinstance(extension, dict) and isinstance(extension.get(name), str):
            return str(extension[name])
        return None

    def secret_reference(self, name: str, origin: str, *, declared: Mapping[str, Any] | None = None) -> str:
        """valueFrom for a secret value (env_file, a secret-looking variable); without an ARN a placeholder,
        the SSM parameter /FAMILY/NAME (one warning lists them)."""
        self.used_secret_names.add(name)
        arn = self.secret_arn(name, declared=declared)
        if arn is not None:
            return arn
        self.unresolved_secrets.setdefault(name, origin)
        return f"/{self.family}/{name}"

    def compose_secret_reference(
        self, name: str, *, service: str, loc: Loc | None, declared: Mapping[str, Any] | None
    ) -> str:
        """valueFrom for a compose secret a service uses. Without an ARN it is the SSM parameter
        /FAMILY/NAME (one warning lists them), or under --require-secret-arns it is recorded as missing
        and translate() stops with a USAGE error naming it."""
        if self.secret_arn(name, declared=declared) is None and self.require_secret_arns:
            self.used_secret_names.add(name)
            self.missing_secrets.setdefault(name, []).append((service, loc))
            message = (
                f"no ARN for compose secret {name}, so migrate ecs stops: pass --secret {name}=ARN, add "
                f"x-aws-secret-arn under secrets.{name} (--require-secret-arns is given)"
            )
            self.findings.append(Finding(service, "secrets", "cannot", message, loc, True))
            return f"/{self.family}/{name}"
        return self.secret_reference(name, f"compose secret {name}", declared=declared)

    def missing_secrets_error(self) -> UsageError | None:
        """One USAGE error naming every compose secret without an ARN, the services using it and where."""
        if not self.missing_secrets:
            return None
        names = sorted(self.missing_secrets)
        parts = []
        for name in names:
            uses = "; ".join(f"{svc} at {loc}" if loc else svc for svc, loc in self.missing_secrets[name])
            parts.append(f"{name} (used by {uses})")
        several = len(names) > 1
        subject = f"compose secret{'s' if several else ''} {', '.join(parts)}"
        message = (
            f"{subject} {'have' if several else 'has'} no ARN, "
            "and ECS takes secrets only from Secrets Manager or SSM Parameter Store"
        )
        return UsageError(message, hint=self.secret_fix(names))

    def secret_fix(self, names: list[str]) -> str:
        """How to give compose secrets their ARNs, in one line."""
        if len(names) == 1:
            name = names[0]
            return (
                f"create it in Secrets Manager or SSM and pass --secret {name}=ARN, or add "
                f"x-aws-secret-arn: ARN under secrets.{name} (without --require-secret-arns it is the "
                f"SSM parameter /{self.family}/{name}, which you create)"
            )
        return (
            "create them in Secrets Manager or SSM and pass --secret NAME=ARN for each, or add "
            "x-aws-secret-arn: ARN under each secrets.NAME (without --require-secret-arns they are the "
            f"SSM parameters /{self.family}/NAME, which you create)"
        )


def merge_extension(target: dict[str, Any], extension: Any) -> None:
    """An ``x-ecs`` mapping merged into an ECS object: its fields set as given, a null removes one.

    ``migrate compose --from-ecs`` keeps there what compose has no key for, so that ``migrate ecs``
    gives the same task definition back.
    """
    if not isinstance(extension, dict):
        return
    for key, value in extension.items():
        if value is None:
            target.pop(str(key), None)
        else:
            target[str(key)] = plain(value)


def no_container(service: Any) -> tuple[str, str] | None:
    """(the key, why) when Compose starts no container for a service, so the task has none; else None.

    A provider service (``provider:``) is a plugin Compose runs instead; ``scale: 0`` or
    ``deploy.replicas: 0`` is a service that ``docker compose up`` creates no container for.
    """
    if not isinstance(service, dict):
        return None
    if service.get("provider") is not None:
        return "provider", "a provider service: Compose runs its provider plugin, not a container"
    deploy = service.get("deploy")
    for key, value in (
        ("scale", service.get("scale")),
        ("deploy.replicas", deploy.get("replicas") if isinstance(deploy, dict) else None),
    ):
        if value is not None and str(value).strip() == "0":
            return key, f"{key} is 0: Compose starts no container for it"
    return None


def ecs_name(text: str) -> str:
    """A name ECS accepts (letters, digits, - and _; 1-255)."""
    return (re.sub(r"[^A-Za-z0-9_-]", "-", text) or "x")[:255]


def mib(value: Any, what: str) -> int:
    """MiB (rounded down) from a compose size."""
    return parse_bytes(value, what=what) // MIB


def seconds(value: Any, what: str) -> int:
    """Whole seconds (rounded up, so a 500ms wait is not 0) from a compose duration."""
    return math.ceil(parse_duration(value, what) - 1e-9)


def text_map(value: Any, what: str) -> dict[str, str]:
    """A mapping of strings (None becomes empty), or a UsageError."""
    if value is None:
        return {}
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {key: val for key, _, val in pairs}
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a mapping or a list of KEY=VALUE")
    return {str(k): "" if v is None else _text(v) for k, v in value.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def truthy(value: Any) -> bool:
    """Compose booleans that interpolation left as strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y", "on")
    return bool(value)
