"""fleet: cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stackrig.cli._common import finish
from stackrig.cli._fleet_options import HostVarsOpt, OutputOpt, ProviderOpt, SourcesArg, inventory_group
from stackrig.cli.fleet_cloud import register as register_cloud_commands
from stackrig.cli.fleet_history import register as register_history_commands
from stackrig.cli.options import JsonOpt
from stackrig.fleet import InventoryOptions, InventoryOutcome, InventorySettings, make_inventory
from stackrig.fleet._flow import RunResult, RunSettings, parse_render_specs, run_flow
from stackrig.fleet.ansible import PlayResult, PlaySettings
from stackrig.fleet.ansible import play as run_play
from stackrig.fleet.collection import collection_info, install_collection
from stackrig.fleet.render import RenderSettings, parse_vars
from stackrig.fleet.render import render as render_config
from stackrig.output import Report, is_quiet, progress_stream, stderr_console

__all__ = ["app"]

app = typer.Typer(
    help="Cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook.",
    no_args_is_help=True,
)


def _inventory_report(outcome: InventoryOutcome, json_: bool) -> Report:
    def render(console: Console) -> None:
        if outcome.output is None:
            console.file.write(outcome.files.content)
        stderr_console().print(f"fleet inventory: {outcome.result.summary()}", markup=False)

    # Hosts without a usable address are skipped, each named with its reason: the inventory of the
    # others is the whole of the work (not a partial result, which is for failed regions or files).
    return Report(outcome.to_dict(), render=render, warnings=outcome.notes())


# ------------------------------------------------------------------ commands
@app.command(epilog="Example: aws ec2 describe-instances --output json | stackrig fleet inventory -o hosts")
@inventory_group
def inventory(
    ctx: typer.Context,
    sources: SourcesArg = None,
    provider: ProviderOpt = None,
    *,
    options: InventoryOptions,
    host_vars_dir: HostVarsOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Turn cloud CLI JSON (aws, az, gcloud, openstack) into an Ansible inventory (INI, YAML or JSON)."""
    settings = InventorySettings(tuple(sources or ()), provider, options, output, host_vars_dir)
    outcome = make_inventory(settings, stdin=sys.stdin)
    finish(ctx, _inventory_report(outcome, json_), json_mode=json_)


InventoryArg = Annotated[
    Path,
    typer.Option("--inventory", "-i", help="Inventory file (INI, YAML or JSON as fleet inventory writes)."),
]
VarOpt = Annotated[
    list[str] | None, typer.Option("--var", help="KEY=VALUE for the template's vars (repeatable).")
]


@app.command(
    epilog="Example: stackrig fleet render examples/templates/agent.yml.j2 -i hosts -o agent.yml --dry-run"
)
def render(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    template: Annotated[Path, typer.Argument(help="Jinja2 template (sandboxed, StrictUndefined).")],
    inventory: InventoryArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here atomically, mode 0600.", dir_okay=False)
    ] = None,
    var: VarOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the result with every value from env masked; write nothing."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Render a config template (hosts, first, groups, vars, env.NAME) against an inventory."""
    settings = RenderSettings(template, inventory, output, parse_vars(var or ()), dry_run)
    result = render_config(settings, os.environ)

    def show(console: Console) -> None:
        if not result.written:
            console.file.write(result.content)
        else:
            stderr_console().print(f"fleet render: wrote {result.output} (mode 0600)", markup=False)

    finish(ctx, Report(result, render=show), json_mode=json_)


KeyFileOpt = Annotated[
    Path | None,
    typer.Option("--key-file", help="Private key for ssh (ansible-playbook --key-file).", dir_okay=False),
]
ExtraVarsOpt = Annotated[
    list[str] | None,
    typer.Option("--extra-vars", "-e", help="KEY=VALUE or @FILE for the playbook (repeatable)."),
]
NoHostKeyOpt = Annotated[
    bool,
    typer.Option("--no-host-key-checking", help="Set ANSIBLE_HOST_KEY_CHECKING=False (new cloud hosts)."),
]
LimitOpt = Annotated[str | None, typer.Option("--limit", help="Only hosts matching this Ansible pattern.")]
PlaybookArg = Annotated[Path, typer.Argument(help="The playbook to run.")]
AnsibleArgs = Annotated[
    list[str] | None,
    typer.Argument(help="After --: more arguments for ansible-playbook.", show_default=False),
]


def _play_settings(
    *,
    playbook: Path,
    inventory: Path,
    key_file: Path | None,
    extra_vars: list[str] | None,
    no_host_key_checking: bool,
    limit: str | None,
    args: list[str] | None,
) -> PlaySettings:
    return PlaySettings(
        playbook,
        inventory,
        key_file,
        tuple(extra_vars or ()),
        not no_host_key_checking,
        limit,
        tuple(args or ()),
    )


def _play_report(result: PlayResult, json_: bool, data: object = None) -> Report:
    problem = result.problem()

    def show(console: Console) -> None:
        hosts = len(result.recap)
        line = f"error: {problem}" if problem else f"fleet play: ok ({hosts} hosts)"
        stderr_console(quiet=False if problem else None).print(line, markup=False)  # an error: even with -q

    # In text mode the warnings were logged before ansible started.
    warnings = (*result.warnings, *((problem,) if problem else ())) if json_ else ()
    if json_ and problem and is_quiet():  # -q silences the warnings, and this one is why it exits 1
        stderr_console(quiet=False).print(f"error: {problem}", markup=False)
    return Report(
        result if data is None else data, render=show, warnings=warnings, exit_code=result.exit_code
    )


def _run_report(result: RunResult, json_: bool) -> Report:
    play_report = _play_report(result.play, json_, result.to_dict())
    inventory_notes = result.inventory.notes()

    def show(console: Console) -> None:
        err = stderr_console()
        for note in inventory_notes:
            err.print(f"warning: {note}", markup=False)
        err.print(f"fleet inventory: {result.inventory.result.summary()}", markup=False)
        if play_report.render is not None:
            play_report.render(console)

    warnings = (*inventory_notes, *play_report.warnings) if json_ else ()
    return Report(play_report.data, render=show, warnings=warnings, exit_code=play_report.exit_code)


@app.command(
    epilog="Example: stackrig fleet play site.yml -i hosts --key-file ~/.ssh/aws.pem --no-host-key-checking"
)
def play(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    playbook: PlaybookArg,
    inventory: InventoryArg,
    args: AnsibleArgs = None,
    key_file: KeyFileOpt = None,
    extra_vars: ExtraVarsOpt = None,
    no_host_key_checking: NoHostKeyOpt = False,
    limit: LimitOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run ansible-playbook on an inventory, streaming its output; exit 1 names failed hosts."""
    settings = _play_settings(
        playbook=playbook,
        inventory=inventory,
        key_file=key_file,
        extra_vars=extra_vars,
        no_host_key_checking=no_host_key_checking,
        limit=limit,
        args=args,
    )
    result = run_play(settings, out=progress_stream() if json_ else sys.stdout)
    finish(ctx, _play_report(result, json_), json_mode=json_)


@app.command(
    epilog="Example: aws ec2 describe-instances --output json | stackrig fleet run site.yml --group nodes "
    "--render agent.yml.j2:agent.yml --key-file key.pem --no-host-key-checking --workdir run1"
)
@inventory_group
def run(
    ctx: typer.Context,
    playbook: PlaybookArg,
    sources: SourcesArg = None,
    provider: ProviderOpt = None,
    *,
    options: InventoryOptions,
    renders: Annotated[
        list[str] | None,
        typer.Option(
            "--render", help="TEMPLATE:OUTPUT, rendered after the inventory (OUTPUT in the work dir)."
        ),
    ] = None,
    var: VarOpt = None,
    key_file: KeyFileOpt = None,
    extra_vars: ExtraVarsOpt = None,
    no_host_key_checking: NoHostKeyOpt = False,
    limit: LimitOpt = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="Keep the inventory and rendered files here (default: a temp dir).",
            file_okay=False,
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The whole flow: cloud JSON → inventory → rendered files → ansible-playbook.

    The playbook gets the work dir as the extra var stackrig_workdir.
    """
    settings = RunSettings(
        InventorySettings(tuple(sources or ()), provider, options),
        _play_settings(
            playbook=playbook,
            inventory=Path("inventory"),
            key_file=key_file,
            extra_vars=extra_vars,
            no_host_key_checking=no_host_key_checking,
            limit=limit,
            args=None,
        ),
        parse_render_specs(renders or ()),
        parse_vars(var or ()),
        workdir,
    )
    result = run_flow(settings, out=progress_stream() if json_ else sys.stdout, environ=os.environ)
    finish(ctx, _run_report(result, json_), json_mode=json_)


# The cloud-API commands (up, discover, down) live in their own module; listed after these in --help.
register_cloud_commands(app)
register_history_commands(app)


@app.command(
    "ansible-collection",
    epilog="Example: stackrig fleet ansible-collection --install",
)
def ansible_collection(
    ctx: typer.Context,
    install: Annotated[
        bool,
        typer.Option(
            "--install", help="Copy it where ansible-galaxy would (replacing an earlier copy of it only)."
        ),
    ] = False,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="Install under this collections path (default: the first ANSIBLE_COLLECTIONS_PATH entry, "
            "else ~/.ansible/collections).",
            file_okay=False,
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The Ansible collection stackrig.fleet (inventory plugin stackrig.fleet.discover): where it is.

    Its plugin imports stackrig: use it with the Ansible of this environment.
    """
    info = install_collection(path, os.environ) if install else collection_info()

    def show(console: Console) -> None:
        if info.installed is not None:
            console.print(f"installed {info.name} {info.version} in {info.installed}", markup=False)
            return
        console.print(f"export ANSIBLE_COLLECTIONS_PATH={info.collections_path}", markup=False)
        stderr_console().print(
            f"{info.name} {info.version} is in {info.source}; put its folder on collections_path "
            "(the line above, or collections_path in ansible.cfg), or run with --install",
            markup=False,
        )

    finish(ctx, Report(info, render=show), json_mode=json_)
