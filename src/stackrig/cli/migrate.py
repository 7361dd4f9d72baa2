"""``stackrig migrate``: from a monolith VM to a compose app and an ECS task definition."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from stackrig import output
from stackrig._units import Seconds
from stackrig.cli import migrate_ecs
from stackrig.cli._common import finish
from stackrig.cli._migrate_options import (
    EnvFileOpt,
)
from stackrig.cli.options import Duration, JsonOpt, RootOpt
from stackrig.migrate import (
    ComposeSettings,
    DiscoverReport,
    DiscoverSettings,
    WaitSettings,
    discover,
    exec_command,
    make_compose,
    wait_for,
)

app = typer.Typer(
    help="Move a monolith VM to containers: survey it, write a compose app and an ECS task definition, "
    "and wait for services to be ready (in place of sleep).",
    no_args_is_help=True,
)


OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write the result to this file (never one of the inputs).", dir_okay=False
    ),
]


def _render_discover(report: DiscoverReport) -> output.Renderer:
    def draw(console: Console) -> None:
        console.print(f"OS: {report.os.pretty_name or report.os.name or 'unknown'}", markup=False)
        console.print(f"Packages: {report.package_count} installed, notable:", markup=False)
        for pkg in report.notable_packages:
            console.print(f"  {pkg.name} {pkg.version} ({pkg.notable})", markup=False)
        if report.app:
            a = report.app
            proposed = next((s.runtime for s in report.services if s.role == "app"), None)
            console.print(
                f"App: {a.path}: {proposed or a.language}, "
                f"{a.framework or 'no framework'} {a.framework_version or ''}".rstrip(),
                markup=False,
            )
        for db in report.databases:
            console.print(
                f"DB config: {db.source} [{db.environment or '-'}] {db.adapter} "
                f"{db.host or ''}:{db.port or ''} "
                f"{db.database or ''} (password {'set' if db.password_set else 'not set'})",
                markup=False,
            )
        table = Table(title="Proposed services", title_justify="left")
        for col in ("service", "role", "image", "runtime", "port", "evidence"):
            table.add_column(col)
        for s in report.services:
            runtime = " ".join(x for x in (s.runtime, s.version) if x)
            image = s.image or (f"build FROM {s.base_image}" if s.base_image else "build")
            table.add_row(s.name, s.role, image, runtime, str(s.port or "-"), "\n".join(s.evidence))
        console.print(table)
        console.print(
            f"Listening: {len(report.listeners)}, cron jobs: {len(report.cron)}, "
            f"history lines: {len(report.history)} (secrets redacted)",
            markup=False,
        )
        for note in report.notes:
            console.print(f"note: {note}", markup=False)
        if report.written:
            console.print(f"Report written to {report.written}", markup=False)

    return draw


@app.command("discover", epilog="Example: stackrig migrate discover --root /mnt/vm -o report.json")
def discover_cmd(
    ctx: typer.Context,
    root: RootOpt = Path("/"),
    app_dir: Annotated[
        Path | None,
        typer.Option("--app", help="The app's folder (default: searched under /srv, /var/www, ...)."),
    ] = None,
    out: OutOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Survey a VM: OS, packages, app stack, db config, listeners, cron, history; propose services.

    No secret value (passwords, keys, tokens) appears in the report or on screen.
    """
    report = discover(DiscoverSettings(root=root, app=app_dir, output=out))
    finish(
        ctx, output.Report(report, render=_render_discover(report), warnings=report.notes), json_mode=json_
    )


def _print_content(content: str, written: Path | None) -> output.Renderer:
    def draw(console: Console) -> None:
        if written is not None:
            console.print(f"wrote {written}", markup=False)
        else:
            console.file.write(content)

    return draw


@app.command(
    "compose",
    epilog="Examples: stackrig migrate compose --upgrade docker-compose.v1.yml -o compose.yaml\n\n"
    "stackrig migrate compose --from-ecs taskdef.json -o compose.yaml\n\n"
    "stackrig migrate compose --family web --revision 7 --region eu-west-1 -o compose.yaml",
)
def compose_cmd(  # noqa: PLR0917 - a Typer command mirrors its flags
    ctx: typer.Context,
    report: Annotated[
        Path | None, typer.Argument(help="A report from 'migrate discover -o'.", dir_okay=False)
    ] = None,
    upgrade: Annotated[
        Path | None,
        typer.Option("--upgrade", help="Turn this old (version 1/2/3) compose file into a current one."),
    ] = None,
    out: OutOpt = None,
    cpu_shares: Annotated[
        int | None, typer.Option("--cpu-shares", help="cpu_shares of each service.")
    ] = None,
    mem_limit: Annotated[
        str | None, typer.Option("--mem-limit", help="mem_limit of each service (bytes, or 512M, 1G: IEC).")
    ] = None,
    env_files: EnvFileOpt = None,
    from_ecs: Annotated[
        Path | None,
        typer.Option(
            "--from-ecs",
            help="A task definition (register-task-definition input or describe-task-definition output).",
            dir_okay=False,
        ),
    ] = None,
    family: Annotated[
        str | None, typer.Option("--family", help="Read this task definition family through the ECS API.")
    ] = None,
    revision: Annotated[
        int | None, typer.Option("--revision", help="With --family: this revision (default: the latest).")
    ] = None,
    region: Annotated[str, typer.Option("--region", help="With --family: the AWS region.")] = "us-east-1",
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="With --family: the ECS endpoint (e.g. a stand-in).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Write a Compose Specification file (validated against its schema) from a report, an old file or ECS.

    --upgrade keeps variables as written but checks the result the way Docker Compose reads it
    (interpolated with the environment, .env or --env-file): what Compose would refuse is an error and
    nothing is written. With -o in another folder, relative paths are rewritten to still point at the
    same place. --from-ecs (or --family) is the way back from ECS: every mapping 'migrate ecs' makes
    comes back, secrets as compose secrets with their ARN in x-aws-secret-arn (never values), and what
    compose has no key for under x-ecs, so 'migrate ecs' of the result gives the same task definition.
    Without -o the file goes to stdout (with --json: into data.content).
    """
    settings = ComposeSettings(
        report,
        upgrade,
        out,
        cpu_shares,
        mem_limit,
        env_files=tuple(env_files or ()),
        environ=dict(os.environ),
        from_ecs=from_ecs,
        family=family,
        revision=revision,
        region=region,
        endpoint_url=endpoint_url,
    )
    result = make_compose(settings)
    data = {
        "services": result.services,
        "notes": result.notes,
        "written": result.written,
        "content": result.content,
    }
    rep = output.Report(data, render=_print_content(result.content, result.written), warnings=result.notes)
    finish(ctx, rep, json_mode=json_)


class _ExecCommand(TyperCommand):
    """Keeps what follows ``--`` apart from the TARGET arguments."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta["stackrig.migrate.exec"] = tuple(args[cut + 1 :])
            args = args[:cut]
        return super().parse_args(ctx, args)


@app.command(
    "wait",
    cls=_ExecCommand,
    epilog="Example: stackrig migrate wait mysql://root:$PW@db:3306/ -- sh -c 'rake db:create && rails s'",
)
def wait_cmd(
    ctx: typer.Context,
    targets: Annotated[
        list[str],
        typer.Argument(
            help="tcp://h:p, http(s)://..., mysql://u:p@h:p/db, postgres://u:p@h:p/db, file:///path"
        ),
    ],
    timeout: Annotated[
        float,
        typer.Option("--timeout", click_type=Duration(), help="Give up after this long (exit 124)."),
    ] = Seconds(60),
    interval: Annotated[
        float,
        typer.Option("--interval", click_type=Duration(), help="Time between polls."),
    ] = Seconds(0.5),
    json_: JsonOpt = False,
) -> None:
    """Wait until every TARGET is ready (a real login for databases), then run the command after --.

    With -- CMD, stackrig replaces itself with CMD once ready (exit code and output are CMD's).
    Passwords in targets are never shown. On timeout: exit 124 naming each target not ready.
    """
    command = tuple(ctx.meta.get("stackrig.migrate.exec", ()))
    result = wait_for(WaitSettings(tuple(targets), timeout, interval, command))
    if command:
        exec_command(command)  # replaces this process: its output is the command's own
    lines = "\n".join(f"ready: {t.target} (poll {t.polls}, {t.seconds:.3f} s)" for t in result.targets)
    finish(ctx, output.Report(result, render=lambda c: c.print(lines, markup=False)), json_mode=json_)


# ecs and lint live in their own module (they share the compose-reading options).
migrate_ecs.register(app)
