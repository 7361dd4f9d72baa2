"""The QoS model: rates, switch ids, matches, actions, policies and services.

Everything a user gives is validated here on the way in; an invalid field is a
:class:`PolicyFieldError` (USAGE, exit 2) whose message names the field.
Rates are bits per second with SI suffixes (``2M`` = 2,000,000 bit/s).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from stackrig import _units
from stackrig._units import format_rate
from stackrig.errors import UsageError

__all__ = [
    "Action",
    "Match",
    "Policy",
    "PolicyFieldError",
    "Service",
    "format_dpid",
    "format_rate",
    "parse_dpid",
    "parse_rate",
]

ActionKind = Literal["meter", "queue", "dscp"]
ACTION_KINDS: tuple[str, ...] = ("meter", "queue", "dscp")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}


class PolicyFieldError(UsageError):
    """A policy, service or match field is invalid; the message names the field."""

    def __init__(self, field_name: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"invalid {field_name}: {message}", hint=hint)
        self.field = field_name


def parse_rate(text: str | int, *, field_name: str = "rate") -> int:
    """``2M`` → 2_000_000 bit/s. Accepts ``2Mbit``, ``2mbps``, ``2.5M``, plain integers."""
    try:
        return _units.parse_rate(text, what=field_name)
    except _units.UnitError as exc:
        raise PolicyFieldError(field_name, exc.message, hint=exc.hint) from None


def _dpid_value(raw: str) -> int | None:
    if ":" in raw:
        parts = raw.split(":")
        if len(parts) != 8 or not all(re.fullmatch(r"[0-9a-f]{1,2}", p) for p in parts):
            return None
        return int("".join(p.zfill(2) for p in parts), 16)
    if re.fullmatch(r"0x[0-9a-f]{1,16}", raw):
        return int(raw[2:], 16)
    if re.fullmatch(r"[0-9a-f]{16}", raw):
        return int(raw, 16)
    if re.fullmatch(r"[0-9]{1,15}", raw):
        return int(raw)
    return None


def parse_dpid(text: str | int, *, field_name: str = "switch") -> str:
    """A datapath id as 16 lowercase hex digits.

    Accepts ``00:00:00:00:00:00:00:01`` (Floodlight), ``0000000000000001`` (Ryu,
    Faucet), ``0x1`` and small decimal integers (``1``).
    """
    if isinstance(text, bool):
        raise PolicyFieldError(field_name, f"{text!r} is not a datapath id")
    if isinstance(text, int):
        value = text
    else:
        parsed = _dpid_value(str(text).strip().lower())
        if parsed is None:
            raise PolicyFieldError(
                field_name,
                f"{text!r} is not a datapath id",
                hint="use 16 hex digits (0000000000000001), colon form (00:00:00:00:00:00:00:01) or 0x1",
            )
        value = parsed
    if not 0 < value < 2**64:
        raise PolicyFieldError(field_name, f"{text!r} is outside 1..2^64-1")
    return f"{value:016x}"


def format_dpid(dpid: str, *, colons: bool = False) -> str:
    if not colons:
        return dpid
    return ":".join(dpid[i : i + 2] for i in range(0, 16, 2))


def _int_field(value: Any, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise PolicyFieldError(field_name, f"{value!r} is not a number")
    try:
        number = int(str(value), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError) as exc:
        raise PolicyFieldError(field_name, f"{value!r} is not a number") from exc
    if not low <= number <= high:
        raise PolicyFieldError(field_name, f"{number} is outside {low}..{high}")
    return number


def _cidr(value: Any, field_name: str) -> str:
    try:
        net = ipaddress.IPv4Network(str(value), strict=False)
    except (ValueError, TypeError) as exc:
        raise PolicyFieldError(field_name, f"{value!r} is not an IPv4 address or CIDR") from exc
    if net.prefixlen == 32:
        return str(net.network_address)
    return str(net)


def check_name(value: Any, field_name: str = "name") -> str:
    text = str(value) if value is not None else ""
    if not _NAME_RE.match(text):
        raise PolicyFieldError(
            field_name,
            f"{value!r} is not a name",
            hint="1-63 characters: letters, digits, '_', '.', ':', '-' (starting with a letter or digit)",
        )
    return text


_INT_RANGES = {
    "tcp_src": (0, 65535),
    "tcp_dst": (0, 65535),
    "udp_src": (0, 65535),
    "udp_dst": (0, 65535),
    "in_port": (1, 0xFFFFFF00),
    "vlan": (0, 4095),
    "dscp": (0, 63),
}


@dataclass(frozen=True, slots=True)
class Match:
    """What a policy matches. Unset fields (None) match anything."""

    eth_type: int | None = None
    ip_proto: int | None = None
    ipv4_src: str | None = None
    ipv4_dst: str | None = None
    tcp_src: int | None = None
    tcp_dst: int | None = None
    udp_src: int | None = None
    udp_dst: int | None = None
    in_port: int | None = None
    vlan: int | None = None
    dscp: int | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Match:
        """Validate and normalise; implied fields (eth_type for IPv4, ip_proto for ports) are filled."""
        known = set(cls.__dataclass_fields__)
        aliases = {"protocol": "ip_proto", "nw_proto": "ip_proto", "dl_type": "eth_type"}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = aliases.get(key, key).replace("-", "_")
            if name not in known:
                raise PolicyFieldError(
                    f"match.{key}", "unknown field", hint=f"known: {', '.join(sorted(known))}"
                )
            if value is not None:
                values[name] = value
        out: dict[str, Any] = {}
        if "eth_type" in values:
            out["eth_type"] = _int_field(values["eth_type"], "match.eth_type", 0, 0xFFFF)
        if "ip_proto" in values:
            proto = values["ip_proto"]
            if isinstance(proto, str) and proto.lower() in PROTOCOLS:
                proto = PROTOCOLS[proto.lower()]
            out["ip_proto"] = _int_field(proto, "match.ip_proto", 0, 255)
        for key in ("ipv4_src", "ipv4_dst"):
            if key in values:
                out[key] = _cidr(values[key], f"match.{key}")
        for key, (low, high) in _INT_RANGES.items():
            if key in values:
                out[key] = _int_field(values[key], f"match.{key}", low, high)
        return cls(**out).normalised()

    def normalised(self) -> Match:
        """Fill what the other fields imply and refuse contradictions."""
        m = self
        tcp = m.tcp_src is not None or m.tcp_dst is not None
        udp = m.udp_src is not None or m.udp_dst is not None
        if tcp and udp:
            raise PolicyFieldError("match", "tcp and udp ports cannot both be set")
        if tcp or udp:
            want = 6 if tcp else 17
            if m.ip_proto is not None and m.ip_proto != want:
                raise PolicyFieldError(
                    "match.ip_proto", f"{m.ip_proto} contradicts the {'tcp' if tcp else 'udp'} port fields"
                )
            m = replace(m, ip_proto=want)
        ip = m.ip_proto is not None or m.ipv4_src is not None or m.ipv4_dst is not None or m.dscp is not None
        if ip:
            if m.eth_type is not None and m.eth_type != 0x0800:
                raise PolicyFieldError("match.eth_type", f"0x{m.eth_type:04x} contradicts the IPv4 fields")
            m = replace(m, eth_type=0x0800)
        return m

    def to_dict(self) -> dict[str, int | str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class Action:
    """What a policy does: meter at ``rate`` bit/s, enqueue on ``queue`` of ``port``, or set DSCP.

    ``port`` is the output port (required for queues; for meter and DSCP the
    switch forwards normally when it is None).
    """

    kind: ActionKind
    rate: int | None = None
    queue: int | None = None
    dscp: int | None = None
    port: int | None = None

    @classmethod
    def meter(cls, rate: str | int, port: int | None = None) -> Action:
        return cls.from_dict({"kind": "meter", "rate": rate, "port": port})

    @classmethod
    def enqueue(cls, queue: int, port: int) -> Action:
        return cls.from_dict({"kind": "queue", "queue": queue, "port": port})

    @classmethod
    def set_dscp(cls, dscp: int, port: int | None = None) -> Action:
        return cls.from_dict({"kind": "dscp", "dscp": dscp, "port": port})

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Action:
        unknown = set(raw) - {"kind", "rate", "queue", "dscp", "port"}
        if unknown:
            raise PolicyFieldError(f"action.{sorted(unknown)[0]}", "unknown field")
        kind = raw.get("kind")
        if kind not in ACTION_KINDS:
            raise PolicyFieldError("action.kind", f"{kind!r} is not one of {', '.join(ACTION_KINDS)}")
        port = raw.get("port")
        out_port = None if port is None else _int_field(port, "action.port", 1, 0xFFFFFF00)
        if kind == "meter":
            if raw.get("rate") is None:
                raise PolicyFieldError("action.rate", "a meter needs a rate (e.g. 2M)")
            return cls("meter", rate=parse_rate(raw["rate"], field_name="action.rate"), port=out_port)
        if kind == "queue":
            if raw.get("queue") is None:
                raise PolicyFieldError("action.queue", "a queue action needs a queue id")
            if out_port is None:
                raise PolicyFieldError("action.port", "a queue action needs the output port (enqueue-port)")
            queue = _int_field(raw["queue"], "action.queue", 0, 0xFFFFFFFE)
            return cls("queue", queue=queue, port=out_port)
        if raw.get("dscp") is None:
            raise PolicyFieldError("action.dscp", "a DSCP action needs a value 0-63")
        return cls("dscp", dscp=_int_field(raw["dscp"], "action.dscp", 0, 63), port=out_port)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("rate", "queue", "dscp", "port"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def describe(self) -> str:
        tail = f" → port {self.port}" if self.port is not None else ""
        if self.kind == "meter":
            return f"meter {format_rate(self.rate or 0)}{tail}"
        if self.kind == "queue":
            return f"queue {self.queue}{tail}"
        return f"set dscp {self.dscp}{tail}"


DEFAULT_PRIORITY = 40000


@dataclass(frozen=True, slots=True)
class Policy:
    """One rule on one switch: ``match`` → ``action`` at ``priority``."""

    name: str
    switch: str
    match: Match
    action: Action
    priority: int = DEFAULT_PRIORITY
    service: str | None = None
    group: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], services: Mapping[str, Service] | None = None) -> Policy:
        """Validate a policy document. ``service`` names a :class:`Service` whose action is used."""
        if not isinstance(raw, Mapping):
            raise PolicyFieldError("policy", "must be a JSON object")
        allowed = {"name", "switch", "match", "action", "priority", "service", "group"}
        unknown = set(raw) - allowed
        if unknown:
            raise PolicyFieldError(
                sorted(unknown)[0], "unknown field", hint=f"known: {', '.join(sorted(allowed))}"
            )
        name = check_name(raw.get("name"), "name")
        if raw.get("switch") is None:
            raise PolicyFieldError("switch", "missing (the switch's datapath id)")
        switch = parse_dpid(raw["switch"], field_name="switch")
        match_raw = raw.get("match") or {}
        if not isinstance(match_raw, Mapping):
            raise PolicyFieldError("match", "must be an object")
        match = Match.from_dict(match_raw)
        priority = _int_field(raw.get("priority", DEFAULT_PRIORITY), "priority", 1, 65535)
        service_name = raw.get("service")
        group = None if raw.get("group") is None else check_name(raw["group"], "group")
        action_raw = raw.get("action")
        if service_name is not None:
            known = services or {}
            if service_name not in known:
                raise PolicyFieldError(
                    "service",
                    f"{service_name!r} is not a known service",
                    hint="add it with: stackrig qos service add",
                )
            port = action_raw.get("port") if isinstance(action_raw, Mapping) else None
            action = known[service_name].action(port)
        else:
            if not isinstance(action_raw, Mapping):
                raise PolicyFieldError("action", "missing (meter, queue or dscp)")
            action = Action.from_dict(action_raw)
        if action.kind == "dscp":
            # Setting DSCP needs an IPv4 match (OpenFlow's prerequisite for ip_dscp).
            if match.eth_type not in (None, 0x0800):
                raise PolicyFieldError("match.eth_type", "a DSCP action needs IPv4 (0x0800)")
            match = replace(match, eth_type=0x0800)
        return cls(name, switch, match, action, priority, service_name, group)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "switch": self.switch,
            "match": self.match.to_dict(),
            "action": self.action.to_dict(),
            "priority": self.priority,
        }
        if self.service is not None:
            out["service"] = self.service
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True, slots=True)
class Service:
    """A named class of service (Floodlight's QoS "service"), e.g. gold = queue 1 / DSCP 46.

    A policy that names the service gets its action: a meter when ``rate`` is
    set, else the queue when ``queue`` is set, else the DSCP mark.
    """

    name: str
    queue: int | None = None
    dscp: int | None = None
    rate: int | None = None
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Service:
        name = check_name(raw.get("name"), "service.name")
        queue = None if raw.get("queue") is None else _int_field(raw["queue"], "service.queue", 0, 0xFFFFFFFE)
        dscp = None if raw.get("dscp") is None else _int_field(raw["dscp"], "service.dscp", 0, 63)
        rate = None if raw.get("rate") is None else parse_rate(raw["rate"], field_name="service.rate")
        if queue is None and dscp is None and rate is None:
            raise PolicyFieldError("service", f"{name} needs a queue, a dscp or a rate")
        ids = {str(k): str(v) for k, v in (raw.get("ids") or {}).items()}
        return cls(name, queue, dscp, rate, ids)

    def action(self, port: Any = None) -> Action:
        if self.rate is not None:
            return Action.from_dict({"kind": "meter", "rate": self.rate, "port": port})
        if self.queue is not None:
            return Action.from_dict({"kind": "queue", "queue": self.queue, "port": port})
        return Action.from_dict({"kind": "dscp", "dscp": self.dscp, "port": port})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("queue", "dscp", "rate"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.ids:
            out["ids"] = dict(self.ids)
        return out
