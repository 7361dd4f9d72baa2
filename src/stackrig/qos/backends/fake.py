"""An in-memory backend for unit tests: a network of switches that keeps flows in dicts.

It keeps the same contract as the real backends (all-or-nothing push, exact
delete) and can be told to reject policies on chosen switches, the way a full
flow table or an unreachable switch would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from stackrig.errors import FailedError
from stackrig.qos.backends._base import Observation, Orphan, Seen, push_per_switch
from stackrig.qos.model import Policy, Service
from stackrig.qos.state import Installed, new_key
from stackrig.qos.topology import Topology

__all__ = ["FakeBackend"]


@dataclass
class FakeBackend:
    """Switches are dicts of ``rule id -> policy``; ``reject`` names switches that refuse flows."""

    topo: Topology
    reject: set[str] = field(default_factory=set)
    flows: dict[str, dict[str, Policy]] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    name: str = "fake"
    _next: int = 1

    @property
    def target(self) -> str:
        return "memory"

    def topology(self) -> Topology:
        return self.topo

    def _push_switch(self, switch: str, policies: list[Policy]) -> list[Installed]:
        self.calls.append(f"push {switch} {len(policies)}")
        if switch not in self.topo.switches:
            raise FailedError(f"switch {switch} is not connected")
        if switch in self.reject:
            raise FailedError(f"switch {switch} rejected the flow (table full)")
        table = self.flows.setdefault(switch, {})
        out: list[Installed] = []
        for policy in policies:
            rule = str(self._next)
            self._next += 1
            table[rule] = policy
            out.append(Installed(new_key(), policy, self.name, self.target, {"rule": rule}))
        return out

    def push(self, policies: Sequence[Policy], taken: Sequence[Installed]) -> list[Installed]:
        return push_per_switch(policies, self._push_switch, self.delete)

    def delete(self, installed: Sequence[Installed]) -> None:
        for record in installed:
            self.calls.append(f"delete {record.policy.switch} {record.ids['rule']}")
            self.flows.get(record.policy.switch, {}).pop(record.ids["rule"], None)

    def observe(self, installed: Sequence[Installed], *, orphans: bool = False) -> Observation:
        seen: dict[str, Seen] = {}
        for record in installed:
            held = self.flows.get(record.policy.switch, {}).get(record.ids.get("rule", ""))
            if held is None:
                seen[record.key] = Seen(
                    "missing", f"no rule {record.ids.get('rule')} on {record.policy.switch}"
                )
            else:
                seen[record.key] = Seen("present" if held == record.policy else "changed")
        return Observation(seen)

    def delete_orphans(self, orphans: Sequence[Orphan]) -> None:
        return None

    def add_service(self, service: Service) -> dict[str, str]:
        self.services[service.name] = service
        return {"service": service.name}

    def delete_service(self, service: Service) -> None:
        self.services.pop(service.name, None)
