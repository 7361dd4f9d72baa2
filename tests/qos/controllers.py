"""Local HTTP servers that answer as Ryu's rest_qos/rest_topology and Floodlight's QoS module and
static flow pusher document, checking every request body field by field (for the adapter tests)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DPIDS = [f"{i:016x}" for i in (1, 2, 3)]


def colon(dpid: str) -> str:
    return ":".join(dpid[i : i + 2] for i in range(0, 16, 2))


@dataclass
class Sim:
    """What the controller holds, plus every request it saw and every body it refused."""

    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    meters: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    ovsdb: dict[str, str] = field(default_factory=dict)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def check(self, cond: bool, what: str) -> None:
        if not cond:
            self.errors.append(what)


def _ryu_answer(dpid: str, ok: bool, details: str) -> list[dict[str, Any]]:
    return [
        {
            "switch_id": dpid,
            "command_result": [{"result": "success" if ok else "failure", "details": details}],
        }
    ]


RYU_MATCH = {"in_port", "dl_type", "nw_src", "nw_dst", "nw_proto", "tp_src", "tp_dst", "ip_dscp"}
_RYU_INTS = {"in_port", "tp_src", "tp_dst", "ip_dscp"}


def _ryu_listing(sim: Sim, kind: str, dpid: str, vlan: str | None) -> list[dict[str, Any]]:
    """rest_qos's GET answers: rules as ``get_qos`` lists them (flow stats turned back into REST
    fields: ports as numbers, ``dl_type``/``nw_proto`` as names, actions as a list), meters as
    ``get_meter`` does (ofctl's meter stats keyed by the decimal datapath id)."""
    if kind == "meter":
        stats = [
            {"meter_id": int(key.split("/")[1]), "flow_count": 1, "packet_in_count": 0, "band_stats": []}
            for key in sim.meters
            if key.startswith(f"{dpid}/")
        ]
        return [{"switch_id": dpid, "command_result": {str(int(dpid, 16)): stats}}]
    groups: dict[int, list[dict[str, Any]]] = {}
    for key, body in sim.rules.items():
        switch, qos_id = key.split("/")[:2]
        if switch != dpid:
            continue
        rule_vlan = int(body.get("_vlan", 0))
        if vlan not in (None, "all") and int(vlan) != rule_vlan:
            continue
        match = {k: int(v) if k in _RYU_INTS else v for k, v in body["match"].items()}
        if rule_vlan:
            match["dl_vlan"] = rule_vlan
        actions = [{k: str(v)} for k, v in body["actions"].items()]
        rule = {"qos_id": int(qos_id), "priority": int(body["priority"]), **match, "actions": actions}
        groups.setdefault(rule_vlan, []).append(rule)
    result = [{"qos": rules} if not v else {"vlan_id": v, "qos": rules} for v, rules in groups.items()]
    return [{"switch_id": dpid, "command_result": result}]


def ryu(sim: Sim, method: str, path: str, body: Any) -> tuple[int, Any]:  # noqa: PLR0912 - one route table
    if method == "GET" and path == "/v1.0/topology/switches":
        return 200, [{"dpid": d, "ports": []} for d in DPIDS]
    if method == "GET" and path == "/v1.0/topology/links":
        out = []
        for a, b, ap, bp in ((DPIDS[0], DPIDS[1], 2, 2), (DPIDS[1], DPIDS[2], 3, 2)):
            for s, sp, d, dp in ((a, ap, b, bp), (b, bp, a, ap)):
                out.append(
                    {
                        "src": {"dpid": s, "port_no": f"{sp:08x}", "hw_addr": "x", "name": "p"},
                        "dst": {"dpid": d, "port_no": f"{dp:08x}", "hw_addr": "x", "name": "p"},
                    }
                )
        return 200, out
    if method == "GET" and path == "/v1.0/topology/hosts":
        return 200, [
            {
                "mac": f"00:00:00:00:00:0{i}",
                "ipv4": [f"10.0.0.{i}"],
                "ipv6": [],
                "port": {"dpid": DPIDS[i - 1], "port_no": "00000001", "hw_addr": "x", "name": "p"},
            }
            for i in (1, 2, 3)
        ]
    conf = re.fullmatch(r"/v1.0/conf/switches/([0-9a-f]{16})/ovsdb_addr", path)
    if conf and method == "PUT":
        sim.check(isinstance(body, str) and body.startswith("tcp:"), f"ovsdb_addr body {body!r}")
        sim.ovsdb[conf.group(1)] = body
        return 201, None
    queue = re.fullmatch(r"/qos/queue/([0-9a-f]{16})", path)
    if queue:
        dpid = queue.group(1)
        if dpid not in sim.ovsdb:
            return 200, [
                {
                    "switch_id": dpid,
                    "command_result": {"result": "failure", "details": "ovs_bridge is not exists"},
                }
            ]
        if method == "POST":
            sim.check(set(body) == {"port_name", "type", "max_rate", "queues"}, f"queue keys {sorted(body)}")
            sim.check(body["type"] == "linux-htb" and body["max_rate"].isdigit(), "queue type/max_rate")
            sim.check(all(set(q) <= {"max_rate", "min_rate"} for q in body["queues"]), "queue entries")
            sim.queues[f"{dpid}/{body['port_name']}"] = body
        else:
            sim.queues.clear()
        details = {body["port_name"]: {"config": {}}} if method == "POST" else {}
        return 200, [{"switch_id": dpid, "command_result": {"result": "success", "details": details}}]
    found = re.fullmatch(r"/qos/(meter|rules)/([0-9a-f]{16})(?:/(\d+|all))?", path)
    if not found:
        return 404, {"error": path}
    kind, dpid = found.group(1), found.group(2)
    sim.check(dpid in DPIDS, f"unknown switch {dpid}")
    if method == "GET":
        return 200, _ryu_listing(sim, kind, dpid, found.group(3))
    if kind == "meter" and method == "POST":
        sim.check(set(body) == {"meter_id", "flags", "bands"}, f"meter keys {sorted(body)}")
        sim.check(isinstance(body["meter_id"], str) and body["meter_id"].isdigit(), "meter_id")
        sim.check(body["flags"] == "KBPS", "flags")
        band = body["bands"][0]
        sim.check(set(band) == {"type", "rate"} and band["type"] == "DROP" and band["rate"].isdigit(), "band")
        key = f"{dpid}/{body['meter_id']}"
        if key in sim.meters:
            return 200, _ryu_answer(dpid, False, "Meter already exists")
        sim.meters[key] = body
        return 200, _ryu_answer(dpid, True, f"Meter added. : Meter ID={body['meter_id']}")
    if kind == "meter" and method == "DELETE":
        sim.check(set(body) == {"meter_id"}, "meter delete keys")
        gone = sim.meters.pop(f"{dpid}/{body['meter_id']}", None)
        return 200, _ryu_answer(dpid, gone is not None, f"Meter deleted. : Meter ID={body['meter_id']}")
    if kind == "rules" and method == "POST":
        if dpid in sim.reject:
            return 200, _ryu_answer(dpid, False, "Invalid rule parameter.")
        sim.check(set(body) == {"priority", "match", "actions"}, f"rule keys {sorted(body)}")
        sim.check(set(body["match"]) <= RYU_MATCH, f"match keys {sorted(body['match'])}")
        sim.check(all(isinstance(v, str) for v in body["match"].values()), "match values are strings")
        sim.check(body["match"].get("dl_type") in (None, "IPv4"), "dl_type")
        sim.check(body["match"].get("nw_proto") in (None, "TCP", "UDP", "ICMP"), "nw_proto")
        sim.check(len(body["actions"]) == 1 and set(body["actions"]) <= {"meter", "queue", "mark"}, "actions")
        if "meter" in body["actions"]:
            sim.check(f"{dpid}/{body['actions']['meter']}" in sim.meters, "rule names a meter that exists")
        qos_id = sim.next_id()
        sim.rules[f"{dpid}/{qos_id}"] = {**body, **({"_vlan": found.group(3)} if found.group(3) else {})}
        return 200, _ryu_answer(dpid, True, f"QoS added. : qos_id={qos_id}")
    if kind == "rules" and method == "DELETE":
        sim.check(set(body) == {"qos_id"}, "rule delete keys")
        gone = sim.rules.pop(f"{dpid}/{body['qos_id']}", None)
        return 200, _ryu_answer(dpid, gone is not None, f"QoS deleted. : qos_id={body['qos_id']}")
    return 405, {"error": method}


QOS_POLICY = {
    "name",
    "sw",
    "priority",
    "eth-type",
    "protocol",
    "ingress-port",
    "ip-src",
    "ip-dst",
    "tcp-udp-src-port",
    "tcp-udp-dst-port",
    "tos",
    "vlan-id",
    "queue",
    "enqueue-port",
    "service",
}
SFP = {
    "switch",
    "name",
    "priority",
    "active",
    "in_port",
    "eth_type",
    "ip_proto",
    "ipv4_src",
    "ipv4_dst",
    "tcp_src",
    "tcp_dst",
    "udp_src",
    "udp_dst",
    "ip_dscp",
    "eth_vlan_vid",
    "actions",
}


def _fl_policy(pid: str, body: dict[str, str]) -> dict[str, Any]:
    """A QoS module policy as its GET lists it: QoSPolicy's fields serialised (numbers as numbers)."""
    number = lambda key: int(body[key]) if key in body else 0  # noqa: E731
    return {
        "policyid": int(pid),
        "name": body["name"],
        "sw": body["sw"],
        "protocol": number("protocol"),
        "ingressport": number("ingress-port"),
        "tcpudpsrcport": number("tcp-udp-src-port"),
        "tcpudpdstport": number("tcp-udp-dst-port"),
        "vlanid": int(body.get("vlan-id", -1)),
        "queue": int(body.get("queue", -1)),
        "enqueueport": number("enqueue-port"),
        "service": body.get("service"),
        "priority": number("priority"),
    }


def floodlight(sim: Sim, method: str, path: str, body: Any) -> tuple[int, Any]:  # noqa: PLR0912 - one route table
    if method == "GET" and path == "/wm/core/controller/switches/json":
        return 200, [{"switchDPID": colon(d)} for d in DPIDS]
    if method == "GET" and path == "/wm/topology/links/json":
        return 200, [
            {
                "src-switch": colon(DPIDS[0]),
                "src-port": 2,
                "dst-switch": colon(DPIDS[1]),
                "dst-port": 2,
                "type": "internal",
                "direction": "bidirectional",
            },
            {
                "src-switch": colon(DPIDS[1]),
                "src-port": 3,
                "dst-switch": colon(DPIDS[2]),
                "dst-port": 2,
                "type": "internal",
                "direction": "bidirectional",
            },
        ]
    if method == "GET" and path == "/wm/device/":
        return 200, {
            "devices": [
                {
                    "mac": [f"00:00:00:00:00:0{i}"],
                    "ipv4": [f"10.0.0.{i}"],
                    "attachmentPoint": [{"switch": colon(DPIDS[i - 1]), "port": "1"}],
                }
                for i in (1, 2, 3)
            ]
        }
    if method == "GET" and path == "/wm/staticflowpusher/list/all/json":
        listing: dict[str, list[dict[str, Any]]] = {}
        for name, flow in sim.flows.items():
            listing.setdefault(flow["switch"], []).append(
                {name: {"priority": flow["priority"], "active": "true"}}
            )
        return 200, listing
    if path == "/wm/qos/policy/json":
        if method == "GET":
            return 200, [_fl_policy(pid, p) for pid, p in sim.policies.items()]
        if method == "POST":
            sim.check(set(body) <= QOS_POLICY, f"policy keys {sorted(set(body) - QOS_POLICY)}")
            sim.check(all(isinstance(v, str) for v in body.values()), "policy values are strings")
            sim.check(re.fullmatch(r"([0-9a-f]{2}:){7}[0-9a-f]{2}", body["sw"]) is not None, "sw colon form")
            sim.check(("queue" in body) == ("enqueue-port" in body), "queue with enqueue-port")
            if body["sw"] in {colon(d) for d in sim.reject}:
                return 200, {"status": "Error: switch refused the policy"}
            sim.policies[str(sim.next_id())] = body
            return 200, {"status": f"Trying to Policy: {body['name']}"}
        if method == "DELETE":
            sim.check(set(body) == {"policy-id"}, "policy delete keys")
            sim.policies.pop(body["policy-id"], None)
            return 200, {"status": f"Trying to delete policy {body['policy-id']}"}
    if path == "/wm/staticflowpusher/json":
        if method == "POST":
            sim.check(set(body) <= SFP, f"flow keys {sorted(set(body) - SFP)}")
            sim.check(body["active"] == "true", "active")
            sim.check(body["actions"].startswith("set_field=ip_dscp->"), "dscp action")
            sim.flows[body["name"]] = body
            return 200, {"status": "Entry pushed"}
        if method == "DELETE":
            sim.check(set(body) == {"name"}, "flow delete keys")
            sim.flows.pop(body["name"], None)
            return 200, {"status": f"Entry {body['name']} deleted"}
    if path == "/wm/qos/service/json":
        if method == "GET":
            return 200, [{"sid": sid, **s} for sid, s in sim.services.items()]
        if method == "POST":
            sim.check(set(body) == {"name", "tos"}, "service keys")
            sim.services[str(sim.next_id())] = body
            return 200, {"status": f"Trying to add service {body['name']}"}
        if method == "DELETE":
            sim.check(set(body) == {"sid"}, "service delete keys")
            sim.services.pop(body["sid"], None)
            return 200, {"status": "Trying to delete service"}
    return 404, {"error": path}


@contextmanager
def serve(kind: str) -> Iterator[tuple[str, Sim]]:
    sim = Sim()
    route = ryu if kind == "ryu" else floodlight

    class Handler(BaseHTTPRequestHandler):
        def _go(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            sim.requests.append((self.command, self.path, body))
            code, answer = route(sim, self.command, self.path, body)
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PUT = _go  # noqa: N815

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sim
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
