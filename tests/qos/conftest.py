"""Fixtures of the qos tests: a lab per module (root, OVS), run through the real CLI."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

STACKRIG = str(Path(sys.executable).parent / "stackrig")
OVS_CTL = Path("/usr/share/openvswitch/scripts/ovs-ctl")


def can_run_labs() -> str | None:
    """Why OVS labs cannot run here (None when they can)."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ovs-vsctl", "ovs-ofctl", "ip", "ethtool", "iperf3", "tc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (deps/apt/test-qos.txt)"
    if not OVS_CTL.exists():
        return "ovs-ctl is not installed"
    return None


needs_lab = pytest.mark.skipif(can_run_labs() is not None, reason=str(can_run_labs()))


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def unique_lab_name(stem: str = "q") -> str:
    """A lab name of at most 4 characters (so its interface names are ``NAME-s1``, ``NAME-h1``...)
    that no other test run uses at the same time: several suites may run on one machine."""
    for _ in range(100):
        name = f"{stem}{secrets.token_hex(2)}"[:4]
        if not any(line.startswith(f"{name}-") for line in _machine_names()):
            return name
    raise AssertionError("no free lab name")


def _machine_names() -> list[str]:
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False).stdout
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    names = [
        line.split(":", 2)[1].strip().split("@")[0] for line in links.splitlines() if line.count(":") > 1
    ]
    return names + [line.split()[0] for line in netns.splitlines() if line.strip()]


@dataclass
class Lab:
    """A lab built by ``stackrig qos lab up`` in its own data folder."""

    data_dir: Path
    name: str

    def bridge(self, i: int) -> str:
        return f"{self.name}-s{i}"

    def netns(self, host: str) -> str:
        return f"{self.name}-{host}"

    def veth(self, host: str) -> str:
        return f"{self.name}-{host}-e"

    def run(self, *args: str, timeout: float = 120, check: bool = False) -> Done:
        done = subprocess.run(
            [STACKRIG, "--data-dir", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Done(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"stackrig {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return result

    def state(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "qos" / "labs" / f"{self.name}.json").read_text())

    def rates(self, *extra: str) -> dict[str, Any]:
        """``qos verify`` h1 → h2 for 2 s (iperf3 in the namespaces): the data of its envelope."""
        done = self.run("qos", "verify", "--src", "h1", "--dst", "h2", "--seconds", "2", "--json", *extra)
        assert done.returncode in (0, 1), done.stderr
        return done.json()["data"]


#: The ``qos path`` options of the tests' usual policy: TCP to iperf3's port 5201, metered at 2 Mbit/s.
TCP_5201_AT_2M = ("--rate", "2M", "--protocol", "tcp", "--dst-port", "5201")


def path_args(src: str, dst: str, *extra: str) -> tuple[str, ...]:
    """The arguments of ``stackrig qos path --src SRC --dst DST EXTRA...``."""
    return ("qos", "path", "--src", src, "--dst", dst, *extra)


def sh(*argv: str, check: bool = True) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {done.stderr}")
    return done.stdout


def ofctl(*args: str) -> str:
    return sh("ovs-ofctl", "-O", "OpenFlow13", *args)


def flows(bridge: str) -> list[str]:
    out = sh("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge)
    return [line.strip() for line in out.splitlines() if "cookie=" in line and "priority=0 " not in line]


def rules(bridge: str) -> list[str]:
    """The flows without their age (which changes between two reads)."""
    return [re.sub(r"duration=[0-9.]+s, ", "", f) for f in flows(bridge)]


def meters(bridge: str) -> list[str]:
    out = sh("ovs-ofctl", "-O", "OpenFlow13", "dump-meters", bridge)
    return [line for line in out.splitlines() if line.startswith("meter=")]


@pytest.fixture(scope="module")
def lab_factory() -> Iterator[Any]:
    """Build labs for a module; every lab it built is taken down at the end, whatever happened.

    Each lab's data folder is made outside pytest's temporary folders: pytest deletes the oldest
    of those when newer sessions start, and on a machine where several suites run as root a lab's
    state file could vanish while the lab is up.
    """
    built: list[Lab] = []

    def make(*up_args: str, name: str | None = None) -> Lab:
        lab = Lab(Path(tempfile.mkdtemp(prefix="stackrig-qoslab-")), name or unique_lab_name())
        built.append(lab)
        lab.run("qos", "lab", "up", "--name", lab.name, *up_args, timeout=180, check=True)
        return lab

    yield make
    for lab in built:
        if (lab.data_dir / "qos" / "labs" / f"{lab.name}.json").exists():
            lab.run("qos", "lab", "down", "--name", lab.name, timeout=180)
        shutil.rmtree(lab.data_dir, ignore_errors=True)
