"""A lab's plan and record: its names (within Linux's 15 characters whatever the lab is
called), addresses and port numbers, and the state file that lists them.

The plan is made without side effects and written before anything exists, so ``lab down``
can remove what a crashed ``lab up`` made.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import atomic_write, ensure_dir
from stackrig.errors import FailedError, UsageError
from stackrig.qos.model import check_name
from stackrig.qos.topology import HostInfo, Link, Topology

__all__ = [
    "IFNAMSIZ",
    "LabHost",
    "LabSpec",
    "LabState",
    "check_controller",
    "default_lab",
    "lab_file",
    "lab_names",
    "load_lab",
    "parse_topo",
]

IFNAMSIZ = 15
MAX_HOSTS = 200
LAB_VERSION = 1


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


def default_lab(qos_dir: Path) -> str:
    """The lab commands mean when none is named: the only one in the data folder, else ``lab``."""
    names = sorted(p.stem for p in (qos_dir / "labs").glob("*.json"))
    return names[0] if len(names) == 1 else "lab"


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
