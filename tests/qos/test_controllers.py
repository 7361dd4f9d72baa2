"""The ryu and floodlight adapters against local servers that answer as their REST APIs document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import FailedError, UsageError
from stackrig.qos.backends import BackendSpec, open_backend, opener
from stackrig.qos.backends._http import ControllerDownError, JsonClient
from stackrig.qos.backends.floodlight import FloodlightBackend, flow_entry, qos_policy
from stackrig.qos.backends.ryu import RyuBackend, rule_body
from stackrig.qos.manage import PathRequest, add_policies, plan_path, remove_policies, rollback
from stackrig.qos.model import Policy
from tests.qos.conftest import TCP_5201_AT_2M, path_args
from tests.qos.controllers import DPIDS, Sim, serve
from tests.services import free_port


@pytest.fixture
def ryu_ctl() -> Iterator[tuple[str, Sim]]:
    with serve("ryu") as pair:
        yield pair


@pytest.fixture
def fl_ctl() -> Iterator[tuple[str, Sim]]:
    with serve("floodlight") as pair:
        yield pair


def test_ryu_rule_body_field_by_field() -> None:
    pol = Policy.from_dict(
        {
            "name": "p",
            "switch": "1",
            "priority": 100,
            "match": {
                "in_port": 1,
                "ipv4_src": "10.0.0.1",
                "ipv4_dst": "10.0.0.0/24",
                "udp_dst": 53,
                "dscp": 10,
            },
            "action": {"kind": "meter", "rate": "2M"},
        }
    )
    assert rule_body(pol, 4) == {
        "priority": "100",
        "match": {
            "in_port": "1",
            "dl_type": "IPv4",
            "nw_src": "10.0.0.1",
            "nw_dst": "10.0.0.0/24",
            "nw_proto": "UDP",
            "tp_dst": "53",
            "ip_dscp": "10",
        },
        "actions": {"meter": "4"},
    }
    mark = Policy.from_dict({"name": "m", "switch": "1", "action": {"kind": "dscp", "dscp": 46}})
    assert rule_body(mark, None)["actions"] == {"mark": "46"}
    queue = Policy.from_dict(
        {
            "name": "q",
            "switch": "1",
            "match": {"tcp_src": 1},
            "action": {"kind": "queue", "queue": 2, "port": 3},
        }
    )
    assert rule_body(queue, None)["match"]["tp_src"] == "1"
    assert rule_body(queue, None)["actions"] == {"queue": "2"}


def test_ryu_path_push_remove(ryu_ctl: tuple[str, Sim], tmp_path: Path) -> None:
    url, sim = ryu_ctl
    backend = RyuBackend(url)
    topo = backend.topology()
    assert topo.host("10.0.0.3").switch == f"{3:016x}"
    policies = plan_path(
        topo, PathRequest("10.0.0.1", "10.0.0.3", rate=2_000_000, protocol="tcp", dst_port=5201)
    )
    state = tmp_path / "state.json"
    result = add_policies(backend, state, policies, command="path")
    assert sim.errors == []
    assert len(sim.rules) == 3
    assert len(sim.meters) == 3
    meter_posts = [b for m, p, b in sim.requests if m == "POST" and p.startswith("/qos/meter/")]
    assert meter_posts[0] == {"meter_id": "1", "flags": "KBPS", "bands": [{"type": "DROP", "rate": "2000"}]}
    rule_posts = [(p, b) for m, p, b in sim.requests if m == "POST" and p.startswith("/qos/rules/")]
    assert rule_posts[1] == (
        f"/qos/rules/{2:016x}",
        {
            "priority": "40000",
            "match": {
                "in_port": "2",
                "dl_type": "IPv4",
                "nw_src": "10.0.0.1",
                "nw_dst": "10.0.0.3",
                "nw_proto": "TCP",
                "tp_dst": "5201",
            },
            "actions": {"meter": "1"},
        },
    )
    assert all(r.ids["qos_id"] and r.ids["meter"] for r in result.added)
    remove_policies(
        state, ["path-10.0.0.1-10.0.0.3"], opener(BackendSpec("ryu", url)), command="policy remove"
    )
    assert sim.rules == {}
    assert sim.meters == {}
    assert sim.errors == []


def test_ryu_rejection_mid_path_undoes_what_it_did(ryu_ctl: tuple[str, Sim], tmp_path: Path) -> None:
    url, sim = ryu_ctl
    backend = RyuBackend(url)
    sim.reject.add(f"{2:016x}")
    policies = plan_path(backend.topology(), PathRequest("10.0.0.1", "10.0.0.3", rate=1_000_000))
    state = tmp_path / "state.json"
    with pytest.raises(FailedError, match="Invalid rule parameter"):
        add_policies(backend, state, policies, command="path")
    assert sim.rules == {}
    assert sim.meters == {}
    assert not state.exists()
    deletes = [p for m, p, _ in sim.requests if m == "DELETE"]
    assert f"/qos/rules/{1:016x}" in deletes
    assert f"/qos/meter/{2:016x}" in deletes  # the meter made before the refused rule


def test_ryu_meter_ids_avoid_recorded_ones(ryu_ctl: tuple[str, Sim], tmp_path: Path) -> None:
    url, sim = ryu_ctl
    backend = RyuBackend(url)
    state = tmp_path / "state.json"
    first = Policy.from_dict({"name": "a", "switch": "1", "action": {"kind": "meter", "rate": "1M"}})
    second = Policy.from_dict({"name": "b", "switch": "1", "action": {"kind": "meter", "rate": "3M"}})
    add_policies(backend, state, [first], command="policy add")
    add_policies(backend, state, [second], command="policy add")
    assert sorted(sim.meters) == [f"{1:016x}/1", f"{1:016x}/2"]
    rollback(state, opener(BackendSpec("ryu", url)))
    assert sorted(sim.meters) == [f"{1:016x}/1"]
    assert sim.errors == []


def test_floodlight_bodies_field_by_field() -> None:
    queue = Policy.from_dict(
        {
            "name": "Enqueue 2:2 s1".replace(" ", "-").replace(":", "."),
            "switch": "00:00:00:00:00:00:00:01",
            "match": {"ip_proto": 6, "in_port": 1, "ipv4_src": "10.0.0.1"},
            "action": {"kind": "queue", "queue": 2, "port": 2},
        }
    )
    assert qos_policy(queue) == {
        "name": "Enqueue-2.2-s1",
        "sw": "00:00:00:00:00:00:00:01",
        "priority": "40000",
        "eth-type": "0x0800",
        "protocol": "6",
        "ingress-port": "1",
        "ip-src": "10.0.0.1",
        "queue": "2",
        "enqueue-port": "2",
    }
    mark = Policy.from_dict(
        {
            "name": "m",
            "switch": "2",
            "match": {"udp_dst": 5004, "vlan": 10},
            "action": {"kind": "dscp", "dscp": 46, "port": 3},
        }
    )
    assert flow_entry(mark) == {
        "switch": "00:00:00:00:00:00:00:02",
        "name": "m",
        "priority": "40000",
        "active": "true",
        "eth_type": "0x0800",
        "ip_proto": "17",
        "udp_dst": "5004",
        "eth_vlan_vid": "10",
        "actions": "set_field=ip_dscp->46,output=3",
    }


def test_floodlight_path_with_queues_services_and_meters_refused(
    fl_ctl: tuple[str, Sim], tmp_path: Path
) -> None:
    url, sim = fl_ctl
    backend = FloodlightBackend(url)
    state = tmp_path / "state.json"
    policies = plan_path(backend.topology(), PathRequest("10.0.0.1", "10.0.0.2", queue=2, protocol="tcp"))
    result = add_policies(backend, state, policies, command="path")
    assert [p["enqueue-port"] for p in sim.policies.values()] == ["2", "1"]
    assert all(r.ids["policy_id"] for r in result.added)
    with pytest.raises(UsageError, match="no REST API for OpenFlow meters"):
        add_policies(
            backend,
            state,
            plan_path(backend.topology(), PathRequest("10.0.0.1", "10.0.0.3", rate=1000, name="m")),
            command="path",
        )
    mark = Policy.from_dict({"name": "mark", "switch": "3", "action": {"kind": "dscp", "dscp": 46}})
    add_policies(backend, state, [mark], command="policy add")
    assert sim.flows["mark"]["actions"] == "set_field=ip_dscp->46,output=normal"
    rollback(state, opener(BackendSpec("floodlight", url)))
    rollback(state, opener(BackendSpec("floodlight", url)))
    assert sim.policies == {}
    assert sim.flows == {}
    assert sim.errors == []


def test_floodlight_rejection_mid_path(fl_ctl: tuple[str, Sim], tmp_path: Path) -> None:
    url, sim = fl_ctl
    backend = FloodlightBackend(url)
    sim.reject.add(f"{2:016x}")
    policies = plan_path(backend.topology(), PathRequest("10.0.0.1", "10.0.0.3", queue=1))
    with pytest.raises(FailedError, match="refused"):
        add_policies(backend, tmp_path / "s.json", policies, command="path")
    assert sim.policies == {}
    assert not (tmp_path / "s.json").exists()


def test_cli_against_floodlight_services_and_path(cli: Any, fl_ctl: tuple[str, Sim], data_dir: Path) -> None:
    url, sim = fl_ctl
    done = cli(
        "qos", "service", "add", "gold", "--dscp", "46", "--backend", "floodlight", "--controller", url
    )
    assert done.returncode == 0, done.stderr
    assert list(sim.services.values()) == [{"name": "gold", "tos": "46"}]
    pol = {"name": "g", "switch": "1", "service": "gold", "match": {"in_port": 1}}
    done = cli(
        "qos", "policy", "add", json.dumps(pol), "--backend", "floodlight", "--controller", url, "--json"
    )
    assert done.returncode == 0, done.stderr
    assert [p["service"] for p in sim.policies.values()] == ["gold"]
    assert cli("qos", "service", "remove", "gold").returncode == 4
    assert cli("qos", "policy", "remove", "g").returncode == 0
    assert cli("qos", "service", "remove", "gold").returncode == 0
    assert sim.services == {}
    assert sim.policies == {}
    done = cli(
        *path_args(
            "10.0.0.1",
            "10.0.0.3",
            "--queue",
            "1",
            "--backend",
            "floodlight",
            "--controller",
            url,
            "--dry-run",
            "--json",
        )
    )
    assert done.returncode == 0, done.stderr
    assert len(done.json()["data"]["planned"]) == 3
    assert sim.errors == []


def test_cli_against_ryu(cli: Any, ryu_ctl: tuple[str, Sim]) -> None:
    url, sim = ryu_ctl
    done = cli(
        *path_args(
            "10.0.0.1",
            "10.0.0.2",
            *TCP_5201_AT_2M,
            "--both-directions",
            "--backend",
            "ryu",
            "--controller",
            url,
            "--json",
        )
    )
    assert done.returncode == 0, done.stderr
    assert len(done.json()["data"]["added"]) == 4
    assert len(sim.rules) == 4
    assert cli("qos", "policy", "rollback").returncode == 0
    assert sim.rules == {}
    assert sim.errors == []


@pytest.mark.parametrize("backend", ["ryu", "floodlight"])
def test_controller_down_is_missing_and_records_nothing(cli: Any, data_dir: Path, backend: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pol = {"name": "p", "switch": "1", "action": {"kind": "queue", "queue": 1, "port": 2}}
    done = cli("qos", "policy", "add", json.dumps(pol), "--backend", backend, "--controller", url, "--json")
    assert done.returncode == 3, done.stderr
    assert "does not answer" in done.stderr
    assert "is the controller running" in done.stderr
    assert not (data_dir / "qos" / "state.json").exists()
    done = cli(
        "qos", "path", "--src", "h1", "--dst", "h2", "--queue", "1", "--backend", backend, "--controller", url
    )
    assert done.returncode == 3


def test_http_error_and_non_json_answers(ryu_ctl: tuple[str, Sim]) -> None:
    url, _ = ryu_ctl
    client = JsonClient(url, "Ryu")
    with pytest.raises(FailedError, match="answered 404"):
        client.call("GET", "/nowhere")
    assert client.call("GET", "/v1.0/topology/switches", raw=True).startswith("[")
    with pytest.raises(ControllerDownError):
        JsonClient(f"http://127.0.0.1:{free_port()}", "Ryu", timeout=2).call("GET", "/")
    with pytest.raises(UsageError):
        open_backend(BackendSpec("floodlight"))


def test_cli_ryu_queues_set_ovsdb_addr_first(cli: Any, ryu_ctl: tuple[str, Sim]) -> None:
    url, sim = ryu_ctl
    done = cli(
        "qos",
        "queues",
        "1",
        "lab-s1-h1-e",
        "lab-s1-s2",
        "--max-rate",
        "10G",
        "--queue",
        "2=2M",
        "--backend",
        "ryu",
        "--controller",
        url,
        "--ovsdb",
        "tcp:127.0.0.1:6640",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert sim.ovsdb == {f"{1:016x}": "tcp:127.0.0.1:6640"}
    body = sim.queues[f"{1:016x}/lab-s1-h1-e"]
    assert body == {
        "port_name": "lab-s1-h1-e",
        "type": "linux-htb",
        "max_rate": "10000000000",
        "queues": [{"max_rate": "10000000000"}, {"max_rate": "10000000000"}, {"max_rate": "2000000"}],
    }
    assert len(sim.queues) == 2
    assert sim.requests[0][0] == "PUT"
    done = cli("qos", "queues", "1", "x", "--clear", "--backend", "ryu", "--controller", url)
    assert done.returncode == 0, done.stderr
    assert sim.queues == {}
    assert sim.errors == []
    bad = cli("qos", "queues", "s1", "x", "--queue", "1=1M", "--backend", "ryu", "--controller", url)
    assert bad.returncode == 2
    assert "invalid SWITCH" in bad.stderr
    other = cli("qos", "queues", "1", "x", "--queue", "1=1M", "--backend", "faucet")
    assert other.returncode == 2
    assert cli("qos", "queues", "1", "x", "--queue", "1=1M", "--backend", "ryu").returncode == 2


def test_ryu_refusal_with_a_dict_command_result(ryu_ctl: tuple[str, Sim]) -> None:
    from stackrig.qos.backends.ryu import _result

    url, _ = ryu_ctl
    answer = RyuBackend(url).client.call("POST", f"/qos/queue/{5:016x}", {})
    with pytest.raises(FailedError, match="ovs_bridge is not exists"):
        _result(answer, "queues")
    with pytest.raises(FailedError, match="unexpected answer"):
        _result({"odd": 1}, "queues")


def test_check_and_sync_against_ryu(cli: Any, ryu_ctl: tuple[str, Sim]) -> None:
    url, sim = ryu_ctl
    backend = ("--backend", "ryu", "--controller", url)
    assert cli(*path_args("10.0.0.1", "10.0.0.3", *TCP_5201_AT_2M, "--name", "p", *backend)).returncode == 0
    vlan = {
        "name": "v",
        "switch": "2",
        "match": {"vlan": 10, "ipv4_dst": "10.0.0.9"},
        "action": {"kind": "dscp", "dscp": 8},
    }
    assert cli("qos", "policy", "add", json.dumps(vlan), *backend).returncode == 0
    done = cli("qos", "policy", "list", "--check", "--json")
    assert done.returncode == 0, done.stdout
    assert {p["status"] for p in done.json()["data"]["check"]["policies"]} == {"present"}
    assert [(b["backend"], b["present"]) for b in done.json()["data"]["check"]["backends"]] == [("ryu", 4)]

    # behind stackrig's back: one rule deleted, one rule's priority changed, one meter deleted
    keys = sorted(sim.rules, key=lambda k: int(k.split("/")[1]))
    del sim.rules[keys[0]]
    sim.rules[keys[1]] = {**sim.rules[keys[1]], "priority": "7"}
    del sim.meters[next(k for k in sim.meters if k.startswith(DPIDS[2]))]
    done = cli("qos", "policy", "list", "--check", "--json")
    assert done.returncode == 1
    seen = {p["name"]: (p["status"], p["detail"]) for p in done.json()["data"]["check"]["policies"]}
    assert seen["p-fwd-1"][0] == "missing"
    assert seen["p-fwd-2"] == ("changed", f"rule {keys[1].split('/')[1]} differs in priority")
    assert seen["p-fwd-3"][0] == "changed"
    assert "meter" in seen["p-fwd-3"][1]
    assert seen["v"][0] == "present"
    done = cli("qos", "policy", "sync", "--reinstall", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert cli("qos", "policy", "list", "--check").returncode == 0
    assert len(sim.rules) == 4
    assert sim.errors == []


def test_check_and_forget_against_floodlight(cli: Any, fl_ctl: tuple[str, Sim]) -> None:
    url, sim = fl_ctl
    backend = ("--backend", "floodlight", "--controller", url)
    assert cli(*path_args("10.0.0.1", "10.0.0.2", "--queue", "1", "--name", "p", *backend)).returncode == 0
    mark = {"name": "mark", "switch": "3", "match": {"in_port": 1}, "action": {"kind": "dscp", "dscp": 46}}
    assert cli("qos", "policy", "add", json.dumps(mark), *backend).returncode == 0
    assert set(sim.flows) == {"mark"}
    assert cli("qos", "policy", "list", "--check", "--quiet").stdout.startswith(
        "qos state in sync: 3 present"
    )

    first = next(iter(sim.policies))
    sim.policies[first] = {**sim.policies[first], "queue": "2"}
    sim.flows.clear()
    done = cli("qos", "policy", "list", "--check", "--json")
    assert done.returncode == 1
    seen = {p["name"]: p["status"] for p in done.json()["data"]["check"]["policies"]}
    assert seen == {"p-fwd-1": "changed", "p-fwd-2": "present", "mark": "missing"}
    done = cli("qos", "policy", "sync", "--forget", "--yes")
    assert done.returncode == 0, done.stdout  # the changed one is not --forget's business
    assert "OUT OF SYNC: 1 present, 1 changed" in done.stdout
    assert [
        r["policy"]["name"] for r in cli("qos", "policy", "list", "--json").json()["data"]["installed"]
    ] == ["p-fwd-1", "p-fwd-2"]
    assert sim.errors == []


def test_check_with_a_controller_down_is_partial(cli: Any, ryu_ctl: tuple[str, Sim], data_dir: Path) -> None:
    url, _sim = ryu_ctl
    pol = {"name": "p", "switch": "1", "action": {"kind": "queue", "queue": 1, "port": 2}}
    assert (
        cli("qos", "policy", "add", json.dumps(pol), "--backend", "ryu", "--controller", url).returncode == 0
    )
    state = data_dir / "qos" / "state.json"
    doc = json.loads(state.read_text())
    doc["installed"][0]["target"] = f"http://127.0.0.1:{free_port()}"  # the controller moved away
    state.write_text(json.dumps(doc))
    done = cli("qos", "policy", "list", "--check", "--json")
    assert done.returncode == 1
    envelope = done.json()
    assert envelope["partial"] is True
    assert envelope["data"]["check"]["policies"][0]["status"] == "unknown"
    text = cli("qos", "policy", "list", "--check")
    assert "could not read ryu http://127.0.0.1:" in text.stderr
    assert "does not answer" in text.stderr
    allowed = cli("qos", "policy", "list", "--check", "--allow-partial", "--json")
    assert allowed.returncode == 0
    assert allowed.json()["partial"] is True
    assert cli("qos", "policy", "sync", "--forget").returncode == 1  # nothing it can plan, but partial
    assert cli("qos", "policy", "sync", "--forget", "--allow-partial").returncode == 0
    assert json.loads(state.read_text()) == doc
