"""``stackrig tune``: audit and tune a KVM/Nova compute host, and fit flavors to hosts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from stackrig import output
from stackrig.cli._common import finish, state
from stackrig.cli.options import JsonOpt, RootOpt
from stackrig.errors import ExitCode

if TYPE_CHECKING:
    from stackrig.tune import ApplyResult, AuditReport, FlavorReport, RevertResult

# The tune library is imported inside the commands: every stackrig start imports this module.

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

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red", "n/a": "dim", "waived": "dim"}


def _render_audit(report: AuditReport) -> output.Renderer:
    def draw(console: Console) -> None:
        table = Table(title=f"tune audit of {report.root} ({report.profile.value})", title_justify="left")
        table.add_column("status")
        table.add_column("check", no_wrap=True)
        table.add_column("current")
        table.add_column("expected")
        for f in report.findings:
            status = Text(f.status.value, style=_STYLE[f.status.value])
            table.add_row(status, Text(f.id), Text(f.current), Text(f.expected))
        console.print(table)
        for f in report.findings:
            if f.status.value in ("pass", "waived"):
                continue
            console.print(f"\n{f.id} ({f.severity.value}): {f.status.value}: {f.reason}", markup=False)
            if f.status.value != "n/a":
                console.print(f"  why: {f.rationale} [{f.source}]", markup=False)
            if f.fix:
                console.print(f"  fix: {f.fix}", markup=False)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts.items() if n)
        plural = "finding" if len(report.findings) == 1 else "findings"
        console.print(f"\n{len(report.findings)} {plural}: {counts}")

    return draw


@app.command(epilog="Example: stackrig tune audit --profile compute-host --skip cpu-governor --json")
def audit(
    ctx: typer.Context,
    *,
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

    Exits 1 when any check fails or cannot read what it needs, else 0.
    """
    from stackrig.tune import AuditSettings, Profile, run_audit

    settings = AuditSettings(root, Profile(profile), tuple(only or ()), tuple(skip or ()), instances_path)
    report = run_audit(settings)
    code = ExitCode.FAILED if report.failed else ExitCode.OK
    result = output.Report(report, render=_render_audit(report), partial=report.partial, exit_code=code)
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


def _render_apply(result: ApplyResult) -> output.Renderer:
    def draw(console: Console) -> None:
        plan = result.plan
        if plan.changes:
            table = Table(title=f"planned writes under {plan.root}", title_justify="left")
            for column in ("file", "old", "new", "for"):
                table.add_column(column)
            for c in plan.changes:
                table.add_row(Text("/" + c.path), Text(c.old), Text(c.new), Text(c.finding))
            console.print(table)
        else:
            console.print("Nothing to write: every selected check passes or needs a manual fix.")
        for item in plan.persist:
            console.print(f"\n{'/' + item.path} will hold:\n{item.content}", markup=False)
        for f in plan.manual:
            console.print(f"manual: {f.id}: {f.reason}" + (f"; fix: {f.fix}" if f.fix else ""), markup=False)
        if result.applied:
            console.print(f"\nApplied {len(plan.changes)} change(s). Backup: {result.backup}", markup=False)
            console.print(f"Undo with: stackrig tune revert {result.backup}", markup=False)
        elif plan.changes:
            console.print("\nDry run: nothing written. Add --yes to apply (a backup is written first).")

    return draw


@app.command(
    name="apply", epilog="Example: stackrig tune apply --only swappiness,zone-reclaim --yes --persist"
)
def apply_(
    ctx: typer.Context,
    *,
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
    stops the run and puts back what it had changed (exit 1).
    """
    from stackrig.tune import ApplySettings, Profile, apply

    backups = state(ctx).paths.tune_backups
    settings = ApplySettings(root, Profile(profile), tuple(only or ()), instances_path, yes, persist, backups)
    result = apply(settings)
    finish(ctx, output.Report(result, render=_render_apply(result)), json_mode=json_)


def _render_revert(result: RevertResult) -> output.Renderer:
    def draw(console: Console) -> None:
        for path in result.restored:
            console.print(f"restored /{path}", markup=False)
        for path in result.removed:
            console.print(f"removed /{path}", markup=False)
        console.print(f"Reverted from {result.backup}.", markup=False)

    return draw


@app.command(
    name="revert", epilog="Example: stackrig tune revert ~/.local/share/stackrig/tune/backups/X.json"
)
def revert_(
    ctx: typer.Context,
    backup: Annotated[Path, typer.Argument(help="A backup file printed by 'stackrig tune apply --yes'.")],
    json_: JsonOpt = False,
) -> None:
    """Restore exactly the values saved in a backup and remove the files --persist wrote."""
    from stackrig.tune import revert

    result = revert(backup)
    finish(ctx, output.Report(result, render=_render_revert(result)), json_mode=json_)


def _render_flavors(report: FlavorReport) -> output.Renderer:
    from stackrig.tune.flavors import LABEL, UNIT, describe_fit

    def draw(console: Console) -> None:
        caps = report.capacities
        console.print(
            "Host capacity ((total - reserved) x ratio): "
            + ", ".join(
                f"{c.capacity} {UNIT[c.resource]} (({c.total} - {c.reserved}) x {c.ratio:g})" for c in caps
            ),
            markup=False,
        )
        table = Table(title_justify="left")
        table.add_column("flavor", no_wrap=True)
        for column in ("vCPUs", "RAM MiB", "disk GiB", "fits", "bound by"):
            table.add_column(column)
        short = {"vcpu": "vCPUs", "ram": "MiB", "disk": "GiB"}
        for cap in caps:
            table.add_column(f"stranded\n{short[cap.resource]}")
        for fit in report.fits:
            f = fit.flavor
            bound = ", ".join(LABEL[r] for r in fit.bound_by)
            stranded = [str(fit.stranded[c.resource]) for c in caps]
            table.add_row(
                f.name, str(f.vcpus), str(f.ram_mib), str(f.disk_gib), str(fit.fits), bound, *stranded
            )
        console.print(table)
        for fit in report.fits:
            console.print(describe_fit(fit, caps), markup=False)
        packing = report.packing
        if packing is not None:
            mix = " + ".join(f"{n} x {name}" for name, n in packing.counts.items() if n) or "nothing"
            use = ", ".join(f"{LABEL[r]} {packing.utilisation[r]:.0%}" for r in packing.utilisation)
            note = "" if packing.exact else " (search cut short: best found)"
            console.print(f"Best mix: {mix} = {packing.instances} guests; in use: {use}{note}", markup=False)

    return draw


@app.command(
    epilog="Example: stackrig tune flavors --host 64G:8 --flavor m1.big=2:32G --flavor m1.small=1:2G"
)
def flavors(
    ctx: typer.Context,
    *,
    host: Annotated[
        str | None, typer.Option("--host", help="The host as RAM:CPUS[:DISK], e.g. 64G:8:1T.")
    ] = None,
    flavor: Annotated[
        list[str] | None,
        typer.Option("--flavor", help="NAME=VCPUS:RAM[:DISK], e.g. m1.large=2:32G:40G; repeat."),
    ] = None,
    flavors_json: Annotated[
        Path | None,
        typer.Option(
            "--flavors-json", help="Output of 'openstack flavor list --long -f json'.", dir_okay=False
        ),
    ] = None,
    this_host: Annotated[
        bool, typer.Option("--this-host", help="Take RAM and CPUs from /proc and /sys (under --root).")
    ] = False,
    root: RootOpt = Path("/"),
    reserved_ram: Annotated[str, typer.Option("--reserved-ram", help="reserved_host_memory_mb.")] = "512M",
    reserved_cpus: Annotated[int, typer.Option("--reserved-cpus", help="reserved_host_cpus.")] = 0,
    reserved_disk: Annotated[str, typer.Option("--reserved-disk", help="reserved_host_disk_mb.")] = "0",
    cpu_ratio: Annotated[float, typer.Option("--cpu-ratio", help="cpu_allocation_ratio.")] = 4.0,
    ram_ratio: Annotated[float, typer.Option("--ram-ratio", help="ram_allocation_ratio.")] = 1.0,
    disk_ratio: Annotated[float, typer.Option("--disk-ratio", help="disk_allocation_ratio.")] = 1.0,
    json_: JsonOpt = False,
) -> None:
    """How many guests of each flavor fit one host by Nova's placement arithmetic, and the best mix.

    Sizes are IEC (32G = 32 GiB). Says which resource binds and what capacity is stranded.
    """
    from stackrig.tune.flavors import FlavorSettings, describe_fit, run_flavors

    settings = FlavorSettings(
        host, this_host, root, tuple(flavor or ()), flavors_json,
        reserved_ram, reserved_cpus, reserved_disk, cpu_ratio, ram_ratio, disk_ratio,
    )  # fmt: skip
    report = run_flavors(settings)
    summary = [describe_fit(fit, report.capacities) for fit in report.fits]
    data = {"report": report, "summary": summary}
    finish(ctx, output.Report(data, render=_render_flavors(report)), json_mode=json_)
