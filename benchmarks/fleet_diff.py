"""Speed of ``stackrig fleet diff`` on two 100,000-host inventories, beside ``json.load`` of both.

Two JSON inventories as ``fleet inventory --format json`` writes them (the YAML plugin's
layout, every cloud string marked unsafe, keyed groups) are generated: the second one
with 1% of the hosts changed (state, address or a tag), 0.5% removed and 0.5% added.
Then, each as its own process on the same files, the median of ``--repeat`` runs:

- ``json.load`` of both files (a bare ``python -c``: the floor for any tool that reads them);
- ``stackrig fleet diff OLD NEW --json`` (the whole command: start-up, reading, comparing,
  the JSON report).

The target (issue 22) is the diff within 2x the time ``json.load`` takes to read both.
Usage: python benchmarks/fleet_diff.py [--hosts 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c", "eu-west-1a", "eu-west-1b")
ROLES = ("web", "db", "cache", "worker", "api")


def _unsafe(value: str) -> dict[str, str]:
    return {"__ansible_unsafe": value}


def _host(n: int, rng: random.Random) -> tuple[str, dict[str, Any], list[str]]:
    zone = ZONES[n % len(ZONES)]
    role = ROLES[n % len(ROLES)]
    iid = f"i-{n:017x}"
    private = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    vars_ = {
        "ansible_host": _unsafe(private),
        "ec2_id": _unsafe(iid),
        "ec2_name": _unsafe(f"{role}-{n}"),
        "ec2_state": _unsafe("running"),
        "ec2_type": _unsafe(rng.choice(("t3.micro", "t3.small", "m5.large"))),
        "ec2_region": _unsafe(zone[:-1]),
        "ec2_zone": _unsafe(zone),
        "ec2_private_ip": _unsafe(private),
        "ec2_key_name": _unsafe("deploy"),
        "ec2_image": _unsafe("ami-0abcdef1234567890"),
        "ec2_launch_time": _unsafe("2024-05-01T10:00:00+00:00"),
        "ec2_tags": {"Name": _unsafe(f"{role}-{n}"), "Role": _unsafe(role), "Team": _unsafe("platform")},
        "ec2_vpc_id": _unsafe("vpc-0bbb"),
        "ec2_subnet_id": _unsafe(f"subnet-{n % 16:04x}"),
        "ec2_state_code": 16,
    }
    return iid, vars_, [f"tag_Role_{role}", f"zone_{zone.replace('-', '_')}"]


def _inventory(hosts: list[tuple[str, dict[str, Any], list[str]]]) -> dict[str, Any]:
    groups: dict[str, dict[str, None]] = {}
    for name, _, member_of in hosts:
        for group in member_of:
            groups.setdefault(group, {})[name] = None
    return {
        "all": {
            "hosts": {name: vars_ for name, vars_, _ in hosts},
            "children": {g: {"hosts": members} for g, members in groups.items()},
        }
    }


def generate(count: int, folder: Path) -> tuple[Path, Path]:
    rng = random.Random(22)
    old = [_host(n, rng) for n in range(count)]
    new = [(name, json.loads(json.dumps(vars_)), list(groups)) for name, vars_, groups in old]
    changed = rng.sample(range(count), count // 100)
    for i in changed:
        vars_ = new[i][1]
        kind = i % 3
        if kind == 0:
            vars_["ec2_state"] = _unsafe("stopped")
            vars_["ec2_state_code"] = 80
        elif kind == 1:
            vars_["ansible_host"] = vars_["ec2_private_ip"] = _unsafe(f"172.16.{i >> 8 & 255}.{i & 255}")
        else:
            vars_["ec2_tags"]["Role"] = _unsafe("retired")
            new[i][2][0] = "tag_Role_retired"
    removed = set(rng.sample([i for i in range(count) if i not in set(changed)], count // 200))
    new = [h for i, h in enumerate(new) if i not in removed]
    new += [_host(count + n, rng) for n in range(count // 200)]
    paths = folder / "old.json", folder / "new.json"
    for path, hosts in zip(paths, (old, new), strict=True):
        path.write_text(json.dumps(_inventory(hosts), indent=1, ensure_ascii=False) + "\n")
    return paths


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackrig-bench-diff-") as tmp:
        work = Path(tmp)
        old, new = generate(args.hosts, work)
        env = dict(os.environ, STACKRIG_HOME=str(work / "home"))
        load = [
            sys.executable,
            "-c",
            f"import json; json.load(open({str(old)!r})); json.load(open({str(new)!r}))",
        ]
        diff = [str(BIN / "stackrig"), "fleet", "diff", str(old), str(new), "--json"]
        loads = [timed(load, env)[0] for _ in range(args.repeat)]
        diffs = []
        report = ""
        for _ in range(args.repeat):
            seconds, report = timed(diff, env)
            diffs.append(seconds)
        data = json.loads(report)["data"]
        load_s, diff_s = statistics.median(loads), statistics.median(diffs)
        size = (old.stat().st_size + new.stat().st_size) / 1e6
        load_avg = os.getloadavg()[0]
        print(f"two inventories of {args.hosts:,} hosts ({size:.0f} MB of JSON), load average {load_avg:.1f}")
        print(f"  json.load of both          {load_s:6.2f} s")
        print(
            f"  stackrig fleet diff --json {diff_s:6.2f} s   ({diff_s / load_s:.2f}x json.load; target <= 2x)"
        )
        print(
            f"  found {len(data['added'])} added, {len(data['removed'])} removed, "
            f"{len(data['changed'])} changed, {data['unchanged']} unchanged"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
