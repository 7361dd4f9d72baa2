"""A lab's life: `lab down` after a crashed `lab up`, `lab up` refusing names that exist, and the
policies of a lab that went down (root, OVS)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from stackrig.qos.lab import LabSpec, lab_names
from tests.qos.conftest import STACKRIG, TCP_5201_AT_2M, Lab, flows, needs_lab, path_args, sh, unique_lab_name

pytestmark = [pytest.mark.serial, pytest.mark.e2e, needs_lab]


def _leftovers(name: str) -> list[str]:
    plan = lab_names(LabSpec(name, "linear", 3))
    netns = set(sh("ip", "netns", "list").split())
    links = sh("ip", "-o", "link", "show")
    bridges = set(sh("ovs-vsctl", "list-br", check=False).split())
    found = [n for n in (h.netns for h in plan.hosts) if n in netns]
    found += [v for v in (h.veth for h in plan.hosts) if f" {v}@" in links or f" {v}:" in links]
    found += [b for b in plan.bridges if b in bridges]
    return found


def test_lab_down_after_a_crashed_lab_up(tmp_path: Path) -> None:
    name = unique_lab_name("c")
    plan = lab_names(LabSpec(name, "linear", 3))
    state_file = tmp_path / "qos" / "labs" / f"{name}.json"
    proc = subprocess.Popen(
        [STACKRIG, "--data-dir", str(tmp_path), "qos", "lab", "up", "--topo", "linear,3", "--name", name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it hard once it has made its second namespace (the plan is on disk before the first).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if plan.hosts[1].netns in sh("ip", "netns", "list"):
            break
        time.sleep(0.01)
    crashed = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert crashed, "lab up finished before it could be killed"
    assert state_file.exists()
    assert json.loads(state_file.read_text())["complete"] is False
    assert _leftovers(name), "the crash left nothing behind: the test did not test anything"

    lab = Lab(tmp_path, name)
    status = lab.run("qos", "lab", "status", "--name", name)
    assert status.returncode == 1
    down = lab.run("qos", "lab", "down", "--name", name, "--json")
    assert down.returncode == 0, down.stderr
    assert down.json()["data"]["removed"]
    assert _leftovers(name) == []
    assert not state_file.exists()
    again = lab.run("qos", "lab", "down", "--name", name)
    assert again.returncode == 2


def test_lab_up_refuses_names_that_exist(tmp_path: Path, lab_factory: Any) -> None:
    name = unique_lab_name("b")
    plan = lab_names(LabSpec(name, "single", 2))
    sh("ip", "netns", "add", plan.hosts[1].netns)
    try:
        lab = Lab(tmp_path, name)
        done = lab.run("qos", "lab", "up", "--topo", "single,2", "--name", name)
        assert done.returncode == 4
        assert plan.hosts[1].netns in done.stderr
        assert not (tmp_path / "qos" / "labs" / f"{name}.json").exists()
        assert plan.hosts[0].netns not in sh("ip", "netns", "list")
    finally:
        sh("ip", "netns", "del", plan.hosts[1].netns)
    # a single,2 lab comes up and goes down cleanly under the same name afterwards
    single = lab_factory("--topo", "single,2", name=name)
    assert single.state()["bridges"] == plan.bridges
    assert single.run("qos", "lab", "down").returncode == 0  # the only lab of its data folder
    assert not set(plan.bridges) & set(sh("ovs-vsctl", "list-br", check=False).split())


def test_lab_with_a_controller_address(lab_factory: Any) -> None:
    from tests.services import free_port

    port = free_port()
    lab = lab_factory("--topo", "single,2", "--controller", f"127.0.0.1:{port}")
    bridge = lab.state()["bridges"][0]
    assert sh("ovs-vsctl", "get-controller", bridge).strip() == f"tcp:127.0.0.1:{port}"
    assert sh("ovs-vsctl", "get-fail-mode", bridge).strip() == "secure"
    status = lab.run("qos", "lab", "status", "--name", lab.name, "--json").json()["data"]
    assert status["controller"] == f"tcp:127.0.0.1:{port}"
    assert status["controller_alive"] is None
    assert lab.run("qos", "lab", "down", "--name", lab.name).returncode == 0


def test_lab_down_drops_its_policies_and_the_lab_comes_back(lab_factory: Any) -> None:
    """lab up, path, lab down, lab up, path: the second path is not a conflict."""
    lab = lab_factory("--topo", "linear,2")
    state_file = lab.data_dir / "qos" / "state.json"
    assert lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M)).returncode == 0
    assert lab.run("qos", "queues", lab.bridge(1), lab.veth("h1"), "--queue", "1=1M").returncode == 0
    qos = sh("ovs-vsctl", "get", "port", lab.veth("h1"), "qos").strip()
    assert lab.run("qos", "service", "add", "gold", "--dscp", "46").returncode == 0
    down = lab.run("qos", "lab", "down", "--json")
    assert down.returncode == 0, down.stderr
    assert "1 QoS records" in down.json()["data"]["removed"]
    assert {f"veth {lab.veth(h)}" for h in ("h1", "h2")} <= set(down.json()["data"]["removed"])
    services = json.loads(state_file.read_text())["services"]
    assert [s["name"] for s in services] == ["gold"]  # services are not tied to a lab
    forgotten = down.json()["data"]["forgotten"]
    assert [r["policy"]["name"] for r in forgotten] == ["path-h1-h2-fwd-1", "path-h1-h2-fwd-2"]
    assert json.loads(state_file.read_text())["installed"] == []
    assert json.loads(state_file.read_text())["journal"][-1]["command"] == f"lab down {lab.name}"
    text = lab.run("qos", "policy", "list")
    assert text.stdout.startswith("0 policies")

    # rolling that back while the switches are gone: a USAGE error naming them, nothing changed
    before = state_file.read_bytes()
    back = lab.run("qos", "policy", "rollback")
    assert back.returncode == 2
    assert f"its switches are gone ({lab.bridge(1)}, {lab.bridge(2)})" in back.stderr
    assert f"stackrig qos lab up --name {lab.name}" in back.stderr
    assert state_file.read_bytes() == before

    up = lab.run("qos", "lab", "up", "--name", lab.name, "--topo", "linear,2")
    assert up.returncode == 0, up.stderr
    gone = sh("ovs-vsctl", "--if-exists", "get", "qos", qos, "type", check=False)
    assert gone.strip() == ""  # the QoS record went with the lab (OVS keeps root rows across restarts)
    again = lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M))
    assert again.returncode == 0, again.stderr
    assert len(flows(lab.bridge(1))) == 1
    # undo the new path, then the lab down: the old policies come back on the new switches
    assert lab.run("qos", "policy", "rollback").returncode == 0
    assert flows(lab.bridge(1)) == []
    restored = lab.run("qos", "policy", "rollback")
    assert restored.returncode == 0, restored.stderr
    assert len(flows(lab.bridge(1))) == 1
    assert lab.run("qos", "policy", "list", "--check").returncode == 0
