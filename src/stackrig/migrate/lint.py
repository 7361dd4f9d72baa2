"""``migrate lint``: for each service and key, how a compose file fares on a target, with file and line.

- ``ecs`` / ``fargate``: the findings of the very translation ``migrate ecs`` makes (one table, see
  :mod:`stackrig.migrate._ecs_ctx`): what converts as is, what converts with a change (and which),
  what ECS cannot express, and what Fargate forbids. ``migrate ecs`` warns about exactly the findings
  marked as warnings here.
- ``compose``: how the file fares as a current Compose Specification file: what ``migrate compose
  --upgrade`` would change (version dropped, links turned into depends_on, version-1 keys renamed),
  variables that are not set, keys that are kept as they are.

A file Compose cannot read at all (bad YAML, a dependency cycle, an undefined reference) is a USAGE
error, as for every other command; findings that cannot convert make the exit code 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stackrig.migrate._ecs_ctx import Finding
from stackrig.migrate._project import hiding_secrets, load_project, read_compose_file
from stackrig.migrate._yaml import loc_of

__all__ = ["LintResult", "LintSettings", "lint"]

Target = Literal["ecs", "fargate", "compose"]


@dataclass(frozen=True, slots=True)
class LintSettings:
    compose: Path
    target: Target = "ecs"
    overrides: tuple[Path, ...] = ()
    env_files: tuple[Path, ...] = ()
    profiles: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    image_prefix: str | None = None
    require_secret_arns: bool = False


@dataclass(frozen=True, slots=True)
class LintResult:
    target: Target
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status in ("cannot", "forbidden"))

    @property
    def counts(self) -> dict[str, int]:
        out = {"as-is": 0, "changed": 0, "cannot": 0, "forbidden": 0}
        for f in self.findings:
            out[f.status] += 1
        return out


def lint(settings: LintSettings) -> LintResult:
    """Judge every key of every service for the target."""
    if settings.target == "compose":
        return LintResult("compose", tuple(_compose_findings(settings)))
    from stackrig.migrate.ecs import EcsSettings, translate

    ecs = EcsSettings(
        settings.compose,
        overrides=settings.overrides,
        env_files=settings.env_files,
        profiles=settings.profiles,
        environ=settings.environ,
        launch_type=settings.target if settings.target == "fargate" else "ec2",
        secrets=settings.secrets,
        image_prefix=settings.image_prefix,
        require_secret_arns=settings.require_secret_arns,
    )
    project = load_project(ecs.compose_input())
    with hiding_secrets(project.variables):
        translation = translate(project, ecs, refuse=False)
    return LintResult(settings.target, translation.findings)


_NOTE = re.compile(r"^(?P<service>[A-Za-z0-9._-]+): (?P<message>.+)$", re.DOTALL)


def _compose_findings(settings: LintSettings) -> list[Finding]:
    """What --upgrade would change, as findings; everything else is kept as is."""
    from stackrig.migrate._upgrade import upgrade_compose
    from stackrig.migrate.compose import ComposeSettings

    path = settings.compose
    raw = read_compose_file(path)
    result = upgrade_compose(path, ComposeSettings(upgrade=path, env_files=settings.env_files,
                                                   environ=settings.environ))  # fmt: skip
    services: dict[str, Any] = raw["services"] if isinstance(raw.get("services"), dict) else raw
    findings: list[Finding] = []
    for note in result.notes:
        match = _NOTE.match(note)
        if (
            match
            and match.group("service") in services
            and isinstance(services[match.group("service")], dict)
        ):
            service = match.group("service")
            body = services[service]
            key, _, message = match.group("message").partition(": ")
            if key not in body and not key.replace("_", "").isalpha():
                key, message = "service", match.group("message")
            findings.append(
                Finding(service, key, "changed", message, loc_of(body, key) or loc_of(services, service))
            )
        elif note.startswith("variable "):
            findings.append(Finding(None, "variables", "changed", note, None, True))
        else:
            key = "version" if "version" in note else "volumes" if "named volumes" in note else "file"
            findings.append(Finding(None, key, "changed", note, loc_of(raw, key) if key in raw else None))
    judged = {(f.service, f.key) for f in findings}
    for service, body in services.items():
        if not isinstance(body, dict) or str(service).startswith("x-"):
            continue
        findings.extend(
            Finding(str(service), str(key), "as-is", "kept as is", loc_of(body, key), False)
            for key in body
            if not str(key).startswith("x-") and (service, str(key)) not in judged
        )
    return findings


def findings_table(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    return [f.as_dict() for f in findings]
