"""fleet: cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stackrig.cli._common import finish
from stackrig.cli.options import JsonOpt
from stackrig.fleet import InventoryOptions
from stackrig.fleet._commands import InventoryOutcome, InventorySettings, make_inventory
from stackrig.output import Report, stderr_console

__all__ = ["app"]

app = typer.Typer(
    help="Cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook.",
    no_args_is_help=True,
)

# ------------------------------------------------------------------ shared options
SourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Cloud CLI JSON files ('-' or none: stdin). Several files or concatenated pages are fine."
    ),
]
ProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--provider", help="aws, azure, gcp or openstack (default: detected from the JSON's shape)."
    ),
]
FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Keep matching hosts; once per filter. aws CLI syntax (Name=tag:Name,Values=web*) or "
        "short (tag:Name=web*, state=stopped, zone=us-east-1a, type=t3.*). Case-sensitive globs.",
    ),
]
StateOpt = Annotated[
    str, typer.Option("--state", help="Keep hosts in this state (comma-separated); 'any' keeps all.")
]
AddressOpt = Annotated[
    str, typer.Option("--address", help="ansible_host: public, private or auto (public, else private).")
]
HostnameOpt = Annotated[
    str, typer.Option("--hostname", help="Inventory host names: address, name (tag Name / VM name) or id.")
]
GroupOpt = Annotated[
    list[str] | None, typer.Option("--group", help="Put every host in this group (repeatable).")
]
GroupByOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--group-by",
        help="Keyed groups like aws_ec2's: tag:KEY, region, zone, type, provider, state, key-name, image "
        "(comma-separated or repeated).",
    ),
]
UserOpt = Annotated[str | None, typer.Option("--user", help="ansible_user for every host.")]
PortOpt = Annotated[int | None, typer.Option("--port", help="ansible_port for every host.")]
ProxyOpt = Annotated[
    str | None,
    typer.Option("--ssh-proxy", help="USER@BASTION: ProxyJump for hosts reached on their private address."),
]
FormatOpt = Annotated[
    str, typer.Option("--format", help="ini, yaml or json (dynamic-inventory --list layout).")
]
HostVarsOpt = Annotated[
    Path | None,
    typer.Option(
        "--host-vars-dir",
        help="INI only: write the values INI cannot hold safely to DIR/<host>.yml (tagged !unsafe). "
        "Use host_vars beside the inventory.",
        file_okay=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write here (atomically) instead of stdout.", dir_okay=False),
]


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}", param_hint=name)
    return value


def inventory_options(
    *,
    filters: list[str] | None,
    state: str,
    address: str,
    hostname: str,
    groups: list[str] | None,
    group_by: list[str] | None,
    user: str | None,
    port: int | None,
    ssh_proxy: str | None,
    fmt: str,
) -> InventoryOptions:
    return InventoryOptions(
        filters=tuple(filters or ()),
        state=state,
        address=_choice("--address", address, ("auto", "public", "private")),  # type: ignore[arg-type]
        hostname=_choice("--hostname", hostname, ("address", "name", "id")),  # type: ignore[arg-type]
        groups=tuple(groups or ()),
        group_by=tuple(group_by or ()),
        user=user,
        port=port,
        ssh_proxy=ssh_proxy,
        format=_choice("--format", fmt, ("ini", "yaml", "json")),  # type: ignore[arg-type]
    )


def _inventory_report(outcome: InventoryOutcome, json_: bool) -> Report:
    def render(console: Console) -> None:
        if outcome.output is None:
            console.file.write(outcome.files.content)
        stderr_console().print(f"fleet inventory: {outcome.result.summary()}", markup=False)

    return Report(
        outcome.to_dict(), render=render, warnings=outcome.notes(), partial=bool(outcome.result.skipped)
    )


# ------------------------------------------------------------------ commands
@app.command(epilog="Example: aws ec2 describe-instances --output json | stackrig fleet inventory -o hosts")
def inventory(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    sources: SourcesArg = None,
    provider: ProviderOpt = None,
    filters: FilterOpt = None,
    state: StateOpt = "running",
    address: AddressOpt = "auto",
    hostname: HostnameOpt = "address",
    groups: GroupOpt = None,
    group_by: GroupByOpt = None,
    user: UserOpt = None,
    port: PortOpt = None,
    ssh_proxy: ProxyOpt = None,
    fmt: FormatOpt = "ini",
    host_vars_dir: HostVarsOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Turn cloud CLI JSON (aws, az, gcloud, openstack) into an Ansible inventory (INI, YAML or JSON)."""
    options = inventory_options(
        filters=filters,
        state=state,
        address=address,
        hostname=hostname,
        groups=groups,
        group_by=group_by,
        user=user,
        port=port,
        ssh_proxy=ssh_proxy,
        fmt=fmt,
    )
    settings = InventorySettings(tuple(sources or ()), provider, options, output, host_vars_dir)
    outcome = make_inventory(settings, stdin=sys.stdin)
    finish(ctx, _inventory_report(outcome, json_), json_mode=json_)


# The cloud commands (fleet discover, from the fleetcloud branch) are registered below this line,
# by importing register from stackrig.cli.fleet_cloud and calling it with app.
__import__("stackrig.cli.fleet_cloud", fromlist=["register"]).register(app)
