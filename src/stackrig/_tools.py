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

from stackrig.errors import MissingToolError

__all__ = ["TOOLS", "Tool", "ToolStatus", "find_tool", "probe", "require", "tool"]


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


def _apt(pkg: str) -> str:
    return f"apt-get install {pkg}"


# Faucet pins its own dependencies, so make venv-test installs it in .venv-faucet beside .venv.
_FAUCET_DIRS = ("{venv_parent}/.venv-faucet/bin",)

_VENV = "make run (installs it into the project's venv), or pip install {pkg}"
# ansible-core comes with the fleet extra, into the same venv as stackrig (found there first).
_FLEET_EXTRA = "pip install 'stackrig[fleet]' (ansible-core beside stackrig), or apt-get install ansible-core"

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("fio", "runs the I/O benchmarks", ("bench run", "bench aio", "bench server"), _apt("fio")),
        Tool(
            "fio2gnuplot",
            "fio's own plotter (compared against in make bench)",
            ("make bench",),
            _apt("fio gnuplot-nox python3-six"),
            version_args=("-h",),
        ),
        Tool(
            "ansible-playbook",
            "runs playbooks on the inventory",
            ("fleet play", "fleet run"),
            _FLEET_EXTRA,
        ),
        Tool(
            "ansible",
            "runs the tune checks on every host of an inventory (script module)",
            ("tune audit --inventory", "tune apply --inventory", "tune revert --inventory"),
            _FLEET_EXTRA,
        ),
        Tool(
            "ansible-inventory",
            "reads inventories back (tests, checks)",
            ("fleet inventory",),
            _FLEET_EXTRA,
        ),
        Tool("aws", "AWS CLI, for describe-instances input", ("fleet discover",), _apt("awscli")),
        Tool("az", "Azure CLI, for az vm list input", ("fleet discover",), _apt("azure-cli")),
        Tool(
            "gcloud",
            "Google Cloud CLI, for gcloud compute instances list input",
            ("fleet discover",),
            "apt-get install google-cloud-cli (from Google's Cloud SDK apt repository)",
        ),
        Tool(
            "openstack",
            "OpenStack CLI, for openstack server list input and tune capacity --from-cloud",
            ("fleet discover", "tune capacity --from-cloud"),
            _apt("python3-openstackclient"),
        ),
        Tool(
            "ovs-vsctl",
            "configures Open vSwitch bridges, ports and QoS records",
            ("qos lab", "qos queues", "qos policy", "qos path"),
            _apt("openvswitch-switch"),
        ),
        Tool(
            "ovs-ofctl",
            "writes OpenFlow flows and meters",
            ("qos policy", "qos path"),
            _apt("openvswitch-switch"),
        ),
        Tool(
            "ip",
            "creates namespaces and veths",
            ("qos lab",),
            _apt("iproute2"),
            version_args=("-V",),
        ),
        Tool("tc", "shows traffic-control classes", ("qos queues",), _apt("iproute2"), version_args=("-V",)),
        Tool("ethtool", "turns off veth checksum offload", ("qos lab",), _apt("ethtool")),
        Tool("iperf3", "measures the shaped rate", ("qos verify",), _apt("iperf3")),
        Tool(
            "faucet",
            "the Faucet OpenFlow controller",
            ("qos lab --controller faucet", "qos policy --backend faucet"),
            _VENV.format(pkg="faucet"),
            extra_dirs=_FAUCET_DIRS,
        ),
        Tool(
            "check_faucet_config",
            "validates a Faucet configuration",
            ("qos policy --backend faucet",),
            _VENV.format(pkg="faucet"),
            version_args=("--version",),
            extra_dirs=_FAUCET_DIRS,
        ),
        Tool(
            "ovs-ctl",
            "starts and stops the Open vSwitch daemons",
            ("qos lab",),
            _apt("openvswitch-switch"),
            version_args=("version",),
            extra_dirs=("/usr/share/openvswitch/scripts",),
        ),
        Tool("mysqladmin", "MySQL/MariaDB admin client", ("migrate wait",), _apt("mariadb-client")),
        Tool("mysql", "MySQL/MariaDB client", ("migrate wait",), _apt("mariadb-client")),
        Tool("psql", "PostgreSQL client", ("migrate wait",), _apt("postgresql-client")),
    )
}


def tool(name: str) -> Tool:
    """The registry entry of ``name`` (a KeyError here is a bug: register the tool)."""
    return TOOLS[name]


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
