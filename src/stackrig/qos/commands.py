"""What each ``stackrig qos`` command does, as one call returning a result (the CLI renders it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stackrig._io import read_text
from stackrig.errors import UsageError
from stackrig.qos import drift, manage
from stackrig.qos import lab as _lab
from stackrig.qos import verify as _verify
from stackrig.qos.backends import BackendSpec, open_backend, opener
from stackrig.qos.drift import SyncRequest
from stackrig.qos.model import Policy, Service, parse_rate
from stackrig.qos.queues import (
    QueuesCheck,
    QueuesRequest,
    QueuesResult,
    apply_queues,
    apply_queues_ryu,
    check_queues,
    parse_queue,
)
from stackrig.qos.state import Installed, PolicyState

__all__ = [
    "BackendSpec",
    "CheckedListing",
    "Context",
    "JournalLine",
    "LabDown",
    "PolicyListing",
    "ServiceListing",
    "SyncRequest",
]

DEFAULT_FAUCET_CONFIG = Path("/etc/faucet/faucet.yaml")
DEFAULT_FAUCET_METRICS = "http://127.0.0.1:9302"


@dataclass(frozen=True, slots=True)
class Context:
    qos_dir: Path
    state_file: Path | None = None
    lab_name: str | None = None  # None: the only lab in the data folder, else "lab"

    @property
    def state_path(self) -> Path:
        return self.state_file or self.qos_dir / "state.json"

    @property
    def lab(self) -> str:
        return self.lab_name or _lab.default_lab(self.qos_dir)


@dataclass(frozen=True, slots=True)
class LabDown:
    """What ``lab down`` removed from the machine, and the policies it dropped from the state."""

    name: str
    removed: tuple[str, ...]
    forgotten: tuple[Installed, ...] = ()


@dataclass(frozen=True, slots=True)
class JournalLine:
    txn: int
    command: str
    time: str


@dataclass(frozen=True, slots=True)
class PolicyListing:
    """The recorded policies and the journal's entries (newest last)."""

    state_file: str
    installed: tuple[Installed, ...]
    journal: tuple[JournalLine, ...]

    @classmethod
    def of(cls, state: PolicyState) -> PolicyListing:
        journal = tuple(JournalLine(j.txn, j.command, j.time) for j in state.journal)
        return cls(str(state.path), tuple(state.installed), journal)


@dataclass(frozen=True, slots=True)
class CheckedListing:
    """``policy list --check``: the listing, and what the network holds of it."""

    state_file: str
    installed: tuple[Installed, ...]
    journal: tuple[JournalLine, ...]
    check: drift.CheckResult


@dataclass(frozen=True, slots=True)
class ServiceListing:
    services: tuple[Service, ...]


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
    # A lab's OVS backend sees only the lab's bridges: every lab numbers its switches from 1.
    bridges = spec.ovs_bridges or (tuple(lab.bridges) if lab is not None else None)
    return replace(
        spec, faucet_config=config, faucet_pid_file=pid_file, faucet_metrics=metrics, ovs_bridges=bridges
    )


# ------------------------------------------------------------------ lab


def lab_up(ctx: Context, topo: str, controller: str, name: str) -> _lab.LabState:
    kind, size = _lab.parse_topo(topo)
    spec = _lab.LabSpec(name, kind, size, _lab.check_controller(controller))
    return _lab.lab_up(ctx.qos_dir, spec)


def lab_down(ctx: Context, name: str) -> LabDown:
    """Remove the lab, then the policies on its switches from the state (journaled)."""
    _lab.require_root()
    lab = _lab.load_lab(ctx.qos_dir, name)
    removed = tuple(_lab.lab_down(ctx.qos_dir, name))
    forgotten = manage.forget_lab(ctx.state_path, name, lab.bridges, lab.faucet_config)
    return LabDown(name, removed, forgotten)


def lab_status(ctx: Context, name: str) -> _lab.LabStatus:
    return _lab.lab_status(ctx.qos_dir, name)


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
) -> QueuesResult:
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
        return apply_queues_ryu(req, spec.controller, ovsdb)
    if spec is None or spec.kind == "ovs":
        return apply_queues(req)
    raise UsageError(f"qos queues works with --backend ovs or ryu, not {spec.kind}")


def queues_check(
    switch: str, ports: Sequence[str], max_rate: str | None, queue: Sequence[str]
) -> QueuesCheck:
    rate = parse_rate(max_rate, field_name="--max-rate") if max_rate is not None else None
    return check_queues(switch, ports, queues=[parse_queue(q) for q in queue], max_rate=rate)


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
    return opener(resolve_spec(ctx, spec))


def policy_add(
    ctx: Context, spec: BackendSpec, texts: Sequence[str], file: Path | None
) -> manage.ChangeResult:
    services = manage.list_state(ctx.state_path).services
    policies = _load_policies(texts, file, services)
    return manage.add_policies(
        _open(ctx, spec), ctx.state_path, policies, command="policy add", opener=_opener(ctx, spec)
    )


def _lab_in_use(ctx: Context) -> bool:
    return _lab_or_none(ctx) is not None


def policy_list(ctx: Context) -> PolicyListing:
    return PolicyListing.of(manage.list_state(ctx.state_path))


def policy_check(ctx: Context, spec: BackendSpec) -> CheckedListing:
    """The listing with each policy's status on the network, and OVS orphans."""
    listing = policy_list(ctx)
    result = drift.check(ctx.state_path, _opener(ctx, spec), scan_ovs=_lab_in_use(ctx))
    return CheckedListing(listing.state_file, listing.installed, listing.journal, result)


def policy_sync(ctx: Context, spec: BackendSpec, req: drift.SyncRequest) -> drift.SyncResult:
    return drift.sync(ctx.state_path, _opener(ctx, spec), req, scan_ovs=_lab_in_use(ctx))


def policy_remove(ctx: Context, spec: BackendSpec, names: Sequence[str]) -> manage.ChangeResult:
    return manage.remove_policies(ctx.state_path, names, _opener(ctx, spec), command="policy remove")


def policy_rollback(ctx: Context, spec: BackendSpec) -> manage.ChangeResult:
    return manage.rollback(ctx.state_path, _opener(ctx, spec))


# ------------------------------------------------------------------ services


def service_add(
    ctx: Context, *, spec: BackendSpec, name: str, queue: int | None, dscp: int | None, rate: str | None
) -> Service:
    service = Service.from_dict({"name": name, "queue": queue, "dscp": dscp, "rate": rate})
    return manage.add_service(_open(ctx, spec), ctx.state_path, service)


def service_list(ctx: Context) -> ServiceListing:
    return ServiceListing(tuple(manage.list_state(ctx.state_path).services.values()))


def service_remove(ctx: Context, name: str) -> Service:
    return manage.remove_service(ctx.state_path, name, _opener(ctx, BackendSpec()))


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


def path(ctx: Context, spec: BackendSpec, req: manage.PathRequest, dry_run: bool) -> manage.ChangeResult:
    backend = _open(ctx, spec)
    policies = manage.plan_path(backend.topology(), req)
    if dry_run:
        return manage.ChangeResult("path", dry_run=True, planned=tuple(policies))
    return manage.add_policies(backend, ctx.state_path, policies, command="path", opener=_opener(ctx, spec))


def verify_request(
    *,
    src: str,
    dst: str,
    port: int | None,
    seconds: float,
    reverse: bool,
    expect_max: str | None,
    expect_min: str | None,
    policy: str | None = None,
    sizes: str | None = None,
    protocol: str = "auto",
    tolerance: str | None = None,
) -> _verify.VerifyRequest:
    hi = parse_rate(expect_max, field_name="--expect-max") if expect_max else None
    lo = parse_rate(expect_min, field_name="--expect-min") if expect_min else None
    return _verify.VerifyRequest(
        src,
        dst,
        port,
        seconds,
        reverse,
        hi,
        lo,
        policy,
        _verify.parse_sizes(sizes),
        protocol.lower(),
        _verify.parse_tolerance(tolerance),
    )


def verify(ctx: Context, req: _verify.VerifyRequest) -> _verify.VerifyResult:
    lab = _lab.load_lab(ctx.qos_dir, ctx.lab)
    return _verify.verify(lab, req, manage.list_state(ctx.state_path).installed)
