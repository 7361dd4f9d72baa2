"""A Mininet-style test bed without Mininet: userspace OVS bridges and hosts in namespaces.

``up`` plans every name first, refuses if any already exists, records the plan in
the lab's state file, then creates; ``down`` removes what the state file lists
(tolerating what is already gone), so it also cleans up after a crashed ``up``.
Bridges are userspace (``datapath_type=netdev``: this kind of machine has no OVS
kernel module), speak OpenFlow 1.3 and carry a fixed datapath id; hosts
``h1..hN`` are network namespaces on veths with 10.0.0.i/24 and TX checksum
offload off (else TCP across a netdev bridge stalls). Interface names stay
within Linux's 15 characters whatever the lab is called.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stackrig import _proc, _tools
from stackrig.errors import ConflictError, StackrigError
from stackrig.qos import _lab_faucet as _faucet
from stackrig.qos._lab_plan import (
    IFNAMSIZ,
    LabHost,
    LabSpec,
    LabState,
    check_controller,
    default_lab,
    lab_file,
    lab_names,
    load_lab,
    parse_topo,
)
from stackrig.qos._lab_system import (
    existing_bridges,
    existing_links,
    existing_netns,
    in_netns,
    machine_lock,
    ovs_running,
    pid_is,
    require_root,
    start_ovs,
    started_ovs,
    stop_ovs,
    stop_pid,
)

__all__ = [
    "IFNAMSIZ",
    "LabHost",
    "LabSpec",
    "LabState",
    "LabStatus",
    "check_controller",
    "default_lab",
    "lab_down",
    "lab_file",
    "lab_names",
    "lab_status",
    "lab_up",
    "load_lab",
    "parse_topo",
    "require_root",
    "stop_pid",
]

log = logging.getLogger("stackrig.qos")


def lab_up(
    qos_dir: Path, spec: LabSpec, *, start_controller: Callable[[LabState], None] | None = None
) -> LabState:
    """Build the lab; on any failure remove what was made and re-raise."""
    require_root()
    state = lab_names(spec)
    state.path = lab_file(qos_dir, spec.name)
    if state.path.exists():
        raise ConflictError(
            f"lab {spec.name!r} exists ({state.path})",
            hint=f"remove it first: stackrig qos lab down --name {spec.name}",
        )
    for tool in ("ovs-vsctl", "ip", "ethtool"):
        _tools.require(tool, needed_for="qos lab")
    with machine_lock():
        if not ovs_running():
            start_ovs()
            state.started_ovs = True
        busy = (set(state.bridges) & existing_bridges()) | (
            {h.veth for h in state.hosts} | set(state.bridges)
        ) & existing_links()
        busy |= {h.netns for h in state.hosts} & existing_netns()
        if busy:
            if state.started_ovs:
                stop_ovs()
            raise ConflictError(
                f"lab {spec.name!r} would reuse names that exist: {', '.join(sorted(busy))}",
                hint="pick another --name, or remove them",
            )
        if spec.controller == "faucet":
            _faucet.plan_faucet(state)
        state.save()  # the plan is on disk before the first thing exists
        try:
            if spec.controller == "faucet":
                _faucet.start_faucet(state)
            _build(state)
        except BaseException:
            log.warning("lab up failed; removing what it made")
            with contextlib.suppress(StackrigError):
                _teardown(state)
            raise
    try:
        if spec.controller == "faucet":
            _faucet.wait_connected(state)
        if start_controller is not None:
            start_controller(state)
        state.complete = True
        state.save()
    except BaseException:
        log.warning("lab up failed; removing what it made")
        with contextlib.suppress(StackrigError), machine_lock():
            _teardown(state)
        raise
    return state


def _controller_args(state: LabState) -> list[str]:
    if state.controller == "none":
        return []
    target = state.controller
    if state.controller == "faucet":
        target = f"tcp:127.0.0.1:{state.faucet_port}"
    return [
        arg
        for bridge in state.bridges
        for arg in ("--", "set", "bridge", bridge, "fail_mode=secure", "--", "set-controller", bridge, target)
    ]


def _build(state: LabState) -> None:
    for host in state.hosts:
        _proc.run("ip", ["netns", "add", host.netns], timeout=30)
        _proc.run(
            "ip",
            ["link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns],
            timeout=30,
        )
        _proc.run("ip", ["link", "set", host.veth, "up"], timeout=30)
        in_netns(host.netns, "ip", "link", "set", "eth0", "address", host.mac)
        in_netns(host.netns, "ip", "addr", "add", f"{host.ip}/24", "dev", "eth0")
        in_netns(host.netns, "ip", "link", "set", "eth0", "up")
        in_netns(host.netns, "ip", "link", "set", "lo", "up")
        in_netns(host.netns, "ethtool", "-K", "eth0", "tx", "off")
    args: list[str] = ["--timeout=30"]
    for bridge in state.bridges:
        args += [
            "--",
            "add-br",
            bridge,
            "--",
            "set",
            "bridge",
            bridge,
            "datapath_type=netdev",
            "protocols=OpenFlow13",
            f"other-config:datapath-id={state.dpids[bridge]}",
            f"external_ids:stackrig-lab={state.name}",
        ]
    for host in state.hosts:
        args += [
            "--",
            "add-port",
            host.bridge,
            host.veth,
            "--",
            "set",
            "interface",
            host.veth,
            f"ofport_request={host.port}",
            f"external_ids:stackrig-host={host.name}",
            f"external_ids:stackrig-ip={host.ip}",
            f"external_ids:stackrig-mac={host.mac}",
            f"external_ids:stackrig-netns={host.netns}",
        ]
    for a, a_port, a_name, b, b_port, b_name in state.patches:
        for br, port, name, peer in ((a, a_port, a_name, b_name), (b, b_port, b_name, a_name)):
            args += [
                "--",
                "add-port",
                br,
                name,
                "--",
                "set",
                "interface",
                name,
                "type=patch",
                f"options:peer={peer}",
                f"ofport_request={port}",
            ]
    args += _controller_args(state)
    _proc.run("ovs-vsctl", args, timeout=60)
    if state.controller != "none":
        for bridge in state.bridges:
            with contextlib.suppress(StackrigError):
                _proc.run(
                    "ovs-vsctl", ["--timeout=10", "set", "controller", bridge, "max_backoff=1000"], timeout=20
                )


def _our_qos(bridges: set[str]) -> tuple[list[str], list[str], list[str]]:
    """The ports of these bridges that carry a QoS record stackrig made (``qos queues``), those
    records, and their queues."""
    if not bridges:
        return [], [], []
    from stackrig.qos.backends.ovs import vsctl_list

    bridge_rows, port_rows, qos_rows = vsctl_list(
        ("Bridge", "name,ports"),
        ("Port", "_uuid,name,qos"),
        ("QoS", "_uuid,queues,external_ids"),
        needed_for="qos lab down",
    )
    ports = {
        p
        for b in bridge_rows
        if b["name"] in bridges
        for p in (b["ports"] if isinstance(b["ports"], list) else [b["ports"]])
    }
    ours = {
        str(q["_uuid"]): q
        for q in qos_rows
        if isinstance(q["external_ids"], dict) and q["external_ids"].get("stackrig") == "qos"
    }
    on = [p for p in port_rows if p["_uuid"] in ports and isinstance(p["qos"], str) and p["qos"] in ours]
    qos = sorted({str(p["qos"]) for p in on})
    queues = [str(u) for q in qos if isinstance(ours[q]["queues"], dict) for u in ours[q]["queues"].values()]
    return [str(p["name"]) for p in on], qos, queues


def _teardown(state: LabState) -> list[str]:
    """Remove everything the lab lists that still exists; returns what was removed."""
    removed: list[str] = []
    if state.controller_pid and state.controller_cmd:
        stop_pid(state.controller_pid, state.controller_cmd)
        removed.append(f"controller pid {state.controller_pid}")
    if ovs_running():
        bridges = existing_bridges()
        # QoS and Queue are root tables: they outlive the ports they were on unless destroyed. The
        # ports let go of them first, in their own transaction (not in the del-br one: OVSDB then
        # still counts the deleted ports' references).
        ports, qos, queues = _our_qos(set(state.bridges) & bridges)
        if qos:
            args = ["--timeout=30"] + [x for port in ports for x in ("--", "clear", "port", port, "qos")]
            args += [x for q in qos for x in ("--", "destroy", "qos", q)]
            args += [x for q in queues for x in ("--", "destroy", "queue", q)]
            _proc.run("ovs-vsctl", args, timeout=60)
            removed.append(f"{len(qos)} QoS records")
        args = ["--timeout=30"]
        for bridge in state.bridges:
            if bridge in bridges:
                args += ["--", "--if-exists", "del-br", bridge]
                removed.append(f"bridge {bridge}")
        if len(args) > 1:
            _proc.run("ovs-vsctl", args, timeout=60)
    netns = existing_netns()
    veths = [h.veth for h in state.hosts if h.veth in existing_links()]
    for host in state.hosts:
        if host.netns in netns:
            _proc.run("ip", ["netns", "del", host.netns], timeout=30)
            removed.append(f"netns {host.netns}")
    # A namespace's end of a veth goes with it, and the kernel then drops the pair (some at once,
    # some a little later): the veths that existed are all reported, whichever way they went.
    links = existing_links()
    for veth in veths:
        if veth in links:
            _proc.run("ip", ["link", "del", veth], timeout=30, check=False)
        removed.append(f"veth {veth}")
    if (state.started_ovs or started_ovs()) and ovs_running() and not existing_bridges():
        stop_ovs()  # the last lab on an OVS a lab started
        removed.append("OVS daemons")
    return removed


def lab_down(qos_dir: Path, name: str) -> list[str]:
    require_root()
    state = load_lab(qos_dir, name)
    with machine_lock():
        removed = _teardown(state)
    if state.path is not None:
        with contextlib.suppress(FileNotFoundError):
            state.path.unlink()
    return removed


@dataclass(frozen=True, slots=True)
class LabStatus:
    name: str
    topo: str
    controller: str
    complete: bool
    ovs_running: bool
    bridges: dict[str, bool]
    hosts: dict[str, bool]
    controller_alive: bool | None
    state_file: str

    @property
    def healthy(self) -> bool:
        return (
            self.complete
            and self.ovs_running
            and all(self.bridges.values())
            and all(self.hosts.values())
            and self.controller_alive is not False
        )


def lab_status(qos_dir: Path, name: str) -> LabStatus:
    state = load_lab(qos_dir, name)
    running = ovs_running()
    bridges = existing_bridges() if running else set()
    netns = existing_netns()
    alive = None
    if state.controller_pid and state.controller_cmd:
        alive = pid_is(state.controller_pid, state.controller_cmd)
    return LabStatus(
        state.name,
        f"{state.topo},{state.size}",
        state.controller,
        state.complete,
        running,
        {b: b in bridges for b in state.bridges},
        {h.name: h.netns in netns for h in state.hosts},
        alive,
        str(state.path),
    )
