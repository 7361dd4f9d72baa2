"""qos path speed: shortest path on a generated 10,000-switch topology, and a path push (and a
``policy list --check``) over a 50-switch line of real userspace OVS bridges, side by side with
what people do by hand.

- path: stackrig's find_path (graph built once) next to a bare networkx.shortest_path on the
  same graph (the floor), and the graph build itself. Goal: under 50 ms per path.
- push: stackrig's ovs backend (one ovs-ofctl add-meter per meter and ONE bundled add-flows per
  bridge, bridges in parallel) next to the seed's way of pushing one flow per process
  (ovs-ofctl add-meter + ovs-ofctl add-flow per switch, one after the other). Goal: under 0.5 s.
  Needs root and Open vSwitch (it builds `qos lab up --topo linear,50` and takes it down again).
- check: stackrig's state check of that path (flows and meters of every bridge read in parallel,
  compared by meaning, orphans looked for) next to reading each bridge's flows and meters with
  ovs-ofctl one bridge after the other (what a script would do before comparing anything).

Run: .venv/bin/python benchmarks/qos_path.py [--skip-push]
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stackrig.qos.backends.ovs import OvsBackend
from stackrig.qos.drift import check
from stackrig.qos.manage import PathRequest, add_policies, plan_path, remove_policies
from stackrig.qos.model import Policy
from stackrig.qos.topology import HostInfo, Link, Topology, find_path, graph_of

SWITCHES = 10_000
LINE = 50


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def generated_topology(n: int, shape: str, seed: int = 7) -> Topology:
    """``grid+``: a 100x100 grid plus n/10 random long links; ``grid``; ``line``. Hosts at both ends."""
    rng = random.Random(seed)
    dpid = [f"{i + 1:016x}" for i in range(n)]
    links: list[Link] = []
    if shape == "line":
        links = [Link(dpid[i], 3, dpid[i + 1], 2) for i in range(n - 1)]
    else:
        side = int(n**0.5)
        for r in range(side):
            for c in range(side):
                i = r * side + c
                if c + 1 < side:
                    links.append(Link(dpid[i], 2, dpid[i + 1], 3))
                if r + 1 < side:
                    links.append(Link(dpid[i], 4, dpid[i + side], 5))
        if shape == "grid+":
            for k in range(n // 10):
                a, b = rng.sample(range(n), 2)
                links.append(Link(dpid[a], 10 + k, dpid[b], 10 + k))
    hosts = (HostInfo("a", "10.0.0.1", dpid[0], 1), HostInfo("b", "10.0.0.2", dpid[-1], 1))
    return Topology(tuple(dpid), tuple(links), hosts)


def bench_path() -> None:
    import networkx as nx

    print(f"path between two hosts on generated {SWITCHES:,}-switch topologies (median of 20 runs):")
    print(
        f"  {'topology':34} {'hops':>6} {'stackrig find_path':>19} {'bare networkx':>14} {'graph build':>12}"
    )
    for shape, label in (
        ("grid+", "100x100 grid + 1,000 random links"),
        ("grid", "100x100 grid"),
        ("line", "line of 10,000"),
    ):
        topo = generated_topology(SWITCHES, shape)
        started = time.perf_counter()
        graph = graph_of(topo)
        build = time.perf_counter() - started
        ours, bare = [], []
        for _ in range(20):
            t0 = time.perf_counter()
            hops = find_path(topo, "a", "b", graph)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            nx.shortest_path(graph, "h:10.0.0.1", "h:10.0.0.2")
            bare.append(time.perf_counter() - t0)
        mine, floor = _ms(statistics.median(ours)), _ms(statistics.median(bare))
        print(f"  {label:34} {len(hops):>6} {mine:>19} {floor:>14} {_ms(build):>12}")
    print("  goal: find_path under 50 ms (the graph is built once per topology)")


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


def _stackrig(data: Path, *args: str) -> None:
    exe = str(Path(sys.executable).parent / "stackrig")
    subprocess.run([exe, "--data-dir", str(data), *args], check=True, capture_output=True, text=True)


def bench_push() -> None:
    data = Path(tempfile.mkdtemp(prefix="qos-bench-"))
    state = data / "state.json"
    print(f"push over a {LINE}-switch line (userspace OVS), h1 -> h{LINE}, meter 2M on every switch:")
    t0 = time.perf_counter()
    _stackrig(data, "qos", "lab", "up", "--topo", f"linear,{LINE}", "--name", "qb")
    print(f"  (lab up linear,{LINE}: {time.perf_counter() - t0:.1f} s, not part of the figures)")
    try:
        ours, ours_total, by_hand = [], [], []
        for _ in range(3):
            t0 = time.perf_counter()
            backend = OvsBackend()
            policies = plan_path(
                backend.topology(), PathRequest("h1", f"h{LINE}", rate=2_000_000, protocol="tcp")
            )
            t1 = time.perf_counter()
            add_policies(backend, state, policies, command="path")
            t2 = time.perf_counter()
            ours.append(t2 - t1)
            ours_total.append(t2 - t0)
            remove_policies(state, [policies[0].group or ""], lambda k, t, b=backend: b, command="remove")

            bridges = [backend.topology().bridges[p.switch] for p in policies]
            t0 = time.perf_counter()
            for bridge, policy in zip(bridges, policies, strict=True):
                _run(
                    "ovs-ofctl",
                    "-O",
                    "OpenFlow13",
                    "add-meter",
                    bridge,
                    "meter=1,kbps,band=type=drop,rate=2000",
                )
                m = policy.match
                _run(
                    "ovs-ofctl",
                    "-O",
                    "OpenFlow13",
                    "add-flow",
                    bridge,
                    f"cookie=0x99,priority=40000,tcp,in_port={m.in_port},nw_src={m.ipv4_src},nw_dst={m.ipv4_dst},"
                    f"actions=meter:1,output:{policy.action.port}",
                )
            by_hand.append(time.perf_counter() - t0)
            for bridge in bridges:
                _run("ovs-ofctl", "-O", "OpenFlow13", "del-flows", bridge, "cookie=0x99/-1")
                _run("ovs-ofctl", "-O", "OpenFlow13", "del-meters", bridge, "meter=1")
        print(
            f"  stackrig ovs backend push ({len(policies)} switches)        {_ms(statistics.median(ours))}"
            "   goal < 500 ms"
        )
        print(f"  stackrig topology + plan + push                 {_ms(statistics.median(ours_total))}")
        print(f"  one ovs-ofctl process per meter and per flow     {_ms(statistics.median(by_hand))}")
        print("  (median of 3 runs each)")
        bench_check(state, policies)
    finally:
        _stackrig(data, "qos", "lab", "down", "--name", "qb")


def bench_check(state: Path, policies: list[Policy]) -> None:
    """``policy list --check`` over the line next to reading every bridge's flows and meters by hand."""
    backend = OvsBackend()
    add_policies(backend, state, policies, command="path")
    bridges = [backend.topology().bridges[p.switch] for p in policies]
    try:
        ours, by_hand = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            result = check(state, lambda k, t: OvsBackend(), scan_ovs=True)
            ours.append(time.perf_counter() - t0)
            if not result.in_sync:
                raise SystemExit(f"check: {result.summary}")
            t0 = time.perf_counter()
            for bridge in bridges:
                _run("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge)
                _run("ovs-ofctl", "-O", "OpenFlow13", "dump-meters", bridge)
            by_hand.append(time.perf_counter() - t0)
        mine, hand = statistics.median(ours), statistics.median(by_hand)
        head = f"{len(bridges)}-switch line ({len(policies)} policies, orphans scanned)"
        print(f"policy list --check over the {head}:")
        print(f"  stackrig check (bridges read in parallel, compared) {_ms(mine)}")
        print(f"  dump-flows + dump-meters per bridge, one by one     {_ms(hand)}")
        print(f"  ratio stackrig / by hand: {mine / hand:.2f}  (median of 5 runs each)")
    finally:
        remove_policies(state, [policies[0].group or ""], lambda k, t: backend, command="remove")


def main() -> int:
    bench_path()
    if "--skip-push" in sys.argv:
        return 0
    if os.geteuid() != 0:
        print("push: skipped (needs root to build the OVS lab)")
        return 0
    bench_push()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
