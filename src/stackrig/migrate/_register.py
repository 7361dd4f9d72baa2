"""Task definitions from and to ECS: read one (a file or the API) for the way back, and register one
only when it differs from the family's latest revision.

ECS answers ``describe-task-definition`` with the defaults it filled in (cpu 0,
empty lists, dynamic host ports as 0, response-only fields such as the
revision); both sides are normalized the same way before they are compared, and
the difference is shown as a unified diff of their JSON.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig.errors import FailedError, MissingError, UsageError
from stackrig.migrate._from_ecs import RESPONSE_ONLY, compose_from_task_definition, task_definition_of

__all__ = [
    "Registration",
    "compose_from_ecs",
    "diff_task_definitions",
    "normalize",
    "read_task_definition",
    "register_if_changed",
]

if TYPE_CHECKING:
    from stackrig.migrate.compose import ComposeResult, ComposeSettings

# Values ECS reports for fields a definition left out.
_DEFAULTS = {"cpu": 0, "hostPort": 0, "essential": True, "readOnly": False, "networkMode": "bridge"}


@dataclass(frozen=True, slots=True)
class Registration:
    arn: str | None  # the new revision, None when nothing was registered
    previous: str | None  # the latest revision before, None when the family is new
    diff: tuple[str, ...]
    unchanged: bool
    dry_run: bool


def normalize(td: Mapping[str, Any]) -> Any:
    """``td`` without response-only fields, ECS's defaults and empty values, for comparing."""

    def clean(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                cleaned = clean(v, k)
                if cleaned in (None, [], {}) or (k in _DEFAULTS and cleaned == _DEFAULTS[k]):
                    continue
                out[k] = cleaned
            return out
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean({k: v for k, v in td.items() if k not in RESPONSE_ONLY and k != "tags"})


def diff_task_definitions(old: Mapping[str, Any] | None, new: Mapping[str, Any], *, label: str) -> list[str]:
    before = json.dumps(normalize(old), indent=2, sort_keys=True).splitlines() if old is not None else []
    after = json.dumps(normalize(new), indent=2, sort_keys=True).splitlines()
    return list(
        difflib.unified_diff(
            before, after, fromfile=label if old is not None else "/dev/null", tofile="new", lineterm=""
        )
    )


def _client(region: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("ecs", region_name=region, endpoint_url=endpoint_url)


def _call(what: str, function: Any, **kwargs: Any) -> Any:
    import botocore.exceptions

    try:
        return function(**kwargs)
    except botocore.exceptions.NoCredentialsError as exc:
        raise MissingError(
            f"no AWS credentials to {what}", hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from exc
    except botocore.exceptions.EndpointConnectionError as exc:
        raise MissingError(f"cannot reach the ECS endpoint {exc.kwargs.get('endpoint_url', '')}") from exc
    except botocore.exceptions.ClientError:
        raise
    except botocore.exceptions.BotoCoreError as exc:
        raise FailedError(f"ECS {what} failed: {exc}") from exc


def describe(
    family: str, *, revision: int | None, region: str, endpoint_url: str | None
) -> dict[str, Any] | None:
    """``family:revision`` (the latest without a revision) as ECS describes it, or None when there is none."""
    import botocore.exceptions

    client = _client(region, endpoint_url)
    name = f"{family}:{revision}" if revision is not None else family
    try:
        answer = _call("describe the task definition", client.describe_task_definition, taskDefinition=name)
    except botocore.exceptions.ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if (
            exc.response.get("Error", {}).get("Code") in ("ClientException", "ResourceNotFoundException")
            or "not found" in message.lower()
            or "unable to describe" in message.lower()
        ):
            return None
        raise FailedError(f"ECS refused to describe {name}: {message}") from exc
    td: dict[str, Any] = answer["taskDefinition"]
    return td


def register_if_changed(
    td: Mapping[str, Any], *, region: str, endpoint_url: str | None, dry_run: bool = False
) -> Registration:
    """Compare with the family's latest revision; register only when they differ (never with dry_run)."""
    import botocore.exceptions

    latest = describe(str(td["family"]), revision=None, region=region, endpoint_url=endpoint_url)
    previous = str(latest["taskDefinitionArn"]) if latest else None
    label = f"{td['family']}:{latest.get('revision')}" if latest else str(td["family"])
    if latest is not None and normalize(latest) == normalize(td):
        return Registration(None, previous, (), True, dry_run)
    diff = tuple(diff_task_definitions(latest, td, label=label))
    if dry_run:
        return Registration(None, previous, diff, False, True)
    client = _client(region, endpoint_url)
    try:
        answer = _call("register the task definition", client.register_task_definition, **td)
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        raise FailedError(
            f"ECS refused the task definition: {err.get('Code', '?')}: {err.get('Message', '')}"
        ) from exc
    return Registration(str(answer["taskDefinition"]["taskDefinitionArn"]), previous, diff, False, False)


def read_task_definition(text: str, *, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not JSON (line {exc.lineno})") from exc
    return task_definition_of(document, what=what)


def compose_from_ecs(settings: ComposeSettings) -> ComposeResult:
    """``migrate compose --from-ecs FILE`` or ``--family NAME [--revision N]``: the checked compose file."""
    from stackrig._io import read_text
    from stackrig.migrate._project import ComposeInput, load_project
    from stackrig.migrate._yaml import unshare
    from stackrig.migrate.compose import _finish

    if settings.from_ecs is not None:
        what = f"task definition {settings.from_ecs}"
        td = read_task_definition(read_text(settings.from_ecs, what="task definition"), what=what)
    else:
        family = str(settings.family)
        found = describe(
            family,
            revision=settings.revision,
            region=settings.region,
            endpoint_url=settings.endpoint_url,
        )
        name = f"{family}:{settings.revision}" if settings.revision is not None else family
        if found is None:
            raise UsageError(
                f"no task definition {name} in {settings.region}", hint="check --family and --region"
            )
        td = task_definition_of(found, what=f"task definition {name}")
        what = f"task definition {name}"
    document = compose_from_task_definition(td, region=settings.region)
    folder = settings.output.parent if settings.output is not None else Path()
    load_project(
        ComposeInput((folder / "compose.yaml",), (), ("*",), {}, folder.resolve(), unshare(document))
    )
    notes = []
    if document.get("x-ecs"):
        notes.append("what compose has no key for is kept under x-ecs; migrate ecs puts it back")
    return _finish(document, notes, source=what)
