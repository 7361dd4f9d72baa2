"""How ``qos verify`` runs: pick the policy, probe its flows, test, read the counters, judge."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from stackrig import _proc
from stackrig.errors import FailedError, UsageError
from stackrig.qos import _iperf, evidence
from stackrig.qos._lab_plan import LabHost, LabState
from stackrig.qos.backends import _ofctl as ofc
from stackrig.qos.backends.ovs import flow_line
from stackrig.qos.model import Match, format_rate
from stackrig.qos.state import Installed
from stackrig.qos.topology import find_path
from stackrig.qos.verify import (
    MARKED_SHARE,
    MATCHED_SHARE,
    DscpReport,
    Measurement,
    QueueReport,
    RunReport,
    SwitchReport,
    VerifyRequest,
    VerifyResult,
    measure,
)

__all__ = ["run_verify", "select_policy"]


def _covers(match: Match, src: LabHost, dst: LabHost) -> bool:
    """Whether traffic from ``src`` to ``dst`` can match (the addresses do not rule it out)."""
    for field, ip in (("ipv4_src", src.ip), ("ipv4_dst", dst.ip)):
        net = getattr(match, field)
        if net is not None and ipaddress.IPv4Address(ip) not in ipaddress.IPv4Network(net):
            return False
    return True


def select_policy(
    lab: LabState, req: VerifyRequest, records: Sequence[Installed]
) -> tuple[str | None, list[Installed]]:
    """``--policy`` (a name or group), else the one group recorded for the two hosts."""
    src, dst = lab.host(req.src), lab.host(req.dst)
    if req.policy is not None:
        chosen = [r for r in records if req.policy in (r.policy.name, r.policy.group)]
        if not chosen:
            raise UsageError(
                f"no recorded policy or group named {req.policy!r}",
                hint="list them with: stackrig qos policy list",
            )
        return req.policy, chosen
    groups: dict[str, list[Installed]] = {}
    for record in records:
        m = record.policy.match
        if record.policy.group and m.ipv4_src == src.ip and m.ipv4_dst == dst.ip:
            groups.setdefault(record.policy.group, [])
    for name in groups:
        groups[name] = [r for r in records if r.policy.group == name]
    preferred = f"path-{src.name}-{dst.name}"
    if preferred in groups:
        return preferred, groups[preferred]
    if len(groups) == 1:
        name = next(iter(groups))
        return name, groups[name]
    if groups:
        raise UsageError(
            f"several groups cover {src.name} → {dst.name} ({', '.join(sorted(groups))}): "
            "name one with --policy"
        )
    if req.expect_max is None and req.expect_min is None:
        raise UsageError(
            f"no policy is recorded for {src.name} → {dst.name}: name one with --policy",
            hint="or give --expect-min/--expect-max to measure without a policy",
        )
    return None, []


def _faucet_meter_ids(records: Sequence[Installed]) -> dict[str, int]:
    """Faucet's meter ids by meter name, from each config the records name."""
    out: dict[str, int] = {}
    for target in {r.target for r in records if r.backend == "faucet"}:
        with contextlib.suppress(OSError, yaml.YAMLError, AttributeError, TypeError, ValueError):
            doc = yaml.safe_load(Path(target).read_text(encoding="utf-8")) or {}
            for name, meter in (doc.get("meters") or {}).items():
                out[str(name)] = int(meter["meter_id"])
    return out


def _probes(lab: LabState, records: Sequence[Installed]) -> list[evidence.Probe]:
    by_dpid = {dpid: bridge for bridge, dpid in lab.dpids.items()}
    faucet_meters = _faucet_meter_ids(records)
    probes: list[evidence.Probe] = []
    for r in records:
        ids = r.ids
        bridge = ids.get("bridge") if r.backend == "ovs" else ids.get("dp") if r.backend == "faucet" else None
        bridge = bridge or by_dpid.get(r.policy.switch, "")
        if bridge not in lab.bridges:
            continue
        cookie = int(ids["cookie"], 16) if r.backend == "ovs" and "cookie" in ids else None
        meter: int | None = None
        if r.backend == "faucet" and ids.get("meter") in faucet_meters:
            meter = faucet_meters[ids["meter"]]
        elif ids.get("meter", "").isdigit():
            meter = int(ids["meter"])
        act = r.policy.action
        queue = (str(act.port), act.queue or 0) if act.kind == "queue" and act.port is not None else None
        rule = ofc.parse_flow(flow_line(r.policy, 0, None))
        probes.append(evidence.Probe(r.key, r.policy.name, bridge, cookie, meter, queue, rule))
    return probes


class _Capture:
    """The DSCP capture running in the receiver's namespace."""

    def __init__(self, dst: LabHost, src: LabHost, port: int) -> None:
        argv = ["netns", "exec", dst.netns, sys.executable, "-m", "stackrig.qos._capture"]
        argv += ["--iface", "eth0", "--src", src.ip, "--dst", dst.ip, "--port", str(port)]
        self.proc = _proc.start("ip", argv, needed_for="qos verify")
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            self.proc.kill()
            err = self.proc.communicate()[1] if self.proc.stderr else ""
            raise FailedError(f"the DSCP capture in {dst.netns} did not start: {_proc.tail(err or line)}")

    def stop(self) -> dict[str, object]:
        self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        try:
            return dict(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError) as exc:
            raise FailedError(f"the DSCP capture gave no result: {_proc.tail(err)}") from exc


def _label(run: _iperf.Run) -> str:
    if run.protocol == "udp":
        return f"udp {run.size} B" if run.size else "udp"
    return f"tcp mss {run.mss}" if run.mss else "tcp"


def _protocols(req: VerifyRequest, forward: Sequence[Installed]) -> list[str]:
    """``--protocol``; with ``auto`` the policy's (TCP only without --sizes when it matches any)."""
    if req.protocol != "auto":
        return ["tcp", "udp"] if req.protocol == "both" else [req.protocol]
    protos = {r.policy.match.ip_proto for r in forward}
    if protos == {6}:
        return ["tcp"]
    if protos == {17}:
        return ["udp"]
    return ["tcp", "udp"] if req.sizes else ["tcp"]


def _judge(
    run: _iperf.Run, step: evidence.SwitchDelta | None, limit: int | None, req: VerifyRequest, where: str
) -> tuple[RunReport, list[str]]:
    """One test against the meter's rate and the first policed switch's counters."""
    problems: list[str] = []
    name = _label(run)
    low = high = None
    if limit:
        tol = req.tolerance.udp if run.protocol == "udp" else req.tolerance.tcp
        high = limit * (1 + tol)
        low = limit * (1 - tol) if run.protocol == "udp" else None
    ok = (high is None or run.received_bps <= high) and (low is None or run.received_bps >= low)
    if not ok:
        bound = f"{format_rate(low)}-{format_rate(high or 0)}" if low else f"at most {format_rate(high or 0)}"
        got = format_rate(run.received_bps)
        problems.append(f"{name}: {got} for a {format_rate(limit or 0)} meter (expected {bound})")
    matched = step.matched_bytes if step else 0
    # What surely crossed the first switch: UDP's datagrams sent; TCP's bytes received (a TCP
    # sender counts what it wrote into its socket, some of which never left it).
    crossed = run.sent_bytes if run.protocol == "udp" else run.received_bytes
    if step and matched < MATCHED_SHARE * crossed:
        problems.append(
            f"{name}: the policy matched {matched} bytes on {where} of the {crossed} bytes "
            f"{'sent' if run.protocol == 'udp' else 'received'}: it does not match this traffic"
        )
        ok = False
    report = RunReport(
        run.protocol,
        run.size,
        run.mss,
        run.sent_bps,
        run.received_bps,
        run.sent_bytes,
        run.received_bytes,
        run.lost_percent,
        run.retransmits,
        matched,
        step.dropped_packets if step else 0,
        low,
        high,
        ok,
    )
    return report, problems


def _switch_report(lab: LabState, d: evidence.SwitchDelta) -> SwitchReport:
    queues = tuple(
        QueueReport(q.port, q.queue, q.packets, q.bytes, q.default_queue_packets) for q in d.queues
    )
    return SwitchReport(
        d.bridge,
        lab.dpids[d.bridge],
        d.policies,
        d.matched_packets,
        d.matched_bytes,
        d.meters,
        d.meter_packets,
        d.meter_bytes,
        d.dropped_packets,
        d.dropped_bytes,
        queues,
    )


def _dscp(
    seen: dict[str, object], expected: int, src: LabHost, dst: LabHost, port: int
) -> tuple[DscpReport, list[str]]:
    raw = seen.get("dscp")
    values = {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    packets = sum(values.values())
    marked = values.get(str(expected), 0)
    ok = packets > 0 and marked >= MARKED_SHARE * packets
    problems = []
    if not packets:
        problems.append(f"the capture on {dst.name} saw no packets from {src.name} to port {port}")
    elif not ok:
        problems.append(f"{marked} of {packets} packets reached {dst.name} marked DSCP {expected}")
    return DscpReport(expected, packets, marked, values, ok), problems


def _queue_problems(switches: Sequence[SwitchReport]) -> list[str]:
    counted = [(s, q) for s in switches for q in s.queues]
    if not counted:
        return ["no queue statistics on the policy's out ports: give them queues with `stackrig qos queues`"]
    return [
        f"{s.bridge} port {q.port}: queue {q.queue} carried no packets while the policy matched "
        f"{s.matched_packets} (queue 0 carried {q.default_queue_packets}): this datapath does not put "
        "the traffic in the queue (a userspace datapath drops the queue id; a kernel one keeps it)"
        for s, q in counted
        if s.matched_packets and not q.packets
    ]


def _expectations(fwd: Measurement, req: VerifyRequest) -> list[str]:
    problems = []
    if req.expect_max is not None and fwd.bits_per_second > req.expect_max:
        problems.append(
            f"{fwd.src}→{fwd.dst} measured {fwd.human}, above --expect-max {format_rate(req.expect_max)}"
        )
    if req.expect_min is not None and fwd.bits_per_second < req.expect_min:
        problems.append(
            f"{fwd.src}→{fwd.dst} measured {fwd.human}, below --expect-min {format_rate(req.expect_min)}"
        )
    return problems


def run_verify(lab: LabState, req: VerifyRequest, records: Sequence[Installed]) -> VerifyResult:
    src, dst = lab.host(req.src), lab.host(req.dst)
    if src.name == dst.name:
        raise UsageError("--src and --dst are the same host")
    label, chosen = select_policy(lab, req, records)
    forward = [r for r in chosen if _covers(r.policy.match, src, dst)]
    probes = _probes(lab, forward)
    by_dpid = {dpid: bridge for bridge, dpid in lab.dpids.items()}
    path = [by_dpid[h.switch] for h in find_path(lab.topology(), src.ip, dst.ip)]
    problems: list[str] = []
    if chosen and not [p for p in probes if p.bridge in path]:
        problems.append(
            f"policy {label} has no flow for {src.name} → {dst.name} on the path ({', '.join(path)})"
        )
    rates = [r.policy.action.rate for r in forward if r.policy.action.kind == "meter"]
    limit = min((r for r in rates if r), default=None)
    marks = sorted({r.policy.action.dscp for r in forward if r.policy.action.dscp is not None})
    kind = "meter" if limit else "dscp" if marks else "queue" if any(p.queue for p in probes) else None
    ports = [p for r in forward for p in (r.policy.match.tcp_dst, r.policy.match.udp_dst) if p is not None]
    port = req.port or (ports[0] if ports else 5201)
    first = next((b for b in path if any(p.bridge == b for p in probes)), None)
    capture = _Capture(dst, src, port) if marks else None
    runs: list[RunReport] = []
    measured: list[_iperf.Run] = []
    try:
        start = previous = evidence.read(path)
        for protocol in _protocols(req, forward):
            for size in req.sizes or (None,):
                run = _iperf.run_iperf(
                    src,
                    dst,
                    port=port,
                    seconds=req.seconds,
                    protocol=protocol,
                    size=size,
                    udp_rate=2 * limit if limit else 10_000_000,
                )
                now = evidence.read(path)
                here = [p for p in probes if p.bridge == first]
                step = evidence.delta(first, here, previous[first], now[first]) if first else None
                previous = now
                measured.append(run)
                report, found = _judge(run, step, limit, req, first or "")
                runs.append(report)
                problems += found
    finally:
        seen = capture.stop() if capture else None
    switches = [
        _switch_report(lab, evidence.delta(b, [p for p in probes if p.bridge == b], start[b], previous[b]))
        for b in path
    ]
    if chosen and probes and all(s.matched_packets == 0 for s in switches):
        problems.append(f"the counters show policy {label} never matched the traffic")
    dscp = None
    if marks and seen is not None:
        dscp, found = _dscp(seen, marks[0], src, dst, port)
        problems += found
    if any(p.queue and p.bridge in path for p in probes):
        problems += _queue_problems(switches)
    fwd = Measurement(src.name, dst.name, port, measured[0].received_bps, measured[0].retransmits)
    problems += _expectations(fwd, req)
    reverse = measure(dst, src, port + 1, req.seconds) if req.reverse else None
    return VerifyResult(
        fwd,
        reverse,
        req.expect_max,
        req.expect_min,
        not problems,
        tuple(problems),
        label,
        tuple(r.policy.name for r in chosen),
        kind,
        limit,
        src.name,
        dst.name,
        port,
        req.tolerance,
        tuple(switches),
        tuple(runs),
        dscp,
    )
