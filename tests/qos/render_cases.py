"""Result objects of every qos command, built by hand, whose rendered output is pinned in
``golden/render.json`` (recorded from the implementation before rendering moved to the CLI)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stackrig.qos.lab import LabSpec, LabStatus, lab_names
from stackrig.qos.manage import ChangeResult
from stackrig.qos.model import Action, Match, Policy, Service
from stackrig.qos.queues import PortQueues, QueuesResult
from stackrig.qos.state import Installed, JournalEntry, PolicyState
from stackrig.qos.verify import Measurement, VerifyResult

STATE = Path("/data/qos/state.json")


def lab_state(controller: str = "none"):  # type: ignore[no-untyped-def]
    state = lab_names(LabSpec("lab", "linear", 3, controller))
    state.path = Path("/data/qos/labs/lab.json")
    state.complete = True
    if controller == "faucet":
        state.faucet_config = "/data/qos/labs/lab/faucet.yaml"
        state.faucet_metrics = "http://127.0.0.1:40001/"
        state.faucet_port = 40000
        state.controller_pid = 4242
        state.controller_cmd = "faucet"
    return state


def status(healthy: bool, alive: bool | None) -> LabStatus:
    return LabStatus(
        "lab",
        "linear,2",
        "faucet" if alive is not None else "none",
        True,
        healthy,
        {"lab-s1": True, "lab-s2": healthy},
        {"h1": True, "h2": healthy},
        alive,
        "/data/qos/labs/lab.json",
    )


def policies() -> list[Policy]:
    return [
        Policy(
            "path-h1-h2-fwd-1",
            "0000000000000001",
            Match.from_dict(
                {"in_port": 1, "ipv4_src": "10.0.0.1", "ipv4_dst": "10.0.0.2", "ip_proto": 6, "tcp_dst": 5201}
            ),
            Action.meter("2M", 2),
            group="path-h1-h2",
        ),
        Policy("mark", "00000000000000ff", Match.from_dict({"in_port": 1}), Action.set_dscp(46)),
        Policy("q", "0000000000000002", Match(), Action.enqueue(1, 3), priority=100, service="gold"),
        Policy(
            "v",
            "0000000000000003",
            Match.from_dict({"eth_type": 0x86DD, "vlan": 10}),
            Action.meter(1500),
        ),
    ]


def installed() -> list[Installed]:
    return [
        Installed(f"k{i}", p, "ovs" if i % 2 else "ryu", "local", {"cookie": f"{i:#x}"})
        for i, p in enumerate(policies())
    ]


def listing_state() -> PolicyState:
    records = installed()
    journal = [
        JournalEntry(1, "path", "2026-11-01T10:00:00+00:00", tuple(r.key for r in records), ()),
        JournalEntry(2, "policy remove", "2026-11-01T10:05:00+00:00", (), (records[0],)),
    ]
    return PolicyState(STATE, records, {}, journal, 3)


def services() -> list[Service]:
    return [
        Service("gold", queue=1, dscp=46, ids={"backend": "floodlight", "sid": "1"}),
        Service("bronze", rate=2_000_000),
        Service("silver", dscp=10),
    ]


def verify_results() -> dict[str, VerifyResult]:
    fwd = Measurement("h1", "h2", 5201, 2_123_456.7, 3)
    rev = Measurement("h2", "h1", 5202, 987_654_321.0, None)
    return {
        "ok": VerifyResult(fwd, rev, 3_500_000, None, True, ()),
        "fail": VerifyResult(
            fwd,
            None,
            1_000_000,
            50_000_000,
            False,
            (
                "h1→h2 measured 2.12 Mbit/s, above --expect-max 1 Mbit/s",
                "h1→h2 measured 2.12 Mbit/s, below --expect-min 50 Mbit/s",
            ),
        ),
    }


def queue_results() -> dict[str, QueuesResult]:
    return {
        "set": QueuesResult(
            "lab-s1",
            False,
            (
                PortQueues("lab-h1-e", "new", {0: 10**10, 1: 20_000_000, 2: 2_000_000}),
                PortQueues("lab-s1-s2", "new", {0: 10**10, 7: 1_500}),
            ),
        ),
        "clear": QueuesResult("lab-s1", True, (PortQueues("lab-h1-e", None, {}),)),
    }


def change_results() -> dict[str, ChangeResult]:
    records = installed()
    return {
        "add": ChangeResult("policy add", added=tuple(records), state_file=str(STATE)),
        "add-none": ChangeResult("policy add", state_file=str(STATE)),
        "remove": ChangeResult("policy remove", removed=tuple(records[:2]), state_file=str(STATE)),
        "rollback": ChangeResult(
            "rollback of path", added=tuple(records[:1]), removed=tuple(records[1:]), state_file=str(STATE)
        ),
        "path-dry": ChangeResult("path", dry_run=True, planned=tuple(policies())),
        "path": ChangeResult("path", added=tuple(records), state_file=str(STATE)),
    }


def gold_removed() -> Service:
    return replace(services()[0], ids={"backend": "fake", "target": "memory", "service": "gold"})
