"""`lab down` after a crashed `lab up`, and `lab up` refusing names that exist (root, OVS)."""

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
from tests.qos.conftest import STACKRIG, Lab, needs_lab, sh

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
    name = "crashlab"
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
    plan = lab_names(LabSpec("busy", "single", 2))
    sh("ip", "netns", "add", plan.hosts[1].netns)
    try:
        lab = Lab(tmp_path, "busy")
        done = lab.run("qos", "lab", "up", "--topo", "single,2", "--name", "busy")
        assert done.returncode == 4
        assert plan.hosts[1].netns in done.stderr
        assert not (tmp_path / "qos" / "labs" / "busy.json").exists()
        assert plan.hosts[0].netns not in sh("ip", "netns", "list")
    finally:
        sh("ip", "netns", "del", plan.hosts[1].netns)
    # a single,2 lab comes up and goes down cleanly under the same name afterwards
    single = lab_factory("--topo", "single,2", name="busy")
    assert single.state()["bridges"] == plan.bridges
    assert single.run("qos", "lab", "down", "--name", "busy").returncode == 0
    assert sh("ovs-vsctl", "list-br", check=False).strip() == ""


def test_lab_with_a_controller_address(lab_factory: Any) -> None:
    from tests.services import free_port

    port = free_port()
    lab = lab_factory("--topo", "single,2", "--controller", f"127.0.0.1:{port}", name="ctl")
    bridge = lab.state()["bridges"][0]
    assert sh("ovs-vsctl", "get-controller", bridge).strip() == f"tcp:127.0.0.1:{port}"
    assert sh("ovs-vsctl", "get-fail-mode", bridge).strip() == "secure"
    status = lab.run("qos", "lab", "status", "--name", "ctl", "--json").json()["data"]
    assert status["controller"] == f"tcp:127.0.0.1:{port}"
    assert status["controller_alive"] is None
    assert lab.run("qos", "lab", "down", "--name", "ctl").returncode == 0
