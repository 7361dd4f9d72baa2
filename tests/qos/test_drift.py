"""The state against the network, through the in-memory backend: check, sync, forget, a stale
name added again, a lab's policies dropped when it goes down and the rollback of that."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from stackrig.errors import ConflictError, FailedError, StackrigError, UsageError
from stackrig.qos.backends import FakeBackend, Observation, Orphan
from stackrig.qos.drift import SyncRequest, check, sync
from stackrig.qos.lab import LabSpec, lab_names
from stackrig.qos.manage import PathRequest, add_policies, forget_lab, list_state, plan_path, rollback
from stackrig.qos.model import Action
from stackrig.qos.state import Installed
from stackrig.qos.topology import Topology


def linear(n: int) -> Topology:
    return lab_names(LabSpec("lab", "linear", n)).topology()


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "qos" / "state.json"


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend(linear(3))


def _path(fake: FakeBackend, state_path: Path, src: str = "h1", dst: str = "h3") -> list[Installed]:
    policies = plan_path(fake.topology(), PathRequest(src, dst, rate=2_000_000))
    return list(add_policies(fake, state_path, policies, command="path").added)


def _drop(fake: FakeBackend, record: Installed) -> None:
    fake.flows[record.policy.switch].pop(record.ids["rule"])


def test_check_present_missing_changed(fake: FakeBackend, state_path: Path) -> None:
    records = _path(fake, state_path)
    result = check(state_path, lambda kind, target: fake)
    assert result.in_sync
    assert [p.status for p in result.policies] == ["present"] * 3
    assert result.summary == f"qos state in sync: 3 present ({state_path})"

    _drop(fake, records[1])
    table = fake.flows[records[2].policy.switch]
    table[records[2].ids["rule"]] = replace(records[2].policy, action=Action.meter("9M", 2))
    result = check(state_path, lambda kind, target: fake)
    assert not result.in_sync
    assert [p.status for p in result.policies] == ["present", "missing", "changed"]
    assert result.summary == f"qos state OUT OF SYNC: 1 present, 1 missing, 1 changed ({state_path})"
    assert result.backends[0].missing == 1


def test_a_backend_that_cannot_be_read_makes_the_check_partial(fake: FakeBackend, state_path: Path) -> None:
    _path(fake, state_path)

    def down(kind: str, target: str) -> FakeBackend:
        raise FailedError("the controller does not answer")

    result = check(state_path, down)
    assert result.partial
    assert not result.in_sync
    assert {p.status for p in result.policies} == {"unknown"}
    assert result.backends[0].error == "the controller does not answer"
    assert "could not read fake memory" in result.summary


def test_sync_is_a_dry_run_until_yes(fake: FakeBackend, state_path: Path) -> None:
    records = _path(fake, state_path)
    _drop(fake, records[0])
    before = state_path.read_bytes()
    plan = sync(state_path, lambda kind, target: fake, SyncRequest(reinstall=True))
    assert plan.dry_run
    assert not plan.settled
    assert [(a.action, a.name) for a in plan.actions] == [("reinstall", records[0].policy.name)]
    assert state_path.read_bytes() == before
    assert records[0].ids["rule"] not in fake.flows[records[0].policy.switch]

    done = sync(state_path, lambda kind, target: fake, SyncRequest(reinstall=True, apply=True))
    assert done.settled
    assert done.after is not None
    assert done.after.in_sync
    again = list_state(state_path).installed
    assert [r.key for r in again] == [r.key for r in records]  # same keys: the journal still names them
    assert again[0].ids != records[0].ids


def test_forget_is_journaled_and_rollback_reinstalls(fake: FakeBackend, state_path: Path) -> None:
    records = _path(fake, state_path)
    for record in records[:2]:
        _drop(fake, record)
    done = sync(state_path, lambda kind, target: fake, SyncRequest(forget=True, apply=True))
    assert [a.action for a in done.actions] == ["forget", "forget"]
    assert [r.key for r in list_state(state_path).installed] == [records[2].key]
    assert list_state(state_path).journal[-1].command == "policy sync --forget"
    back = rollback(state_path, lambda kind, target: fake)
    assert len(back.added) == 2
    assert check(state_path, lambda kind, target: fake).in_sync


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "say which way to sync"), ({"reinstall": True, "forget": True}, "pull opposite ways")],
)
def test_sync_needs_one_direction(kwargs: dict[str, bool], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        SyncRequest(**kwargs)


def test_orphans_are_removed_through_local_ovs(fake: FakeBackend, state_path: Path) -> None:
    """The orphan scan asks the ("ovs", "local") backend even when no record names it."""
    _path(fake, state_path)
    stray = Orphan(
        "ovs", "lab-s3", "0x57000000000000ab", "cookie=0x57000000000000ab, priority=100 actions=drop"
    )
    removed: list[Orphan] = []

    class Ovs(FakeBackend):
        def observe(self, installed: object, *, orphans: bool = False) -> Observation:
            return Observation({}, (stray,) if orphans and not removed else ())

        def delete_orphans(self, orphans: object) -> None:
            removed.extend(orphans)  # type: ignore[call-overload]

    ovs = Ovs(linear(3))

    def opener(kind: str, target: str) -> FakeBackend:
        return ovs if kind == "ovs" else fake

    assert check(state_path, opener).orphans == ()  # no OVS records, no lab: not scanned
    result = check(state_path, opener, scan_ovs=True)
    assert result.orphans == (stray,)
    assert not result.in_sync
    done = sync(state_path, opener, SyncRequest(remove_orphans=True, apply=True), scan_ovs=True)
    assert removed == [stray]
    assert done.settled


def test_adding_a_name_whose_flows_are_gone_reinstalls_it_with_a_note(
    fake: FakeBackend, state_path: Path
) -> None:
    records = _path(fake, state_path)
    policies = [r.policy for r in records]
    opener = lambda kind, target: fake  # noqa: E731
    with pytest.raises(ConflictError, match="already installed"):
        add_policies(fake, state_path, policies, command="path", opener=opener)
    for record in records:
        _drop(fake, record)
    with pytest.raises(ConflictError):  # without an opener there is no way to know: still a conflict
        add_policies(fake, state_path, policies, command="path")
    result = add_policies(fake, state_path, policies, command="path", opener=opener)
    assert len(result.added) == 3
    assert len(result.notes) == 3
    assert "was recorded but its flows were gone" in result.notes[0]
    assert len(list_state(state_path).installed) == 3
    assert check(state_path, opener).in_sync
    # rollback undoes the re-add: the new flows go, the stale records come back
    rollback(state_path, opener)
    assert {r.key for r in list_state(state_path).installed} == {r.key for r in records}
    # one of several still there: a conflict naming it, nothing changed
    _path(fake, state_path, "h2", "h3")
    before = state_path.read_bytes()
    mixed = [r.policy for r in list_state(state_path).installed if r.policy.group == "path-h2-h3"]
    _drop(fake, list_state(state_path).installed[-1])
    with pytest.raises(ConflictError, match=f"{mixed[0].name!r} is already installed"):
        add_policies(fake, state_path, mixed, command="path", opener=opener)
    assert state_path.read_bytes() == before


def test_lab_down_forgets_its_policies_and_rollback_waits_for_the_switches(
    fake: FakeBackend, state_path: Path
) -> None:
    records = _path(fake, state_path)
    ovs_records = [
        replace(r, backend="ovs", target="local", ids={**r.ids, "bridge": "lab-s1"}) for r in records
    ]
    doc = json.loads(state_path.read_text())
    doc["installed"] = [r.to_dict() for r in ovs_records[:2]] + [records[2].to_dict()]
    state_path.write_text(json.dumps(doc))
    gone = forget_lab(state_path, "lab", ["lab-s1", "lab-s2"], None)
    assert [r.key for r in gone] == [r.key for r in ovs_records[:2]]
    assert [r.key for r in list_state(state_path).installed] == [records[2].key]
    assert forget_lab(state_path.with_name("none.json"), "lab", ["lab-s1"], None) == ()

    before = state_path.read_bytes()
    no_lab = FakeBackend(replace(fake.topo, bridges={}))  # OVS runs, the lab's bridges are gone
    with pytest.raises(UsageError, match=r"its switches are gone \(lab-s1\)") as info:
        rollback(state_path, lambda kind, target: no_lab)
    assert "stackrig qos lab up --name lab" in (info.value.hint or "")
    assert state_path.read_bytes() == before

    def ovs_down(kind: str, target: str) -> FakeBackend:
        raise StackrigError("ovs-vsctl: database connection failed")

    with pytest.raises(UsageError, match="its switches are gone"):
        rollback(state_path, ovs_down)
    back = rollback(state_path, lambda kind, target: fake)  # the lab is up again
    assert len(back.added) == 2
