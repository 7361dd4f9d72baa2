"""Registering a task definition only when it differs from the family's latest revision.

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
from typing import Any

from stackrig.errors import FailedError, MissingError
from stackrig.migrate._from_ecs import RESPONSE_ONLY

__all__ = ["Registration", "diff_task_definitions", "normalize", "register_if_changed"]

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
