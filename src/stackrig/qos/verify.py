"""Proof that a policy is enforced: traffic between two lab hosts, and the switches' own counters.

``verify`` finds the policy (``--policy``, else the path group recorded for the two
hosts), reads every path switch's flow counters and meter and queue statistics
(:mod:`stackrig.qos.evidence`) around each iperf3 test (:mod:`stackrig.qos._iperf`),
and checks: the policy matched the traffic; a metered rate is within the tolerance
(TCP: at most ``1 + tcp`` times the limit; UDP sent at twice the limit: within
``± udp``); a DSCP mark is on the packets the receiver gets (a capture in its
namespace); a queue carried the traffic (queue statistics). Without a policy it
measures only, against ``--expect-min``/``--expect-max``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stackrig.errors import UsageError
from stackrig.qos import _iperf
from stackrig.qos._lab_plan import LabHost, LabState
from stackrig.qos.model import format_rate
from stackrig.qos.state import Installed

__all__ = [
    "DscpReport",
    "Measurement",
    "RunReport",
    "SwitchReport",
    "Tolerance",
    "VerifyRequest",
    "VerifyResult",
    "measure",
    "parse_sizes",
    "parse_tolerance",
]

PROTOCOL_CHOICES = ("auto", "tcp", "udp", "both")
MATCHED_SHARE = 0.5  # a policy that matched less than half of the bytes sent does not match the traffic
MARKED_SHARE = 0.99


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a measured rate may be from a meter's: TCP at most ``1 + tcp`` times it, UDP ``± udp``."""

    tcp: float = 0.5
    udp: float = 0.25


def _fraction(text: str, what: str) -> float:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not found:
        raise UsageError(f"invalid --tolerance {what!r}: write 30% or 0.3 (or tcp=50%,udp=25%)")
    value = float(found.group(1)) / (100 if found.group(2) else 1)
    if not 0 < value <= 10:
        raise UsageError(f"invalid --tolerance {what!r}: use a share above 0 (0.3 or 30%)")
    return value


def parse_tolerance(text: str | None) -> Tolerance:
    """``30%`` (both), ``0.3``, or ``tcp=50%,udp=20%`` (either may be left out)."""
    if text is None:
        return Tolerance()
    if "=" not in text:
        value = _fraction(text, text)
        return Tolerance(value, value)
    parts: dict[str, float] = {}
    for item in text.split(","):
        key, _, share = item.partition("=")
        if key.strip() not in ("tcp", "udp"):
            raise UsageError(f"invalid --tolerance {text!r}: name tcp= or udp=")
        parts[key.strip()] = _fraction(share, text)
    default = Tolerance()
    return Tolerance(parts.get("tcp", default.tcp), parts.get("udp", default.udp))


def parse_sizes(text: str | None) -> tuple[int, ...]:
    """``64,512,1400`` → (64, 512, 1400): payload bytes of each test."""
    if not text:
        return ()
    sizes: list[int] = []
    for item in text.split(","):
        if not item.strip().isdigit() or not 16 <= int(item) <= 65000:
            raise UsageError(f"invalid --sizes {text!r}: give payload sizes in bytes, 16-65000 (64,512,1400)")
        sizes.append(int(item))
    return tuple(dict.fromkeys(sizes))


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    src: str
    dst: str
    port: int | None = None  # default: the policy's destination port, else 5201
    seconds: float = 3.0
    reverse: bool = False
    expect_max: int | None = None
    expect_min: int | None = None
    policy: str | None = None
    sizes: tuple[int, ...] = ()
    protocol: str = "auto"
    tolerance: Tolerance = field(default_factory=Tolerance)

    def __post_init__(self) -> None:
        if self.port is not None and not 1 <= self.port <= 65534:
            raise UsageError(f"invalid --port {self.port}: use 1-65534 (the reverse test uses port+1)")
        if not 1 <= self.seconds <= 600 or self.seconds != int(self.seconds):
            # iperf3 reads -t as a whole number: 1.5 would run 1 s, and 0.5 (read as 0) forever
            raise UsageError(f"invalid --duration {self.seconds:g}s: iperf3 runs whole seconds, 1s-600s")
        if self.protocol not in PROTOCOL_CHOICES:
            raise UsageError(f"invalid --protocol {self.protocol!r}: use {', '.join(PROTOCOL_CHOICES)}")


@dataclass(frozen=True, slots=True)
class Measurement:
    src: str
    dst: str
    port: int
    bits_per_second: float
    retransmits: int | None

    @property
    def human(self) -> str:
        return format_rate(self.bits_per_second)


@dataclass(frozen=True, slots=True)
class QueueReport:
    port: str
    queue: int
    packets: int
    bytes: int
    default_queue_packets: int


@dataclass(frozen=True, slots=True)
class SwitchReport:
    """One switch of the path: what the policy's flows matched and its meters dropped (all tests)."""

    bridge: str
    switch: str
    policies: tuple[str, ...]
    matched_packets: int
    matched_bytes: int
    meters: tuple[int, ...]
    meter_packets: int  # into the meters (what the switch metered)
    meter_bytes: int
    dropped_packets: int
    dropped_bytes: int
    queues: tuple[QueueReport, ...] = ()


@dataclass(frozen=True, slots=True)
class RunReport:
    """One test: its rate against the policy's, and what the first policed switch counted."""

    protocol: str
    size: int | None
    mss: int | None
    sent_bps: float
    received_bps: float
    sent_bytes: int
    received_bytes: int
    lost_percent: float | None
    retransmits: int | None
    matched_bytes: int
    dropped_packets: int
    low_bps: float | None
    high_bps: float | None
    ok: bool


@dataclass(frozen=True, slots=True)
class DscpReport:
    expected: int
    packets: int
    marked: int
    values: dict[str, int]
    ok: bool


@dataclass(frozen=True, slots=True)
class VerifyResult:
    forward: Measurement
    reverse: Measurement | None
    expect_max: int | None
    expect_min: int | None
    ok: bool
    problems: tuple[str, ...]
    policy: str | None = None
    policies: tuple[str, ...] = ()
    kind: str | None = None  # meter | dscp | queue (None: measured only)
    limit: int | None = None
    src: str = ""
    dst: str = ""
    port: int = 5201
    tolerance: Tolerance = field(default_factory=Tolerance)
    switches: tuple[SwitchReport, ...] = ()
    runs: tuple[RunReport, ...] = ()
    dscp: DscpReport | None = None


def measure(src: LabHost, dst: LabHost, port: int, seconds: float) -> Measurement:
    """One iperf3 TCP test from ``src`` to a server in ``dst``'s namespace."""
    run = _iperf.run_iperf(src, dst, port=port, seconds=seconds)
    return Measurement(src.name, dst.name, port, run.received_bps, run.retransmits)


def verify(lab: LabState, req: VerifyRequest, records: list[Installed] | None = None) -> VerifyResult:
    """Measure, read the counters and check (see the module's docstring)."""
    from stackrig.qos._verify_run import run_verify

    return run_verify(lab, req, records or [])
