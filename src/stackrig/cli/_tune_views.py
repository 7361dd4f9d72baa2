"""How ``stackrig tune`` draws its results for people (the --json view is the data itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from stackrig import output

if TYPE_CHECKING:
    from stackrig.tune import ApplyResult, AuditReport, FlavorReport, RevertResult
    from stackrig.tune.capacity import CapacityReport
    from stackrig.tune.fleet import FleetAudit, FleetChange

__all__ = [
    "render_apply",
    "render_audit",
    "render_capacity",
    "render_flavors",
    "render_fleet_audit",
    "render_fleet_change",
    "render_revert",
]

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red", "n/a": "dim", "waived": "dim"}


def render_audit(report: AuditReport) -> output.Renderer:
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


def render_apply(result: ApplyResult) -> output.Renderer:
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


def render_revert(result: RevertResult) -> output.Renderer:
    def draw(console: Console) -> None:
        for path in result.restored:
            console.print(f"restored /{path}", markup=False)
        for path in result.removed:
            console.print(f"removed /{path}", markup=False)
        console.print(f"Reverted from {result.backup}.", markup=False)

    return draw


def render_flavors(report: FlavorReport) -> output.Renderer:
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


_STATE = {
    "unreachable": "unreachable",
    "no-python": "no Python",
    "python-too-old": "Python too old",
    "error": "error",
}


def _not_done(console: Console, hosts: list[tuple[str, str, str]], title: str) -> None:
    if not hosts:
        return
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    for _ in range(3):
        table.add_column()
    for host, state, reason in hosts:
        table.add_row(Text(host), Text(_STATE.get(state, state), style="red"), Text(reason))
    console.print(table)


def render_fleet_audit(found: FleetAudit) -> output.Renderer:
    def draw(console: Console) -> None:
        counts = found.counts
        parts = [f"{counts['ok']} audited"] + [
            f"{counts[state]} {label}" for state, label in _STATE.items() if counts.get(state)
        ]
        where = found.inventory + (f" --limit {found.limit}" if found.limit else "")
        console.print(f"tune audit of {counts['hosts']} hosts in {where}: {', '.join(parts)}", markup=False)
        if found.groups:
            table = Table(title_justify="left")
            table.add_column("check", no_wrap=True)
            for group in found.groups:
                size = len(group.hosts)
                table.add_column(f"{group.label}\n{group.hosts[0] if size == 1 else f'{size} hosts'}")
            for check in found.checks:
                cells = [group.results.get(check) for group in found.groups]
                table.add_row(
                    check,
                    *(Text(c.value, style=_STYLE[c.value]) if c else Text("-", style="dim") for c in cells),
                )
            console.print(table)
            for group in found.groups:
                note = " (majority)" if group.label == found.majority else ""
                console.print(f"{group.label}{note}: {', '.join(group.hosts)}", markup=False)
        if found.differences:
            console.print(f"\nDiffer from the majority ({found.majority}):", markup=False)
            by_host: dict[str, list[str]] = {}
            for d in found.differences:
                by_host.setdefault(d.host, []).append(
                    f"{d.check} {d.status.value} (majority {d.majority.value})"
                )
            for host, items in by_host.items():
                console.print(f"  {host}: {'; '.join(items)}", markup=False)
        elif len(found.groups) > 1:
            console.print("\nNo majority: the largest groups are the same size.", markup=False)
        rows = [(h.host, h.state.value, h.reason) for h in found.hosts if h.report is None]
        _not_done(console, rows, "\nNot audited:")
        if found.failed_hosts:
            console.print(
                f"\nFailing checks on {len(found.failed_hosts)} host(s): {', '.join(found.failed_hosts)}. "
                "Findings with the fix: --json, or --limit HOST.",
                markup=False,
            )

    return draw


def _change_summary(action: str, result: dict[str, Any]) -> tuple[str, str]:
    """(what happened, the backup or the first planned writes) for one host's answer."""
    if action == "revert" and result.get("backup") is None:
        return "nothing to revert", str(result.get("reason") or "")
    if action == "revert":
        restored = result.get("restored") or []
        removed = result.get("removed") or []
        return f"reverted {len(restored)} value(s), removed {len(removed)} file(s)", str(result.get("backup"))
    plan = result.get("plan")
    waived = result.get("waived") or []
    if not isinstance(plan, dict):
        return "nothing to do: waived here (stackrig_tune_skip)", ", ".join(map(str, waived))
    changes = plan.get("changes") or []
    writes = "; ".join(f"/{c['path']} {c['old']} -> {c['new']}" for c in changes if isinstance(c, dict))
    manual = len(plan.get("manual") or [])
    extra = f", {manual} manual" if manual else ""
    if result.get("applied"):
        return f"applied {len(changes)} change(s){extra}", f"backup: {result.get('backup')}"
    if not changes:
        return f"nothing to write{extra}", ""
    return f"would write {len(changes)} change(s){extra}", writes


def render_fleet_change(done: FleetChange) -> output.Renderer:
    def draw(console: Console) -> None:
        table = Table(title=f"tune {done.action} on {done.inventory}", title_justify="left")
        for column in ("host", "result", "detail"):
            table.add_column(column)
        for host in done.hosts:
            if isinstance(host.result, dict):
                what, detail = _change_summary(done.action, host.result)
                table.add_row(Text(host.host), Text(what), Text(detail))
        console.print(table)
        rows = [(h.host, h.state.value, h.reason) for h in done.hosts if h.state.value != "ok"]
        _not_done(console, rows, f"\nNot {'reverted' if done.action == 'revert' else 'applied'}:")
        if done.action == "apply" and not done.applied:
            console.print("\nDry run: nothing written. Add --yes to apply (each host backs up first).")
        elif done.action == "apply":
            console.print("Undo with: stackrig tune revert --inventory ... --latest", markup=False)

    return draw


def _size(resource: str, amount: int) -> str:
    if resource == "ram":
        return f"{amount / 1024:,.1f} GiB RAM" if amount >= 10 * 1024 else f"{amount:,} MiB RAM"
    if resource == "disk":
        return f"{amount:,} GiB disk"
    return f"{amount:,} vCPUs"


def render_capacity(report: CapacityReport) -> output.Renderer:
    from stackrig.tune.flavors import LABEL

    def draw(console: Console) -> None:
        where = f" in zone {report.zone}" if report.zone else ""
        skipped = f"; {len(report.skipped)} skipped" if report.skipped else ""
        console.print(
            f"Capacity of {report.hosts} compute hosts{where} ({report.source}{skipped})", markup=False
        )
        console.print(
            "Free: " + ", ".join(
                f"{_size(r, report.free[r])} of {_size(r, report.capacity[r]).split(' ', 1)[0]}"
                for r in report.capacity if report.capacity[r]
            ),
            markup=False,
        )  # fmt: skip
        table = Table(title_justify="left")
        for column in (
            "flavor",
            "vCPUs",
            "RAM MiB",
            "disk GiB",
            "more fit",
            "hosts with room",
            "bound by (hosts)",
        ):
            table.add_column(column, no_wrap=column == "flavor")
        for row in report.flavors:
            f = row.flavor
            bound = ", ".join(f"{LABEL[r]} {n}" for r, n in row.bound_by.items() if n)
            if row.too_big:
                bound += (", " if bound else "") + f"too big {row.too_big}"
            table.add_row(
                f.name, str(f.vcpus), str(f.ram_mib), str(f.disk_gib), f"{row.fits:,}",
                f"{row.hosts_with_room} of {row.hosts}", bound,
            )  # fmt: skip
        console.print(table)
        if report.zones:
            zones = Table(title="More fit by availability zone", title_justify="left")
            zones.add_column("flavor", no_wrap=True)
            for z in report.zones:
                zones.add_column(z)
            for row in report.flavors:
                zones.add_row(row.flavor.name, *(f"{row.by_zone[z]:,}" for z in report.zones))
            console.print(zones)
        for row in report.flavors:
            if row.narrowed_by:
                console.print(
                    f"{row.flavor.name} may go only where {', '.join(row.narrowed_by)}", markup=False
                )
        mix = report.mix
        if mix is not None:
            weights = " + ".join(f"{w} x {n}" for n, w in mix.weights.items() if w)
            counts = ", ".join(f"{n} {c:,}" for n, c in mix.counts.items() if c) or "nothing"
            console.print(
                f"\nFilled with the mix ({weights}): {mix.instances:,} more ({counts})", markup=False
            )
            console.print(
                "Stranded then: " + ", ".join(
                    f"{_size(r, mix.stranded[r])} ({mix.stranded_share[r]:.0%} of free)"
                    for r in mix.stranded if report.capacity[r]
                ),
                markup=False,
            )  # fmt: skip
        for name, reason in report.skipped:
            console.print(f"skipped {name}: {reason}", markup=False)
        for note in report.notes:
            console.print(f"note: {note}", markup=False)

    return draw
