"""``stackrig migrate ecs|lint``: compose files to an ECS task definition, and what converts how.

Registered on the migrate family's Typer app by :func:`register` (called at the end of
``stackrig.cli.migrate``).
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from stackrig import output
from stackrig.cli._common import finish
from stackrig.cli._migrate_options import (
    ComposeArg,
    EnvFileOpt,
    FileOpt,
    ProfileOpt,
    RequireSecretArnsOpt,
    SecretOpt,
    compose_files,
    parse_secrets,
)
from stackrig.cli.options import JsonOpt
from stackrig.errors import ExitCode
from stackrig.migrate.ecs import DEFAULT_MEMORY, EcsResult, EcsSettings, make_task_definition
from stackrig.migrate.lint import LintResult, LintSettings, lint
from stackrig.output import stderr_console

__all__ = ["register"]


class LaunchType(enum.StrEnum):
    ec2 = "ec2"
    fargate = "fargate"


class LintTarget(enum.StrEnum):
    ecs = "ecs"
    fargate = "fargate"
    compose = "compose"


OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write the result to this file (never one of the inputs).", dir_okay=False
    ),
]


def _render_ecs(r: EcsResult) -> output.Renderer:
    def draw(console: Console) -> None:
        for job in r.builds:
            dockerfile = f" -f {job['context']}/{job['dockerfile']}" if job.get("dockerfile") else ""
            target = f" --target {job['target']}" if job.get("target") else ""
            # To stderr: stdout carries the task definition when there is no -o.
            stderr_console().print(
                f"build: docker build -t {job['image']}{dockerfile}{target} {job['context']} "
                f"&& docker push {job['image']}",
                markup=False,
                highlight=False,
            )
        reg = r.registration
        if reg is not None and reg.diff:
            console.print("\n".join(reg.diff), markup=False, highlight=False)
        if r.written is not None:
            console.print(f"wrote {r.written}", markup=False)
        elif reg is None:
            console.file.write(r.content)
        if reg is not None:
            if reg.unchanged:
                console.print(f"unchanged: {reg.previous} is the same; nothing registered", markup=False)
            elif reg.dry_run:
                console.print("dry run: nothing registered", markup=False)
            else:
                console.print(f"registered {reg.arn}", markup=False)

    return draw


def _render_lint(result: LintResult) -> output.Renderer:
    def draw(console: Console) -> None:
        # One line per finding, as linters print them: where, what, how it fares.
        for f in result.findings:
            where = f"{f.loc}: " if f.loc else ""
            who = f"{f.service}." if f.service else ""
            console.print(f"{where}{who}{f.key}: [{f.status}] {f.message}", markup=False, highlight=False)
        counts = result.counts
        console.print(
            f"{result.target}: " + ", ".join(f"{n} {status}" for status, n in counts.items()), markup=False
        )

    return draw


def register(app: typer.Typer) -> None:
    @app.command(
        "ecs",
        epilog="Examples: stackrig migrate ecs compose.yaml --family appname -o taskdef.json\n\n"
        "stackrig migrate ecs -f compose.yaml -f compose.prod.yaml --env-file prod.env --launch-type fargate "
        "--execution-role arn:aws:iam::123456789012:role/ecsTaskExecutionRole "
        "--secret db-password=arn:...\n\n"
        "stackrig migrate ecs --image-prefix 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop --register "
        "--dry-run",
    )
    def ecs_cmd(  # noqa: PLR0917 - a Typer command mirrors its flags
        ctx: typer.Context,
        compose: ComposeArg = None,
        files: FileOpt = None,
        env_files: EnvFileOpt = None,
        profiles: ProfileOpt = None,
        out: OutOpt = None,
        family: Annotated[str | None, typer.Option("--family", help="Task definition family.")] = None,
        launch_type: Annotated[
            LaunchType | None,
            typer.Option(
                "--launch-type", help="ec2 (bridge mode; the default) or fargate (awsvpc, a Fargate size)."
            ),
        ] = None,
        cpu: Annotated[int | None, typer.Option("--cpu", help="Task CPU units (1024 = 1 vCPU).")] = None,
        memory: Annotated[int | None, typer.Option("--memory", help="Task memory in MiB.")] = None,
        default_memory: Annotated[
            int, typer.Option("--default-memory", help="Soft limit (MiB) of services that set no memory.")
        ] = DEFAULT_MEMORY,
        secrets: SecretOpt = None,
        require_secret_arns: RequireSecretArnsOpt = False,
        image_prefix: Annotated[
            str | None,
            typer.Option(
                "--image-prefix",
                help="REGISTRY/PATH: build-only services get REGISTRY/PATH/SERVICE:latest, listed with their "
                "build context so a CI job can build and push them.",
            ),
        ] = None,
        execution_role: Annotated[
            str | None, typer.Option("--execution-role", help="Execution role ARN.")
        ] = None,
        log_group: Annotated[
            str | None, typer.Option("--log-group", help="awslogs group (default /ecs/FAMILY).")
        ] = None,
        region: Annotated[str, typer.Option("--region", help="AWS region (logs, --register).")] = "us-east-1",
        register_: Annotated[
            bool,
            typer.Option(
                "--register",
                help="Register it with ECS unless the family's latest revision is the same (shows the diff).",
            ),
        ] = False,
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run", help="Show the diff against the family's latest revision; register nothing."
            ),
        ] = False,
        endpoint_url: Annotated[
            str | None, typer.Option("--endpoint-url", help="ECS endpoint (e.g. a local stand-in).")
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Translate compose files into an ECS task definition (checked as ECS would); optionally register it.

        The files are read as Docker Compose reads them (-f merging, .env or --env-file, extends, include,
        profiles). What ECS cannot express is listed as warnings, each with its file and line (the same
        findings 'migrate lint' lists); what the launch type forbids stops the command. Secret values never
        reach the task definition: a compose secret, a secret-looking variable or an env_file value takes its
        ARN from --secret NAME=ARN or x-aws-secret-arn; without one it refers to the SSM parameter
        /FAMILY/NAME (which you create) and a warning lists them, or --require-secret-arns stops on a
        compose secret without an ARN.
        """
        first, more = compose_files(compose, files)
        settings = EcsSettings(
            first,
            out,
            family,
            cpu,
            memory,
            execution_role,
            log_group,
            region,
            register_,
            endpoint_url,
            overrides=more,
            env_files=tuple(env_files or ()),
            profiles=tuple(profiles or ()),
            environ=dict(os.environ),
            launch_type=launch_type.value if launch_type is not None else None,
            default_memory=default_memory,
            secrets=parse_secrets(secrets),
            image_prefix=image_prefix,
            dry_run=dry_run,
            require_secret_arns=require_secret_arns,
        )
        r = make_task_definition(settings)
        reg = r.registration
        data: dict[str, Any] = {
            "containers": r.containers,
            "written": r.written,
            "registered_arn": reg.arn if reg else None,
            "unchanged": reg.unchanged if reg else None,
            "previous_arn": reg.previous if reg else None,
            "diff": list(reg.diff) if reg else None,
            "builds": list(r.builds),
            "changes": [f.as_dict() for f in r.findings if f.status == "changed" and not f.warns],
        }
        data["task_definition"] = r.task_definition
        finish(ctx, output.Report(data, render=_render_ecs(r), warnings=r.warnings), json_mode=json_)

    @app.command(
        "lint",
        epilog="Examples: stackrig migrate lint compose.yaml --target fargate\n\n"
        "stackrig migrate lint docker-compose.yml --target compose --json",
    )
    def lint_cmd(  # noqa: PLR0917 - a Typer command mirrors its flags
        ctx: typer.Context,
        compose: ComposeArg = None,
        target: Annotated[
            LintTarget,
            typer.Option("--target", help="ecs (EC2), fargate, or compose (a current Compose file)."),
        ] = LintTarget.ecs,
        files: FileOpt = None,
        env_files: EnvFileOpt = None,
        profiles: ProfileOpt = None,
        secrets: SecretOpt = None,
        require_secret_arns: RequireSecretArnsOpt = False,
        json_: JsonOpt = False,
    ) -> None:
        """For each service and key, with its line: converts as is, converts with a change (which), or cannot.

        The findings are those 'migrate ecs' makes while it translates (the same table: its warnings are the
        findings marked as warnings here). Exit 1 when something cannot convert.
        """
        first, more = compose_files(compose, files)
        result = lint(
            LintSettings(
                first,
                target.value,
                overrides=more,
                env_files=tuple(env_files or ()),
                profiles=tuple(profiles or ()),
                environ=dict(os.environ),
                secrets=parse_secrets(secrets),
                require_secret_arns=require_secret_arns,
            )
        )
        data = {
            "target": result.target,
            "counts": result.counts,
            "findings": [f.as_dict() for f in result.findings],
        }
        failed = tuple(f.text() for f in result.failed)
        code = ExitCode.FAILED if failed else ExitCode.OK
        report = output.Report(data, render=_render_lint(result), warnings=failed, exit_code=code)
        finish(ctx, report, json_mode=json_)
