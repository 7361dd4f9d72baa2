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
    from stackrig.qos.commands import LabDown, PolicyListing, ServiceListing
    from stackrig.qos.lab import LabState, LabStatus
    from stackrig.qos.manage import ChangeResult
    from stackrig.qos.queues import QueuesResult
    from stackrig.qos.state import Installed
    from stackrig.qos.verify import VerifyResult

__all__ = [
    "added",
    "lab_down",
    "lab_status",
    "lab_up",
    "path",
    "policy_list",
    "queues",
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

    return output.Report({"name": result.name, "removed": list(result.removed)}, render)


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
    """``policy add``: the records it installed."""
    return output.Report(result, _installed(f"added {len(result.added)} policies", result.added))


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

    return output.Report(result, render)


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


def verify(result: VerifyResult) -> output.Report:
    def render(console: Console) -> None:
        for m in (result.forward, result.reverse):
            if m is not None:
                console.print(f"{m.src} → {m.dst} (port {m.port}): {m.human}")
        for problem in result.problems:
            console.print(f"FAIL: {problem}")

    return output.Report(result, render, exit_code=ExitCode.OK if result.ok else ExitCode.FAILED)
