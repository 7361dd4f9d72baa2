"""Policies and services through a backend, recorded in the state file.

Each function takes the state lock, talks to the backend and saves the state
only when the network side succeeded: a push that fails part-way leaves the
network and the state as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from stackrig.errors import ConflictError, StackrigError, UsageError
from stackrig.qos.backends._base import Backend
from stackrig.qos.drift import clear_leftovers, observe_records
from stackrig.qos.model import PROTOCOLS, Action, Match, Policy, Service, check_name
from stackrig.qos.state import Installed, PolicyState, locked_state
from stackrig.qos.topology import Topology, find_path

__all__ = [
    "ChangeResult",
    "PathRequest",
    "add_policies",
    "add_service",
    "forget_lab",
    "list_state",
    "plan_path",
    "remove_policies",
    "remove_service",
    "rollback",
]

log = logging.getLogger("stackrig.qos")

Opener = Callable[[str, str], Backend]
"""Opens the backend of a record: (backend kind, target) → Backend."""


@dataclass(frozen=True, slots=True)
class ChangeResult:
    command: str
    added: tuple[Installed, ...] = ()
    removed: tuple[Installed, ...] = ()
    dry_run: bool = False
    planned: tuple[Policy, ...] = ()
    state_file: str = ""
    notes: tuple[str, ...] = ()


def list_state(path: Path) -> PolicyState:
    with locked_state(path) as state:
        return state


def _push(backend: Backend, state: PolicyState, policies: Sequence[Policy]) -> list[Installed]:
    taken = [r for r in state.installed if r.backend == backend.name and r.target == backend.target]
    return backend.push(policies, taken)


def add_policies(
    backend: Backend,
    state_path: Path,
    policies: Sequence[Policy],
    *,
    command: str,
    opener: Opener | None = None,
) -> ChangeResult:
    """Install ``policies`` and record them; names must be new.

    A name that is recorded but whose flows are gone from the network (``--check`` would
    call it missing; asked through ``opener``) is not a conflict: it is installed again and
    the stale record replaced, with a note.
    """
    if not policies:
        raise UsageError("no policies to add")
    names = [p.name for p in policies]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise UsageError(f"policy name {sorted(dup)[0]!r} is given twice")
    with locked_state(state_path) as state:
        groups_in_use = {r.policy.group for r in state.installed if r.policy.group}
        clash_group = [n for n in names if n in groups_in_use]
        if clash_group:
            raise ConflictError(f"a policy named {clash_group[0]!r} is already installed (a group)")
        stale = [r for r in state.installed if r.policy.name in set(names)]
        if stale:
            _stale_or_conflict(stale, opener)
        groups = {p.group for p in policies if p.group} - {p.name for p in policies}
        installed_names = {r.policy.name for r in state.installed} - {r.policy.name for r in stale}
        if groups & installed_names:
            raise ConflictError(f"group name {sorted(groups & installed_names)[0]!r} is a policy name")
        state.installed = [r for r in state.installed if r not in stale]
        if stale and opener is not None:
            clear_leftovers(stale, opener)
        added = _push(backend, state, policies)
        state.installed += stale  # record() removes them again, journaled
        state.record(command, added, stale)
        _save_or_undo(state, lambda: backend.delete(added))
        notes = tuple(
            f"policy {r.policy.name!r} was recorded but its flows were gone ({r.backend} {r.target}): "
            "installed again"
            for r in stale
        )
        return ChangeResult(command, added=tuple(added), state_file=str(state_path), notes=notes)


def _stale_or_conflict(records: list[Installed], opener: Opener | None) -> None:
    """Pass when every record is missing on the network, else raise the name conflict."""
    name = records[0].policy.name
    conflict = ConflictError(
        f"a policy named {name!r} is already installed",
        hint=f"remove it first: stackrig qos policy remove {name}",
    )
    if opener is None:
        raise conflict
    seen, _orphans, errors = observe_records(records, opener)
    there = [r for r in records if seen.get(r.key) is None or seen[r.key].status != "missing"]
    if there or errors:
        if there:
            conflict.message = f"a policy named {there[0].policy.name!r} is already installed"
        raise conflict


def _save_or_undo(state: PolicyState, undo: Callable[[], None]) -> None:
    try:
        state.save()
    except StackrigError:
        undo()
        raise


def _delete(records: Sequence[Installed], opener: Opener) -> None:
    by_target: dict[tuple[str, str], list[Installed]] = {}
    for record in records:
        by_target.setdefault((record.backend, record.target), []).append(record)
    for (kind, target), group in by_target.items():
        opener(kind, target).delete(group)


def remove_policies(state_path: Path, names: Sequence[str], opener: Opener, *, command: str) -> ChangeResult:
    """Delete the named policies (or groups, e.g. a path) from the network and the state."""
    if not names:
        raise UsageError("name at least one policy or group to remove")
    with locked_state(state_path) as state:
        records = state.find(list(names))
        _delete(records, opener)
        state.record(command, [], records)
        state.save()
        return ChangeResult(command, removed=tuple(records), state_file=str(state_path))


def rollback(state_path: Path, opener: Opener) -> ChangeResult:
    """Undo the last recorded change: remove what it added, put back what it removed."""
    with locked_state(state_path) as state:
        if not state.journal:
            raise UsageError(f"nothing to roll back in {state_path}")
        entry = state.journal[-1]
        if entry.command.startswith("lab down "):
            _switches_back(entry.command, entry.removed, opener)
        live = {r.key: r for r in state.installed}
        added = [live[k] for k in entry.added if k in live]
        _delete(added, opener)
        restored: list[Installed] = []
        by_target: dict[tuple[str, str], list[Installed]] = {}
        for record in entry.removed:
            by_target.setdefault((record.backend, record.target), []).append(record)
        try:
            for (kind, target), group in by_target.items():
                backend = opener(kind, target)
                keys = {r.policy.name: r.key for r in group}
                pushed = _push(backend, state, [r.policy for r in group])
                # Same keys as before, so older journal entries still name them.
                restored.extend(replace(r, key=keys[r.policy.name]) for r in pushed)
        except StackrigError:
            _delete(restored, opener)
            raise
        gone = {r.key for r in added}
        state.installed = [r for r in state.installed if r.key not in gone] + restored
        state.journal.pop()
        _save_or_undo(state, lambda: _delete(restored, opener))
        return ChangeResult(
            f"rollback of {entry.command}", tuple(restored), tuple(added), state_file=str(state_path)
        )


def _switches_back(command: str, records: Sequence[Installed], opener: Opener) -> None:
    """A USAGE error naming the lab's switches when they are not (yet) back."""
    wanted = {r.ids.get("bridge") or r.ids.get("dp") or "" for r in records} - {""}
    try:
        present = set(opener("ovs", "local").topology().bridges.values())
    except StackrigError:
        present = set()
    gone = sorted(wanted - present)
    if gone:
        lab = command.removeprefix("lab down ").strip()
        raise UsageError(
            f"cannot roll back {command!r}: its switches are gone ({', '.join(gone)})",
            hint=f"bring the lab back first: stackrig qos lab up --name {lab}, then roll back",
        )


def forget_lab(
    state_path: Path, lab: str, bridges: Sequence[str], faucet_config: str | None
) -> tuple[Installed, ...]:
    """Drop from the state the policies on a lab's switches (journaled as ``lab down LAB``)."""
    if not state_path.exists():
        return ()
    with locked_state(state_path) as state:
        on_lab = [
            r
            for r in state.installed
            if (r.backend == "ovs" and r.ids.get("bridge") in set(bridges))
            or (r.backend == "faucet" and faucet_config is not None and r.target == faucet_config)
        ]
        if on_lab:
            state.record(f"lab down {lab}", [], on_lab)
            state.save()
        return tuple(on_lab)


# ------------------------------------------------------------------ services


def add_service(backend: Backend, state_path: Path, service: Service) -> Service:
    with locked_state(state_path) as state:
        if service.name in state.services:
            raise ConflictError(
                f"service {service.name!r} exists",
                hint=f"remove it first: stackrig qos service remove {service.name}",
            )
        ids = backend.add_service(service)
        stored = replace(service, ids={**ids, "backend": backend.name, "target": backend.target})
        state.services[service.name] = stored
        _save_or_undo(state, lambda: backend.delete_service(stored))
        return stored


def remove_service(state_path: Path, name: str, opener: Opener) -> Service:
    with locked_state(state_path) as state:
        if name not in state.services:
            raise UsageError(f"no service named {name!r} in {state_path}")
        users = [r.policy.name for r in state.installed if r.policy.service == name]
        if users:
            raise ConflictError(
                f"service {name!r} is used by policy {users[0]!r}", hint="remove those policies first"
            )
        service = state.services.pop(name)
        kind, target = service.ids.get("backend"), service.ids.get("target")
        if kind and target:
            opener(kind, target).delete_service(service)
        state.save()
        return service


# ------------------------------------------------------------------ path


@dataclass(frozen=True, slots=True)
class PathRequest:
    src: str
    dst: str
    rate: int | None = None
    queue: int | None = None
    protocol: str | None = None
    dst_port: int | None = None
    both_directions: bool = False
    name: str | None = None
    priority: int = 40000

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.queue is None):
            raise UsageError("give exactly one of --rate and --queue")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise UsageError(f"invalid --protocol {self.protocol!r}: use tcp, udp or icmp")
        if self.dst_port is not None:
            if self.protocol not in ("tcp", "udp"):
                raise UsageError("--dst-port needs --protocol tcp or udp")
            if not 0 <= self.dst_port <= 65535:
                raise UsageError(f"invalid --dst-port {self.dst_port}: ports are 0-65535")
        if self.name is not None:
            check_name(self.name, "--name")


def _direction(
    topo: Topology, req: PathRequest, *, src: str, dst: str, reverse: bool, group: str
) -> list[Policy]:
    a, b = topo.host(src), topo.host(dst)
    hops = find_path(topo, src, dst)
    out: list[Policy] = []
    for hop in hops:
        match: dict[str, object] = {"in_port": hop.in_port, "ipv4_src": a.ip, "ipv4_dst": b.ip}
        if req.protocol:
            match["ip_proto"] = PROTOCOLS[req.protocol]
        if req.dst_port is not None:
            match[f"{req.protocol}_{'src' if reverse else 'dst'}"] = req.dst_port
        if req.rate is not None:
            action = Action.meter(req.rate, hop.out_port)
        else:
            action = Action.enqueue(req.queue or 0, hop.out_port)
        suffix = "rev" if reverse else "fwd"
        out.append(
            Policy(
                f"{group}-{suffix}-{int(hop.switch, 16):x}",
                hop.switch,
                Match.from_dict(match),
                action,
                req.priority,
                group=group,
            )
        )
    return out


def plan_path(topo: Topology, req: PathRequest) -> list[Policy]:
    """One policy per switch on the shortest path (and back with ``both_directions``)."""
    a, b = topo.host(req.src), topo.host(req.dst)
    group = req.name or f"path-{a.name}-{b.name}"
    check_name(group, "--name")
    policies = _direction(topo, req, src=req.src, dst=req.dst, reverse=False, group=group)
    if req.both_directions:
        policies += _direction(topo, req, src=req.dst, dst=req.src, reverse=True, group=group)
    return policies
