"""Floodlight: the QoS module (what qospusher.py drives) and the static flow pusher.

- queue actions → QoS module policy ``POST /wm/qos/policy/json`` with qospusher's
  fields (``name``, ``sw`` in colon form, ``eth-type``, ``protocol``,
  ``ingress-port``, ``ip-src``, ``ip-dst``, ``tcp-udp-src-port``,
  ``tcp-udp-dst-port``, ``tos``, ``vlan-id``, ``priority``, ``queue``,
  ``enqueue-port``, or ``service`` for a policy that names a service); its id is
  read back from ``GET /wm/qos/policy/json`` (``policyid``) and removed with
  ``DELETE /wm/qos/policy/json`` {"policy-id"}.
- DSCP actions → static flow pusher ``POST /wm/staticflowpusher/json``
  ({"switch", "name", "priority", "active", match fields, "actions":
  "set_field=ip_dscp->46,output=2"}), removed with ``DELETE`` {"name"}.
- services → ``POST /wm/qos/service/json`` {"name", "tos"}; id ``sid`` from the
  list; ``DELETE`` {"sid"}.
- meters: Floodlight has no REST API for OpenFlow meters: refused up front.
Topology: ``/wm/core/controller/switches/json``, ``/wm/topology/links/json``, ``/wm/device/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stackrig.errors import FailedError, UsageError
from stackrig.qos.backends._base import Observation, Orphan, Seen, push_per_switch
from stackrig.qos.backends._http import JsonClient
from stackrig.qos.model import Policy, Service, format_dpid, parse_dpid
from stackrig.qos.state import Installed, new_key
from stackrig.qos.topology import HostInfo, Link, Topology

__all__ = ["FloodlightBackend", "flow_entry", "qos_policy"]


def _match_fields(policy: Policy) -> dict[str, str]:
    m = policy.match
    out: dict[str, str] = {}
    if m.eth_type is not None:
        out["eth-type"] = f"0x{m.eth_type:04x}"
    if m.ip_proto is not None:
        out["protocol"] = str(m.ip_proto)
    if m.in_port is not None:
        out["ingress-port"] = str(m.in_port)
    if m.ipv4_src:
        out["ip-src"] = m.ipv4_src
    if m.ipv4_dst:
        out["ip-dst"] = m.ipv4_dst
    src = m.tcp_src if m.tcp_src is not None else m.udp_src
    dst = m.tcp_dst if m.tcp_dst is not None else m.udp_dst
    if src is not None:
        out["tcp-udp-src-port"] = str(src)
    if dst is not None:
        out["tcp-udp-dst-port"] = str(dst)
    if m.dscp is not None:
        out["tos"] = str(m.dscp)
    if m.vlan is not None:
        out["vlan-id"] = str(m.vlan)
    return out


def qos_policy(policy: Policy) -> dict[str, str]:
    """The QoS module's policy document (the JSON of ``qospusher.py add policy``)."""
    body = {
        "name": policy.name,
        "sw": format_dpid(policy.switch, colons=True),
        "priority": str(policy.priority),
    }
    body.update(_match_fields(policy))
    if policy.service is not None and policy.action.kind == "dscp":
        body["service"] = policy.service
    else:
        body["queue"] = str(policy.action.queue)
        body["enqueue-port"] = str(policy.action.port)
    return body


def flow_entry(policy: Policy) -> dict[str, str]:
    """A static flow pusher entry that marks DSCP and forwards."""
    m = policy.match
    body = {
        "switch": format_dpid(policy.switch, colons=True),
        "name": policy.name,
        "priority": str(policy.priority),
        "active": "true",
    }
    pairs = {
        "in_port": m.in_port,
        "eth_type": None if m.eth_type is None else f"0x{m.eth_type:04x}",
        "ip_proto": m.ip_proto,
        "ipv4_src": m.ipv4_src,
        "ipv4_dst": m.ipv4_dst,
        "tcp_src": m.tcp_src,
        "tcp_dst": m.tcp_dst,
        "udp_src": m.udp_src,
        "udp_dst": m.udp_dst,
        "ip_dscp": m.dscp,
        "eth_vlan_vid": m.vlan,
    }
    body.update({k: str(v) for k, v in pairs.items() if v is not None})
    out = f"output={policy.action.port}" if policy.action.port is not None else "output=normal"
    body["actions"] = f"set_field=ip_dscp->{policy.action.dscp},{out}"
    return body


@dataclass
class FloodlightBackend:
    url: str
    timeout: float = 20.0
    name: str = "floodlight"
    client: JsonClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = JsonClient(self.url, "Floodlight", self.timeout)

    @property
    def target(self) -> str:
        return self.url

    def topology(self) -> Topology:
        switches = self.client.call("GET", "/wm/core/controller/switches/json") or []
        links = self.client.call("GET", "/wm/topology/links/json") or []
        devices = self.client.call("GET", "/wm/device/") or []
        if isinstance(devices, dict):
            devices = devices.get("devices", [])
        try:
            dpids = tuple(parse_dpid(s.get("switchDPID") or s["dpid"]) for s in switches)
            link_list = tuple(
                Link(
                    parse_dpid(lk["src-switch"]),
                    int(lk["src-port"]),
                    parse_dpid(lk["dst-switch"]),
                    int(lk["dst-port"]),
                )
                for lk in links
            )
            hosts = []
            for dev in devices:
                points = dev.get("attachmentPoint") or []
                if dev.get("ipv4") and points:
                    mac = (dev.get("mac") or ["?"])[0]
                    point = points[0]
                    hosts.append(
                        HostInfo(
                            dev["ipv4"][0],
                            dev["ipv4"][0],
                            parse_dpid(point["switch"]),
                            int(point["port"]),
                            mac,
                        )
                    )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise FailedError(f"Floodlight topology answer is not as documented: {exc}") from exc
        return Topology(dpids, link_list, tuple(hosts))

    def _status(self, answer: Any, what: str) -> None:
        status = str(answer.get("status", "")) if isinstance(answer, dict) else ""
        if not status or "error" in status.lower() or "fail" in status.lower():
            raise FailedError(f"Floodlight refused {what}: {answer!r:.200}")

    def _policy_id(self, name: str) -> str:
        listing = self.client.call("GET", "/wm/qos/policy/json") or []
        for entry in listing:
            if isinstance(entry, dict) and entry.get("name") == name:
                return str(entry.get("policyid", entry.get("policy-id")))
        raise FailedError(f"Floodlight accepted policy {name} but does not list it")

    def _push_switch(self, switch: str, policies: list[Policy]) -> list[Installed]:
        done: list[Installed] = []
        try:
            for policy in policies:
                if policy.action.kind == "dscp" and policy.service is None:
                    answer = self.client.call("POST", "/wm/staticflowpusher/json", flow_entry(policy))
                    self._status(answer, f"flow {policy.name}")
                    ids = {"flow": policy.name}
                else:
                    answer = self.client.call("POST", "/wm/qos/policy/json", qos_policy(policy))
                    self._status(answer, f"policy {policy.name}")
                    ids = {"policy_id": self._policy_id(policy.name)}
                done.append(Installed(new_key(), policy, self.name, self.target, ids))
        except BaseException:
            self.delete(done)
            raise
        return done

    def push(self, policies: Sequence[Policy], taken: Sequence[Installed]) -> list[Installed]:
        for policy in policies:
            if policy.action.kind == "meter":
                raise UsageError(
                    f"policy {policy.name}: Floodlight has no REST API for OpenFlow meters",
                    hint="use a queue (--queue) with Floodlight, or --backend ovs/faucet/ryu for meters",
                )
        return push_per_switch(policies, self._push_switch, self.delete)

    def delete(self, installed: Sequence[Installed]) -> None:
        for record in installed:
            if "flow" in record.ids:
                answer = self.client.call("DELETE", "/wm/staticflowpusher/json", {"name": record.ids["flow"]})
            else:
                answer = self.client.call(
                    "DELETE", "/wm/qos/policy/json", {"policy-id": record.ids["policy_id"]}
                )
            self._status(answer, f"delete of {record.policy.name}")

    def _listed_flows(self) -> dict[str, set[str]]:
        """Static flow pusher entries by switch (colon form): ``{switch: [{name: {...}}]}``."""
        answer = self.client.call("GET", "/wm/staticflowpusher/list/all/json") or {}
        try:
            return {
                str(sw).lower(): {str(name) for entry in entries for name in entry}
                for sw, entries in answer.items()
            }
        except (AttributeError, TypeError) as exc:
            raise FailedError(f"Floodlight's flow listing is not as documented: {answer!r:.200}") from exc

    def observe(self, installed: Sequence[Installed], *, orphans: bool = False) -> Observation:
        """QoS policies by ``policyid`` in ``GET /wm/qos/policy/json`` (same name, queue and priority);
        DSCP flows by name in the static flow pusher's list."""
        seen: dict[str, Seen] = {}
        policies: dict[str, dict[str, Any]] | None = None
        flows: dict[str, set[str]] | None = None
        for record in installed:
            if "flow" in record.ids:
                flows = self._listed_flows() if flows is None else flows
                switch = format_dpid(record.policy.switch, colons=True)
                ok = record.ids["flow"] in flows.get(switch, set())
                detail = "" if ok else f"no static flow {record.ids['flow']} on {switch}"
                seen[record.key] = Seen("present" if ok else "missing", detail)
                continue
            if policies is None:
                listing = self.client.call("GET", "/wm/qos/policy/json") or []
                policies = {
                    str(e.get("policyid", e.get("policy-id"))): e for e in listing if isinstance(e, dict)
                }
            seen[record.key] = _seen_policy(record, policies)
        return Observation(seen)

    def delete_orphans(self, orphans: Sequence[Orphan]) -> None:
        return None

    def add_service(self, service: Service) -> dict[str, str]:
        if service.dscp is None:
            raise UsageError(f"service {service.name}: Floodlight's QoS services need --dscp (their ToS)")
        answer = self.client.call(
            "POST", "/wm/qos/service/json", {"name": service.name, "tos": str(service.dscp)}
        )
        self._status(answer, f"service {service.name}")
        for entry in self.client.call("GET", "/wm/qos/service/json") or []:
            if isinstance(entry, dict) and entry.get("name") == service.name:
                return {"sid": str(entry.get("sid"))}
        raise FailedError(f"Floodlight accepted service {service.name} but does not list it")

    def delete_service(self, service: Service) -> None:
        answer = self.client.call("DELETE", "/wm/qos/service/json", {"sid": service.ids.get("sid", "")})
        self._status(answer, f"delete of service {service.name}")


def _seen_policy(record: Installed, policies: dict[str, dict[str, Any]]) -> Seen:
    pid = record.ids.get("policy_id", "")
    entry = policies.get(pid)
    if entry is None:
        return Seen("missing", f"no QoS policy with id {pid}")
    want = {"name": record.policy.name, "priority": str(record.policy.priority)}
    if record.policy.action.kind == "queue":
        want["queue"] = str(record.policy.action.queue)
    differs = [k for k, v in want.items() if k in entry and str(entry[k]) != v]
    if differs:
        return Seen("changed", f"QoS policy {pid} differs in {', '.join(differs)}")
    return Seen("present")
