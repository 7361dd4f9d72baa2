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
from stackrig.qos.verify import Measurement, SwitchReport, VerifyResult

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
        # measured only (no policy): the switches have no flow to count, so only the JSON lists them
        "measured": VerifyResult(
            fwd,
            None,
            None,
            1_000_000,
            True,
            (),
            switches=tuple(SwitchReport(f"lab-s{i}", f"{i:016x}", (), 0, 0, (), 0, 0, 0, 0) for i in (1, 2)),
        ),
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


# ------------------------------------------------------------ issue 20: check, sync, verify, queues --check


def check_result():  # type: ignore[no-untyped-def]
    from stackrig.qos.backends import Orphan
    from stackrig.qos.drift import BackendCheck, CheckResult, PolicyCheck

    records = installed()
    statuses = [
        ("present", ""),
        ("missing", "no flow with cookie 0x1 on lab-s1"),
        ("changed", "meter 2 is gone"),
    ]
    statuses.append(("unknown", "its backend could not be read"))
    checks = tuple(
        PolicyCheck(r.policy.name, r.policy.group, r.policy.switch, r.backend, r.target, st, detail)
        for r, (st, detail) in zip(records, statuses, strict=True)
    )
    orphan = Orphan(
        "ovs",
        "lab-s1",
        "0x5700000000000abc",
        "cookie=0x5700000000000abc, duration=1.2s, table=0, n_packets=0, n_bytes=0, "
        "priority=100,ip actions=drop",
    )
    backends = (
        BackendCheck("ovs", "local", 1, 1, 0, 1),
        BackendCheck("ryu", "local", error="Ryu at http://127.0.0.1:1 does not answer"),
    )
    return CheckResult(str(STATE), checks, (orphan,), backends)


def verify_policy_result() -> VerifyResult:
    from stackrig.qos.verify import DscpReport, QueueReport, RunReport, SwitchReport, Tolerance

    fwd = Measurement("h1", "h2", 5201, 1_900_000.0, 12)
    switches = (
        SwitchReport(
            "lab-s1", "0000000000000001", ("p-fwd-1",), 6888, 977_232, (1,), 6888, 977_232, 1856, 263_552
        ),
        SwitchReport(
            "lab-s2",
            "0000000000000002",
            ("p-fwd-2",),
            5032,
            713_680,
            (),
            0,
            0,
            0,
            0,
            (QueueReport("1", 1, 0, 0, 5000),),
        ),
        SwitchReport("lab-s3", "0000000000000003", (), 0, 0, (), 0, 0, 0, 0),
    )
    runs = (
        RunReport("tcp", 512, 512, 2.0e6, 1.9e6, 712_000, 700_000, None, 12, 977_232, 1856, None, 3e6, True),
        RunReport("udp", 64, None, 4.0e6, 1.2e6, 1_000_000, 300_000, 70.0, None, 90, 0, 1.5e6, 2.5e6, False),
    )
    return VerifyResult(
        fwd,
        None,
        None,
        None,
        False,
        ("udp 64 B: 1.2 Mbit/s for a 2 Mbit/s meter (expected 1.5 Mbit/s-2.5 Mbit/s)",),
        "p",
        ("p-fwd-1", "p-fwd-2"),
        "meter",
        2_000_000,
        "h1",
        "h2",
        5201,
        Tolerance(),
        switches,
        runs,
        DscpReport(46, 100, 99, {"46": 99, "0": 1}, True),
    )


def queues_check():  # type: ignore[no-untyped-def]
    from stackrig.qos.queues import PortCheck, QueueCheck, QueuesCheck

    return QueuesCheck(
        "lab-s1",
        (
            PortCheck(
                "lab-h1-e",
                "linux-htb",
                10**10,
                10**10,
                (
                    QueueCheck(0, 10**10, None, 10**10, True),
                    QueueCheck(
                        1, 20_000_000, 2_000_000, 20_000_000, False, "the record differs from --queue"
                    ),
                ),
                False,
            ),
            PortCheck(
                "lab-s1-s2",
                "linux-htb",
                10**10,
                None,
                (QueueCheck(1, 20_000_000, None, None, False),),
                False,
                "no such network device (a patch port?): the kernel cannot shape it",
            ),
            PortCheck("lab-h2-e", None, None, None, (), False, "no QoS record on this port"),
        ),
        False,
    )
