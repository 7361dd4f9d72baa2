"""Topology as a graph of switches and hosts, and the shortest path between two hosts.

Every backend hands back a :class:`Topology` (switches by datapath id, links with
the port numbers at both ends, hosts with their attachment point); networkx
finds the path and :func:`find_path` turns it into per-switch hops with in and
out ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from stackrig.errors import UsageError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Hop", "HostInfo", "Link", "Topology", "find_path", "graph_of"]


@dataclass(frozen=True, slots=True)
class Link:
    a: str
    a_port: int
    b: str
    b_port: int


@dataclass(frozen=True, slots=True)
class HostInfo:
    name: str
    ip: str
    switch: str
    port: int
    mac: str | None = None
    netns: str | None = None


@dataclass(frozen=True, slots=True)
class Topology:
    switches: tuple[str, ...]
    links: tuple[Link, ...] = ()
    hosts: tuple[HostInfo, ...] = ()
    bridges: dict[str, str] = field(default_factory=dict)  # dpid -> bridge name (OVS)

    def host(self, ref: str) -> HostInfo:
        """A host by name (h1) or IPv4 address."""
        for host in self.hosts:
            if ref in (host.name, host.ip, host.netns):
                return host
        known = ", ".join(f"{h.name} ({h.ip})" for h in self.hosts) or "none"
        raise UsageError(f"host {ref!r} is not in the topology; known hosts: {known}")


class Hop(NamedTuple):
    """One switch on a path, with the port the traffic comes in on and the one it leaves by."""

    switch: str
    in_port: int
    out_port: int


def _host_node(ip: str) -> str:
    # Switch nodes are their 16-hex-digit dpid; host nodes carry a prefix no dpid has.
    return "h:" + ip


def graph_of(topo: Topology) -> nx.Graph:
    """An undirected graph; each edge keeps the port number on each end under ``ports``."""
    import networkx as nx

    graph: Any = nx.Graph()
    graph.add_nodes_from(topo.switches)
    graph.add_edges_from((lk.a, lk.b, {"ports": {lk.a: lk.a_port, lk.b: lk.b_port}}) for lk in topo.links)
    graph.add_edges_from(
        (_host_node(h.ip), h.switch, {"ports": {_host_node(h.ip): 0, h.switch: h.port}}) for h in topo.hosts
    )
    return graph


def find_path(topo: Topology, src: str, dst: str, graph: nx.Graph | None = None) -> list[Hop]:
    """The switches between hosts ``src`` and ``dst`` (name or address), with in and out ports."""
    import networkx as nx

    a, b = topo.host(src), topo.host(dst)
    if a.ip == b.ip:
        raise UsageError(f"source and destination are the same host ({a.ip})")
    g: Any = graph if graph is not None else graph_of(topo)
    try:
        nodes = nx.shortest_path(g, _host_node(a.ip), _host_node(b.ip))
    except nx.NetworkXNoPath as exc:
        raise UsageError(f"no path between {a.name} ({a.ip}) and {b.name} ({b.ip}) in the topology") from exc
    adj = g.adj
    return [
        Hop(node, adj[prev][node]["ports"][node], adj[node][nxt]["ports"][node])
        for prev, node, nxt in zip(nodes, nodes[1:], nodes[2:], strict=False)
    ]
