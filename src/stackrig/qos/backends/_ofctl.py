"""What ``ovs-ofctl`` says about a bridge, read into data: flows, meters, meter and queue statistics.

Flows are compared by meaning, not by text: ``ovs-ofctl`` prints ``tcp`` for
``dl_type=0x0800,nw_proto=6``, ``tp_dst`` for ``tcp_dst`` and ``mod_nw_tos:184`` or
``set_field:46->ip_dscp`` for a DSCP mark, so both sides are reduced to one canonical
form (:func:`canonical_match`, :func:`canonical_actions`) first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stackrig import _proc

__all__ = [
    "Flow",
    "MeterConfig",
    "MeterStats",
    "QueueStats",
    "canonical_actions",
    "canonical_match",
    "dump_flows",
    "dump_meters",
    "meter_stats",
    "parse_flow",
    "parse_flows",
    "parse_meter_stats",
    "parse_meters",
    "parse_queue_stats",
    "queue_stats",
]

# --no-names: ovs-ofctl otherwise fetches every port description to map names (4x slower per call).
OFCTL = ("-O", "OpenFlow13", "--no-names")
_STATS_KEYS = {
    "cookie",
    "duration",
    "table",
    "n_packets",
    "n_bytes",
    "idle_timeout",
    "hard_timeout",
    "idle_age",
    "hard_age",
    "reset_counts",
    "send_flow_rem",
    "importance",
    "out_port",
    "out_group",
    "no_packet_counts",
    "no_byte_counts",
}
_SHORTHANDS = {
    "ip": {"dl_type": "2048"},
    "tcp": {"dl_type": "2048", "nw_proto": "6"},
    "udp": {"dl_type": "2048", "nw_proto": "17"},
    "icmp": {"dl_type": "2048", "nw_proto": "1"},
    "arp": {"dl_type": "2054"},
    "ipv6": {"dl_type": "34525"},
}
_ALIASES = {
    "eth_type": "dl_type",
    "ip_proto": "nw_proto",
    "ipv4_src": "nw_src",
    "ipv4_dst": "nw_dst",
    "tcp_src": "tp_src",
    "tcp_dst": "tp_dst",
    "udp_src": "tp_src",
    "udp_dst": "tp_dst",
    "vlan_vid": "dl_vlan",
}


def _number(text: str) -> str:
    try:
        return str(int(text, 0))
    except ValueError:
        return text


def canonical_match(tokens: Sequence[str]) -> dict[str, str]:
    """``["tcp", "tcp_dst=5201", "ip_dscp=46"]`` → ``{"dl_type": "2048", "nw_proto": "6",
    "tp_dst": "5201", "nw_tos": "184"}``."""
    out: dict[str, str] = {}
    for token in tokens:
        if "=" not in token:
            out.update(_SHORTHANDS.get(token, {token: ""}))
            continue
        key, value = token.split("=", 1)
        key = _ALIASES.get(key, key)
        if key == "ip_dscp":
            key, value = "nw_tos", str(int(value, 0) * 4)
        elif key in ("nw_src", "nw_dst") and value.endswith("/32"):
            value = value[:-3]
        elif key not in ("nw_src", "nw_dst", "dl_src", "dl_dst"):
            value = _number(value)
        out[key] = value
    return out


def canonical_actions(text: str) -> tuple[str, ...]:
    """``meter:1,output:2`` / ``set_field:46->ip_dscp,NORMAL`` in one spelling each."""
    out: list[str] = []
    for raw in (a.strip() for a in text.split(",") if a.strip()):
        action = raw
        dscp = re.fullmatch(r"set_field:(\w+)->ip_dscp", raw)
        if dscp:
            action = f"mod_nw_tos:{int(dscp.group(1), 0) * 4}"
        elif raw.lower() == "normal":
            action = "NORMAL"
        elif re.fullmatch(r"\d+", raw):
            action = f"output:{raw}"
        elif raw.startswith("enqueue:"):
            action = raw
        out.append(action)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Flow:
    cookie: int
    table: int
    priority: int
    n_packets: int
    n_bytes: int
    match: dict[str, str]
    actions: tuple[str, ...]
    text: str

    @property
    def meter(self) -> int | None:
        for action in self.actions:
            if action.startswith("meter:"):
                return int(action.split(":", 1)[1])
        return None

    def same_rule(self, other: Flow) -> bool:
        """Same priority, match and actions (counters, cookie and table aside)."""
        return (self.priority, self.match, self.actions) == (other.priority, other.match, other.actions)


def parse_flow(line: str) -> Flow | None:
    """One line of ``dump-flows`` (or a ``flow_line`` we wrote); None for headers."""
    text = line.strip()
    parts = re.split(r"[ ,]actions=", text, maxsplit=1)
    if len(parts) != 2:
        return None
    left, actions = parts
    stats: dict[str, str] = {}
    tokens: list[str] = []
    for token in (t for t in re.split(r",\s*|\s+", left) if t):
        key = token.split("=", 1)[0]
        if "=" in token and (key in _STATS_KEYS or key == "priority"):
            stats[key] = token.split("=", 1)[1]
        else:
            tokens.append(token)
    try:
        return Flow(
            int(stats.get("cookie", "0"), 0),
            int(stats.get("table", "0")),
            int(stats.get("priority", "32768")),
            int(stats.get("n_packets", "0")),
            int(stats.get("n_bytes", "0")),
            canonical_match(tokens),
            canonical_actions(actions),
            text,
        )
    except ValueError:
        return None


def parse_flows(text: str) -> list[Flow]:
    return [f for f in (parse_flow(line) for line in text.splitlines() if "actions=" in line) if f]


@dataclass(frozen=True, slots=True)
class MeterConfig:
    meter: int
    unit: str  # kbps | pktps
    rate: int  # of the first band
    band: str  # drop | dscp_remark


def parse_meters(text: str) -> dict[int, MeterConfig]:
    """``dump-meters``: ``meter=1 kbps bands=`` then ``type=drop rate=2000`` (one or two lines)."""
    out: dict[int, MeterConfig] = {}
    for block in re.split(r"(?=meter=\d)", text):
        found = re.match(r"meter=(\d+)\s+(\w+).*?type=(\w+)\s+rate=(\d+)", block, re.DOTALL)
        if found:
            meter = int(found.group(1))
            out[meter] = MeterConfig(meter, found.group(2), int(found.group(4)), found.group(3))
    return out


@dataclass(frozen=True, slots=True)
class MeterStats:
    meter: int
    flow_count: int
    packets_in: int
    bytes_in: int
    dropped_packets: int  # packets that hit the (drop) band
    dropped_bytes: int


def parse_meter_stats(text: str) -> dict[int, MeterStats]:
    """``meter-stats``: ``meter:1 flow_count:1 packet_in_count:N byte_in_count:N ... bands:`` then
    ``0: packet_count:N byte_count:N`` per band."""
    out: dict[int, MeterStats] = {}
    for block in re.split(r"(?=meter:\d)", text):
        head = re.match(
            r"meter:(\d+)\s+flow_count:(\d+)\s+packet_in_count:(\d+)\s+byte_in_count:(\d+)", block
        )
        if not head:
            continue
        bands = re.findall(r"\d+:\s*packet_count:(\d+)\s+byte_count:(\d+)", block)
        meter = int(head.group(1))
        out[meter] = MeterStats(
            meter,
            int(head.group(2)),
            int(head.group(3)),
            int(head.group(4)),
            sum(int(p) for p, _ in bands),
            sum(int(b) for _, b in bands),
        )
    return out


@dataclass(frozen=True, slots=True)
class QueueStats:
    port: str
    queue: int
    tx_bytes: int
    tx_packets: int
    errors: int


def parse_queue_stats(text: str) -> dict[tuple[str, int], QueueStats]:
    """``queue-stats``: ``port 1 queue 0: bytes=N, pkts=N, errors=N, duration=...``."""
    out: dict[tuple[str, int], QueueStats] = {}
    for found in re.finditer(
        r"port\s+(\S+)\s+queue\s+(\d+):\s*bytes=(\d+),\s*pkts=(\d+),\s*errors=(\d+)", text
    ):
        key = (found.group(1), int(found.group(2)))
        out[key] = QueueStats(key[0], key[1], int(found.group(3)), int(found.group(4)), int(found.group(5)))
    return out


def _ofctl(args: Sequence[str], *, timeout: float, needed_for: str) -> str:
    return _proc.run("ovs-ofctl", [*OFCTL, *args], timeout=timeout, needed_for=needed_for).stdout


def dump_flows(bridge: str, *, timeout: float = 20.0, needed_for: str = "qos") -> list[Flow]:
    return parse_flows(_ofctl(["dump-flows", bridge], timeout=timeout, needed_for=needed_for))


def dump_meters(bridge: str, *, timeout: float = 20.0, needed_for: str = "qos") -> dict[int, MeterConfig]:
    return parse_meters(_ofctl(["dump-meters", bridge], timeout=timeout, needed_for=needed_for))


def meter_stats(bridge: str, *, timeout: float = 20.0, needed_for: str = "qos") -> dict[int, MeterStats]:
    return parse_meter_stats(_ofctl(["meter-stats", bridge], timeout=timeout, needed_for=needed_for))


def queue_stats(
    bridge: str, *, timeout: float = 20.0, needed_for: str = "qos"
) -> dict[tuple[str, int], QueueStats]:
    return parse_queue_stats(_ofctl(["queue-stats", bridge], timeout=timeout, needed_for=needed_for))
