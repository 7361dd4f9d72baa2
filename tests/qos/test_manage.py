"""Topology/path, the state file and add/remove/rollback through the in-memory backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackrig.errors import ConflictError, FailedError, UsageError
from stackrig.qos.backends import FakeBackend, push_per_switch
from stackrig.qos.backends.fake import FakeBackend as _Fake
from stackrig.qos.lab import LabSpec, lab_names
from stackrig.qos.manage import (
    PathRequest,
    add_policies,
    add_service,
    list_state,
    plan_path,
    remove_policies,
    remove_service,
    rollback,
)
from stackrig.qos.model import Policy, Service
from stackrig.qos.state import PolicyState, StateFileError
from stackrig.qos.topology import HostInfo, Link, Topology, find_path


def linear(n: int) -> Topology:
    """Mininet's linear,N numbering, as the lab builds it."""
    return lab_names(LabSpec("lab", "linear", n)).topology()


def test_lab_topology_matches_mininet_numbering() -> None:
    topo = linear(4)
    assert topo.switches == tuple(f"{i:016x}" for i in range(1, 5))
    assert Link(f"{1:016x}", 2, f"{2:016x}", 2) in topo.links
    assert Link(f"{2:016x}", 3, f"{3:016x}", 2) in topo.links
    assert topo.host("h3").port == 1
    assert topo.host("10.0.0.4").switch == f"{4:016x}"


def test_path_hops_with_ports() -> None:
    hops = find_path(linear(4), "h1", "10.0.0.4")
    assert [(int(h.switch, 16), h.in_port, h.out_port) for h in hops] == [
        (1, 1, 2),
        (2, 2, 3),
        (3, 2, 3),
        (4, 2, 1),
    ]
    back = find_path(linear(4), "h2", "h1")
    assert [(int(h.switch, 16), h.in_port, h.out_port) for h in back] == [(2, 1, 2), (1, 2, 1)]


def test_single_switch_path() -> None:
    topo = lab_names(LabSpec("lab", "single", 3)).topology()
    assert [(h.in_port, h.out_port) for h in find_path(topo, "h1", "h3")] == [(1, 3)]


def test_path_errors() -> None:
    topo = Topology(
        ("0000000000000001", "0000000000000002"),
        (),
        (HostInfo("a", "10.0.0.1", "0000000000000001", 1), HostInfo("b", "10.0.0.2", "0000000000000002", 1)),
    )
    with pytest.raises(UsageError, match="no path"):
        find_path(topo, "a", "b")
    with pytest.raises(UsageError, match="not in the topology"):
        find_path(topo, "a", "zz")
    with pytest.raises(UsageError, match="same host"):
        find_path(topo, "a", "10.0.0.1")


def test_plan_path_both_directions() -> None:
    req = PathRequest("h1", "h2", rate=2_000_000, protocol="tcp", dst_port=5201, both_directions=True)
    policies = plan_path(linear(4), req)
    assert [p.name for p in policies] == [
        "path-h1-h2-fwd-1",
        "path-h1-h2-fwd-2",
        "path-h1-h2-rev-2",
        "path-h1-h2-rev-1",
    ]
    fwd, rev = policies[0], policies[2]
    assert fwd.match.tcp_dst == 5201
    assert fwd.match.in_port == 1
    assert fwd.action.port == 2
    assert rev.match.tcp_src == 5201
    assert rev.match.ipv4_src == "10.0.0.2"
    assert {p.group for p in policies} == {"path-h1-h2"}


def test_plan_path_queue() -> None:
    policies = plan_path(linear(3), PathRequest("h1", "h3", queue=2, name="slow"))
    assert [(p.action.kind, p.action.queue, p.action.port) for p in policies] == [
        ("queue", 2, 2),
        ("queue", 2, 3),
        ("queue", 2, 1),
    ]
    assert policies[0].name == "slow-fwd-1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of --rate and --queue"),
        ({"rate": 1, "queue": 1}, "exactly one of --rate and --queue"),
        ({"rate": 1, "protocol": "sctp"}, "invalid --protocol"),
        ({"rate": 1, "dst_port": 80}, "--dst-port needs --protocol"),
        ({"rate": 1, "protocol": "tcp", "dst_port": 70000}, "invalid --dst-port"),
        ({"rate": 1, "name": "a b"}, "invalid --name"),
    ],
)
def test_path_request_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        PathRequest("h1", "h2", **kwargs)  # type: ignore[arg-type]


def test_path_through_a_chain_of_2000_switches_visits_every_one() -> None:
    n = 2000
    topo = Topology(
        tuple(f"{i:016x}" for i in range(1, n + 1)),
        tuple(Link(f"{i:016x}", 2, f"{i + 1:016x}", 3) for i in range(1, n)),
        (HostInfo("a", "10.0.0.1", f"{1:016x}", 1), HostInfo("b", "10.0.0.2", f"{n:016x}", 1)),
    )
    hops = find_path(topo, "a", "b")  # its speed is measured in benchmarks/qos_path.py
    assert len(hops) == n
    assert [h.switch for h in hops] == list(topo.switches)
    assert hops[0] == (f"{1:016x}", 1, 2)  # in from host a, out along the chain
    assert all((h.in_port, h.out_port) == (3, 2) for h in hops[1:-1])
    assert hops[-1] == (f"{n:016x}", 3, 1)  # out to host b


# ------------------------------------------------------------------ state + fake backend


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "qos" / "state.json"


def test_add_remove_rollback(state_path: Path) -> None:
    fake = FakeBackend(linear(4))
    policies = plan_path(fake.topology(), PathRequest("h1", "h3", rate=2_000_000))
    result = add_policies(fake, state_path, policies, command="path")
    assert len(result.added) == 3
    assert sum(len(t) for t in fake.flows.values()) == 3
    doc = json.loads(state_path.read_text())
    assert doc["version"] == 1
    assert len(doc["installed"]) == 3
    assert doc["installed"][0]["ids"]["rule"]

    with pytest.raises(ConflictError, match="already installed"):
        add_policies(fake, state_path, policies[:1], command="policy add")

    removed = remove_policies(state_path, ["path-h1-h3"], lambda kind, target: fake, command="policy remove")
    assert len(removed.removed) == 3
    assert sum(len(t) for t in fake.flows.values()) == 0
    assert list_state(state_path).installed == []

    # rollback of the remove puts the same records (same keys) back, then rollback of the path removes them
    back = rollback(state_path, lambda kind, target: fake)
    assert len(back.added) == 3
    assert {r.key for r in back.added} == {r.key for r in result.added}
    assert sum(len(t) for t in fake.flows.values()) == 3
    again = rollback(state_path, lambda kind, target: fake)
    assert len(again.removed) == 3
    assert sum(len(t) for t in fake.flows.values()) == 0
    with pytest.raises(UsageError, match="nothing to roll back"):
        rollback(state_path, lambda kind, target: fake)


def test_push_failing_mid_path_leaves_flows_and_state_as_before(state_path: Path) -> None:
    fake = FakeBackend(linear(4))
    first = plan_path(fake.topology(), PathRequest("h3", "h4", rate=1_000_000))
    add_policies(fake, state_path, first, command="path")
    before_state = state_path.read_bytes()
    before_flows = {k: dict(v) for k, v in fake.flows.items()}
    fake.reject.add(f"{3:016x}")
    policies = plan_path(fake.topology(), PathRequest("h1", "h4", rate=2_000_000))
    with pytest.raises(FailedError, match="rejected"):
        add_policies(fake, state_path, policies, command="path")
    assert {k: v for k, v in fake.flows.items() if v} == before_flows
    assert state_path.read_bytes() == before_state
    assert any(c.startswith("delete") for c in fake.calls)


def test_push_per_switch_reports_a_failing_undo() -> None:
    def push_one(switch: str, pols: list[Policy]) -> list[object]:
        if switch == "b":
            raise FailedError("switch b refused")
        return ["done"]

    def delete(done: object) -> None:
        raise FailedError("undo refused too")

    pol = Policy.from_dict({"name": "x", "switch": "1", "action": {"kind": "dscp", "dscp": 1}})
    with pytest.raises(FailedError) as info:
        push_per_switch(
            [pol, Policy(pol.name, "b", pol.match, pol.action)],
            push_one,  # type: ignore[arg-type]
            delete,  # type: ignore[arg-type]
        )
    assert "undo refused too" in info.value.message


def test_add_validation(state_path: Path) -> None:
    fake = FakeBackend(linear(2))
    with pytest.raises(UsageError, match="no policies"):
        add_policies(fake, state_path, [], command="x")
    pol = plan_path(fake.topology(), PathRequest("h1", "h2", rate=1000))
    with pytest.raises(UsageError, match="given twice"):
        add_policies(fake, state_path, [pol[0], pol[0]], command="x")
    with pytest.raises(UsageError, match="no installed policy"):
        remove_policies(state_path, ["ghost"], lambda k, t: fake, command="x")
    with pytest.raises(UsageError, match="at least one"):
        remove_policies(state_path, [], lambda k, t: fake, command="x")
    unknown = Policy(pol[0].name, f"{9:016x}", pol[0].match, pol[0].action)
    with pytest.raises(FailedError, match="not connected"):
        add_policies(fake, state_path, [unknown], command="x")
    assert not state_path.exists()


def test_services(state_path: Path) -> None:
    fake = FakeBackend(linear(2))
    gold = add_service(fake, state_path, Service.from_dict({"name": "gold", "queue": 1, "dscp": 46}))
    assert gold.ids["backend"] == "fake"
    with pytest.raises(ConflictError):
        add_service(fake, state_path, Service.from_dict({"name": "gold", "dscp": 1}))
    services = list_state(state_path).services
    pol = Policy.from_dict(
        {"name": "g1", "switch": "1", "service": "gold", "action": {"port": 2}, "match": {"in_port": 1}},
        services,
    )
    add_policies(fake, state_path, [pol], command="policy add")
    assert list_state(state_path).installed[0].policy.service == "gold"
    with pytest.raises(ConflictError, match="used by policy"):
        remove_service(state_path, "gold", lambda k, t: fake)
    remove_policies(state_path, ["g1"], lambda k, t: fake, command="policy remove")
    remove_service(state_path, "gold", lambda k, t: fake)
    assert "gold" not in fake.services
    with pytest.raises(UsageError, match="no service"):
        remove_service(state_path, "gold", lambda k, t: fake)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "no version"),
        ('{"version": 99}', "version 99"),
        ('{"version": 1, "installed": [{"key": "k"}]}', "damaged"),
    ],
)
def test_bad_state_file_is_a_usage_error_and_kept(state_path: Path, content: str, message: str) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text(content)
    with pytest.raises(StateFileError, match=message):
        PolicyState.load(state_path)
    fake = _Fake(linear(2))
    with pytest.raises(StateFileError):
        add_policies(fake, state_path, plan_path(fake.topo, PathRequest("h1", "h2", rate=1000)), command="x")
    assert state_path.read_text() == content
    assert fake.flows == {}
