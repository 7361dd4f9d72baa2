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
import hashlib
import json
import logging
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig import _proc, _tools
from stackrig._io import atomic_write, ensure_dir
from stackrig.errors import ConflictError, FailedError, NotRootError, StackrigError, UsageError
from stackrig.qos import _lab_faucet as _faucet
from stackrig.qos.model import check_name
from stackrig.qos.topology import HostInfo, Link, Topology

__all__ = [
    "LabHost",
    "LabSpec",
    "LabState",
    "LabStatus",
    "lab_down",
    "lab_names",
    "lab_status",
    "lab_up",
    "load_lab",
    "parse_topo",
]

log = logging.getLogger("stackrig.qos")

IFNAMSIZ = 15
MAX_HOSTS = 200
LAB_VERSION = 1
OVS_RUN = Path("/var/run/openvswitch")


@dataclass(frozen=True, slots=True)
class LabSpec:
    name: str = "lab"
    topo: str = "linear"
    size: int = 4
    controller: str = "none"  # none | faucet | tcp:HOST:PORT (or a URL naming one)


def parse_topo(text: str) -> tuple[str, int]:
    """``linear,4`` → ("linear", 4); ``single,3`` → ("single", 3)."""
    found = re.fullmatch(r"\s*(linear|single)\s*,\s*(\d+)\s*", text or "")
    if not found:
        raise UsageError(f"invalid --topo {text!r}: use linear,N or single,N (e.g. linear,4)")
    kind, size = found.group(1), int(found.group(2))
    if not 1 <= size <= MAX_HOSTS:
        raise UsageError(f"invalid --topo {text!r}: N must be 1..{MAX_HOSTS}")
    if kind == "linear" and size < 1:
        raise UsageError("invalid --topo: a line needs at least one switch")
    return kind, size


def _prefix(name: str) -> str:
    clean = re.sub(r"[^a-z0-9]", "", name.lower())
    if clean == name and 1 <= len(clean) <= 4:
        return clean
    return (clean[:2] or "q") + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:2]


@dataclass(frozen=True, slots=True)
class LabHost:
    name: str
    ip: str
    mac: str
    netns: str
    veth: str  # the root-namespace end, attached to the bridge
    bridge: str
    port: int


@dataclass(slots=True)
class LabState:
    """What a lab is made of; written before anything is created, so ``down`` can undo a crash."""

    name: str
    topo: str
    size: int
    controller: str
    bridges: list[str] = field(default_factory=list)
    dpids: dict[str, str] = field(default_factory=dict)
    hosts: list[LabHost] = field(default_factory=list)
    patches: list[tuple[str, int, str, str, int, str]] = field(default_factory=list)
    started_ovs: bool = False
    controller_pid: int | None = None
    controller_cmd: str | None = None
    faucet_config: str | None = None
    faucet_metrics: str | None = None
    faucet_port: int | None = None
    complete: bool = False
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": LAB_VERSION,
            "name": self.name,
            "topo": self.topo,
            "size": self.size,
            "controller": self.controller,
            "bridges": self.bridges,
            "dpids": self.dpids,
            "hosts": [_host_dict(h) for h in self.hosts],
            "patches": [list(p) for p in self.patches],
            "started_ovs": self.started_ovs,
            "controller_pid": self.controller_pid,
            "controller_cmd": self.controller_cmd,
            "faucet_config": self.faucet_config,
            "faucet_metrics": self.faucet_metrics,
            "faucet_port": self.faucet_port,
            "complete": self.complete,
        }

    def save(self) -> None:
        if self.path is None:  # pragma: no cover - set by lab_up/load_lab
            raise FailedError("lab state has no file")
        ensure_dir(self.path.parent)
        atomic_write(self.path, json.dumps(self.to_dict(), indent=2) + "\n")

    def topology(self) -> Topology:
        hosts = tuple(
            HostInfo(h.name, h.ip, self.dpids[h.bridge], h.port, h.mac, h.netns) for h in self.hosts
        )
        links = tuple(Link(self.dpids[a], ap, self.dpids[b], bp) for a, ap, _, b, bp, _ in self.patches)
        return Topology(
            tuple(self.dpids[b] for b in self.bridges), links, hosts, {v: k for k, v in self.dpids.items()}
        )

    def host(self, ref: str) -> LabHost:
        for host in self.hosts:
            if ref in (host.name, host.ip, host.netns):
                return host
        known = ", ".join(f"{h.name} ({h.ip})" for h in self.hosts)
        raise UsageError(f"host {ref!r} is not in lab {self.name}; its hosts: {known}")


def _host_dict(host: LabHost) -> dict[str, Any]:
    return {k: getattr(host, k) for k in LabHost.__dataclass_fields__}


def lab_file(qos_dir: Path, name: str) -> Path:
    return qos_dir / "labs" / f"{check_name(name, '--name')}.json"


def load_lab(qos_dir: Path, name: str) -> LabState:
    path = lab_file(qos_dir, name)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(
            f"no lab named {name!r} (no {path})", hint=f"start one with: stackrig qos lab up --name {name}"
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read lab state {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != LAB_VERSION:
        raise UsageError(f"lab state {path} has an unknown version")
    try:
        return LabState(
            doc["name"],
            doc["topo"],
            int(doc["size"]),
            doc["controller"],
            list(doc["bridges"]),
            dict(doc["dpids"]),
            [LabHost(**h) for h in doc["hosts"]],
            [(a, int(ap), an, b, int(bp), bn) for a, ap, an, b, bp, bn in doc["patches"]],
            bool(doc["started_ovs"]),
            doc.get("controller_pid"),
            doc.get("controller_cmd"),
            doc.get("faucet_config"),
            doc.get("faucet_metrics"),
            doc.get("faucet_port"),
            bool(doc.get("complete")),
            path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"lab state {path} is damaged: {exc}") from exc


def lab_names(spec: LabSpec) -> LabState:
    """Plan every name and number of a lab (no side effects)."""
    kind, size = parse_topo(f"{spec.topo},{spec.size}")
    check_name(spec.name, "--name")
    p = _prefix(spec.name)
    nbridges = size if kind == "linear" else 1
    bridges = [f"{p}-s{i}" for i in range(1, nbridges + 1)]
    dpids = {b: f"{i:016x}" for i, b in enumerate(bridges, start=1)}
    hosts: list[LabHost] = []
    patches: list[tuple[str, int, str, str, int, str]] = []
    for i in range(1, size + 1):
        bridge = bridges[i - 1] if kind == "linear" else bridges[0]
        port = 1 if kind == "linear" else i
        hosts.append(
            LabHost(
                f"h{i}", f"10.0.0.{i}", f"00:00:00:00:00:{i:02x}", f"{p}-h{i}", f"{p}-h{i}-e", bridge, port
            )
        )
    if kind == "linear":
        # Mininet's numbering: host on port 1, link to the previous switch on 2, to the next on 2 (s1) or 3.
        for i in range(1, nbridges):
            a, b = bridges[i - 1], bridges[i]
            a_port = 2 if i == 1 else 3
            patches.append((a, a_port, f"{p}-s{i}-s{i + 1}", b, 2, f"{p}-s{i + 1}-s{i}"))
    state = LabState(spec.name, kind, size, spec.controller, bridges, dpids, hosts, patches)
    for name in [*bridges, *(h.veth for h in hosts), *(x for pa in patches for x in (pa[2], pa[5]))]:
        if len(name) > IFNAMSIZ:  # pragma: no cover - guarded by _prefix and MAX_HOSTS
            raise UsageError(f"interface name {name} is longer than {IFNAMSIZ} characters")
    return state


def _require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "qos lab needs root (it creates OVS bridges and network namespaces)", hint="run it with sudo"
        )


def ovs_running() -> bool:
    done = _proc.run("ovs-vsctl", ["--timeout=3", "show"], timeout=10, check=False)
    return done.returncode == 0


def _existing_links() -> set[str]:
    done = _proc.run("ip", ["-o", "link", "show"], timeout=20)
    names = set()
    for line in done.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) > 1:
            names.add(parts[1].strip().split("@")[0])
    return names


def _existing_netns() -> set[str]:
    done = _proc.run("ip", ["netns", "list"], timeout=20)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def _existing_bridges() -> set[str]:
    done = _proc.run("ovs-vsctl", ["--timeout=10", "list-br"], timeout=20)
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def _ns(netns: str, tool: str, *args: str) -> None:
    _tools.require(tool, needed_for="qos lab")
    _proc.run("ip", ["netns", "exec", netns, tool, *args], timeout=30)


def lab_up(
    qos_dir: Path, spec: LabSpec, *, start_controller: Callable[[LabState], None] | None = None
) -> LabState:
    """Build the lab; on any failure remove what was made and re-raise."""
    _require_root()
    state = lab_names(spec)
    state.path = lab_file(qos_dir, spec.name)
    if state.path.exists():
        raise ConflictError(
            f"lab {spec.name!r} exists ({state.path})",
            hint=f"remove it first: stackrig qos lab down --name {spec.name}",
        )
    for tool in ("ovs-vsctl", "ip", "ethtool"):
        _tools.require(tool, needed_for="qos lab")
    if not ovs_running():
        _start_ovs()
        state.started_ovs = True
    busy = (set(state.bridges) & _existing_bridges()) | (
        {h.veth for h in state.hosts} | set(state.bridges)
    ) & _existing_links()
    busy |= {h.netns for h in state.hosts} & _existing_netns()
    if busy:
        if state.started_ovs:
            _stop_ovs()
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
        if spec.controller == "faucet":
            _faucet.wait_connected(state)
        if start_controller is not None:
            start_controller(state)
        state.complete = True
        state.save()
    except BaseException:
        log.warning("lab up failed; removing what it made")
        with contextlib.suppress(StackrigError):
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
        _ns(host.netns, "ip", "link", "set", "eth0", "address", host.mac)
        _ns(host.netns, "ip", "addr", "add", f"{host.ip}/24", "dev", "eth0")
        _ns(host.netns, "ip", "link", "set", "eth0", "up")
        _ns(host.netns, "ip", "link", "set", "lo", "up")
        _ns(host.netns, "ethtool", "-K", "eth0", "tx", "off")
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


def _start_ovs() -> None:
    _proc.run("ovs-ctl", ["start", "--system-id=random"], timeout=120, needed_for="qos lab")


def _stop_ovs() -> None:
    _proc.run("ovs-ctl", ["stop"], timeout=120, needed_for="qos lab")


def _pid_is(pid: int, needle: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return needle in cmdline


def stop_pid(pid: int, needle: str, timeout: float = 10.0) -> None:
    """Stop a process we started (checked by its command line), TERM then KILL."""
    if not _pid_is(pid, needle):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_is(pid, needle):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _teardown(state: LabState) -> list[str]:
    """Remove everything the lab lists that still exists; returns what was removed."""
    removed: list[str] = []
    if state.controller_pid and state.controller_cmd:
        stop_pid(state.controller_pid, state.controller_cmd)
        removed.append(f"controller pid {state.controller_pid}")
    if ovs_running():
        bridges = _existing_bridges()
        args = ["--timeout=30"]
        for bridge in state.bridges:
            if bridge in bridges:
                args += ["--", "--if-exists", "del-br", bridge]
                removed.append(f"bridge {bridge}")
        if len(args) > 1:
            _proc.run("ovs-vsctl", args, timeout=60)
    netns = _existing_netns()
    for host in state.hosts:
        if host.netns in netns:
            _proc.run("ip", ["netns", "del", host.netns], timeout=30)
            removed.append(f"netns {host.netns}")
    links = _existing_links()
    for host in state.hosts:
        if host.veth in links:
            _proc.run("ip", ["link", "del", host.veth], timeout=30, check=False)
            removed.append(f"veth {host.veth}")
    if state.started_ovs and ovs_running() and not _existing_bridges():
        _stop_ovs()
        removed.append("OVS daemons")
    return removed


def lab_down(qos_dir: Path, name: str) -> list[str]:
    _require_root()
    state = load_lab(qos_dir, name)
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
    bridges = _existing_bridges() if running else set()
    netns = _existing_netns()
    alive = None
    if state.controller_pid and state.controller_cmd:
        alive = _pid_is(state.controller_pid, state.controller_cmd)
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


def check_controller(text: str) -> str:
    """none | faucet | tcp:HOST:PORT (``HOST:PORT`` is read as tcp)."""
    value = (text or "").strip()
    if value in ("none", "faucet"):
        return value
    if not value.startswith(("tcp:", "ssl:")):
        value = "tcp:" + value
    if not re.fullmatch(r"(tcp|ssl):[A-Za-z0-9.\-\[\]:]+:\d{1,5}", value):
        raise UsageError(
            f"invalid --controller {text!r}: use none, faucet or tcp:HOST:PORT (e.g. tcp:127.0.0.1:6653)"
        )
    return value
