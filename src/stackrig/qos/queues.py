"""OVS QoS (linux-htb) and Queue records on ports, as people set them up by hand with ovs-vsctl.

Each port gets one QoS record (type linux-htb, ``max-rate``) with queue 0 (the
default, capped at ``max-rate`` unless given) and the queues asked for. The
records carry ``external_ids:stackrig=qos`` so a re-run replaces exactly its own
records (idempotent) and ``--clear`` removes them, all in one ovs-vsctl
transaction per command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stackrig import _proc
from stackrig.errors import UsageError
from stackrig.qos.backends.ovs import vsctl_list
from stackrig.qos.model import parse_dpid, parse_rate

__all__ = ["PortQueues", "QueuesRequest", "QueuesResult", "apply_queues", "parse_queue"]

MARK = "external_ids:stackrig=qos"


def parse_queue(text: str) -> tuple[int, int]:
    """``1=20M`` → (1, 20_000_000)."""
    found = re.fullmatch(r"\s*(\d+)\s*=\s*(\S+)\s*", text)
    if not found:
        raise UsageError(f"invalid --queue {text!r}: write ID=RATE, e.g. 1=20M")
    qid = int(found.group(1))
    if qid > 0xFFFFFFFE:
        raise UsageError(f"invalid --queue {text!r}: queue id out of range")
    return qid, parse_rate(found.group(2), field_name=f"--queue {qid}")


@dataclass(frozen=True, slots=True)
class QueuesRequest:
    switch: str
    ports: tuple[str, ...]
    max_rate: int = 10**10
    queues: tuple[tuple[int, int], ...] = ()
    clear: bool = False

    def __post_init__(self) -> None:
        if not self.ports:
            raise UsageError("name at least one port")
        ids = [q for q, _ in self.queues]
        if len(ids) != len(set(ids)):
            raise UsageError("a queue id is given twice in --queue")
        for qid, rate in self.queues:
            if rate > self.max_rate:
                raise UsageError(f"invalid --queue {qid}: its rate is above --max-rate")
        if not self.clear and not self.queues:
            raise UsageError("give --queue ID=RATE (one or more), or --clear")


@dataclass(frozen=True, slots=True)
class PortQueues:
    port: str
    qos: str | None
    queues: dict[int, int]


@dataclass(frozen=True, slots=True)
class QueuesResult:
    bridge: str
    cleared: bool
    ports: tuple[PortQueues, ...]


def _bridge_and_ports(
    switch: str, ports: Sequence[str]
) -> tuple[str, list[str], dict[str, dict[str, object]]]:
    bridges, port_rows, ifaces, qos_rows = vsctl_list(
        ("Bridge", "name,datapath_id,ports"),
        ("Port", "_uuid,name,qos,interfaces"),
        ("Interface", "_uuid,name,ofport"),
        ("QoS", "_uuid,queues,external_ids"),
        needed_for="qos queues",
    )
    bridge = next((b for b in bridges if b["name"] == switch), None)
    if bridge is None:
        try:
            dpid = parse_dpid(switch, field_name="SWITCH")
        except UsageError:
            dpid = None
        bridge = next((b for b in bridges if dpid and b["datapath_id"] == dpid), None)
    if bridge is None:
        raise UsageError(f"no OVS bridge named or with datapath id {switch!r}", hint="see: ovs-vsctl list-br")
    mine = {p["_uuid"]: p for p in port_rows if p["_uuid"] in set(bridge["ports"])}
    by_name = {p["name"]: p for p in mine.values()}
    iface_ofport = {i["_uuid"]: i["ofport"] for i in ifaces}
    by_number: dict[str, dict[str, Any]] = {}
    for port in mine.values():
        members = port["interfaces"] if isinstance(port["interfaces"], list) else [port["interfaces"]]
        for member in members:
            by_number[str(iface_ofport.get(member))] = port
    names: list[str] = []
    for ref in ports:
        found = by_name.get(ref) or by_number.get(ref)
        if not found:
            raise UsageError(
                f"bridge {bridge['name']} has no port {ref!r}",
                hint=f"see: ovs-vsctl list-ports {bridge['name']}",
            )
        names.append(str(found["name"]))
    qos_by_id = {q["_uuid"]: q for q in qos_rows}
    current: dict[str, dict[str, Any]] = {}
    for name in names:
        qos_ref = by_name[name]["qos"]
        qos_id = (
            qos_ref[0]
            if isinstance(qos_ref, list) and qos_ref
            else (qos_ref if isinstance(qos_ref, str) else None)
        )
        if qos_id and qos_id in qos_by_id:
            current[name] = qos_by_id[qos_id]
    return str(bridge["name"]), names, current


def apply_queues_ryu(req: QueuesRequest, url: str, ovsdb: str) -> QueuesResult:
    """The same through Ryu's rest_qos (``ovsdb_addr`` first, then ``/qos/queue``)."""
    from stackrig.qos.backends.ryu import RyuBackend

    switch = parse_dpid(req.switch, field_name="SWITCH")
    ryu = RyuBackend(url)
    if req.clear:
        ryu.clear_queues(switch, ovsdb)
        return QueuesResult(switch, True, tuple(PortQueues(p, None, {}) for p in req.ports))
    queues = dict(req.queues)
    queues.setdefault(0, req.max_rate)
    ryu.set_queues(switch, ovsdb, req.ports, req.max_rate, queues)
    return QueuesResult(
        switch, False, tuple(PortQueues(p, "ryu", dict(sorted(queues.items()))) for p in req.ports)
    )


def apply_queues(req: QueuesRequest) -> QueuesResult:
    """Create (or replace, or with ``clear`` remove) the QoS and Queue records on the ports."""
    bridge, names, current = _bridge_and_ports(req.switch, req.ports)
    args: list[str] = ["--timeout=30"]
    out: list[PortQueues] = []
    queues = dict(req.queues)
    queues.setdefault(0, req.max_rate)
    for idx, name in enumerate(names):
        old = current.get(name)
        ours = (
            old is not None
            and isinstance(old["external_ids"], dict)
            and old["external_ids"].get("stackrig") == "qos"
        )
        if req.clear:
            args += ["--", "clear", "port", name, "qos"]
            out.append(PortQueues(name, None, {}))
        else:
            qos_id = f"@q{idx}"
            refs = " ".join(f"queues:{q}=@q{idx}_{q}" for q in sorted(queues))
            args += ["--", "set", "port", name, f"qos={qos_id}"]
            args += [
                "--",
                f"--id={qos_id}",
                "create",
                "qos",
                "type=linux-htb",
                f"other-config:max-rate={req.max_rate}",
                MARK,
            ]
            args += refs.split()
            for q, rate in sorted(queues.items()):
                args += ["--", f"--id=@q{idx}_{q}", "create", "queue", f"other-config:max-rate={rate}", MARK]
            out.append(PortQueues(name, "new", dict(sorted(queues.items()))))
        if old is not None and ours:
            args += ["--", "destroy", "qos", str(old["_uuid"])]
            old_queues = old["queues"] if isinstance(old["queues"], dict) else {}
            args += [x for q in old_queues.values() for x in ("--", "destroy", "queue", str(q))]
    _proc.run("ovs-vsctl", args, timeout=60, needed_for="qos queues")
    return QueuesResult(bridge, req.clear, tuple(out))
