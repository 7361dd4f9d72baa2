"""The registry of outside programs stackrig runs.

One entry per program: how to find it, how to ask its version, which commands
need it and how to install it on Debian. ``stackrig doctor`` prints this table;
:mod:`stackrig._proc` uses it to raise a MISSING error with the install hint.
Families add the programs they run here, never a private lookup of their own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stackrig.errors import InternalError, MissingToolError

__all__ = [
    "TOOLS",
    "Tool",
    "ToolStatus",
    "family_tools",
    "find_tool",
    "needed_by_family",
    "probe",
    "require",
    "tool",
]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    purpose: str
    used_by: tuple[str, ...]
    install: str
    version_args: tuple[str, ...] = ("--version",)
    version_pattern: str = r"(\d+(?:\.\d+)+[\w.+-]*)"
    # Folders searched after the venv's bin/ and PATH ("{venv_parent}" = the folder holding the venv).
    extra_dirs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolStatus:
    tool: Tool
    path: str | None
    version: str | None

    @property
    def found(self) -> bool:
        return self.path is not None


def _apt(pkg: str, make: str = "make run installs it") -> str:
    return f"apt-get install {pkg} ({make})"


# Faucet pins its own dependencies, so make venv-test installs it in .venv-faucet beside .venv.
_FAUCET_DIRS = ("{venv_parent}/.venv-faucet/bin",)
_FAUCET = (
    "make test installs it in .venv-faucet beside stackrig's venv (deps/venv/qos.sh); elsewhere: "
    "python3 -m venv faucet-venv && faucet-venv/bin/pip install faucet, with faucet-venv/bin on PATH"
)
# ansible-core comes with the fleet extra, into the same venv as stackrig (found there first).
_ANSIBLE = (
    "pip install 'stackrig[fleet]' (ansible-core beside stackrig; make run installs it), "
    "or apt-get install ansible-core"
)
_OVS = _apt("openvswitch-switch")

# ``used_by`` names the commands that run the program, as ``needed_for`` says at the call
# (tests/core/test_doctor.py checks each entry against the code). A command with a flag
# (``bench run --inventory``) needs it only with that flag; without one, the family needs it
# (``stackrig doctor --family bench`` exits 3 when such a program is missing).
TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "fio",
            "runs the I/O benchmarks",
            ("bench run", "bench run --precondition", "bench aio", "bench sweep", "bench server"),
            _apt("fio"),
        ),
        Tool("ansible-playbook", "runs playbooks on the inventory", ("fleet play", "fleet run"), _ANSIBLE),
        Tool(
            "ansible",
            "runs the tune checks on every host of an inventory (script module)",
            ("tune audit --inventory", "tune apply --inventory", "tune revert --inventory"),
            _ANSIBLE,
        ),
        Tool(
            "ansible-inventory",
            "lists the hosts of an Ansible inventory to run fio on",
            ("bench run --inventory",),
            _ANSIBLE,
        ),
        Tool(
            "az",
            "Azure CLI: its az vm list -d output is read",
            ("fleet discover --provider azure",),
            "apt-get install azure-cli (not installed by make run)",
        ),
        Tool(
            "gcloud",
            "Google Cloud CLI: its gcloud compute instances list output is read",
            ("fleet discover --provider gcp",),
            "apt-get install google-cloud-cli from Google's apt repository (not installed by make run)",
        ),
        Tool(
            "openstack",
            "OpenStack CLI: its openstack server list --long output is read; it fetches placement data",
            ("fleet discover --provider openstack", "tune capacity --from-cloud"),
            "apt-get install python3-openstackclient (not installed by make run)",
        ),
        Tool(
            "ovs-vsctl",
            "configures Open vSwitch bridges, ports and QoS records",
            ("qos lab", "qos queues", "qos policy", "qos path"),
            _OVS,
        ),
        Tool(
            "ovs-ofctl",
            "writes OpenFlow flows and meters, reads them and their counters back",
            ("qos policy", "qos path", "qos verify"),
            _OVS,
        ),
        Tool(
            "ovs-ctl",
            "starts and stops the Open vSwitch daemons",
            ("qos lab",),
            _OVS,
            version_args=("version",),
            extra_dirs=("/usr/share/openvswitch/scripts",),
        ),
        Tool(
            "ip",
            "creates namespaces and veths, runs iperf3 and the DSCP capture in them",
            ("qos lab", "qos verify"),
            _apt("iproute2"),
            version_args=("-V",),
        ),
        Tool(
            "tc",
            "shows traffic-control classes",
            ("qos queues --check",),
            _apt("iproute2"),
            version_args=("-V",),
        ),
        Tool("ethtool", "turns off veth checksum offload", ("qos lab",), _apt("ethtool")),
        Tool("iperf3", "measures the shaped rate", ("qos verify",), _apt("iperf3")),
        Tool(
            "faucet",
            "the Faucet OpenFlow controller",
            ("qos lab --controller faucet",),
            _FAUCET,
            extra_dirs=_FAUCET_DIRS,
        ),
        Tool(
            "check_faucet_config",
            "validates a Faucet configuration before it is written",
            ("qos policy --backend faucet", "qos path --backend faucet"),
            _FAUCET,
            version_args=("--version",),
            extra_dirs=_FAUCET_DIRS,
        ),
    )
}


def family_tools(family: str) -> tuple[Tool, ...]:
    """The programs some command of ``family`` runs."""
    return tuple(t for t in TOOLS.values() if any(u.split()[0] == family for u in t.used_by))


def needed_by_family(entry: Tool, family: str) -> bool:
    """True when a command of ``family`` runs ``entry`` without any flag asking for it."""
    return any(u.split()[0] == family and "--" not in u for u in entry.used_by)


def tool(name: str) -> Tool:
    """The registry entry of ``name``; a program run without one is a bug (InternalError)."""
    try:
        return TOOLS[name]
    except KeyError:
        raise InternalError(f"{name} is run but not in the tool registry (stackrig._tools.TOOLS)") from None


def _search_path() -> str:
    # The venv's bin/ first: ansible-playbook and faucet live there even when the
    # venv is not activated (stackrig called by its absolute path).
    venv_bin = str(Path(sys.executable).parent)
    return os.pathsep.join([venv_bin, os.environ.get("PATH", os.defpath)])


def find_tool(name: str) -> str | None:
    """Absolute path of the program, or None."""
    found = shutil.which(name, path=_search_path())
    entry = TOOLS.get(name)
    if found is None and entry is not None and entry.extra_dirs:
        venv_parent = str(Path(sys.prefix).parent)
        extra = [d.replace("{venv_parent}", venv_parent) for d in entry.extra_dirs]
        found = shutil.which(name, path=os.pathsep.join(extra))
    return found


def require(name: str, *, needed_for: str | None = None) -> str:
    """Absolute path of a registered program, or a MissingToolError with its install hint."""
    entry = tool(name)
    found = find_tool(entry.name)
    if found is None:
        raise MissingToolError(entry.name, install_hint=entry.install, needed_for=needed_for)
    return found


def probe(entry: Tool, *, timeout: float = 10.0) -> ToolStatus:
    """Find a program and ask its version (never raises)."""
    path = find_tool(entry.name)
    if path is None:
        return ToolStatus(entry, None, None)
    try:
        done = subprocess.run(
            [path, *entry.version_args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ToolStatus(entry, path, None)
    match = re.search(entry.version_pattern, done.stdout + "\n" + done.stderr)
    return ToolStatus(entry, path, match.group(1) if match else None)
