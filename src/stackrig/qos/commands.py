"""What each ``stackrig qos`` command does, as one call returning a Report (the CLI stays thin)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from stackrig._io import read_text
from stackrig.errors import ExitCode, UsageError
from stackrig.output import Report
from stackrig.qos import lab as _lab
from stackrig.qos import manage
from stackrig.qos import verify as _verify
from stackrig.qos.backends import BackendSpec, open_backend, opener
from stackrig.qos.model import Policy, Service, format_rate, parse_rate
from stackrig.qos.queues import QueuesRequest, apply_queues, apply_queues_ryu, parse_queue
from stackrig.qos.state import Installed

__all__ = ["BackendSpec", "Context"]

DEFAULT_FAUCET_CONFIG = Path("/etc/faucet/faucet.yaml")
DEFAULT_FAUCET_METRICS = "http://127.0.0.1:9302"


@dataclass(frozen=True, slots=True)
class Context:
    qos_dir: Path
    state_file: Path | None = None
    lab: str = "lab"

    @property
    def state_path(self) -> Path:
        return self.state_file or self.qos_dir / "state.json"


def _lab_or_none(ctx: Context) -> _lab.LabState | None:
    try:
        return _lab.load_lab(ctx.qos_dir, ctx.lab)
    except UsageError:
        return None


def resolve_spec(ctx: Context, spec: BackendSpec) -> BackendSpec:
    """Fill Faucet's config, PID file and metrics URL from the lab when not given."""
    lab = _lab_or_none(ctx)
    faucet_lab = lab if lab is not None and lab.faucet_config else None
    config = spec.faucet_config or (
        Path(faucet_lab.faucet_config) if faucet_lab and faucet_lab.faucet_config else None
    )
    pid_file = spec.faucet_pid_file
    if pid_file is None and faucet_lab is not None and faucet_lab.faucet_config:
        pid_file = Path(faucet_lab.faucet_config).with_name("faucet.pid")
    metrics = spec.faucet_metrics or (faucet_lab.faucet_metrics if faucet_lab else None)
    if spec.kind == "faucet":
        config = config or DEFAULT_FAUCET_CONFIG
    # Also for records of the faucet backend removed or rolled back without --backend.
    metrics = metrics or DEFAULT_FAUCET_METRICS
    return replace(spec, faucet_config=config, faucet_pid_file=pid_file, faucet_metrics=metrics)


# ------------------------------------------------------------------ rendering helpers


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


def _render_installed(title: str, records: Sequence[Installed]) -> Any:
    def render(console: Console) -> None:
        console.print(title)
        if records:
            table = _table("name", "switch", "match", "action", "backend")
            for r in records:
                table.add_row(*_policy_row(r.policy), r.backend)
            console.print(table)

    return render


# ------------------------------------------------------------------ lab


def lab_up(ctx: Context, topo: str, controller: str, name: str) -> Report:
    kind, size = _lab.parse_topo(topo)
    spec = _lab.LabSpec(name, kind, size, _lab.check_controller(controller))
    state = _lab.lab_up(ctx.qos_dir, spec)

    def render(console: Console) -> None:
        console.print(f"lab {state.name} up: {state.topo},{state.size}, controller {state.controller}")
        table = _table("host", "address", "namespace", "bridge", "port")
        for h in state.hosts:
            table.add_row(h.name, h.ip, h.netns, h.bridge, str(h.port))
        console.print(table)

    return Report(state.to_dict(), render)


def lab_down(ctx: Context, name: str) -> Report:
    removed = _lab.lab_down(ctx.qos_dir, name)

    def render(console: Console) -> None:
        console.print(f"lab {name} down; removed: {', '.join(removed) or 'nothing (already gone)'}")

    return Report({"name": name, "removed": removed}, render)


def lab_status(ctx: Context, name: str) -> Report:
    status = _lab.lab_status(ctx.qos_dir, name)

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
    return Report(data, render, exit_code=ExitCode.OK if status.healthy else ExitCode.FAILED)


# ------------------------------------------------------------------ queues


def queues(
    switch: str,
    ports: Sequence[str],
    max_rate: str,
    queue: Sequence[str],
    clear: bool,
    *,
    spec: BackendSpec | None = None,
    ovsdb: str = "tcp:127.0.0.1:6640",
) -> Report:
    req = QueuesRequest(
        switch,
        tuple(ports),
        parse_rate(max_rate, field_name="--max-rate"),
        tuple(parse_queue(q) for q in queue),
        clear,
    )
    if spec is not None and spec.kind == "ryu":
        if not spec.controller:
            raise UsageError("--backend ryu needs --controller URL (e.g. http://127.0.0.1:8080)")
        result = apply_queues_ryu(req, spec.controller, ovsdb)
    elif spec is None or spec.kind == "ovs":
        result = apply_queues(req)
    else:
        raise UsageError(f"qos queues works with --backend ovs or ryu, not {spec.kind}")

    def render(console: Console) -> None:
        for port in result.ports:
            if result.cleared:
                console.print(f"{result.bridge} {port.port}: QoS cleared")
            else:
                qs = ", ".join(f"q{q}={format_rate(r)}" for q, r in port.queues.items())
                console.print(f"{result.bridge} {port.port}: linux-htb {qs}")

    return Report(result, render)


# ------------------------------------------------------------------ policies


def _load_policies(texts: Sequence[str], file: Path | None, services: dict[str, Service]) -> list[Policy]:
    docs: list[Any] = []
    sources = [("argument", t) for t in texts]
    if file is not None:
        sources.append((str(file), read_text(file, what="policy file")))
    if not sources:
        raise UsageError("give a policy as JSON (argument) or with --file")
    for where, text in sources:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"policy {where} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        docs.extend(doc if isinstance(doc, list) else [doc])
    return [Policy.from_dict(d, services) for d in docs]


def _open(ctx: Context, spec: BackendSpec) -> Any:
    return open_backend(resolve_spec(ctx, spec))


def _opener(ctx: Context, spec: BackendSpec) -> manage.Opener:
    resolved = resolve_spec(ctx, spec)
    open_for = opener(resolved)
    return open_for  # type: ignore[no-any-return]


def policy_add(ctx: Context, spec: BackendSpec, texts: Sequence[str], file: Path | None) -> Report:
    services = manage.list_state(ctx.state_path).services
    policies = _load_policies(texts, file, services)
    result = manage.add_policies(_open(ctx, spec), ctx.state_path, policies, command="policy add")
    return Report(result, _render_installed(f"added {len(result.added)} policies", result.added))


def policy_list(ctx: Context) -> Report:
    st = manage.list_state(ctx.state_path)
    data = {
        "state_file": str(ctx.state_path),
        "installed": st.installed,
        "journal": [{"txn": j.txn, "command": j.command, "time": j.time} for j in st.journal],
    }
    return Report(data, _render_installed(f"{len(st.installed)} policies in {ctx.state_path}", st.installed))


def policy_remove(ctx: Context, spec: BackendSpec, names: Sequence[str]) -> Report:
    result = manage.remove_policies(ctx.state_path, names, _opener(ctx, spec), command="policy remove")
    return Report(result, _render_installed(f"removed {len(result.removed)} policies", result.removed))


def policy_rollback(ctx: Context, spec: BackendSpec) -> Report:
    result = manage.rollback(ctx.state_path, _opener(ctx, spec))

    def render(console: Console) -> None:
        console.print(
            f"{result.command}: removed {len(result.removed)}, restored {len(result.added)} policies"
        )

    return Report(result, render)


# ------------------------------------------------------------------ services


def service_add(
    ctx: Context, *, spec: BackendSpec, name: str, queue: int | None, dscp: int | None, rate: str | None
) -> Report:
    service = Service.from_dict({"name": name, "queue": queue, "dscp": dscp, "rate": rate})
    stored = manage.add_service(_open(ctx, spec), ctx.state_path, service)

    def render(console: Console) -> None:
        console.print(f"service {stored.name} added")

    return Report(stored, render)


def service_list(ctx: Context) -> Report:
    services = list(manage.list_state(ctx.state_path).services.values())

    def render(console: Console) -> None:
        table = _table("service", "queue", "dscp", "rate", "backend")
        for s in services:
            table.add_row(
                s.name,
                str(s.queue if s.queue is not None else "-"),
                str(s.dscp if s.dscp is not None else "-"),
                format_rate(s.rate) if s.rate else "-",
                s.ids.get("backend", "-"),
            )
        console.print(table)

    return Report({"services": services}, render)


def service_remove(ctx: Context, name: str) -> Report:
    removed = manage.remove_service(ctx.state_path, name, _opener(ctx, BackendSpec()))

    def render(console: Console) -> None:
        console.print(f"service {removed.name} removed")

    return Report(removed, render)


# ------------------------------------------------------------------ path, verify


def path_request(
    *,
    src: str,
    dst: str,
    rate: str | None,
    queue: int | None,
    protocol: str | None,
    dst_port: int | None,
    both: bool,
    name: str | None,
) -> manage.PathRequest:
    bits = parse_rate(rate, field_name="--rate") if rate is not None else None
    return manage.PathRequest(
        src, dst, bits, queue, protocol.lower() if protocol else None, dst_port, both, name
    )


def path(ctx: Context, spec: BackendSpec, req: manage.PathRequest, dry_run: bool) -> Report:
    backend = _open(ctx, spec)
    policies = manage.plan_path(backend.topology(), req)
    if dry_run:
        result = manage.ChangeResult("path", dry_run=True, planned=tuple(policies))
    else:
        result = manage.add_policies(backend, ctx.state_path, policies, command="path")

    def render(console: Console) -> None:
        console.print(("would install" if dry_run else "installed") + f" {len(policies)} policies:")
        table = _table("name", "switch", "match", "action")
        for p in policies:
            table.add_row(*_policy_row(p))
        console.print(table)

    return Report(result, render)


def verify_request(
    *,
    src: str,
    dst: str,
    port: int,
    seconds: float,
    reverse: bool,
    expect_max: str | None,
    expect_min: str | None,
) -> _verify.VerifyRequest:
    hi = parse_rate(expect_max, field_name="--expect-max") if expect_max else None
    lo = parse_rate(expect_min, field_name="--expect-min") if expect_min else None
    return _verify.VerifyRequest(src, dst, port, seconds, reverse, hi, lo)


def verify(ctx: Context, req: _verify.VerifyRequest) -> Report:
    lab = _lab.load_lab(ctx.qos_dir, ctx.lab)
    result = _verify.verify(lab, req)

    def render(console: Console) -> None:
        for m in (result.forward, result.reverse):
            if m is not None:
                console.print(f"{m.src} → {m.dst} (port {m.port}): {m.human}")
        for problem in result.problems:
            console.print(f"FAIL: {problem}")

    return Report(result, render, exit_code=ExitCode.OK if result.ok else ExitCode.FAILED)
