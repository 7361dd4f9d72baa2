"""Options of the migrate commands that read compose files the way Docker Compose does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stackrig.errors import UsageError

__all__ = [
    "ComposeArg",
    "EnvFileOpt",
    "FileOpt",
    "ProfileOpt",
    "RequireSecretArnsOpt",
    "SecretOpt",
    "compose_files",
    "parse_secrets",
]

DEFAULT_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_NAMES = ("compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml",
                  "docker-compose.override.yml")  # fmt: skip

ComposeArg = Annotated[
    Path | None,
    typer.Argument(
        help="The compose file (default: compose.yaml or docker-compose.yml here, with its override file).",
        dir_okay=False,
        show_default=False,
    ),
]
FileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--file",
        "-f",
        help="Another compose file, merged onto the ones before it as Docker Compose does (repeatable).",
        dir_okay=False,
    ),
]
EnvFileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--env-file",
        help="Variables for interpolation, in place of .env beside the compose file (repeatable; later wins; "
        "the environment wins over all).",
        dir_okay=False,
    ),
]
ProfileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--profile", help="Enable the services of this profile (repeatable; default COMPOSE_PROFILES)."
    ),
]
SecretOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--secret",
        help="NAME=ARN: the Secrets Manager or SSM ARN of a compose secret or secret variable (repeatable). "
        "A secret with no ARN (from here, x-aws-secret-arn, an external ARN name or x-aws-secrets) refers to "
        "the SSM parameter /FAMILY/NAME, which you create; a warning lists them.",
        metavar="NAME=ARN",
    ),
]
RequireSecretArnsOpt = Annotated[
    bool,
    typer.Option(
        "--require-secret-arns",
        help="Stop (exit 2) on a compose secret without an ARN, naming it and the services using it, instead "
        "of referring to the SSM parameter /FAMILY/NAME.",
    ),
]


def compose_files(first: Path | None, more: list[Path] | None) -> tuple[Path, tuple[Path, ...]]:
    """The files in order: the argument and each -f; with none, compose.yaml (+ override) from here."""
    files = ([first] if first is not None else []) + list(more or [])
    if files:
        return files[0], tuple(files[1:])
    here = Path()
    found = next((here / n for n in DEFAULT_NAMES if (here / n).is_file()), None)
    if found is None:
        raise UsageError(
            "no compose file given, and none of " + ", ".join(DEFAULT_NAMES) + " is here",
            hint="name one, or pass -f FILE",
        )
    override = next((here / n for n in OVERRIDE_NAMES if (here / n).is_file()), None)
    return found, (override,) if override is not None else ()


def parse_secrets(values: list[str] | None) -> dict[str, str]:
    """``NAME=ARN`` pairs; a UsageError names a malformed one."""
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, arn = item.partition("=")
        if not sep or not name.strip() or not arn.strip():
            raise UsageError(f"--secret {item!r}: expected NAME=ARN")
        out[name.strip()] = arn.strip()
    return out
