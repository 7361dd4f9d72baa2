"""Open vSwitch without a controller: flows and OpenFlow 1.3 meters written with ovs-ofctl.

Per bridge a push is one ``ovs-ofctl add-meter`` per meter (OpenFlow has no
batched meter command in ovs-ofctl) and ONE ``ovs-ofctl --bundle add-flows BR -``
carrying every flow as a single atomic transaction. Bridges are pushed in
parallel; when any bridge fails, what the others installed is deleted again.
Each flow carries its own cookie so a delete removes exactly it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from stackrig import _proc
from stackrig.errors import FailedError, MissingError, StackrigError, UsageError
from stackrig.qos.backends import _ofctl as ofc
from stackrig.qos.backends._base import Observation, Orphan, Seen
from stackrig.qos.model import Policy, Service
from stackrig.qos.state import Installed, new_key
from stackrig.qos.topology import HostInfo, Link, Topology

__all__ = ["OvsBackend", "OvsNotRunningError", "flow_line", "local_topology", "vsctl_list", "vsctl_tables"]

log = logging.getLogger("stackrig.qos")

COOKIE_TAG = 0x57 << 56  # high byte marks flows stackrig wrote
OFCTL = ofc.OFCTL
WORKERS = 8


def _ovs_value(value: Any) -> Any:
    """ovsdb JSON (``["set", [...]]``, ``["map", [[k, v]]]``, ``["uuid", u]``) → Python."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        tag, inner = value
        if tag == "set":
            return [_ovs_value(v) for v in inner]
        if tag == "map":
            return {k: _ovs_value(v) for k, v in inner}
        if tag == "uuid":
            return inner
    return value


def vsctl_tables(text: str) -> list[list[dict[str, Any]]]:
    """Parse the concatenated ``--format=json`` tables one ovs-vsctl call prints."""
    decoder = json.JSONDecoder()
    tables: list[list[dict[str, Any]]] = []
    pos = 0
    text = text.strip()
    try:
        while pos < len(text):
            doc, end = decoder.raw_decode(text, pos)
            heads = doc["headings"]
            tables.append(
                [{h: _ovs_value(v) for h, v in zip(heads, row, strict=True)} for row in doc["data"]]
            )
            pos = end
            while pos < len(text) and text[pos].isspace():
                pos += 1
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise FailedError(f"cannot read ovs-vsctl output: {exc}") from exc
    return tables


class OvsNotRunningError(MissingError):
    """ovs-vsctl cannot reach the Open vSwitch database: OVS is not running on this machine."""

    def __init__(self, needed_for: str) -> None:
        super().__init__(
            f"Open vSwitch is not running on this machine: ovs-vsctl cannot reach its database "
            f"(stackrig {needed_for} needs it)",
            hint="start it: /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random "
            "(or bring up a lab, which starts it: stackrig qos lab up)",
        )


def vsctl_list(*tables: tuple[str, str], needed_for: str) -> list[list[dict[str, Any]]]:
    """``ovs-vsctl list`` of each (TABLE, COLUMNS) in one call: one list of rows per table."""
    args = ["--format=json", "--timeout=10"]
    for i, (table, columns) in enumerate(tables):
        args += [*(["--"] if i else []), f"--columns={columns}", "list", table]
    try:
        done = _proc.run("ovs-vsctl", args, timeout=20, needed_for=needed_for)
    except _proc.ProcessFailedError as exc:
        if "database connection failed (No such file or directory)" in exc.stderr:
            raise OvsNotRunningError(needed_for) from exc
        raise
    return vsctl_tables(done.stdout)


def local_topology() -> Topology:
    """Bridges, patch links and stackrig-labelled host ports as OVS on this machine knows them."""
    bridges, ports, ifaces = vsctl_list(
        ("Bridge", "name,datapath_id,ports"),
        ("Port", "_uuid,name,interfaces"),
        ("Interface", "_uuid,name,ofport,type,options,external_ids"),
        needed_for="qos",
    )
    iface_by_id = {i["_uuid"]: i for i in ifaces}
    port_by_id = {p["_uuid"]: p for p in ports}
    owner: dict[str, tuple[str, int]] = {}  # interface name -> (dpid, ofport)
    switches: list[str] = []
    names: dict[str, str] = {}
    host_list: list[HostInfo] = []
    for bridge in bridges:
        dpid = bridge["datapath_id"]
        if not isinstance(dpid, str) or not dpid:
            continue
        switches.append(dpid)
        names[dpid] = bridge["name"]
        for port_id in bridge["ports"]:
            port = port_by_id.get(port_id)
            if not port:
                continue
            for iface_id in (
                port["interfaces"] if isinstance(port["interfaces"], list) else [port["interfaces"]]
            ):
                iface = iface_by_id.get(iface_id)
                if not iface or not isinstance(iface["ofport"], int) or iface["ofport"] <= 0:
                    continue
                owner[iface["name"]] = (dpid, iface["ofport"])
                ext = iface["external_ids"] if isinstance(iface["external_ids"], dict) else {}
                if ext.get("stackrig-ip"):
                    host_list.append(
                        HostInfo(
                            ext.get("stackrig-host", iface["name"]),
                            ext["stackrig-ip"],
                            dpid,
                            iface["ofport"],
                            ext.get("stackrig-mac"),
                            ext.get("stackrig-netns"),
                        )
                    )
    links: list[Link] = []
    seen: set[frozenset[str]] = set()
    for iface in ifaces:
        if iface["type"] != "patch" or not isinstance(iface["options"], dict):
            continue
        peer = iface["options"].get("peer")
        pair = frozenset((iface["name"], peer or ""))
        if peer in owner and iface["name"] in owner and pair not in seen:
            seen.add(pair)
            a, ap = owner[iface["name"]]
            b, bp = owner[peer]
            links.append(Link(a, ap, b, bp))
    return Topology(tuple(switches), tuple(links), tuple(host_list), names)


_MATCH_KEYS = (
    ("in_port", "in_port"),
    ("vlan", "dl_vlan"),
    ("ipv4_src", "nw_src"),
    ("ipv4_dst", "nw_dst"),
    ("tcp_src", "tcp_src"),
    ("tcp_dst", "tcp_dst"),
    ("udp_src", "udp_src"),
    ("udp_dst", "udp_dst"),
    ("dscp", "ip_dscp"),
)


def flow_line(policy: Policy, cookie: int, meter: int | None) -> str:
    """The ovs-ofctl flow text of one policy."""
    m = policy.match
    parts = [f"cookie={cookie:#x}", f"priority={policy.priority}"]
    if m.eth_type is not None:
        parts.append(f"dl_type={m.eth_type:#06x}")
    if m.ip_proto is not None:
        parts.append(f"nw_proto={m.ip_proto}")
    for field_name, key in _MATCH_KEYS:
        value = getattr(m, field_name)
        if value is not None:
            parts.append(f"{key}={value}")
    act = policy.action
    out = f"output:{act.port}" if act.port is not None else "NORMAL"
    if act.kind == "meter":
        actions = f"meter:{meter},{out}"
    elif act.kind == "queue":
        actions = f"set_queue:{act.queue},{out}"
    else:
        actions = f"set_field:{act.dscp}->ip_dscp,{out}"
    return ",".join(parts) + f",actions={actions}"


def scoped(topo: Topology, bridges: Sequence[str]) -> Topology:
    """Only the switches of ``bridges`` (a lab's), their links and hosts."""
    keep = {dpid for dpid, name in topo.bridges.items() if name in set(bridges)}
    return Topology(
        tuple(s for s in topo.switches if s in keep),
        tuple(lk for lk in topo.links if lk.a in keep and lk.b in keep),
        tuple(h for h in topo.hosts if h.switch in keep),
        {k: v for k, v in topo.bridges.items() if k in keep},
    )


def is_ours(cookie: int) -> bool:
    return cookie >> 56 == COOKIE_TAG >> 56


@dataclass
class OvsBackend:
    """Flows and meters on local OVS bridges, found by datapath id (within ``bridges`` when set)."""

    name: str = "ovs"
    timeout: float = 20.0
    bridges: tuple[str, ...] | None = None
    _topo: Topology | None = None

    @property
    def target(self) -> str:
        return "local"

    def topology(self) -> Topology:
        if self._topo is None:
            topo = local_topology()
            self._topo = topo if self.bridges is None else scoped(topo, self.bridges)
        return self._topo

    def _bridge(self, dpid: str) -> str:
        bridges = self.topology().bridges
        if dpid not in bridges:
            raise UsageError(
                f"no OVS bridge has datapath id {dpid}",
                hint="list them with: ovs-vsctl --columns=name,datapath_id list bridge",
            )
        return bridges[dpid]

    def _ofctl(self, args: Sequence[str], stdin: str | None = None) -> None:
        _proc.run("ovs-ofctl", [*OFCTL, *args], input=stdin, timeout=self.timeout, needed_for="qos")

    def _push_bridge(self, dpid: str, policies: list[Policy], used: set[int]) -> list[Installed]:
        bridge = self._bridge(dpid)
        meters: list[int] = []
        plan: list[tuple[Policy, int, int | None]] = []
        try:
            next_id = 1
            for policy in policies:
                meter: int | None = None
                if policy.action.kind == "meter":
                    meter, next_id = self._add_meter(bridge, policy, used, next_id)
                    meters.append(meter)
                plan.append((policy, COOKIE_TAG | secrets.randbits(48), meter))
            lines = "".join(flow_line(p, c, m) + "\n" for p, c, m in plan)
            self._ofctl(["--bundle", "add-flows", bridge, "-"], lines)
        except BaseException:
            for meter_id in meters:
                self._del_meter(bridge, meter_id)
            raise
        return [
            Installed(
                new_key(),
                p,
                self.name,
                self.target,
                {"bridge": bridge, "cookie": f"{c:#x}", **({"meter": str(m)} if m is not None else {})},
            )
            for p, c, m in plan
        ]

    def _add_meter(self, bridge: str, policy: Policy, used: set[int], next_id: int) -> tuple[int, int]:
        kbps = max(1, round((policy.action.rate or 0) / 1000))
        for _attempt in range(64):
            while next_id in used:
                next_id += 1
            meter = next_id
            next_id += 1
            try:
                self._ofctl(["add-meter", bridge, f"meter={meter},kbps,band=type=drop,rate={kbps}"])
            except _proc.ProcessFailedError as exc:
                if "METER_EXISTS" in exc.stderr:
                    used.add(meter)
                    continue
                raise
            used.add(meter)
            return meter, next_id
        raise FailedError(f"no free meter id on bridge {bridge}")

    def _del_meter(self, bridge: str, meter: int) -> None:
        try:
            self._ofctl(["del-meters", bridge, f"meter={meter}"])
        except StackrigError as exc:
            log.warning("cannot delete meter %s on %s: %s", meter, bridge, exc)

    def push(self, policies: Sequence[Policy], taken: Sequence[Installed]) -> list[Installed]:
        by_switch: dict[str, list[Policy]] = {}
        for policy in policies:
            by_switch.setdefault(policy.switch, []).append(policy)
        for dpid in by_switch:
            self._bridge(dpid)  # unknown switch: a usage error before anything is written
        used: dict[str, set[int]] = {}
        for record in taken:
            if "meter" in record.ids:
                used.setdefault(record.ids.get("bridge", ""), set()).add(int(record.ids["meter"]))
        results: dict[str, list[Installed]] = {}
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(by_switch))) as pool:
            futures = {
                dpid: pool.submit(self._push_bridge, dpid, pols, used.setdefault(self._bridge(dpid), set()))
                for dpid, pols in by_switch.items()
            }
            for dpid, future in futures.items():
                try:
                    results[dpid] = future.result()
                except BaseException as exc:  # noqa: BLE001 - re-raised after the undo below
                    errors.append(exc)
        if errors:
            done = [r for recs in results.values() for r in recs]
            if done:
                log.warning("push failed; removing the %d policies already installed", len(done))
                self.delete(done)
            raise errors[0]
        return [r for dpid in by_switch for r in results[dpid]]

    def _delete_bridge(self, bridge: str, records: list[Installed]) -> None:
        lines = "".join(f"cookie={r.ids['cookie']}/-1\n" for r in records)
        try:
            self._ofctl(["--bundle", "del-flows", bridge, "-"], lines)
        except _proc.ProcessFailedError as exc:
            if "not a bridge" not in exc.stderr:
                raise
            log.warning("bridge %s is gone; its %d policies go with it", bridge, len(records))
            return
        for record in records:
            if "meter" in record.ids:
                self._ofctl(["del-meters", bridge, f"meter={record.ids['meter']}"])

    def delete(self, installed: Sequence[Installed]) -> None:
        by_bridge: dict[str, list[Installed]] = {}
        for record in installed:
            by_bridge.setdefault(record.ids["bridge"], []).append(record)
        if not by_bridge:
            return
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(by_bridge))) as pool:
            futures = [pool.submit(self._delete_bridge, b, recs) for b, recs in by_bridge.items()]
            for future in futures:
                future.result()

    # ------------------------------------------------------------ drift

    def _read(self, bridge: str, meters: bool) -> tuple[list[ofc.Flow], dict[int, ofc.MeterConfig]] | None:
        """The bridge's flows (and meters when asked); None when the bridge does not exist."""
        try:
            flows = ofc.dump_flows(bridge, timeout=self.timeout, needed_for="qos policy list --check")
        except _proc.ProcessFailedError as exc:
            if "not a bridge" in exc.stderr or "No such file" in exc.stderr:
                return None
            raise
        if not meters:
            return flows, {}
        return flows, ofc.dump_meters(bridge, timeout=self.timeout, needed_for="qos policy list --check")

    def _bridges_if_running(self) -> set[str]:
        """The bridges to scan for orphans; none when OVS is not running (its database socket is
        absent), so the records on it are simply missing."""
        try:
            return set(self.topology().bridges.values())
        except OvsNotRunningError:
            return set()

    def observe(self, installed: Sequence[Installed], *, orphans: bool = False) -> Observation:
        by_bridge: dict[str, list[Installed]] = {}
        for record in installed:
            by_bridge.setdefault(record.ids.get("bridge", ""), []).append(record)
        scan = set(by_bridge)
        if orphans:
            scan |= self._bridges_if_running()
        seen: dict[str, Seen] = {}
        found: list[Orphan] = []
        ours = {int(r.ids["cookie"], 16) for r in installed if "cookie" in r.ids}
        bridges = sorted(b for b in scan if b)
        metered = [any("meter" in r.ids for r in by_bridge.get(b, [])) for b in bridges]
        with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(bridges)))) as pool:
            reads = dict(zip(bridges, pool.map(self._read, bridges, metered), strict=True))
        for bridge in sorted(scan):
            read = reads.get(bridge)
            if read is None:
                for record in by_bridge.get(bridge, []):
                    seen[record.key] = Seen("missing", f"bridge {bridge or '?'} is gone")
                continue
            flows, meters = read
            for record in by_bridge.get(bridge, []):
                seen[record.key] = _compare(record, flows, meters)
            if orphans:
                found += [
                    Orphan(self.name, bridge, f"{f.cookie:#x}", f.text, f.meter)
                    for f in flows
                    if is_ours(f.cookie) and f.cookie not in ours
                ]
        return Observation(seen, tuple(found))

    def delete_orphans(self, orphans: Sequence[Orphan]) -> None:
        by_bridge: dict[str, list[Orphan]] = {}
        for orphan in orphans:
            by_bridge.setdefault(orphan.switch, []).append(orphan)
        for bridge, group in by_bridge.items():
            lines = "".join(f"cookie={o.cookie}/-1\n" for o in group)
            self._ofctl(["--bundle", "del-flows", bridge, "-"], lines)
            still = {f.meter for f in ofc.dump_flows(bridge, timeout=self.timeout) if f.meter is not None}
            for meter in sorted({o.meter for o in group if o.meter is not None} - still):
                self._del_meter(bridge, meter)

    def add_service(self, service: Service) -> dict[str, str]:
        return {}

    def delete_service(self, service: Service) -> None:
        return None


def _compare(record: Installed, flows: list[ofc.Flow], meters: dict[int, ofc.MeterConfig]) -> Seen:
    cookie = int(record.ids.get("cookie", "0"), 16)
    mine = [f for f in flows if f.cookie == cookie]
    if not mine:
        return Seen("missing", f"no flow with cookie {cookie:#x} on {record.ids.get('bridge')}")
    meter = int(record.ids["meter"]) if "meter" in record.ids else None
    expected = ofc.parse_flow(flow_line(record.policy, cookie, meter))
    if expected is None or not any(f.same_rule(expected) for f in mine):  # pragma: no branch
        return Seen("changed", f"the flow is now: {mine[0].text.split('priority=', 1)[-1]}")
    if meter is not None:
        want = max(1, round((record.policy.action.rate or 0) / 1000))
        config = meters.get(meter)
        if config is None:
            return Seen("changed", f"meter {meter} is gone")
        if config.rate != want or config.unit != "kbps":
            return Seen("changed", f"meter {meter} is {config.rate} {config.unit}, recorded {want} kbps")
    return Seen("present")
