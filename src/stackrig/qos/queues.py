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

__all__ = [
    "PortCheck",
    "PortQueues",
    "QueueCheck",
    "QueuesCheck",
    "QueuesRequest",
    "QueuesResult",
    "apply_queues",
    "check_queues",
    "parse_queue",
    "parse_tc_classes",
]

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
) -> tuple[str, list[str], dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The bridge's name, the ports' names, each port's QoS row, and the Queue rows by uuid."""
    bridges, port_rows, ifaces, qos_rows, queue_rows = vsctl_list(
        ("Bridge", "name,datapath_id,ports"),
        ("Port", "_uuid,name,qos,interfaces"),
        ("Interface", "_uuid,name,ofport"),
        ("QoS", "_uuid,type,other_config,queues,external_ids"),
        ("Queue", "_uuid,other_config"),
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
    return str(bridge["name"]), names, current, {str(q["_uuid"]): q for q in queue_rows}


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
    bridge, names, current, _queues = _bridge_and_ports(req.switch, req.ports)
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


# ------------------------------------------------------------------ --check

_TC_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9, "tbit": 10**12}
RATE_SLACK = 0.01  # tc prints rates rounded


def _tc_rate(text: str) -> int | None:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?bit)", text, re.IGNORECASE)
    if not found:
        return None
    return round(float(found.group(1)) * _TC_UNITS[found.group(2).lower()])


def parse_tc_classes(text: str) -> dict[str, tuple[int | None, int | None]]:
    """``tc class show dev X``: ``{"1:2": (rate, ceil)}`` in bit/s (htb classes)."""
    out: dict[str, tuple[int | None, int | None]] = {}
    for line in text.splitlines():
        found = re.match(r"class htb (\S+) .*?\brate (\S+)(?: ceil (\S+))?", line)
        if found:
            out[found.group(1)] = (_tc_rate(found.group(2)), _tc_rate(found.group(3) or ""))
    return out


@dataclass(frozen=True, slots=True)
class QueueCheck:
    queue: int
    configured: int | None  # max-rate of the Queue record
    wanted: int | None  # given with --queue
    in_tc: int | None  # ceil of the port's htb class for the queue
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PortCheck:
    port: str
    qos_type: str | None
    max_rate: int | None
    tc_max_rate: int | None
    queues: tuple[QueueCheck, ...]
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class QueuesCheck:
    bridge: str
    ports: tuple[PortCheck, ...]
    ok: bool


def _close(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= RATE_SLACK * max(a, b)


def _tc_classes(port: str) -> dict[str, tuple[int | None, int | None]] | None:
    done = _proc.run(
        "tc", ["class", "show", "dev", port], timeout=20, check=False, needed_for="qos queues --check"
    )
    if done.returncode != 0:
        return None
    return parse_tc_classes(done.stdout)


def _check_port(
    name: str,
    qos: dict[str, Any] | None,
    queue_rows: dict[str, dict[str, Any]],
    wanted: dict[int, int],
    max_rate: int | None,
) -> PortCheck:
    if qos is None:
        return PortCheck(name, None, None, None, (), False, "no QoS record on this port")
    config = qos["other_config"] if isinstance(qos["other_config"], dict) else {}
    configured_max = int(config["max-rate"]) if str(config.get("max-rate", "")).isdigit() else None
    classes = _tc_classes(name)
    refs = qos["queues"] if isinstance(qos["queues"], dict) else {}
    records = {
        int(q): int(cfg["max-rate"])
        for q, ref in refs.items()
        if str(
            (cfg := (queue_rows.get(str(ref), {}).get("other_config") or {})).get("max-rate", "")
        ).isdigit()
    }
    if classes is None:
        detail = "no such network device (a patch port?): the kernel cannot shape it"
        checks = tuple(QueueCheck(q, r, wanted.get(q), None, False) for q, r in sorted(records.items()))
        return PortCheck(name, str(qos["type"]), configured_max, None, checks, False, detail)
    root = classes.get("1:fffe", (None, None))[0]
    checks_list: list[QueueCheck] = []
    for q in sorted(set(records) | set(wanted)):
        configured, want = records.get(q), wanted.get(q)
        ceil = classes.get(f"1:{q + 1:x}", (None, None))[1]
        problems = []
        if configured is None:
            problems.append("no Queue record")
        elif not _close(configured, ceil):
            problems.append("tc has no class for it" if ceil is None else "tc's ceil differs from the record")
        if want is not None and configured is not None and not _close(want, configured):
            problems.append("the record differs from --queue")
        checks_list.append(QueueCheck(q, configured, want, ceil, not problems, "; ".join(problems)))
    port_problems = []
    if not _close(configured_max, root):
        port_problems.append("tc's root rate differs from the QoS max-rate")
    if max_rate is not None and not _close(max_rate, configured_max):
        port_problems.append("the QoS max-rate differs from --max-rate")
    ok = not port_problems and all(c.ok for c in checks_list)
    return PortCheck(
        name, str(qos["type"]), configured_max, root, tuple(checks_list), ok, "; ".join(port_problems)
    )


def check_queues(
    switch: str, ports: Sequence[str], *, queues: Sequence[tuple[int, int]] = (), max_rate: int | None = None
) -> QueuesCheck:
    """Read back each port's QoS and Queue records and its tc classes: are the rates in place?"""
    if not ports:
        raise UsageError("name at least one port")
    bridge, names, current, queue_rows = _bridge_and_ports(switch, ports)
    wanted = dict(queues)
    checks = tuple(_check_port(n, current.get(n), queue_rows, wanted, max_rate) for n in names)
    return QueuesCheck(bridge, checks, all(c.ok for c in checks))
