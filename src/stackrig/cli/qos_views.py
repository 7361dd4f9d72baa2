"""How ``stackrig qos`` shows its results: one function per result type, returning a Report.

The library (``stackrig.qos``) returns dataclasses; here they become the envelope's data
and the human view (rich tables), so the qos library never imports rich.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from stackrig import output
from stackrig.errors import ExitCode
from stackrig.qos.model import Policy, Service, format_rate

if TYPE_CHECKING:
    from stackrig.qos.commands import CheckedListing, LabDown, PolicyListing, ServiceListing
    from stackrig.qos.drift import CheckResult, SyncResult
    from stackrig.qos.lab import LabState, LabStatus
    from stackrig.qos.manage import ChangeResult
    from stackrig.qos.queues import QueuesCheck, QueuesResult
    from stackrig.qos.state import Installed
    from stackrig.qos.verify import RunReport, SwitchReport, VerifyResult

__all__ = [
    "added",
    "lab_down",
    "lab_status",
    "lab_up",
    "path",
    "policy_check",
    "policy_list",
    "policy_sync",
    "queues",
    "queues_check",
    "removed",
    "rollback",
    "service",
    "service_list",
    "verify",
]


def _table(*columns: str) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column)
    return table


def _policy_row(policy: Policy) -> list[str]:
    fields = policy.match.to_dict()
    if "eth_type" in fields:
        fields["eth_type"] = f"0x{int(fields['eth_type']):04x}"
    match = " ".join(f"{k}={v}" for k, v in fields.items()) or "any"
    return [policy.name, f"{int(policy.switch, 16):#x}", match, policy.action.describe()]


def _installed(title: str, records: Sequence[Installed]) -> output.Renderer:
    def render(console: Console) -> None:
        console.print(title)
        if records:
            table = _table("name", "switch", "match", "action", "backend")
            for r in records:
                table.add_row(*_policy_row(r.policy), r.backend)
            console.print(table)

    return render


# ------------------------------------------------------------------ lab


def lab_up(state: LabState) -> output.Report:
    def render(console: Console) -> None:
        console.print(f"lab {state.name} up: {state.topo},{state.size}, controller {state.controller}")
        table = _table("host", "address", "namespace", "bridge", "port")
        for h in state.hosts:
            table.add_row(h.name, h.ip, h.netns, h.bridge, str(h.port))
        console.print(table)

    return output.Report(state.to_dict(), render)


def lab_down(result: LabDown) -> output.Report:
    def render(console: Console) -> None:
        console.print(
            f"lab {result.name} down; removed: {', '.join(result.removed) or 'nothing (already gone)'}"
        )
        if result.forgotten:
            names = ", ".join(r.policy.name for r in result.forgotten)
            console.print(
                f"dropped {len(result.forgotten)} policies on its switches from the state: {names} "
                "(`stackrig qos policy rollback` puts them back once the lab is up again)"
            )

    data = {"name": result.name, "removed": list(result.removed), "forgotten": result.forgotten}
    return output.Report(data, render)


def lab_status(status: LabStatus) -> output.Report:
    def render(console: Console) -> None:
        console.print(
            f"lab {status.name} ({status.topo}, controller {status.controller}): "
            f"{'healthy' if status.healthy else 'NOT healthy'}"
        )
        console.print(f"  OVS running: {status.ovs_running}")
        for b, ok in status.bridges.items():
            console.print(f"  bridge {b}: {'up' if ok else 'missing'}")
        for h, ok in status.hosts.items():
            console.print(f"  host {h}: {'up' if ok else 'missing'}")
        if status.controller_alive is not None:
            console.print(f"  controller: {'running' if status.controller_alive else 'stopped'}")

    data = {**{k: getattr(status, k) for k in status.__dataclass_fields__}, "healthy": status.healthy}
    return output.Report(data, render, exit_code=ExitCode.OK if status.healthy else ExitCode.FAILED)


# ------------------------------------------------------------------ queues


def queues_check(result: QueuesCheck) -> output.Report:
    """``queues --check``: each port's records against its tc classes."""

    def render(console: Console) -> None:
        for port in result.ports:
            head = f"{result.bridge} {port.port}: "
            if port.qos_type is None:
                console.print(head + f"NOT in place: {port.detail}", markup=False)
                continue
            rate = format_rate(port.max_rate) if port.max_rate else "?"
            state = "in place" if port.ok else "NOT in place"
            tail = f" ({port.detail})" if port.detail else ""
            console.print(f"{head}{port.qos_type} max {rate}: {state}{tail}", markup=False)
            for q in port.queues:
                want = format_rate(q.configured) if q.configured else "-"
                tc = format_rate(q.in_tc) if q.in_tc else "none"
                note = f" ({q.detail})" if q.detail else ""
                console.print(
                    f"  q{q.queue}: record {want}, tc ceil {tc}: {'ok' if q.ok else 'NOT ok'}{note}"
                )

    return output.Report(result, render, exit_code=ExitCode.OK if result.ok else ExitCode.FAILED)


def queues(result: QueuesResult) -> output.Report:
    def render(console: Console) -> None:
        for port in result.ports:
            if result.cleared:
                console.print(f"{result.bridge} {port.port}: QoS cleared")
            else:
                qs = ", ".join(f"q{q}={format_rate(r)}" for q, r in port.queues.items())
                console.print(f"{result.bridge} {port.port}: linux-htb {qs}")

    return output.Report(result, render)


# ------------------------------------------------------------------ policies


def added(result: ChangeResult) -> output.Report:
    """``policy add``: the records it installed (a note for each stale record it replaced)."""
    render = _installed(f"added {len(result.added)} policies", result.added)
    return output.Report(result, render, warnings=result.notes)


def removed(result: ChangeResult) -> output.Report:
    """``policy remove``: the records it removed."""
    return output.Report(result, _installed(f"removed {len(result.removed)} policies", result.removed))


def policy_list(listing: PolicyListing) -> output.Report:
    title = f"{len(listing.installed)} policies in {listing.state_file}"
    return output.Report(listing, _installed(title, listing.installed))


def rollback(result: ChangeResult) -> output.Report:
    def render(console: Console) -> None:
        console.print(
            f"{result.command}: removed {len(result.removed)}, restored {len(result.added)} policies"
        )

    return output.Report(result, render)


def path(result: ChangeResult) -> output.Report:
    policies = result.planned if result.dry_run else tuple(r.policy for r in result.added)

    def render(console: Console) -> None:
        console.print(("would install" if result.dry_run else "installed") + f" {len(policies)} policies:")
        table = _table("name", "switch", "match", "action")
        for p in policies:
            table.add_row(*_policy_row(p))
        console.print(table)

    return output.Report(result, render, warnings=result.notes)


# ------------------------------------------------------------------ check, sync


_STATUS_STYLE = {"present": "green", "missing": "red", "changed": "yellow", "unknown": "dim"}


def _check_exit(result: CheckResult, allow_partial: bool) -> ExitCode:
    drifted = any(p.status in ("missing", "changed") for p in result.policies) or result.orphans
    if drifted or (result.partial and not allow_partial):
        return ExitCode.FAILED
    return ExitCode.OK


def _failed_parts(result: CheckResult) -> tuple[str, ...]:
    return tuple(f"could not read {b.backend} {b.target}: {b.error}" for b in result.backends if b.error)


def _render_check(result: CheckResult, console: Console) -> None:
    for p in result.policies:
        if p.status != "present":
            console.print(f"{p.status}: {p.name} ({p.backend} {p.target}): {p.detail}", markup=False)
    if result.orphans:
        console.print("orphan flows (stackrig's cookie, in no record):")
        for o in result.orphans:
            rule = "priority=" + o.flow.split("priority=", 1)[-1] if "priority=" in o.flow else o.flow
            console.print(f"  {o.switch} cookie={o.cookie}: {rule}", markup=False)
    console.print(result.summary, markup=False)


def policy_check(listing: CheckedListing, *, quiet: bool, allow_partial: bool) -> output.Report:
    """``policy list --check``: each policy's status; ``--quiet``: the summary line only."""
    result = listing.check

    def render(console: Console) -> None:
        if quiet:
            console.print(result.summary, markup=False)
            return
        console.print(f"{len(listing.installed)} policies in {listing.state_file}")
        if listing.installed:
            table = _table("name", "switch", "match", "action", "backend", "status")
            for record, seen in zip(listing.installed, result.policies, strict=True):
                status = f"[{_STATUS_STYLE[seen.status]}]{seen.status}[/]"
                table.add_row(*_policy_row(record.policy), record.backend, status)
            console.print(table)
        _render_check(result, console)

    return output.Report(
        listing,
        render,
        warnings=_failed_parts(result),
        partial=result.partial,
        exit_code=_check_exit(result, allow_partial),
    )


def policy_sync(result: SyncResult, *, allow_partial: bool) -> output.Report:
    def render(console: Console) -> None:
        verb = {"reinstall": "reinstall", "forget": "forget", "remove-orphan": "remove orphan flow"}
        done = {"reinstall": "reinstalled", "forget": "forgot", "remove-orphan": "removed orphan flow"}
        for a in result.actions:
            word = f"would {verb[a.action]}" if result.dry_run else done[a.action]
            where = (
                f"{a.switch} ({a.backend})"
                if a.action == "remove-orphan"
                else f"{a.backend} {int(a.switch, 16):#x}"
            )
            console.print(f"{word} {a.name} on {where}", markup=False)
        if not result.actions:
            console.print("nothing to do in the directions asked for")
        elif result.dry_run:
            console.print("dry run: nothing changed; run again with --yes to do it")
        console.print((result.after or result.before).summary, markup=False)

    final = result.after or result.before
    code = ExitCode.OK if result.settled and (allow_partial or not final.partial) else ExitCode.FAILED
    return output.Report(result, render, warnings=_failed_parts(final), partial=final.partial, exit_code=code)


# ------------------------------------------------------------------ services


def service(stored: Service, verb: str) -> output.Report:
    """``service add`` (verb ``added``) and ``service remove`` (``removed``)."""

    def render(console: Console) -> None:
        console.print(f"service {stored.name} {verb}")

    return output.Report(stored, render)


def service_list(listing: ServiceListing) -> output.Report:
    def render(console: Console) -> None:
        table = _table("service", "queue", "dscp", "rate", "backend")
        for s in listing.services:
            table.add_row(
                s.name,
                str(s.queue if s.queue is not None else "-"),
                str(s.dscp if s.dscp is not None else "-"),
                format_rate(s.rate) if s.rate else "-",
                s.ids.get("backend", "-"),
            )
        console.print(table)

    return output.Report(listing, render)


# ------------------------------------------------------------------ verify


def _count(n: int, unit: str) -> str:
    return f"{n:,} {unit}"


def _switch_line(s: SwitchReport) -> str:
    head = f"{s.bridge} ({int(s.switch, 16):#x}): "
    if not s.policies:
        return head + "no flow of the policy"
    line = head + f"matched {_count(s.matched_packets, 'packets')} ({_count(s.matched_bytes, 'bytes')})"
    if s.meters:
        meters = ",".join(str(m) for m in s.meters)
        share = f" ({100 * s.dropped_packets / s.meter_packets:.0f}%)" if s.meter_packets else ""
        line += f"; meter {meters} dropped {_count(s.dropped_packets, 'packets')}{share}"
    for q in s.queues:
        line += f"; port {q.port} queue {q.queue}: {_count(q.packets, 'packets')}"
    return line


def _run_line(r: RunReport) -> str:
    name = {"tcp": "tcp", "udp": "udp"}[r.protocol]
    if r.protocol == "udp":
        name += f" {r.size} B" if r.size else ""
        sent = f" of {format_rate(r.sent_bps)} sent"
    else:
        name += f" mss {r.mss}" if r.mss else ""
        sent = ""
    line = f"{name}: {format_rate(r.received_bps)}{sent}"
    if r.high_bps is not None:
        bound = (
            f"{format_rate(r.low_bps)}-{format_rate(r.high_bps)}"
            if r.low_bps
            else f"<= {format_rate(r.high_bps)}"
        )
        line += f" (expected {bound})"
    return line + (": ok" if r.ok else ": FAIL")


def verify(result: VerifyResult) -> output.Report:
    def render(console: Console) -> None:
        if result.policy is not None:
            kind = (
                f" ({result.kind}{f' {format_rate(result.limit)}' if result.limit else ''})"
                if result.kind
                else ""
            )
            console.print(f"policy {result.policy}{kind}: {result.src} → {result.dst}, port {result.port}")
        for s in result.switches if result.policy is not None else ():  # measured only: no flows to count
            console.print(_switch_line(s), markup=False)
        if result.policy is None:
            m = result.forward
            console.print(f"{m.src} → {m.dst} (port {m.port}): {m.human}")
        for r in result.runs if result.policy is not None else ():
            console.print(_run_line(r), markup=False)
        if result.dscp is not None:
            d = result.dscp
            console.print(f"dscp on {result.dst}: {d.marked} of {d.packets} packets marked {d.expected}")
        if result.reverse is not None:
            m = result.reverse
            console.print(f"{m.src} → {m.dst} (port {m.port}): {m.human}")
        for problem in result.problems:
            console.print(f"FAIL: {problem}", markup=False)

    return output.Report(result, render, exit_code=ExitCode.OK if result.ok else ExitCode.FAILED)
