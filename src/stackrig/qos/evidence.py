"""The switches' own evidence of a policy: flow counters, meter statistics, queue statistics.

Read with ``ovs-ofctl`` on the lab's OVS bridges (also under Faucet, whose exporter has no
per-flow counters) before and after each test; the difference is what that test did.
A record's flows are found by stackrig's cookie (OVS backend), else by its meter (Faucet,
Ryu), else by the rule itself (same priority and match).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stackrig.qos.backends import _ofctl as ofc

__all__ = ["Probe", "QueueDelta", "Reading", "SwitchDelta", "delta", "read"]


@dataclass(frozen=True, slots=True)
class Probe:
    """Where one recorded policy shows on a bridge."""

    key: str
    name: str
    bridge: str
    cookie: int | None = None
    meter: int | None = None
    queue: tuple[str, int] | None = None  # (out port, queue id) of a queue policy
    rule: ofc.Flow | None = None  # the flow as written, to find it by priority and match

    def flows(self, flows: Sequence[ofc.Flow]) -> list[ofc.Flow]:
        if self.cookie is not None:
            return [f for f in flows if f.cookie == self.cookie]
        if self.meter is not None:
            return [f for f in flows if f.meter == self.meter]
        rule = self.rule
        if rule is None:
            return []
        return [f for f in flows if (f.priority, f.match) == (rule.priority, rule.match)]


@dataclass(frozen=True, slots=True)
class Reading:
    """One bridge at one moment."""

    bridge: str
    flows: tuple[ofc.Flow, ...]
    meters: dict[int, ofc.MeterStats]
    queues: dict[tuple[str, int], ofc.QueueStats]


def read(bridges: Sequence[str], *, timeout: float = 20.0) -> dict[str, Reading]:
    out: dict[str, Reading] = {}
    for bridge in bridges:
        out[bridge] = Reading(
            bridge,
            tuple(ofc.dump_flows(bridge, timeout=timeout, needed_for="qos verify")),
            ofc.meter_stats(bridge, timeout=timeout, needed_for="qos verify"),
            ofc.queue_stats(bridge, timeout=timeout, needed_for="qos verify"),
        )
    return out


@dataclass(frozen=True, slots=True)
class QueueDelta:
    port: str
    queue: int
    packets: int
    bytes: int
    default_queue_packets: int  # what queue 0 of the same port carried meanwhile


@dataclass(frozen=True, slots=True)
class SwitchDelta:
    """What one bridge counted between two readings, for the policies probed there."""

    bridge: str
    policies: tuple[str, ...]
    matched_packets: int
    matched_bytes: int
    meters: tuple[int, ...]
    meter_packets: int
    meter_bytes: int
    dropped_packets: int
    dropped_bytes: int
    queues: tuple[QueueDelta, ...]


def _flow_total(probes: Sequence[Probe], reading: Reading) -> tuple[int, int]:
    seen = {id(f): f for probe in probes for f in probe.flows(reading.flows)}  # a flow counts once
    return sum(f.n_packets for f in seen.values()), sum(f.n_bytes for f in seen.values())


def delta(bridge: str, probes: Sequence[Probe], before: Reading, after: Reading) -> SwitchDelta:
    packets0, bytes0 = _flow_total(probes, before)
    packets1, bytes1 = _flow_total(probes, after)
    used = {f.meter for p in probes for f in p.flows(after.flows)} | {p.meter for p in probes}
    meters = sorted(m for m in used if m is not None)

    def meter_sum(reading: Reading, attr: str) -> int:
        return sum(getattr(reading.meters[m], attr) for m in meters if m in reading.meters)

    queues = []
    for probe in probes:
        if probe.queue is None or probe.queue not in after.queues:
            continue
        port, queue = probe.queue

        def tx(reading: Reading, q: int, field: str, port: str = port) -> int:
            stats = reading.queues.get((port, q))
            return int(getattr(stats, field)) if stats else 0

        queues.append(
            QueueDelta(
                port,
                queue,
                tx(after, queue, "tx_packets") - tx(before, queue, "tx_packets"),
                tx(after, queue, "tx_bytes") - tx(before, queue, "tx_bytes"),
                tx(after, 0, "tx_packets") - tx(before, 0, "tx_packets") if queue else 0,
            )
        )
    return SwitchDelta(
        bridge,
        tuple(p.name for p in probes),
        max(0, packets1 - packets0),
        max(0, bytes1 - bytes0),
        tuple(meters),
        max(0, meter_sum(after, "packets_in") - meter_sum(before, "packets_in")),
        max(0, meter_sum(after, "bytes_in") - meter_sum(before, "bytes_in")),
        max(0, meter_sum(after, "dropped_packets") - meter_sum(before, "dropped_packets")),
        max(0, meter_sum(after, "dropped_bytes") - meter_sum(before, "dropped_bytes")),
        tuple(queues),
    )
