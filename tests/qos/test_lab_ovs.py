"""End to end on real userspace OVS: lab, path with meters, shaping measured with iperf3, queues, failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.qos.conftest import TCP_5201_AT_2M, Lab, flows, meters, needs_lab, path_args, sh

pytestmark = [pytest.mark.serial, pytest.mark.e2e, needs_lab]

MBIT = 1_000_000


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Lab:
    return lab_factory("--topo", "linear,4")


def test_lab_is_up_and_healthy(lab: Lab) -> None:
    status = lab.run("qos", "lab", "status", "--json")
    assert status.returncode == 0, status.stdout
    data = status.json()["data"]
    assert data["healthy"] is True
    assert set(data["bridges"]) == {"lab-s1", "lab-s2", "lab-s3", "lab-s4"}
    # userspace bridges, OpenFlow 1.3, fixed dpids
    assert sh("ovs-vsctl", "get", "bridge", "lab-s3", "datapath_type").strip() == "netdev"
    assert sh("ovs-vsctl", "get", "bridge", "lab-s3", "datapath_id").strip() == '"0000000000000003"'
    assert "OpenFlow13" in sh("ovs-vsctl", "get", "bridge", "lab-s3", "protocols")
    # offload off inside the namespace, address set
    assert "tx-checksumming: off" in sh("ip", "netns", "exec", "lab-h2", "ethtool", "-k", "eth0")
    assert "10.0.0.2/24" in sh("ip", "netns", "exec", "lab-h2", "ip", "-o", "addr")
    assert sh("ip", "netns", "exec", "lab-h1", "ping", "-c", "1", "-W", "3", "10.0.0.4", check=False)
    again = lab.run("qos", "lab", "up")
    assert again.returncode == 4
    assert "exists" in again.stderr


def test_path_meters_h1_to_h2_and_remove_rollback_restore(lab: Lab) -> None:
    dry = lab.run(*path_args("10.0.0.1", "10.0.0.2", *TCP_5201_AT_2M, "--dry-run", "--json"))
    assert dry.returncode == 0, dry.stderr
    assert [p["switch"] for p in dry.json()["data"]["planned"]] == ["0000000000000001", "0000000000000002"]
    assert flows("lab-s1") == []

    done = lab.run(*path_args("10.0.0.1", "10.0.0.2", *TCP_5201_AT_2M, "--json"))
    assert done.returncode == 0, done.stderr
    s1, s2 = flows("lab-s1"), flows("lab-s2")
    assert len(s1) == 1
    assert "meter:1" in s1[0]
    assert "in_port=1" in s1[0]
    assert "output:2" in s1[0]
    assert len(s2) == 1
    assert "in_port=2" in s2[0]
    assert "output:1" in s2[0]
    assert flows("lab-s3") == []
    assert "rate=2000" in sh("ovs-ofctl", "-O", "OpenFlow13", "dump-meters", "lab-s1")

    shaped = lab.rates("--port", "5201", "--reverse", "--expect-max", "3.5M")
    forward = shaped["forward"]["bits_per_second"]
    reverse = shaped["reverse"]["bits_per_second"]
    assert 0.8 * MBIT <= forward <= 3.5 * MBIT, shaped
    assert reverse > 50 * MBIT, shaped
    assert shaped["ok"] is True

    back = lab.run("qos", "policy", "rollback", "--json")
    assert back.returncode == 0, back.stderr
    assert flows("lab-s1") == []
    assert meters("lab-s1") == []
    assert meters("lab-s2") == []
    assert lab.rates("--port", "5201")["forward"]["bits_per_second"] > 50 * MBIT

    # again, then remove by the path's name
    assert lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M)).returncode == 0
    listed = lab.run("qos", "policy", "list", "--json").json()["data"]["installed"]
    assert {r["policy"]["group"] for r in listed} == {"path-h1-h2"}
    removed = lab.run("qos", "policy", "remove", "path-h1-h2")
    assert removed.returncode == 0, removed.stderr
    assert flows("lab-s1") == []
    assert flows("lab-s2") == []
    assert meters("lab-s2") == []
    unshaped = lab.rates("--port", "5201", "--expect-min", "50M")
    assert unshaped["forward"]["bits_per_second"] > 50 * MBIT
    assert lab.run("qos", "policy", "list", "--json").json()["data"]["installed"] == []


def test_switch_rejecting_mid_path_leaves_flows_and_state(lab: Lab) -> None:
    ok = lab.run("qos", "path", "--src", "h3", "--dst", "h4", "--rate", "5M", "--name", "keep")
    assert ok.returncode == 0, ok.stderr
    state_file = lab.data_dir / "qos" / "state.json"
    before_state = state_file.read_bytes()
    before = {b: (flows(b), meters(b)) for b in ("lab-s1", "lab-s2", "lab-s3", "lab-s4")}
    # lab-s2's table 0 refuses new flows once it holds one (its NORMAL flow)
    sh(
        "ovs-vsctl",
        "--",
        "--id=@ft",
        "create",
        "Flow_Table",
        "flow_limit=1",
        "overflow_policy=refuse",
        "--",
        "set",
        "bridge",
        "lab-s2",
        "flow_tables:0=@ft",
    )
    try:
        done = lab.run("qos", "path", "--src", "h1", "--dst", "h4", "--rate", "2M", "--json")
    finally:
        sh("ovs-vsctl", "clear", "bridge", "lab-s2", "flow_tables")
    assert done.returncode == 1, done.stdout
    assert "lab-s2" in done.json()["error"]["message"]
    after = {b: (flows(b), meters(b)) for b in before}
    strip = lambda fl: [f.split("duration=")[0] + f.split("priority=")[1] for f in fl]  # noqa: E731
    assert {b: (strip(f), m) for b, (f, m) in after.items()} == {
        b: (strip(f), m) for b, (f, m) in before.items()
    }
    assert state_file.read_bytes() == before_state
    assert lab.run("qos", "policy", "remove", "keep").returncode == 0
    assert flows("lab-s3") == []
    assert meters("lab-s3") == []


def _stackrig_qos_records() -> tuple[int, int]:
    """How many QoS and Queue records carry stackrig's mark (machine-wide)."""

    def count(table: str) -> int:
        found = sh(
            "ovs-vsctl", "--format=json", "--columns=_uuid", "find", table, "external_ids:stackrig=qos"
        )
        return len(json.loads(found)["data"])

    return count("qos"), count("queue")


def test_queues_records_tc_classes_and_set_queue_flows(lab: Lab) -> None:
    args = (
        "qos",
        "queues",
        "lab-s1",
        "lab-h1-e",
        "2",
        "--max-rate",
        "10G",
        "--queue",
        "1=20M",
        "--queue",
        "2=2M",
    )
    records = _stackrig_qos_records()  # OVS keeps QoS rows across restarts: count what this test adds
    first = lab.run(*args, "--json")
    assert first.returncode == 0, first.stderr
    assert _stackrig_qos_records() == (records[0] + 2, records[1] + 6)
    for port in ("lab-h1-e", "lab-s1-s2"):
        qos = sh("ovs-vsctl", "get", "port", port, "qos").strip()
        assert sh("ovs-vsctl", "get", "qos", qos, "type").strip() == "linux-htb"
        rates = sorted(
            int(
                sh("ovs-vsctl", "get", "queue", ref.split("=")[1], "other_config:max-rate").strip().strip('"')
            )
            for ref in sh("ovs-vsctl", "get", "qos", qos, "queues").strip().strip("{}").split(", ")
        )
        assert rates == [2_000_000, 20_000_000, 10**10]
    classes = sh("tc", "class", "show", "dev", "lab-h1-e")
    assert "20Mbit" in classes
    assert "2Mbit" in classes
    # idempotent: a second run replaces, it does not add records
    assert lab.run(*args).returncode == 0
    assert _stackrig_qos_records() == (records[0] + 2, records[1] + 6)

    path = lab.run("qos", "path", "--src", "h1", "--dst", "h2", "--queue", "2", "--protocol", "tcp", "--json")
    assert path.returncode == 0, path.stderr
    assert "set_queue:2,output:2" in flows("lab-s1")[0]
    assert "set_queue:2,output:1" in flows("lab-s2")[0]
    assert lab.run("qos", "policy", "rollback").returncode == 0
    assert flows("lab-s1") == []

    cleared = lab.run("qos", "queues", "lab-s1", "lab-h1-e", "2", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert _stackrig_qos_records() == records
    assert sh("ovs-vsctl", "get", "port", "lab-h1-e", "qos").strip() == "[]"
    bad = lab.run("qos", "queues", "lab-s1", "nosuch", "--queue", "1=1M")
    assert bad.returncode == 2
    assert "no port 'nosuch'" in bad.stderr
    assert lab.run("qos", "queues", "nosw", "p", "--queue", "1=1M").returncode == 2


def test_unknown_switch_is_a_usage_error(lab: Lab) -> None:
    doc = {"name": "x", "switch": "99", "action": {"kind": "dscp", "dscp": 46}}
    done = lab.run("qos", "policy", "add", json.dumps(doc))
    assert done.returncode == 2
    assert "no OVS bridge has datapath id" in done.stderr
    dscp = {"name": "mark", "switch": "3", "match": {"in_port": 1}, "action": {"kind": "dscp", "dscp": 46}}
    assert lab.run("qos", "policy", "add", json.dumps(dscp)).returncode == 0
    assert "set_field:46->ip_dscp" in flows("lab-s3")[0] or "mod_nw_tos:184" in flows("lab-s3")[0]
    assert lab.run("qos", "policy", "remove", "mark").returncode == 0
    assert flows("lab-s3") == []
