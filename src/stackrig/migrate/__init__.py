"""The migrate family: from a monolith VM to a compose app and an ECS task definition.

``discover`` surveys a VM (or a copied tree), ``compose`` writes a current
Compose Specification file (or upgrades a version-1 one), ``ecs`` turns it into
an ECS task definition (``compose --from-ecs`` is the way back), ``lint`` says
per service and key how a compose file fares on ECS, Fargate or Compose, and
``wait`` polls services until they accept logins.
"""

from __future__ import annotations

from stackrig.migrate._schema import ComposeSchemaError, parse_bytes, schema_errors, validate_compose
from stackrig.migrate._upgrade import upgrade_compose
from stackrig.migrate.compose import ComposeResult, ComposeSettings, make_compose
from stackrig.migrate.discover import DiscoverReport, DiscoverSettings, discover
from stackrig.migrate.ecs import (
    EcsResult,
    EcsSettings,
    TaskDefinitionError,
    check_task_definition,
    make_task_definition,
    task_definition,
)
from stackrig.migrate.lint import LintResult, LintSettings, lint
from stackrig.migrate.wait import WaitResult, WaitSettings, exec_command, parse_target, probe, wait_for

__all__ = [
    "ComposeResult",
    "ComposeSchemaError",
    "ComposeSettings",
    "DiscoverReport",
    "DiscoverSettings",
    "EcsResult",
    "EcsSettings",
    "LintResult",
    "LintSettings",
    "TaskDefinitionError",
    "WaitResult",
    "WaitSettings",
    "check_task_definition",
    "discover",
    "exec_command",
    "lint",
    "make_compose",
    "make_task_definition",
    "parse_bytes",
    "parse_target",
    "probe",
    "schema_errors",
    "task_definition",
    "upgrade_compose",
    "validate_compose",
    "wait_for",
]
