"""How long ``tune capacity``'s counting takes for 10,000 hypervisors and 50 flavors, beside a plain loop.

Measured in the same run, interleaved round by round so that load from other processes falls
on both alike:
  * ``cloud_capacity`` (per flavor: how many more fit, on how many hosts, what binds where,
    by zone, and the flavor mix filled to the end with what is left stranded);
  * the plain Python loop a user would write for the first column only (for each flavor,
    for each host, for each resource: free // amount, the smallest of them, summed).
The two must agree on every count. Goal: the whole report under 1 s.
"""

from __future__ import annotations

import os
import random
import statistics
import time

from stackrig.tune._cloud import Cloud, ComputeHost, Inventory
from stackrig.tune.capacity import cloud_capacity
from stackrig.tune.flavors import RESOURCES, Flavor

HOSTS = 10_000
FLAVORS = 50
ROUNDS = 5


def make_cloud(rng: random.Random) -> tuple[Cloud, list[Flavor]]:
    """Three hardware generations, each host with its own usage; one flavor family per size."""
    kinds = [(48, 393_216, 1_800), (64, 524_288, 3_600), (96, 786_432, 7_200)]
    hosts = []
    for i in range(HOSTS):
        cpus, ram, disk = kinds[i % len(kinds)]
        hosts.append(
            ComputeHost(
                name=f"cmp{i:05d}",
                inventories={
                    "vcpu": Inventory(cpus, rng.randint(0, cpus * 4), 0, 4.0, cpus),
                    "ram": Inventory(ram, rng.randint(0, ram - 8192), 8192, 1.0, ram),
                    "disk": Inventory(disk, rng.randint(0, disk), 0, 1.0, disk),
                },
            )
        )
    flavors = [
        Flavor(f"f{j:02d}", rng.choice([1, 2, 4, 8, 16, 32]),
               rng.choice([512, 2048, 4096, 8192, 16384, 65536]), rng.choice([0, 10, 20, 40, 80, 160]))
        for j in range(FLAVORS)
    ]  # fmt: skip
    return Cloud("placement", tuple(hosts)), flavors


def plain_loop(cloud: Cloud, flavors: list[Flavor]) -> list[int]:
    counts = []
    for flavor in flavors:
        total = 0
        for host in cloud.hosts:
            most = None
            for resource in RESOURCES:
                inv = host.inventories[resource]
                amount = flavor.amount(resource)
                if amount == 0:
                    continue
                reserved, ratio, max_unit = inv.reserved or 0, inv.ratio or 1.0, inv.max_unit or inv.total
                free = int((inv.total - reserved) * ratio) - inv.used
                n = 0 if amount > max_unit else max(free, 0) // amount
                most = n if most is None else min(most, n)
            total += most or 0
        counts.append(total)
    return counts


def main() -> None:
    cloud, flavors = make_cloud(random.Random(20261205))
    ours_name, loop_name = "stackrig cloud_capacity (full report)", "plain Python loop (counts only)"
    times: dict[str, list[float]] = {ours_name: [], loop_name: []}
    for _ in range(ROUNDS):
        start = time.perf_counter()
        report = cloud_capacity(cloud, flavors)
        times[ours_name].append(time.perf_counter() - start)
        start = time.perf_counter()
        counts = plain_loop(cloud, flavors)
        times[loop_name].append(time.perf_counter() - start)
        if [row.fits for row in report.flavors] != counts:
            raise SystemExit("cloud_capacity and the plain loop disagree")
    ours, loop = (statistics.median(v) for v in times.values())
    load = os.getloadavg()[0]
    print(f"tune capacity: {HOSTS:,} hypervisors x {FLAVORS} flavors, median of {ROUNDS} (load {load:.1f})")
    for name, values in times.items():
        print(f"  {name:40s} {statistics.median(values) * 1000:8.1f} ms")
    goal = "met" if ours < 1 else "MISSED"
    print(f"  ratio: the plain loop takes {loop / ours:.1f}x as long; goal < 1 s: {goal}")


if __name__ == "__main__":
    main()
