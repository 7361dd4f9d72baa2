"""fleet: cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook.

This module holds ``fleet inventory``; the family's other commands are in fleet_play.py,
fleet_cloud.py and fleet_history.py, imported only when one of them runs (cli/_lazy.py): the
inventory, the command most run on big inputs, carries no AWS, Ansible, Jinja2 or rich code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO, ClassVar

import typer

from stackrig.cli._common import finish
from stackrig.cli._fleet_options import HostVarsOpt, OutputOpt, ProviderOpt, SourcesArg, inventory_group
from stackrig.cli._lazy import LazyGroup
from stackrig.cli.options import JsonOpt
from stackrig.fleet import InventoryOptions, InventoryOutcome, InventorySettings, make_inventory
from stackrig.output import Report, say

__all__ = ["app"]


class _FleetCommands(LazyGroup):
    # After inventory, in this order in --help: the modules that hold them register them.
    LAZY: ClassVar[Mapping[str, str]] = {
        "render": "stackrig.cli.fleet_play",
        "play": "stackrig.cli.fleet_play",
        "run": "stackrig.cli.fleet_play",
        "up": "stackrig.cli.fleet_cloud",
        "discover": "stackrig.cli.fleet_cloud",
        "down": "stackrig.cli.fleet_cloud",
        "diff": "stackrig.cli.fleet_history",
        "history": "stackrig.cli.fleet_history",
        "ansible-collection": "stackrig.cli.fleet_play",
    }


app = typer.Typer(
    cls=_FleetCommands,
    help="Cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook.",
    no_args_is_help=True,
)


def _inventory_report(outcome: InventoryOutcome, json_: bool) -> Report:
    def write(out: IO[str]) -> None:
        if outcome.output is None:
            out.write(outcome.files.content)
        say(f"fleet inventory: {outcome.result.summary()}")

    # Hosts without a usable address are skipped, each named with its reason: the inventory of the
    # others is the whole of the work (not a partial result, which is for failed regions or files).
    # The envelope's data is made for --json only: beside the hosts still held, its list of every
    # host would be the command's peak of memory (some 300 bytes a host).
    return Report(outcome.to_dict() if json_ else None, write=write, warnings=outcome.notes())


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
