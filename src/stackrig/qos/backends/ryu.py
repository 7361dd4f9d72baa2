"""Ryu / os-ken with the rest_qos and rest_topology apps.

Endpoints (rest_qos): ``POST /qos/meter/<dpid>`` {"meter_id", "flags": "KBPS",
"bands": [{"type": "DROP", "rate"}]}, ``POST /qos/rules/<dpid>[/<vlan>]``
{"priority", "match", "actions": {"meter"|"queue"|"mark"}} answering
``[{"switch_id", "command_result": [{"result": "success", "details": "QoS added. : qos_id=N"}]}]``,
``DELETE /qos/rules/<dpid>`` {"qos_id"} and ``DELETE /qos/meter/<dpid>`` {"meter_id"}.
Topology from rest_topology: ``GET /v1.0/topology/{switches,links,hosts}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stackrig.errors import FailedError
from stackrig.qos.backends._base import Observation, Orphan, Seen, push_per_switch
from stackrig.qos.backends._http import JsonClient
from stackrig.qos.model import Policy, Service, parse_dpid
from stackrig.qos.state import Installed, new_key
from stackrig.qos.topology import HostInfo, Link, Topology

__all__ = ["RyuBackend", "rule_body"]

_PROTO = {6: "TCP", 17: "UDP", 1: "ICMP"}
RULE_FIELDS = ("in_port", "dl_type", "nw_src", "nw_dst", "nw_proto", "tp_src", "tp_dst", "ip_dscp")


def rule_body(policy: Policy, meter: int | None) -> dict[str, Any]:
    """The rest_qos rule document of a policy."""
    m = policy.match
    match: dict[str, str] = {}
    if m.in_port is not None:
        match["in_port"] = str(m.in_port)
    if m.eth_type == 0x0800:
        match["dl_type"] = "IPv4"
    elif m.eth_type is not None:
        match["dl_type"] = str(m.eth_type)
    if m.ipv4_src:
        match["nw_src"] = m.ipv4_src
    if m.ipv4_dst:
        match["nw_dst"] = m.ipv4_dst
    if m.ip_proto is not None:
        match["nw_proto"] = _PROTO.get(m.ip_proto, str(m.ip_proto))
    src = m.tcp_src if m.tcp_src is not None else m.udp_src
    dst = m.tcp_dst if m.tcp_dst is not None else m.udp_dst
    if src is not None:
        match["tp_src"] = str(src)
    if dst is not None:
        match["tp_dst"] = str(dst)
    if m.dscp is not None:
        match["ip_dscp"] = str(m.dscp)
    act = policy.action
    if act.kind == "meter":
        actions = {"meter": str(meter)}
    elif act.kind == "queue":
        actions = {"queue": str(act.queue)}
    else:
        actions = {"mark": str(act.dscp)}
    return {"priority": str(policy.priority), "match": match, "actions": actions}


def _result(answer: Any, what: str) -> str:
    """The ``details`` of a successful rest_qos command, or a FailedError."""
    try:
        result = answer[0]["command_result"]
        first = result[0] if isinstance(result, list) else result
        status, details = first["result"], str(first.get("details", ""))
    except (KeyError, IndexError, TypeError) as exc:
        raise FailedError(f"Ryu rest_qos gave an unexpected answer to {what}: {answer!r:.200}") from exc
    if status != "success":
        raise FailedError(f"Ryu rest_qos refused {what}: {details}")
    return details


def _qos_id(details: str, name: str) -> str:
    found = re.search(r"qos_id=(\d+)", details)
    if not found:
        raise FailedError(f"Ryu did not say which qos_id rule {name} got: {details}")
    return found.group(1)


@dataclass
class RyuBackend:
    url: str
    timeout: float = 20.0
    name: str = "ryu"
    client: JsonClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = JsonClient(self.url, "Ryu", self.timeout)

    @property
    def target(self) -> str:
        return self.url

    def topology(self) -> Topology:
        switches = self.client.call("GET", "/v1.0/topology/switches") or []
        links = self.client.call("GET", "/v1.0/topology/links") or []
        hosts = self.client.call("GET", "/v1.0/topology/hosts") or []
        try:
            dpids = tuple(parse_dpid(s["dpid"]) for s in switches)
            link_list = tuple(
                Link(
                    parse_dpid(lk["src"]["dpid"]),
                    int(lk["src"]["port_no"], 16),
                    parse_dpid(lk["dst"]["dpid"]),
                    int(lk["dst"]["port_no"], 16),
                )
                for lk in links
            )
            host_list = tuple(
                HostInfo(
                    h["ipv4"][0],
                    h["ipv4"][0],
                    parse_dpid(h["port"]["dpid"]),
                    int(h["port"]["port_no"], 16),
                    h["mac"],
                )
                for h in hosts
                if h.get("ipv4")
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise FailedError(f"Ryu topology answer is not as documented: {exc}") from exc
        return Topology(dpids, link_list, host_list)

    def _push_switch(self, switch: str, policies: list[Policy], used: set[int]) -> list[Installed]:
        done: list[Installed] = []
        try:
            for policy in policies:
                meter: int | None = None
                ids: dict[str, str] = {"switch": switch}
                if policy.action.kind == "meter":
                    meter = self._add_meter(switch, policy, used)
                    ids["meter"] = str(meter)
                    # Recorded before the rule so a failing rule still removes its meter.
                    done.append(Installed(new_key(), policy, self.name, self.target, dict(ids)))
                path = f"/qos/rules/{switch}" + (
                    f"/{policy.match.vlan}" if policy.match.vlan is not None else ""
                )
                details = _result(
                    self.client.call("POST", path, rule_body(policy, meter)), f"rule {policy.name}"
                )
                ids["qos_id"] = _qos_id(details, policy.name)
                record = Installed(new_key(), policy, self.name, self.target, ids)
                if meter is not None:
                    done[-1] = record
                else:
                    done.append(record)
        except BaseException:
            self.delete(done)
            raise
        return done

    def _add_meter(self, switch: str, policy: Policy, used: set[int]) -> int:
        """A meter on the first free id (skipping ids the switch already has: a leftover)."""
        kbps = str(max(1, round((policy.action.rate or 0) / 1000)))
        for _attempt in range(64):
            meter = next(i for i in range(1, 2**31) if i not in used)
            used.add(meter)
            body = {"meter_id": str(meter), "flags": "KBPS", "bands": [{"type": "DROP", "rate": kbps}]}
            try:
                _result(self.client.call("POST", f"/qos/meter/{switch}", body), f"meter {meter} on {switch}")
            except FailedError as exc:
                if "exists" in exc.message:
                    continue
                raise
            return meter
        raise FailedError(f"no free meter id on switch {switch}")

    def push(self, policies: Sequence[Policy], taken: Sequence[Installed]) -> list[Installed]:
        used: dict[str, set[int]] = {}
        for record in taken:
            if "meter" in record.ids:
                used.setdefault(record.policy.switch, set()).add(int(record.ids["meter"]))
        return push_per_switch(
            policies, lambda sw, pols: self._push_switch(sw, pols, used.setdefault(sw, set())), self.delete
        )

    def delete(self, installed: Sequence[Installed]) -> None:
        """Each record's rule, then its meter; a part already gone does not stop the rest."""
        errors: list[FailedError] = []
        for record in installed:
            switch = record.policy.switch
            if "qos_id" in record.ids:
                path = f"/qos/rules/{switch}" + (
                    f"/{record.policy.match.vlan}" if record.policy.match.vlan is not None else ""
                )
                try:
                    answer = self.client.call("DELETE", path, {"qos_id": record.ids["qos_id"]})
                    _result(answer, f"delete of rule {record.ids['qos_id']} on {switch}")
                except FailedError as exc:
                    errors.append(exc)
            if "meter" in record.ids:
                try:
                    body = {"meter_id": record.ids["meter"]}
                    answer = self.client.call("DELETE", f"/qos/meter/{switch}", body)
                    _result(answer, f"delete of meter {record.ids['meter']} on {switch}")
                except FailedError as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]

    def _rules(self, switch: str) -> dict[str, dict[str, Any]]:
        """rest_qos's rules of a switch, every VLAN group, by qos_id."""
        answer = self.client.call("GET", f"/qos/rules/{switch}/all") or []
        out: dict[str, dict[str, Any]] = {}
        try:
            for group in answer[0]["command_result"]:
                for rule in group.get("qos", []):
                    out[str(rule["qos_id"])] = {**rule, "vlan_id": group.get("vlan_id")}
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise FailedError(f"Ryu's rule listing is not as documented: {answer!r:.200}") from exc
        return out

    def _meters(self, switch: str) -> set[str]:
        answer = self.client.call("GET", f"/qos/meter/{switch}") or []
        try:
            stats = answer[0]["command_result"]
            entries = [m for ms in stats.values() for m in ms] if isinstance(stats, dict) else stats
            return {str(m["meter_id"]) for m in entries}
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise FailedError(f"Ryu's meter listing is not as documented: {answer!r:.200}") from exc

    def observe(self, installed: Sequence[Installed], *, orphans: bool = False) -> Observation:
        """Each record's rule (by qos_id) in ``GET /qos/rules/<dpid>/all`` and meter in ``GET /qos/meter``."""
        seen: dict[str, Seen] = {}
        for switch in sorted({r.policy.switch for r in installed}):
            rules = self._rules(switch)
            meters = self._meters(switch) if any("meter" in r.ids for r in installed) else set()
            for record in (r for r in installed if r.policy.switch == switch):
                seen[record.key] = _seen_rule(record, rules, meters)
        return Observation(seen)

    def delete_orphans(self, orphans: Sequence[Orphan]) -> None:
        return None

    def set_queues(
        self, switch: str, ovsdb: str, ports: Sequence[str], max_rate: int, queues: dict[int, int]
    ) -> list[dict[str, Any]]:
        """Point Ryu at the switch's OVSDB, then give each port a linux-htb QoS with ``queues``.

        rest_qos takes the queues as a list whose index is the queue id, so gaps are
        filled with queues capped at ``max_rate``.
        """
        self.client.call("PUT", f"/v1.0/conf/switches/{switch}/ovsdb_addr", ovsdb)
        top = max(queues) if queues else 0
        body_queues = [{"max_rate": str(queues.get(q, max_rate))} for q in range(top + 1)]
        answers = []
        for port in ports:
            body = {"port_name": port, "type": "linux-htb", "max_rate": str(max_rate), "queues": body_queues}
            answer = self.client.call("POST", f"/qos/queue/{switch}", body)
            _result(answer, f"queues on {port} of {switch}")
            answers.append(body)
        return answers

    def clear_queues(self, switch: str, ovsdb: str) -> None:
        self.client.call("PUT", f"/v1.0/conf/switches/{switch}/ovsdb_addr", ovsdb)
        _result(self.client.call("DELETE", f"/qos/queue/{switch}", {}), f"removing the queues of {switch}")

    def add_service(self, service: Service) -> dict[str, str]:
        return {}

    def delete_service(self, service: Service) -> None:
        return None


def _seen_rule(record: Installed, rules: dict[str, dict[str, Any]], meters: set[str]) -> Seen:
    qos_id = record.ids.get("qos_id")
    rule = rules.get(qos_id or "")
    if rule is None:
        return Seen("missing", f"no rule with qos_id {qos_id} on {record.policy.switch}")
    meter = record.ids.get("meter")
    body = rule_body(record.policy, int(meter) if meter else None)
    got = {k: str(v) for k, v in rule.items() if k in body["match"] or k in RULE_FIELDS}
    want = {k: str(v) for k, v in body["match"].items()}
    actions = rule.get("actions") or []
    want_action = {k: str(v) for k, v in body["actions"].items()}
    differs = [k for k in want if got.get(k) != want[k]] + [k for k in got if k not in want]
    if str(rule.get("priority")) != body["priority"]:
        differs.append("priority")
    if not any({k: str(v) for k, v in a.items()} == want_action for a in actions if isinstance(a, dict)):
        differs.append("actions")
    if differs:
        return Seen("changed", f"rule {qos_id} differs in {', '.join(differs)}")
    if meter and meter not in meters:
        return Seen("changed", f"meter {meter} is gone")
    return Seen("present")
