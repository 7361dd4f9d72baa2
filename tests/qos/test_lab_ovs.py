"""End to end on real userspace OVS (one lab for the module): path with meters, proof of
enforcement from the switches' counters and iperf3, state against the network, queues, failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.qos.conftest import TCP_5201_AT_2M, Lab, flows, meters, needs_lab, ofctl, path_args, rules, sh

pytestmark = [pytest.mark.serial, pytest.mark.e2e, needs_lab]

MBIT = 1_000_000


@pytest.fixture(scope="module")
def lab(lab_factory: Any) -> Lab:
    return lab_factory("--topo", "linear,4")


def verify(lab: Lab, *args: str, seconds: str = "2") -> tuple[int, dict[str, Any]]:
    done = lab.run("qos", "verify", "--src", "h1", "--dst", "h2", "--seconds", seconds, "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.json()["data"]


def check(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    done = lab.run("qos", "policy", "list", "--check", "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.json()["data"]


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["status"] for p in data["check"]["policies"]}


def cookie(line: str) -> str:
    return line.split("cookie=", 1)[1].split(",", 1)[0]


def test_lab_is_up_and_healthy(lab: Lab) -> None:
    status = lab.run("qos", "lab", "status", "--json")
    assert status.returncode == 0, status.stdout
    data = status.json()["data"]
    assert data["healthy"] is True
    assert set(data["bridges"]) == {lab.bridge(i) for i in (1, 2, 3, 4)}
    # userspace bridges, OpenFlow 1.3, fixed dpids
    assert sh("ovs-vsctl", "get", "bridge", lab.bridge(3), "datapath_type").strip() == "netdev"
    assert sh("ovs-vsctl", "get", "bridge", lab.bridge(3), "datapath_id").strip() == '"0000000000000003"'
    assert "OpenFlow13" in sh("ovs-vsctl", "get", "bridge", lab.bridge(3), "protocols")
    # offload off inside the namespace, address set
    assert "tx-checksumming: off" in sh("ip", "netns", "exec", lab.netns("h2"), "ethtool", "-k", "eth0")
    assert "10.0.0.2/24" in sh("ip", "netns", "exec", lab.netns("h2"), "ip", "-o", "addr")
    assert sh("ip", "netns", "exec", lab.netns("h1"), "ping", "-c", "1", "-W", "3", "10.0.0.4", check=False)
    again = lab.run("qos", "lab", "up", "--name", lab.name)
    assert again.returncode == 4
    assert "exists" in again.stderr


def test_path_meters_h1_to_h2_counters_and_remove_rollback_restore(lab: Lab) -> None:
    dry = lab.run(*path_args("10.0.0.1", "10.0.0.2", *TCP_5201_AT_2M, "--dry-run", "--json"))
    assert dry.returncode == 0, dry.stderr
    assert [p["switch"] for p in dry.json()["data"]["planned"]] == ["0000000000000001", "0000000000000002"]
    assert flows(lab.bridge(1)) == []

    done = lab.run(*path_args("10.0.0.1", "10.0.0.2", *TCP_5201_AT_2M, "--json"))
    assert done.returncode == 0, done.stderr
    s1, s2 = flows(lab.bridge(1)), flows(lab.bridge(2))
    assert len(s1) == 1
    assert "meter:1" in s1[0]
    assert "in_port=1" in s1[0]
    assert "output:2" in s1[0]
    assert len(s2) == 1
    assert "in_port=2" in s2[0]
    assert "output:1" in s2[0]
    assert flows(lab.bridge(3)) == []
    assert "rate=2000" in ofctl("dump-meters", lab.bridge(1))

    # the path group recorded for h1 -> h2 is what verify checks, with the switches' counters
    code, shaped = verify(lab, "--reverse", "--expect-max", "3.5M")
    assert code == 0, shaped["problems"]
    assert shaped["policy"] == "path-h1-h2"
    assert shaped["port"] == 5201  # the policy's port
    assert 0.8 * MBIT <= shaped["forward"]["bits_per_second"] <= 3.5 * MBIT, shaped
    assert shaped["reverse"]["bits_per_second"] > 50 * MBIT, shaped
    first, second = shaped["switches"][0], shaped["switches"][1]
    assert first["bridge"] == lab.bridge(1)
    assert first["matched_packets"] > 0
    assert first["dropped_packets"] > 0  # the meter on the first switch is what shapes
    assert second["bridge"] == lab.bridge(2)
    assert [r["protocol"] for r in shaped["runs"]] == ["tcp"]

    back = lab.run("qos", "policy", "rollback", "--json")
    assert back.returncode == 0, back.stderr
    assert flows(lab.bridge(1)) == []
    assert meters(lab.bridge(1)) == []
    assert meters(lab.bridge(2)) == []

    # again, then remove by the path's name
    assert lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M)).returncode == 0
    listed = lab.run("qos", "policy", "list", "--json").json()["data"]["installed"]
    assert {r["policy"]["group"] for r in listed} == {"path-h1-h2"}
    removed = lab.run("qos", "policy", "remove", "path-h1-h2")
    assert removed.returncode == 0, removed.stderr
    assert flows(lab.bridge(1)) == []
    assert flows(lab.bridge(2)) == []
    assert meters(lab.bridge(2)) == []
    # no policy left: verify measures only (it needs an expectation then), and nothing drops
    assert lab.run("qos", "verify", "--src", "h1", "--dst", "h2").returncode == 2
    code, unshaped = verify(lab, "--expect-min", "50M")
    assert code == 0, unshaped["problems"]
    assert unshaped["policy"] is None
    assert unshaped["forward"]["bits_per_second"] > 50 * MBIT
    assert unshaped["switches"][0]["dropped_packets"] == 0
    assert lab.run("qos", "policy", "list", "--json").json()["data"]["installed"] == []


def test_verify_sizes_per_protocol_and_a_policy_that_does_not_match(lab: Lab) -> None:
    assert lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M)).returncode == 0
    code, tcp = verify(lab, "--sizes", "88,1400")
    assert code == 0, tcp["problems"]
    assert [(r["protocol"], r["mss"]) for r in tcp["runs"]] == [("tcp", 88), ("tcp", 1400)]
    assert all(r["received_bps"] <= 3 * MBIT and r["high_bps"] == 3 * MBIT for r in tcp["runs"])
    assert all(r["matched_bytes"] > 0 for r in tcp["runs"])
    assert tcp["switches"][0]["dropped_packets"] > 0

    # UDP at twice the rate on a TCP policy: the counters show it does not match
    code, udp = verify(lab, "--protocol", "udp", "--sizes", "512", seconds="1")
    assert code == 1
    assert any(p.startswith("udp 512 B: the policy matched ") for p in udp["problems"]), udp["problems"]
    assert any("does not match this traffic" in p for p in udp["problems"]), udp["problems"]
    assert udp["runs"][0]["received_bps"] > 3 * MBIT  # nothing shaped it
    assert lab.run("qos", "policy", "remove", "path-h1-h2").returncode == 0

    # a UDP policy, UDP at 512 and 1400 bytes: within 25% of the meter, one line per switch and size
    udp_path = ("--rate", "2M", "--protocol", "udp", "--dst-port", "5201", "--name", "u")
    assert lab.run(*path_args("h1", "h2", *udp_path)).returncode == 0
    done = lab.run(
        "qos",
        "verify",
        "--src",
        "h1",
        "--dst",
        "h2",
        "--policy",
        "u",
        "--sizes",
        "512,1400",
        "--seconds",
        "3",
    )
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "policy u (meter 2 Mbit/s): h1 → h2, port 5201"
    assert lines[1].startswith(f"{lab.bridge(1)} (0x1): matched ")
    assert "dropped" in lines[1]
    assert lines[3].startswith("udp 512 B: ")
    assert lines[4].startswith("udp 1400 B: ")
    assert lines[4].endswith("(expected 1.5 Mbit/s-2.5 Mbit/s): ok")
    bad = lab.run("qos", "verify", "--src", "h1", "--dst", "h2", "--policy", "u", "--tolerance", "tcp=x")
    assert bad.returncode == 2
    assert "invalid --tolerance" in bad.stderr
    assert lab.run("qos", "verify", "--src", "h1", "--dst", "h2", "--policy", "nosuch").returncode == 2
    assert lab.run("qos", "policy", "remove", "u").returncode == 0


def test_check_finds_drift_and_sync_repairs_it(lab: Lab) -> None:
    assert lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M)).returncode == 0
    code, data = check(lab)
    assert code == 0
    assert set(statuses(data).values()) == {"present"}
    assert data["check"]["orphans"] == []

    # behind stackrig's back: a flow deleted, a meter changed, a stray flow with our cookie
    s2_cookie = cookie(flows(lab.bridge(2))[0])
    ofctl("del-flows", lab.bridge(2), f"cookie={s2_cookie}/-1")
    ofctl("mod-meter", lab.bridge(1), "meter=1,kbps,band=type=drop,rate=9000")
    ofctl("add-flow", lab.bridge(3), "cookie=0x57000000000000ab,priority=100,ip,nw_dst=10.0.0.9,actions=drop")
    code, data = check(lab)
    assert code == 1
    assert statuses(data) == {"path-h1-h2-fwd-1": "changed", "path-h1-h2-fwd-2": "missing"}
    assert [(o["switch"], o["cookie"]) for o in data["check"]["orphans"]] == [
        (lab.bridge(3), "0x57000000000000ab")
    ]
    quiet = lab.run("qos", "policy", "list", "--check", "--quiet")
    assert quiet.returncode == 1
    assert quiet.stdout.count("\n") == 1
    assert quiet.stdout.startswith("qos state OUT OF SYNC: 0 present, 1 missing, 1 changed, 1 orphan flow")
    assert lab.run("qos", "policy", "list", "--quiet").returncode == 2

    state_file = lab.data_dir / "qos" / "state.json"
    before = (state_file.read_bytes(), rules(lab.bridge(1)), rules(lab.bridge(3)))
    dry = lab.run("qos", "policy", "sync", "--reinstall", "--remove-orphans", "--json")
    assert dry.returncode == 1
    assert [a["action"] for a in dry.json()["data"]["actions"]] == ["reinstall", "reinstall", "remove-orphan"]
    assert (state_file.read_bytes(), rules(lab.bridge(1)), rules(lab.bridge(3))) == before
    assert lab.run("qos", "policy", "sync").returncode == 2  # no direction given
    assert lab.run("qos", "policy", "sync", "--reinstall", "--forget").returncode == 2

    done = lab.run("qos", "policy", "sync", "--reinstall", "--remove-orphans", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reinstalled path-h1-h2-fwd-2" in done.stdout
    assert "in sync" in done.stdout.splitlines()[-1]
    assert check(lab)[0] == 0
    assert flows(lab.bridge(3)) == []
    assert "rate=2000" in ofctl("dump-meters", lab.bridge(1))
    assert len(flows(lab.bridge(2))) == 1
    assert lab.run("qos", "policy", "sync", "--reinstall").returncode == 0  # nothing left to do

    # the network lost both flows: forget them (journaled), and rollback puts them back
    for i in (1, 2):
        ofctl("del-flows", lab.bridge(i), f"cookie={cookie(flows(lab.bridge(i))[0])}/-1")
    assert lab.run("qos", "policy", "sync", "--forget").returncode == 1
    done = lab.run("qos", "policy", "sync", "--forget", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert lab.run("qos", "policy", "list", "--json").json()["data"]["installed"] == []
    assert lab.run("qos", "policy", "rollback").returncode == 0
    code, data = check(lab)
    assert code == 0
    assert len(statuses(data)) == 2

    # adding what is recorded but gone reinstalls it, with a note
    for i in (1, 2):
        ofctl("del-flows", lab.bridge(i), f"cookie={cookie(flows(lab.bridge(i))[0])}/-1")
    again = lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M))
    assert again.returncode == 0, again.stderr
    assert "was recorded but its flows were gone" in again.stderr
    assert check(lab)[0] == 0
    conflict = lab.run(*path_args("h1", "h2", *TCP_5201_AT_2M))
    assert conflict.returncode == 4  # present: still a conflict
    assert "already installed" in conflict.stderr
    assert lab.run("qos", "policy", "remove", "path-h1-h2").returncode == 0
    assert meters(lab.bridge(1)) == []


def test_switch_rejecting_mid_path_leaves_flows_and_state(lab: Lab) -> None:
    ok = lab.run("qos", "path", "--src", "h3", "--dst", "h4", "--rate", "5M", "--name", "keep")
    assert ok.returncode == 0, ok.stderr
    state_file = lab.data_dir / "qos" / "state.json"
    before_state = state_file.read_bytes()
    bridges = [lab.bridge(i) for i in (1, 2, 3, 4)]
    before = {b: (flows(b), meters(b)) for b in bridges}
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
        lab.bridge(2),
        "flow_tables:0=@ft",
    )
    try:
        done = lab.run("qos", "path", "--src", "h1", "--dst", "h4", "--rate", "2M", "--json")
    finally:
        sh("ovs-vsctl", "clear", "bridge", lab.bridge(2), "flow_tables")
    assert done.returncode == 1, done.stdout
    assert lab.bridge(2) in done.json()["error"]["message"]
    after = {b: (flows(b), meters(b)) for b in before}
    strip = lambda fl: [f.split("duration=")[0] + f.split("priority=")[1] for f in fl]  # noqa: E731
    assert {b: (strip(f), m) for b, (f, m) in after.items()} == {
        b: (strip(f), m) for b, (f, m) in before.items()
    }
    assert state_file.read_bytes() == before_state
    assert lab.run("qos", "policy", "remove", "keep").returncode == 0
    assert flows(lab.bridge(3)) == []
    assert meters(lab.bridge(3)) == []


def qos_of(port: str) -> tuple[str, int, dict[int, int]] | None:
    """The QoS record on a port: (type, max-rate, {queue: max-rate})."""
    ref = sh("ovs-vsctl", "get", "port", port, "qos").strip()
    if ref == "[]":
        return None
    kind = sh("ovs-vsctl", "get", "qos", ref, "type").strip()
    rate = int(sh("ovs-vsctl", "get", "qos", ref, "other_config:max-rate").strip().strip('"'))
    queues = {}
    for item in sh("ovs-vsctl", "get", "qos", ref, "queues").strip().strip("{}").split(", "):
        qid, uuid = item.split("=")
        queues[int(qid)] = int(
            sh("ovs-vsctl", "get", "queue", uuid, "other_config:max-rate").strip().strip('"')
        )
    return kind, rate, queues


def stackrig_qos_records() -> tuple[int, int]:
    """How many QoS and Queue records carry stackrig's mark (machine-wide)."""

    def count(table: str) -> int:
        found = sh(
            "ovs-vsctl", "--format=json", "--columns=_uuid", "find", table, "external_ids:stackrig=qos"
        )
        return len(json.loads(found)["data"])

    return count("qos"), count("queue")


def test_queues_records_tc_classes_check_and_set_queue_flows(lab: Lab) -> None:
    s1 = lab.bridge(1)
    args = (
        "qos",
        "queues",
        s1,
        lab.veth("h1"),
        "2",
        "--max-rate",
        "10G",
        "--queue",
        "1=20M",
        "--queue",
        "2=2M",
    )
    first = lab.run(*args, "--json")
    assert first.returncode == 0, first.stderr
    assert qos_of(lab.veth("h1")) == ("linux-htb", 10**10, {0: 10**10, 1: 20_000_000, 2: 2_000_000})
    assert qos_of(f"{s1}-s2") == qos_of(lab.veth("h1"))
    classes = sh("tc", "class", "show", "dev", lab.veth("h1"))
    assert "20Mbit" in classes
    assert "2Mbit" in classes
    # idempotent: a second run replaces, it does not add records
    records = stackrig_qos_records()
    assert lab.run(*args).returncode == 0
    assert stackrig_qos_records() == records
    assert qos_of(lab.veth("h1"))[2] == {0: 10**10, 1: 20_000_000, 2: 2_000_000}

    # --check: the veth is shaped as recorded; the patch port cannot be
    done = lab.run("qos", "queues", s1, lab.veth("h1"), "--check", "--json")
    assert done.returncode == 0, done.stdout
    port = done.json()["data"]["ports"][0]
    assert [(q["queue"], q["configured"], q["in_tc"]) for q in port["queues"]] == [
        (0, 10**10, 10**10),
        (1, 20_000_000, 20_000_000),
        (2, 2_000_000, 2_000_000),
    ]
    done = lab.run("qos", "queues", s1, lab.veth("h1"), "2", "--check")
    assert done.returncode == 1
    assert f"{s1} 2:" not in done.stdout  # ports are named
    assert f"{s1} {s1}-s2: linux-htb max 10 Gbit/s: NOT in place (no such network device" in done.stdout
    wrong = lab.run("qos", "queues", s1, lab.veth("h1"), "--check", "--queue", "1=30M")
    assert wrong.returncode == 1
    assert "the record differs from --queue" in wrong.stdout
    # behind stackrig's back: the port's qdisc is gone, so nothing shapes it any more
    sh("tc", "qdisc", "del", "dev", lab.veth("h1"), "root")
    gone = lab.run("qos", "queues", s1, lab.veth("h1"), "--check")
    assert gone.returncode == 1
    assert "q2: record 2 Mbit/s, tc ceil none: NOT ok (tc has no class for it)" in gone.stdout
    assert lab.run(*args).returncode == 0  # the same rates again: OVS thinks they are in place
    assert lab.run("qos", "queues", s1, lab.veth("h1"), "--check").returncode == 1
    assert lab.run("qos", "queues", s1, lab.veth("h1"), "--clear").returncode == 0
    assert lab.run(*args).returncode == 0  # cleared, then set: OVS builds the qdisc again
    assert lab.run("qos", "queues", s1, lab.veth("h1"), "--check").returncode == 0
    no_qos = lab.run("qos", "queues", lab.bridge(2), lab.veth("h2"), "--check")
    assert no_qos.returncode == 1
    assert "no QoS record on this port" in no_qos.stdout

    # a queue path: the flows carry set_queue, and verify says the userspace datapath did not use it
    assert lab.run("qos", "queues", lab.bridge(2), lab.veth("h2"), "--queue", "2=2M").returncode == 0
    path = lab.run("qos", "path", "--src", "h1", "--dst", "h2", "--queue", "2", "--protocol", "tcp", "--json")
    assert path.returncode == 0, path.stderr
    assert "set_queue:2,output:2" in flows(s1)[0]
    assert "set_queue:2,output:1" in flows(lab.bridge(2))[0]
    code, queued = verify(lab, seconds="1")
    assert code == 1
    assert queued["kind"] == "queue"
    second = queued["switches"][1]
    assert second["matched_packets"] > 0
    assert second["queues"][0]["queue"] == 2
    assert second["queues"][0]["packets"] == 0
    assert second["queues"][0]["default_queue_packets"] > 0
    assert any("does not put the traffic in the queue" in p for p in queued["problems"]), queued["problems"]
    assert lab.run("qos", "policy", "rollback").returncode == 0
    assert flows(s1) == []

    cleared = lab.run("qos", "queues", s1, lab.veth("h1"), "2", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert qos_of(lab.veth("h1")) is None
    assert stackrig_qos_records()[0] == records[0] - 1  # h2's port keeps its QoS: lab down takes it
    bad = lab.run("qos", "queues", s1, "nosuch", "--queue", "1=1M")
    assert bad.returncode == 2
    assert "no port 'nosuch'" in bad.stderr
    assert lab.run("qos", "queues", "nosw", "p", "--queue", "1=1M").returncode == 2
    assert lab.run("qos", "queues", s1, lab.veth("h1"), "--check", "--clear").returncode == 2


def test_dscp_mark_seen_by_a_capture_on_the_receiver(lab: Lab) -> None:
    doc = {"name": "x", "switch": "99", "action": {"kind": "dscp", "dscp": 46}}
    done = lab.run("qos", "policy", "add", json.dumps(doc))
    assert done.returncode == 2
    assert "no OVS bridge has datapath id" in done.stderr
    mark = {
        "name": "mark",
        "switch": "1",
        "match": {"in_port": 1, "ipv4_src": "10.0.0.1", "ipv4_dst": "10.0.0.2", "tcp_dst": 5201},
        "action": {"kind": "dscp", "dscp": 46, "port": 2},
    }
    assert lab.run("qos", "policy", "add", json.dumps(mark)).returncode == 0
    line = flows(lab.bridge(1))[0]
    assert "set_field:46->ip_dscp" in line or "mod_nw_tos:184" in line
    assert check(lab)[0] == 0
    code, marked = verify(lab, "--policy", "mark", seconds="1")
    assert code == 0, marked["problems"]
    assert marked["kind"] == "dscp"
    assert marked["dscp"]["expected"] == 46
    assert marked["dscp"]["packets"] > 100
    assert marked["dscp"]["marked"] == marked["dscp"]["packets"]
    assert lab.run("qos", "policy", "remove", "mark").returncode == 0
    # a mark on a switch off the path: verify says so
    unmark = {**mark, "name": "wrong", "switch": "3", "match": {"in_port": 1}}
    assert lab.run("qos", "policy", "add", json.dumps(unmark)).returncode == 0
    code, off_path = verify(lab, "--policy", "wrong", seconds="1")
    assert code == 1
    assert any("has no flow for h1 → h2 on the path" in p for p in off_path["problems"])
    assert lab.run("qos", "policy", "remove", "wrong").returncode == 0
    assert flows(lab.bridge(3)) == []
