"""End to end with a real Faucet controlling the lab's userspace OVS bridges (root, OVS, Faucet)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackrig import _tools
from tests.qos.conftest import TCP_5201_AT_2M, Lab, needs_lab, path_args, sh

pytestmark = [
    pytest.mark.serial,
    pytest.mark.e2e,
    needs_lab,
    pytest.mark.skipif(_tools.find_tool("faucet") is None, reason="faucet is not installed (make venv-test)"),
]

MBIT = 1_000_000


def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s")


def _pings(lab: Lab, src: str, dst: str) -> bool:
    return "1 received" in sh(
        "ip", "netns", "exec", lab.netns(src), "ping", "-c", "1", "-W", "1", dst, check=False
    )


def _metered(bridge: str) -> bool:
    return "meter:" in sh("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge)


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Lab:
    lab = lab_factory("--topo", "linear,4", "--controller", "faucet")
    _until(
        lambda: _pings(lab, "h1", "10.0.0.2") and _pings(lab, "h2", "10.0.0.1"),
        60,
        "h1 and h2 reaching each other",
    )
    return lab


def test_faucet_path_meters_check_sync_verify_remove_rollback(lab: Lab) -> None:
    state = lab.state()
    s1, s2 = lab.bridge(1), lab.bridge(2)
    assert state["controller"] == "faucet"
    status = lab.run("qos", "lab", "status", "--json").json()["data"]
    assert status["controller_alive"] is True
    config = Path(state["faucet_config"])
    done = lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M, "--backend", "faucet", "--json"))
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(config.read_text())
    assert set(doc["acls"]) == {f"stackrig-{s1}-1", f"stackrig-{s2}-2"}
    assert doc["dps"][s1]["interfaces"][1]["acls_in"] == [f"stackrig-{s1}-1"]
    assert all(m["entry"]["bands"] == [{"type": "DROP", "rate": 2000}] for m in doc["meters"].values())
    _until(lambda: _metered(s1) and _metered(s2), 30, "Faucet installing the metered flows")
    assert any(
        "rate=2000" in line for line in sh("ovs-ofctl", "-O", "OpenFlow13", "dump-meters", s1).split("\n")
    )

    # the state against Faucet's configuration: a rule deleted behind stackrig's back is missing
    assert lab.run("qos", "policy", "list", "--check").returncode == 0
    edited = yaml.safe_load(config.read_text())
    edited["acls"][f"stackrig-{s2}-2"] = [
        r for r in edited["acls"][f"stackrig-{s2}-2"] if "meter" not in r["rule"].get("actions", {})
    ]
    config.write_text(yaml.safe_dump(edited, sort_keys=False))
    drift = lab.run("qos", "policy", "list", "--check", "--json")
    assert drift.returncode == 1
    assert {p["name"]: p["status"] for p in drift.json()["data"]["check"]["policies"]} == {
        "path-h1-h2-fwd-1": "present",
        "path-h1-h2-fwd-2": "missing",
    }
    assert drift.json()["data"]["check"]["orphans"] == []  # Faucet's flows carry Faucet's cookie
    repaired = lab.run("qos", "policy", "sync", "--reinstall", "--yes")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert lab.run("qos", "policy", "list", "--check").returncode == 0
    _until(lambda: _metered(s2), 30, "Faucet reinstalling the metered flow")

    # proof from the switches: Faucet's meter on the first switch drops while shaping
    shaped = lab.run("qos", "verify", "--src", "h1", "--dst", "h2", "--seconds", "2", "--reverse", "--json")
    assert shaped.returncode == 0, shaped.stdout
    data = shaped.json()["data"]
    assert 0.8 * MBIT <= data["forward"]["bits_per_second"] <= 3.5 * MBIT, data
    assert data["reverse"]["bits_per_second"] > 50 * MBIT, data
    assert data["switches"][0]["bridge"] == s1
    assert data["switches"][0]["matched_packets"] > 0
    assert data["switches"][0]["dropped_packets"] > 0

    removed = lab.run("qos", "policy", "remove", "path-h1-h2")
    assert removed.returncode == 0, removed.stderr
    assert "acls" not in yaml.safe_load(config.read_text())
    _until(lambda: not _metered(s1) and not _metered(s2), 30, "Faucet removing the metered flows")
    unshaped = lab.run(
        "qos", "verify", "--src", "h1", "--dst", "h2", "--seconds", "2", "--expect-min", "50M", "--json"
    )
    assert unshaped.returncode == 0, unshaped.stdout
    assert unshaped.json()["data"]["switches"][0]["dropped_packets"] == 0

    back = lab.run("qos", "policy", "rollback")
    assert back.returncode == 0, back.stderr
    _until(lambda: _metered(s1), 30, "the rolled-back policy returning")
    assert lab.run("qos", "policy", "rollback").returncode == 0
    _until(lambda: not _metered(s1), 30, "the path going again")
    assert lab.run("qos", "policy", "list", "--json").json()["data"]["installed"] == []


def test_faucet_rejections_change_nothing(lab: Lab, tmp_path: Path) -> None:
    state = lab.state()
    config = Path(state["faucet_config"])
    pid_file = config.with_name("faucet.pid")
    before = config.read_text()
    state_file = lab.data_dir / "qos" / "state.json"
    before_state = state_file.read_bytes() if state_file.exists() else None

    # a queue has no Faucet ACL action
    done = lab.run("qos", "path", "--src", "h1", "--dst", "h2", "--queue", "1", "--backend", "faucet")
    assert done.returncode == 2
    assert "no queue action" in done.stderr

    # Faucet's own check refuses a config (a hand-made ACL naming a meter that does not exist)
    broken = tmp_path / "faucet.yaml"
    doc = yaml.safe_load(before)
    doc["acls"] = {"mine": [{"rule": {"actions": {"meter": "nosuch", "allow": 1}}}]}
    doc["dps"][lab.bridge(3)]["interfaces"][1]["acls_in"] = ["mine"]
    broken.write_text(yaml.safe_dump(doc))
    original = broken.read_text()
    done = lab.run(
        *path_args(
            "h3",
            "h4",
            "--rate",
            "1M",
            "--backend",
            "faucet",
            "--faucet-config",
            str(broken),
            "--faucet-pid",
            str(pid_file),
        )
    )
    assert done.returncode == 2, done.stderr
    assert "Faucet rejects the new configuration" in done.stderr
    assert "nosuch" in done.stderr
    assert broken.read_text() == original

    # Faucet not running: MISSING, nothing written or recorded
    dead = tmp_path / "dead.pid"
    dead.write_text("999999\n")
    done = lab.run(
        *path_args("h3", "h4", "--rate", "1M", "--backend", "faucet", "--faucet-pid", str(dead), "--json")
    )
    assert done.returncode == 3, done.stderr
    assert "is not running" in done.json()["error"]["message"]
    assert config.read_text() == before
    assert (state_file.read_bytes() if state_file.exists() else None) == before_state
    assert shutil.which("ovs-vsctl") is not None
    assert json.loads(lab.run("qos", "lab", "status", "--json").stdout)["data"]["healthy"] is True
