"""environment, env_file and secrets of a service → environment, environmentFiles and secrets.

Secrets stay secret: a value read from an env file or the environment under a
name that looks secret (PASSWORD, SECRET, TOKEN, KEY, ...), or interpolated from
such a variable, is never written into the task definition. It becomes a
``secrets`` entry whose ``valueFrom`` is the ARN given with ``--secret NAME=ARN``
or an extension field, else the placeholder SSM parameter ``/FAMILY/NAME`` (one
warning lists those). Compose ``secrets`` become ``secrets`` entries the same way
(their ARN from ``--secret NAME=ARN``, ``x-aws-secret-arn``, an external ARN name or
``x-aws-secrets``); under ``--require-secret-arns`` a compose secret without one
stops ``migrate ecs`` with a USAGE error naming it and the services using it.
ECS cannot mount secrets as files, but the ``X_FILE=/run/secrets/NAME``
convention of the official database images is turned into the variable ``X`` itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_ctx import Context, mapping
from stackrig.migrate._interpolate import read_env_file
from stackrig.migrate._redact import is_secret_variable
from stackrig.migrate._yaml import Loc, at, loc_of

__all__ = ["S3_ARN", "environment", "secret_files"]

S3_ARN = re.compile(r"^arn:aws[\w-]*:s3:::.+")
_RUN_SECRETS = re.compile(r"^/run/secrets/(.+)$")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RUN_SECRETS_IN = re.compile(r"/run/secrets/([A-Za-z0-9_.-]+)")


def _env_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text).upper().lstrip("0123456789") or "SECRET"


def _read_env_files(
    ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    """KEY → (value, origin) from the service's env files; S3 ARNs become environmentFiles."""
    values: dict[str, tuple[str, str]] = {}
    variables = ctx.project.variables_of(name)
    for item in svc.get("env_file") or []:
        path, required = (
            (item.get("path"), item.get("required", True)) if isinstance(item, dict) else (item, True)
        )
        text = str(path)
        if S3_ARN.match(text):
            c.setdefault("environmentFiles", []).append({"value": text, "type": "s3"})
            continue
        file = Path(text)
        if not file.exists() and required is False:
            continue
        if not file.is_file():
            raise UsageError(
                f"{at(loc_of(svc, 'env_file'))}services.{name}.env_file: {file} does not exist",
                hint="Compose needs it too",
            )
        count = 0
        for key, value in read_env_file(file, lookup=variables.values.get).items():
            resolved = value if value is not None else variables.values.get(key)
            if resolved is None:
                continue
            if is_secret_variable(key) and resolved:
                variables.secret_values[resolved] = key
            values[key] = (resolved, f"env_file {file.name}")
            count += 1
        ctx.add(
            name,
            "env_file",
            "changed",
            f"{file.name}: {count} variables written out (those that look secret as secrets entries)",
            node=svc,
        )
    return values


def environment(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    variables = ctx.project.variables_of(name)
    values = _read_env_files(ctx, name, svc, c)
    declared = mapping(svc, "environment")
    for raw_key, value in declared.items():
        key = str(raw_key)
        if value is None:
            found = variables.lookup(key)
            if found is None:
                ctx.add(
                    name,
                    f"environment.{key}",
                    "cannot",
                    "takes its value from the shell running Compose, where it is not set; left out",
                    node=declared,
                    at=key,
                )
                values.pop(key, None)
                continue
            values[key] = (found, "the environment")
        else:
            text = "true" if value is True else "false" if value is False else str(value)
            values[key] = (text, "compose")
    service_secrets = _service_secrets(svc)
    environment_out: list[dict[str, str]] = []
    secrets_out: dict[str, str] = {}
    for key in sorted(values):
        value, origin = values[key]
        match = _RUN_SECRETS.match(value)
        if key.endswith("_FILE") and match and match.group(1) in service_secrets:
            source = service_secrets[match.group(1)]
            target = key[: -len("_FILE")]
            secrets_out[target] = _compose_secret_ref(ctx, name, svc, source)
            service_secrets.pop(match.group(1))
            ctx.add(
                name,
                f"environment.{key}",
                "changed",
                f"ECS cannot mount secret files; the variable "
                f"{target} takes the value of secret {source} instead",
                node=declared or svc,
                at=key if key in declared else "environment",
            )
            continue
        secret_var = variables.secret_used_at(loc_of(declared, key)) if origin == "compose" else None
        looked_up = origin != "compose"
        if secret_var is not None or (looked_up and is_secret_variable(key) and value):
            # The ARN may be given under the container's variable name or the compose variable's.
            ref_name = key
            if secret_var and ctx.secret_arn(key) is None and ctx.secret_arn(secret_var) is not None:
                ref_name = secret_var
            secrets_out[key] = ctx.secret_reference(ref_name, _origin(origin, secret_var, variables.sources))
            continue
        if is_secret_variable(key) and value:
            ctx.task["literal_secrets"] = True
        environment_out.append({"name": key, "value": value})
    explicit = {str(i.get("target")).removeprefix("/run/secrets/") for i in svc.get("secrets") or []
                if isinstance(i, dict) and i.get("target")}  # fmt: skip
    for target, source in service_secrets.items():
        env = _secret_variable(target, target in explicit)
        secrets_out.setdefault(env, _compose_secret_ref(ctx, name, svc, source))
        ctx.add(
            name,
            "secrets",
            "cannot",
            f"ECS cannot mount secret {source} as /run/secrets/{target}; "
            f"its value is in the variable {env} instead",
            node=svc,
        )
    if environment_out:
        c["environment"] = environment_out
    if secrets_out:
        c["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets_out.items())]


def secret_files(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    """Commands that read /run/secrets/NAME, which ECS does not mount."""
    declared = ctx.project.model.get("secrets") or {}
    text = " ".join(str(v) for key in ("command", "entryPoint") for v in c.get(key, []))
    text += " " + " ".join(map(str, c.get("healthCheck", {}).get("command", [])))
    for secret in sorted(set(_RUN_SECRETS_IN.findall(text))):
        if secret in declared:
            key = (
                "healthcheck"
                if secret in " ".join(map(str, c.get("healthCheck", {}).get("command", [])))
                else "command"
            )
            ctx.add(
                name,
                key,
                "cannot",
                f"reads /run/secrets/{secret}, which ECS does not mount (the secret is "
                "an environment variable there)",
                node=svc,
            )


def _origin(origin: str, variable: str | None, sources: dict[str, str]) -> str:
    if variable is not None:
        where = Path(sources[variable]).name if variable in sources else "the environment"
        return f"${{{variable}}} from {where}"
    return origin


def _service_secrets(svc: dict[str, Any]) -> dict[str, str]:
    """target file name → secret name, for the compose secrets this service mounts."""
    out: dict[str, str] = {}
    for item in svc.get("secrets") or []:
        if isinstance(item, dict):
            source = str(item.get("source"))
            target = str(item.get("target") or source)
        else:
            source = target = str(item)
        out[target.removeprefix("/run/secrets/")] = source
    return out


def _secret_variable(target: str, explicit: bool) -> str:
    """The variable a mounted secret becomes: an explicit target that is a variable name as is, else
    the file's name in capitals (db-password → DB_PASSWORD)."""
    if explicit and _VARIABLE.fullmatch(target):
        return target
    return _env_name(Path(target).name)


def _compose_secret_ref(ctx: Context, service: str, svc: dict[str, Any], source: str) -> str:
    declared = (ctx.project.model.get("secrets") or {}).get(source)
    return ctx.compose_secret_reference(
        source,
        service=service,
        loc=_secret_loc(svc, source),
        declared=declared if isinstance(declared, dict) else None,
    )


def _secret_loc(svc: dict[str, Any], source: str) -> Loc | None:
    """Where the service names the secret (its item under ``secrets:``), else its ``secrets`` key."""
    items = svc.get("secrets")
    for index, item in enumerate(items if isinstance(items, list) else []):
        named = item.get("source") if isinstance(item, dict) else item
        if str(named) == source:
            return loc_of(items, index) or loc_of(svc, "secrets")
    return loc_of(svc, "secrets")
