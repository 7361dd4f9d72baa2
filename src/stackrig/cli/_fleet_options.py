"""Options shared by the fleet commands of cli/fleet.py and cli/fleet_cloud.py (declared once).

Both command modules import from here and never from each other: ``fleet.py`` registers the
cloud commands of ``fleet_cloud.py`` on its app, so the imports run one way only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stackrig.cli._params import Opt, option_group
from stackrig.fleet import InventoryOptions
from stackrig.fleet._inventory import FORMATS

__all__ = [
    "HostVarsOpt",
    "OutputOpt",
    "ProviderOpt",
    "SourcesArg",
    "inventory_group",
    "inventory_options",
]

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
    str | None,
    typer.Option(
        "--state",
        help="Keep hosts in this state (comma-separated); 'any' keeps all. Default: running, unless a "
        "--filter on the state (state=stopped, instance-state-code=80) says which.",
        show_default=False,
    ),
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
        help="Keyed groups like aws_ec2's: tag:KEY, region, zone, type, provider, state, key-name, image, "
        "account (fleet discover: the account's alias) "
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
    str,
    typer.Option(
        "--format",
        help="ini, yaml, json (the YAML plugin's layout in JSON: ansible-inventory -i FILE reads it) "
        "or script (a dynamic-inventory script's --list output, for wrappers).",
    ),
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
    state: str | None,
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
        format=_choice("--format", fmt, FORMATS),  # type: ignore[arg-type]
    )


#: The options of ``fleet inventory`` that make its InventoryOptions (``run``, ``up``, ``discover`` too).
inventory_group = option_group(
    "options",
    inventory_options,
    Opt("filters", FilterOpt, None),
    Opt("state", StateOpt, None),
    Opt("address", AddressOpt, "auto"),
    Opt("hostname", HostnameOpt, "address"),
    Opt("groups", GroupOpt, None),
    Opt("group_by", GroupByOpt, None),
    Opt("user", UserOpt, None),
    Opt("port", PortOpt, None),
    Opt("ssh_proxy", ProxyOpt, None),
    Opt("fmt", FormatOpt, "ini"),
)
