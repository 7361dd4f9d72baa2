"""``stackrig tune``: audit and tune a KVM/Nova compute host, and fit flavors to hosts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from stackrig import output
from stackrig.cli import _tune_views as views
from stackrig.cli._common import finish, state
from stackrig.cli._params import Opt, option_group
from stackrig.cli.options import JsonOpt, RootOpt
from stackrig.errors import ExitCode, UsageError
from stackrig.tune._ansible import FleetTarget  # option_groups read these annotations at import
from stackrig.tune.flavors import FlavorSettings

# The rest of the tune library is imported inside the commands, as each needs it.

app = typer.Typer(
    help="Audit and tune a KVM/Nova compute host (explain, check, fix on request, undo), and fit flavors.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile",
        click_type=click.Choice(["compute-host", "guest"]),
        help="What the machine is: a hypervisor (compute-host) or a guest.",
    ),
]
OnlyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--only", help="Only these check ids (comma-separated or repeated); see 'stackrig tune checks'."
    ),
]
InstancesOpt = Annotated[
    str | None,
    typer.Option(
        "--instances-path",
        help="Nova's instances_path (default: from etc/nova/nova.conf, else /var/lib/nova/instances).",
    ),
]
AllowPartialOpt = Annotated[
    bool,
    typer.Option(
        "--allow-partial",
        help="With --inventory: exit 0 even when hosts were unreachable (hosts without a usable Python, "
        "and failing checks, still exit 1).",
    ),
]

_FLEET_FLAGS = ("--limit", "--forks", "--user", "--key-file", "--become", "--no-host-key-checking")


def _fleet_target(
    *,
    inventory: Path | None,
    limit: str | None,
    forks: int,
    user: str | None,
    key_file: Path | None,
    become: bool,
    no_host_key_checking: bool,
) -> FleetTarget | None:
    if inventory is None:
        given = [limit is not None, forks != 5, user is not None, key_file is not None, become]
        flags = [flag for flag, on in zip(_FLEET_FLAGS, [*given, no_host_key_checking], strict=True) if on]
        if flags:
            raise UsageError(f"{', '.join(flags)} only work with --inventory")
        return None
    return FleetTarget(inventory, limit, forks, user, key_file, become, not no_host_key_checking)


#: Where ``tune audit/apply/revert`` run: this machine (no --inventory) or every host of an inventory.
fleet_group = option_group(
    "fleet",
    _fleet_target,
    Opt(
        "inventory",
        Annotated[
            Path | None,
            typer.Option(
                "--inventory",
                "-i",
                help="Run on every host of this Ansible inventory through 'ansible' (INI or YAML, e.g. "
                "from 'stackrig fleet inventory'). Per-host variables: stackrig_tune_root (the host's "
                "--root), stackrig_tune_skip (check ids waived there), stackrig_tune_data_dir (where its "
                "backups go; default the remote user's data folder, root's with --become).",
                dir_okay=False,
            ),
        ],
        None,
    ),
    Opt(
        "limit",
        Annotated[
            str | None, typer.Option("--limit", "-l", help="Only these hosts or groups (Ansible pattern).")
        ],
        None,
    ),
    Opt("forks", Annotated[int, typer.Option("--forks", "-f", help="Hosts worked on at once.")], 5),
    Opt("user", Annotated[str | None, typer.Option("--user", "-u", help="SSH login user.")], None),
    Opt(
        "key_file",
        Annotated[Path | None, typer.Option("--key-file", help="SSH private key.", dir_okay=False)],
        None,
    ),
    Opt(
        "become",
        Annotated[bool, typer.Option("--become", "-b", help="Run as root on the hosts (sudo).")],
        False,
    ),
    Opt(
        "no_host_key_checking",
        Annotated[
            bool,
            typer.Option("--no-host-key-checking", help="Accept unknown SSH host keys (new or test hosts)."),
        ],
        False,
    ),
)


def _no_root_with(target: FleetTarget | None, root: Path) -> None:
    if target is not None and root != Path("/"):
        raise UsageError(
            "--root does not apply to --inventory runs",
            hint="set the inventory variable stackrig_tune_root for each host instead",
        )


def _fleet_report(
    result: Any, data: Any, render: output.Renderer, allow_partial: bool, json_: bool
) -> output.Report:
    problems = tuple(result.problems())
    if json_:
        err = output.stderr_console()
        for line in problems:
            err.print(f"warning: {line}", markup=False)
    return output.Report(
        data,
        render=render,
        warnings=problems,
        partial=result.partial,
        exit_code=result.exit_code(allow_partial=allow_partial),
    )


@app.command(
    epilog="Examples: stackrig tune audit --skip cpu-governor --json; "
    "stackrig tune audit --inventory hosts.ini --limit compute --become"
)
@fleet_group
def audit(
    ctx: typer.Context,
    *,
    fleet: FleetTarget | None,
    allow_partial: AllowPartialOpt = False,
    root: RootOpt = Path("/"),
    profile: ProfileOpt = "compute-host",
    only: OnlyOpt = None,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Waive these check ids (shown as waived).")
    ] = None,
    instances_path: InstancesOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check the host's kernel settings for running guests: each finding says why, its source and the fix.

    With --inventory, every host is audited through Ansible (Python 3.9+ there, nothing to install)
    and shown as a matrix of hosts x checks: hosts with identical results are grouped, and the
    hosts that differ from the majority are named with the checks that differ.

    Exits 1 when any check fails or cannot read what it needs, or a host could not be audited, else 0.
    """
    from stackrig.tune import AuditSettings, Profile, run_audit

    _no_root_with(fleet, root)
    if fleet is not None:
        from stackrig.tune.fleet import fleet_audit

        found = fleet_audit(
            fleet, profile=Profile(profile), only=tuple(only or ()), skip=tuple(skip or ()),
            instances_path=instances_path,
        )  # fmt: skip
        render = views.render_fleet_audit(found)
        finish(ctx, _fleet_report(found, found, render, allow_partial, json_), json_mode=json_)
        return

    settings = AuditSettings(root, Profile(profile), tuple(only or ()), tuple(skip or ()), instances_path)
    report = run_audit(settings)
    code = ExitCode.FAILED if report.failed else ExitCode.OK
    result = output.Report(report, render=views.render_audit(report), partial=report.partial, exit_code=code)
    finish(ctx, result, json_mode=json_)


@app.command(epilog="Example: stackrig tune checks --json")
def checks(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """List every check: id, severity, title, why and the source of the advice."""
    from stackrig.tune import CHECKS

    rows = [
        {
            "id": c.id,
            "title": c.title,
            "severity": c.severity.value,
            "rationale": c.rationale,
            "source": c.source,
        }
        for c in CHECKS
    ]

    def draw(console: Console) -> None:
        for row in rows:
            console.print(f"{row['id']} ({row['severity']}): {row['title']}", markup=False)
            console.print(f"  why: {row['rationale']}\n  source: {row['source']}", markup=False)

    finish(ctx, output.Report({"checks": rows}, render=draw), json_mode=json_)


@app.command(
    name="apply",
    epilog="Examples: stackrig tune apply --only swappiness,zone-reclaim --yes --persist; "
    "stackrig tune apply --inventory hosts.ini --only swappiness --become --yes",
)
@fleet_group
def apply_(
    ctx: typer.Context,
    *,
    fleet: FleetTarget | None,
    allow_partial: AllowPartialOpt = False,
    only: OnlyOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Write the changes (after writing a backup).")] = False,
    persist: Annotated[
        bool,
        typer.Option(
            "--persist",
            help="Also write etc/sysctl.d/90-stackrig.conf, a udev rule for schedulers and a tmpfiles.d "
            "entry for other /sys values, so the settings survive a reboot.",
        ),
    ] = False,
    root: RootOpt = Path("/"),
    profile: ProfileOpt = "compute-host",
    instances_path: InstancesOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Fix what the audit found: a dry run listing each write (file, old, new) unless --yes.

    Writing the running kernel's settings needs root (exit 3 otherwise); a refused write
    stops the run and puts back what it had changed (exit 1). With --inventory (which needs
    --only), each host plans and writes its own changes, keeping its backup on that host.
    """
    from stackrig.tune import ApplySettings, Profile, apply

    _no_root_with(fleet, root)
    if fleet is not None:
        from stackrig.tune.fleet import fleet_apply

        if not only:
            raise UsageError("--inventory needs --only: name the checks to fix on every host")
        done = fleet_apply(
            fleet, only=tuple(only), yes=yes, persist=persist, profile=Profile(profile),
            instances_path=instances_path,
        )  # fmt: skip
        render = views.render_fleet_change(done)
        finish(ctx, _fleet_report(done, done, render, allow_partial, json_), json_mode=json_)
        return

    backups = state(ctx).paths.tune_backups
    settings = ApplySettings(root, Profile(profile), tuple(only or ()), instances_path, yes, persist, backups)
    result = apply(settings)
    finish(ctx, output.Report(result, render=views.render_apply(result)), json_mode=json_)


@app.command(
    name="revert",
    epilog="Examples: stackrig tune revert ~/.local/share/stackrig/tune/backups/X.json; "
    "stackrig tune revert --inventory hosts.ini --latest --become",
)
@fleet_group
def revert_(
    ctx: typer.Context,
    backup: Annotated[
        Path | None, typer.Argument(help="A backup file printed by 'stackrig tune apply --yes'.")
    ] = None,
    *,
    fleet: FleetTarget | None,
    latest: Annotated[
        bool,
        typer.Option("--latest", help="Revert the newest backup of --root (of each host) not reverted yet."),
    ] = False,
    root: RootOpt = Path("/"),
    allow_partial: AllowPartialOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Restore exactly the values saved in a backup and remove the files --persist wrote.

    --latest steps back one backup at a time; with --inventory each host reverts its own.
    """
    from stackrig.tune import revert
    from stackrig.tune.apply import latest_backup

    _no_root_with(fleet, root)
    if (backup is None) == (not latest):
        raise UsageError("give a backup file or --latest (one of them)")
    if fleet is not None:
        from stackrig.tune.fleet import fleet_revert

        if backup is not None:
            raise UsageError("--inventory reverts with --latest, not a backup file")
        done = fleet_revert(fleet)
        render = views.render_fleet_change(done)
        finish(ctx, _fleet_report(done, done, render, allow_partial, json_), json_mode=json_)
        return
    if backup is None:
        backup = latest_backup(state(ctx).paths.tune_backups, root)
    result = revert(backup)
    finish(ctx, output.Report(result, render=views.render_revert(result)), json_mode=json_)


# The flavor and allocation flags of tune flavors and tune capacity (same names, help and defaults).
FlavorOpt = Annotated[
    list[str] | None,
    typer.Option("--flavor", help="NAME=VCPUS:RAM[:DISK], e.g. m1.large=2:32G:40G; repeat."),
]
FlavorsJsonOpt = Annotated[
    Path | None,
    typer.Option("--flavors-json", help="Output of 'openstack flavor list --long -f json'.", dir_okay=False),
]
ReservedRamOpt = Annotated[str, typer.Option("--reserved-ram", help="reserved_host_memory_mb.")]
ReservedCpusOpt = Annotated[int, typer.Option("--reserved-cpus", help="reserved_host_cpus.")]
ReservedDiskOpt = Annotated[str, typer.Option("--reserved-disk", help="reserved_host_disk_mb.")]
CpuRatioOpt = Annotated[float, typer.Option("--cpu-ratio", help="cpu_allocation_ratio.")]
RamRatioOpt = Annotated[float, typer.Option("--ram-ratio", help="ram_allocation_ratio.")]
DiskRatioOpt = Annotated[float, typer.Option("--disk-ratio", help="disk_allocation_ratio.")]


def _allocation_flags(**flags: Any) -> FlavorSettings:
    return FlavorSettings(**flags)


#: Nova's allocation knobs, one set for tune flavors and tune capacity (given as ``alloc``).
allocation_group = option_group(
    "alloc",
    _allocation_flags,
    Opt("reserved_ram", ReservedRamOpt, "512M"),
    Opt("reserved_cpus", ReservedCpusOpt, 0),
    Opt("reserved_disk", ReservedDiskOpt, "0"),
    Opt("cpu_ratio", CpuRatioOpt, 4.0),
    Opt("ram_ratio", RamRatioOpt, 1.0),
    Opt("disk_ratio", DiskRatioOpt, 1.0),
)


@app.command(
    epilog="Example: stackrig tune flavors --host 64G:8 --flavor m1.big=2:32G --flavor m1.small=1:2G"
)
@allocation_group
def flavors(
    ctx: typer.Context,
    *,
    host: Annotated[
        str | None, typer.Option("--host", help="The host as RAM:CPUS[:DISK], e.g. 64G:8:1T.")
    ] = None,
    flavor: FlavorOpt = None,
    flavors_json: FlavorsJsonOpt = None,
    this_host: Annotated[
        bool, typer.Option("--this-host", help="Take RAM and CPUs from /proc and /sys (under --root).")
    ] = False,
    root: RootOpt = Path("/"),
    alloc: FlavorSettings,
    json_: JsonOpt = False,
) -> None:
    """How many guests of each flavor fit one host by Nova's placement arithmetic, and the best mix.

    Sizes are IEC (32G = 32 GiB). Says which resource binds and what capacity is stranded.
    """
    from stackrig.tune.flavors import describe_fit, run_flavors

    settings = dataclasses.replace(
        alloc,
        host=host,
        this_host=this_host,
        root=root,
        flavors=tuple(flavor or ()),
        flavors_json=flavors_json,
    )
    report = run_flavors(settings)
    summary = [describe_fit(fit, report.capacities) for fit in report.fits]
    data = {"report": report, "summary": summary}
    finish(ctx, output.Report(data, render=views.render_flavors(report)), json_mode=json_)


@app.command(
    epilog="Example: stackrig tune capacity --hypervisors providers.json --flavors-json flavors.json "
    "--aggregates aggregates.json --json; stackrig tune capacity --from-cloud --save cloud.json"
)
@allocation_group
def capacity(
    ctx: typer.Context,
    *,
    hypervisors: Annotated[
        Path | None,
        typer.Option(
            "--hypervisors",
            help="Placement's saved API responses: GET /resource_providers, with each provider's "
            "/inventories and /usages (and /aggregates, /traits) inside it under those names or beside the "
            "list as maps by provider uuid; or 'openstack hypervisor list --long -f json' of a cloud older "
            "than compute API 2.88.",
            dir_okay=False,
        ),
    ] = None,
    from_cloud: Annotated[
        bool,
        typer.Option(
            "--from-cloud",
            help="Read placement (or the hypervisor list), aggregates and flavors from the cloud the "
            "openstack CLI is set up for (clouds.yaml or OS_* variables); --flavor, --flavors-json and "
            "--aggregates, when given, are used instead of the cloud's.",
        ),
    ] = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="With --from-cloud: keep what was read, for --hypervisors next time.",
            dir_okay=False,
        ),
    ] = None,
    flavor: FlavorOpt = None,
    flavors_json: FlavorsJsonOpt = None,
    aggregates: Annotated[
        Path | None,
        typer.Option(
            "--aggregates",
            help="Host aggregates with their hosts (GET /os-aggregates): availability zones and the metadata "
            "flavors ask for (aggregate_instance_extra_specs:KEY).",
            dir_okay=False,
        ),
    ] = None,
    zone: Annotated[
        str | None, typer.Option("--zone", help="Count only hosts of this availability zone.")
    ] = None,
    mix: Annotated[
        list[str] | None,
        typer.Option(
            "--mix",
            help="The flavor mix for the stranded capacity, NAME=WEIGHT (comma-separated or repeated); "
            "default: one of each flavor in turn.",
        ),
    ] = None,
    alloc: FlavorSettings,
    json_: JsonOpt = False,
) -> None:
    """How many more instances of each flavor fit in the whole cloud, and what binds where.

    Counts by placement's arithmetic on every compute host, as 'tune flavors' does for one.
    Placement inventories carry their own reserved amounts and allocation ratios (the flags
    apply to a hypervisor list only). Also says, for the flavor mix, what capacity is left
    stranded once the cloud is full.
    """
    from stackrig.tune.capacity import CapacitySettings, run_capacity

    flags = dataclasses.replace(alloc, flavors=tuple(flavor or ()), flavors_json=flavors_json)
    settings = CapacitySettings(flags, hypervisors, from_cloud, save, aggregates, zone, tuple(mix or ()))
    report = run_capacity(settings)
    finish(ctx, output.Report(report, render=views.render_capacity(report)), json_mode=json_)
