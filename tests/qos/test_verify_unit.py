"""qos verify's parts that need no lab: options, the choice of policy, judging a test, iperf3's
JSON, the DSCP capture's parser."""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

import pytest

from stackrig.errors import UsageError
from stackrig.qos import _iperf
from stackrig.qos._capture import count_marks
from stackrig.qos._verify_run import _judge, _protocols, select_policy
from stackrig.qos.evidence import SwitchDelta
from stackrig.qos.lab import LabSpec, lab_names
from stackrig.qos.manage import PathRequest, plan_path
from stackrig.qos.model import Action, Match, Policy
from stackrig.qos.state import Installed
from stackrig.qos.verify import Tolerance, VerifyRequest, parse_sizes, parse_tolerance

LAB = lab_names(LabSpec("lab", "linear", 3))


@pytest.mark.parametrize(
    ("text", "tolerance"),
    [
        (None, Tolerance(0.5, 0.25)),
        ("30%", Tolerance(0.3, 0.3)),
        ("0.3", Tolerance(0.3, 0.3)),
        ("tcp=60%", Tolerance(0.6, 0.25)),
        ("udp=0.1, tcp=100%", Tolerance(1.0, 0.1)),
    ],
)
def test_parse_tolerance(text: str | None, tolerance: Tolerance) -> None:
    assert parse_tolerance(text) == tolerance


@pytest.mark.parametrize("text", ["lots", "0", "-1%", "tcp=x", "ip=10%", "2000%"])
def test_parse_tolerance_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="invalid --tolerance"):
        parse_tolerance(text)


def test_parse_sizes() -> None:
    assert parse_sizes("64,512,1400") == (64, 512, 1400)
    assert parse_sizes("512,512") == (512,)
    assert parse_sizes(None) == ()
    for bad in ("64,,1", "8", "big", "70000"):
        with pytest.raises(UsageError, match="invalid --sizes"):
            parse_sizes(bad)


def test_request_validation() -> None:
    with pytest.raises(UsageError, match="invalid --port"):
        VerifyRequest("h1", "h2", port=0)
    for seconds in (0.5, 1.5, 601):  # iperf3 truncates -t: 0.5 would run forever
        with pytest.raises(UsageError, match=r"invalid --duration .*whole seconds"):
            VerifyRequest("h1", "h2", seconds=seconds)
    with pytest.raises(UsageError, match="invalid --protocol"):
        VerifyRequest("h1", "h2", protocol="sctp")


def _records(*groups: tuple[str, str, str]) -> list[Installed]:
    topo = LAB.topology()
    return [
        Installed(p.name, p, "ovs", "local", {"bridge": "lab-s1", "cookie": "0x1"})
        for src, dst, name in groups
        for p in plan_path(topo, PathRequest(src, dst, rate=2_000_000, name=name))
    ]


def test_select_policy() -> None:
    records = _records(("h1", "h2", "path-h1-h2"), ("h1", "h3", "other"), ("h1", "h2", "more"))
    assert select_policy(LAB, VerifyRequest("h1", "h2"), records)[0] == "path-h1-h2"  # the path's own name
    assert select_policy(LAB, VerifyRequest("h1", "h3"), records)[0] == "other"  # the only group
    name, chosen = select_policy(LAB, VerifyRequest("h1", "h2", policy="more-fwd-1"), records)
    assert (name, [r.policy.name for r in chosen]) == ("more-fwd-1", ["more-fwd-1"])
    with pytest.raises(UsageError, match="no recorded policy or group named 'x'"):
        select_policy(LAB, VerifyRequest("h1", "h2", policy="x"), records)
    with pytest.raises(UsageError, match=r"several groups cover h1 → h2 \(a, b\)"):
        select_policy(LAB, VerifyRequest("h1", "h2"), _records(("h1", "h2", "a"), ("h1", "h2", "b")))
    with pytest.raises(UsageError, match="no policy is recorded for h2 → h3") as info:
        select_policy(LAB, VerifyRequest("h2", "h3"), records)
    assert "--expect-min" in (info.value.hint or "")
    assert select_policy(LAB, VerifyRequest("h2", "h3", expect_min=1), records) == (None, [])


def test_protocols_follow_the_policy() -> None:
    tcp = [
        Installed("k", Policy("p", "1", Match.from_dict({"tcp_dst": 80}), Action.meter(1000)), "ovs", "local")
    ]
    anything = [Installed("k", Policy("p", "1", Match(), Action.meter(1000)), "ovs", "local")]
    assert _protocols(VerifyRequest("a", "b", sizes=(64,)), tcp) == ["tcp"]
    assert _protocols(VerifyRequest("a", "b"), anything) == ["tcp"]
    assert _protocols(VerifyRequest("a", "b", sizes=(64,)), anything) == ["tcp", "udp"]
    assert _protocols(VerifyRequest("a", "b", protocol="both"), tcp) == ["tcp", "udp"]
    assert _protocols(VerifyRequest("a", "b", protocol="udp"), tcp) == ["udp"]


def _run(protocol: str, received: float, sent_bytes: int = 1_000_000) -> _iperf.Run:
    return _iperf.Run(
        protocol, 512, None, "h1", "h2", 5201, 4e6, received, sent_bytes, sent_bytes // 2, 50.0, None
    )


def _step(matched: int) -> SwitchDelta:
    return SwitchDelta("lab-s1", ("p",), 100, matched, (1,), 100, 10_000, 40, 4000, ())


@pytest.mark.parametrize(
    ("protocol", "received", "ok"),
    [
        ("udp", 2.0e6, True),
        ("udp", 2.49e6, True),
        ("udp", 2.6e6, False),
        ("udp", 1.4e6, False),
        ("tcp", 0.5e6, True),  # TCP: only an upper bound
        ("tcp", 3.1e6, False),
    ],
)
def test_judge_rates_against_the_meter(protocol: str, received: float, ok: bool) -> None:
    report, problems = _judge(
        _run(protocol, received), _step(10**6), 2_000_000, VerifyRequest("h1", "h2"), "s1"
    )
    assert report.ok is ok
    assert bool(problems) is not ok
    if not ok:
        assert "for a 2 Mbit/s meter" in problems[0]


def test_judge_a_policy_that_did_not_match() -> None:
    report, problems = _judge(_run("udp", 4e6), _step(1000), 2_000_000, VerifyRequest("h1", "h2"), "lab-s1")
    assert not report.ok
    assert problems[-1] == (
        "udp 512 B: the policy matched 1000 bytes on lab-s1 of the 1000000 bytes sent: "
        "it does not match this traffic"
    )
    wide = VerifyRequest("h1", "h2", tolerance=Tolerance(0.5, 2.0))
    report, problems = _judge(_run("udp", 4e6), _step(10**6), 2_000_000, wide, "lab-s1")
    assert report.ok, problems
    report, problems = _judge(_run("tcp", 9e6), None, None, VerifyRequest("h1", "h2"), "")
    assert report.ok  # measured only: nothing to judge against
    assert (report.low_bps, report.high_bps) == (None, None)


TCP_JSON: dict[str, Any] = {
    "end": {
        "sum_sent": {"bytes": 2_094_864, "bits_per_second": 8.3e6, "retransmits": 40},
        "sum_received": {"bytes": 1_005_460, "bits_per_second": 1.9e6},
    }
}
UDP_JSON: dict[str, Any] = {
    "end": {
        "sum": {"bytes": 999_600, "bits_per_second": 3.998e6, "lost_percent": 31.4},
        "sum_sent": {"bytes": 999_600, "bits_per_second": 3.998e6},
        "sum_received": {"bytes": 624_000, "bits_per_second": 2.496e6},
    }
}


def test_iperf_json() -> None:
    assert _iperf._parse(TCP_JSON, "tcp") == (8.3e6, 1.9e6, 2_094_864, 1_005_460, None, 40)
    assert _iperf._parse(UDP_JSON, "udp") == (3.998e6, 2.496e6, 999_600, 624_000, 31.4, None)
    older = {"end": {"sum": {"bytes": 1000, "bits_per_second": 4e6, "lost_percent": 50.0}}}  # iperf3 < 3.11
    assert _iperf._parse(older, "udp") == (4e6, 2e6, 1000, 500, 50.0, None)


def test_iperf_arguments() -> None:
    assert _iperf._client_args("udp", 64, 4_000_000) == (["-u", "-b", "4000000", "-l", "64"], None)
    assert _iperf._client_args("tcp", 64, 0) == (["--set-mss", "88"], 88)  # Linux's floor
    assert _iperf._client_args("tcp", 1400, 0) == (["--set-mss", "1400"], 1400)
    assert _iperf._client_args("tcp", None, 0) == ([], None)


def _frame(src: str, dst: str, tos: int, proto: int = 6, dport: int = 5201) -> bytes:
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        tos,
        40,
        0,
        0,
        64,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    return b"\0" * 12 + b"\x08\x00" + ip + struct.pack("!HH", 40000, dport) + b"\0" * 16


def test_capture_reads_the_dscp_of_matching_packets() -> None:
    a, b = ipaddress.IPv4Address("10.0.0.1").packed, ipaddress.IPv4Address("10.0.0.2").packed
    assert count_marks(_frame("10.0.0.1", "10.0.0.2", 46 << 2), a, b, 5201) == 46
    assert count_marks(_frame("10.0.0.1", "10.0.0.2", 0, proto=17), a, b, 5201) == 0
    assert count_marks(_frame("10.0.0.1", "10.0.0.2", 46 << 2), a, b, None) == 46
    assert count_marks(_frame("10.0.0.2", "10.0.0.1", 46 << 2), a, b, 5201) is None  # the other way
    assert count_marks(_frame("10.0.0.1", "10.0.0.2", 46 << 2, dport=80), a, b, 5201) is None
    assert count_marks(_frame("10.0.0.1", "10.0.0.2", 46 << 2, proto=1), a, b, 5201) is None
    assert count_marks(b"\0" * 20, a, b, None) is None
