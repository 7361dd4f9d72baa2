"""The small contract every QoS backend keeps, and the helper that makes a push all-or-nothing.

A backend knows its network's topology, installs policies and deletes what it
installed. :meth:`Backend.push` is all-or-nothing: when it raises, nothing of
that call is left on the network. :func:`push_per_switch` gives that to
backends that talk to one switch at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stackrig.errors import StackrigError
from stackrig.qos.model import Policy, Service
from stackrig.qos.state import Installed
from stackrig.qos.topology import Topology

__all__ = ["BACKENDS", "Backend", "BackendSpec", "Observation", "Orphan", "Seen", "push_per_switch"]

log = logging.getLogger("stackrig.qos")

BACKENDS: tuple[str, ...] = ("ovs", "faucet", "ryu", "floodlight")


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """Which backend, and how to reach it (built at the CLI edge)."""

    kind: str = "ovs"
    controller: str | None = None
    faucet_config: Path | None = None
    faucet_pid_file: Path | None = None
    faucet_metrics: str | None = None
    timeout: float = 20.0
    #: Only these OVS bridges (a lab's), so labs with the same datapath ids do not mix; None = all.
    ovs_bridges: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Seen:
    """What the network holds of one recorded policy."""

    status: str  # present | missing | changed
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Orphan:
    """A flow that carries stackrig's cookie but is in no record (OVS only: Faucet's flows all
    carry Faucet's cookie, and controllers keep their own ids)."""

    backend: str
    switch: str  # the bridge
    cookie: str
    flow: str
    meter: int | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    seen: dict[str, Seen]  # record key -> what is there
    orphans: tuple[Orphan, ...] = ()


class Backend(Protocol):
    name: str

    @property
    def target(self) -> str:
        """Where policies go (``local`` OVS, a controller URL, a Faucet config path)."""
        ...

    def topology(self) -> Topology: ...

    def push(self, policies: Sequence[Policy], taken: Sequence[Installed]) -> list[Installed]:
        """Install ``policies``; all or nothing. ``taken`` is what is already installed here."""
        ...

    def delete(self, installed: Sequence[Installed]) -> None: ...

    def observe(self, installed: Sequence[Installed], *, orphans: bool = False) -> Observation:
        """Compare ``installed`` (records of this backend and target) with what the network holds;
        with ``orphans``, also list stackrig's flows that no record names."""
        ...

    def delete_orphans(self, orphans: Sequence[Orphan]) -> None:
        """Delete flows :meth:`observe` called orphans (and meters only they used)."""
        ...

    def add_service(self, service: Service) -> dict[str, str]:
        """Tell the controller about a service (most backends keep services local: return {})."""
        ...

    def delete_service(self, service: Service) -> None: ...


def push_per_switch(
    policies: Sequence[Policy],
    push_one: Callable[[str, list[Policy]], list[Installed]],
    delete: Callable[[Sequence[Installed]], None],
) -> list[Installed]:
    """Push switch by switch (in path order); on a failure, delete what this call installed."""
    order: list[str] = []
    by_switch: dict[str, list[Policy]] = {}
    for policy in policies:
        if policy.switch not in by_switch:
            order.append(policy.switch)
            by_switch[policy.switch] = []
        by_switch[policy.switch].append(policy)
    done: list[Installed] = []
    for switch in order:
        try:
            done.extend(push_one(switch, by_switch[switch]))
        except BaseException as exc:
            if done:
                log.warning(
                    "push failed on switch %s; removing the %d policies already installed", switch, len(done)
                )
                try:
                    delete(done)
                except StackrigError as undo_exc:
                    if isinstance(exc, StackrigError):
                        exc.message += (
                            f"; removing what was already installed also failed: {undo_exc.message}"
                        )
            raise
    return done
