"""The short syntaxes of compose: volumes, ports and durations, as the Compose Specification reads them.

Volumes ``[SOURCE:]TARGET[:MODE]``: a SOURCE that is a path (``/``, ``.``, ``~``, or a
Windows drive) is a bind mount, anything else a named volume, none an anonymous
volume. Ports ``[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`` with ranges and IPv6 host
addresses in brackets.
"""

from __future__ import annotations

import re
from typing import Any

from stackrig.errors import UsageError

__all__ = [
    "PortSpec",
    "VolumeSpec",
    "is_path",
    "parse_duration",
    "parse_port",
    "parse_volume",
]

_VOLUME_MODES = {
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "consistent",
    "cached",
    "delegated",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
}
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|h|m|s)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PORT = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*):)?(?P<published>\d*(?:-\d+)?):)?"
    r"(?P<target>\d+(?:-\d+)?)(?:/(?P<protocol>[A-Za-z]+))?$"
)

VolumeSpec = dict[str, Any]
PortSpec = dict[str, Any]


def is_path(source: str) -> bool:
    """True when a volume source is a host path (as Compose judges it), not a volume name."""
    return source.startswith(("/", ".", "~", "\\\\")) or bool(_DRIVE.match(source))


def _split_volume(spec: str) -> list[str]:
    # A Windows drive (C:\x) holds a colon that is not a separator.
    parts: list[str] = []
    rest = spec
    while rest:
        if _DRIVE.match(rest):
            head, sep, tail = rest[2:].partition(":")
            parts.append(rest[:2] + head)
        else:
            head, sep, tail = rest.partition(":")
            parts.append(head)
        rest = tail
        if sep and not tail:
            parts.append("")
    return parts


def parse_volume(spec: str) -> VolumeSpec:  # noqa: PLR0912 - one branch per rule of the syntax
    """A short-syntax volume as the long syntax's mapping; a UsageError for what Compose refuses."""
    text = str(spec)
    if not text.strip():
        raise UsageError(f"invalid volume {spec!r}: empty")
    parts = _split_volume(text)
    if any(p == "" for p in parts):
        raise UsageError(f"invalid volume {spec!r}: empty section between colons")
    if len(parts) > 3:
        raise UsageError(f"invalid volume {spec!r}: too many colons")
    mode = ""
    if len(parts) == 1:
        source, target = "", parts[0]
    elif len(parts) == 2:
        source, target = parts
    else:
        source, target, mode = parts
    out: VolumeSpec = {"type": "volume", "target": target}
    if source:
        out["type"] = "bind" if is_path(source) else "volume"
        out["source"] = source
    options = [o for o in mode.split(",") if o]
    unknown = [o for o in options if o not in _VOLUME_MODES]
    if unknown:
        raise UsageError(f"invalid volume {spec!r}: unknown mode {', '.join(unknown)}")
    if "ro" in options:
        out["read_only"] = True
    if out["type"] == "bind":
        bind: dict[str, Any] = {}
        selinux = [o for o in options if o in ("z", "Z")]
        if selinux:
            bind["selinux"] = selinux[0]
        propagation = [o for o in options if o.endswith(("shared", "slave", "private"))]
        if propagation:
            bind["propagation"] = propagation[0]
        bind["create_host_path"] = True
        out["bind"] = bind
    elif "nocopy" in options:
        out["volume"] = {"nocopy": True}
    consistency = [o for o in options if o in ("consistent", "cached", "delegated")]
    if consistency:
        out["consistency"] = consistency[0]
    if not target.startswith("/") and not _DRIVE.match(target):
        raise UsageError(f"invalid volume {spec!r}: the container path {target!r} is not absolute")
    return out


def parse_port(spec: Any) -> PortSpec:
    """A short-syntax port as ``{target, published, host_ip, protocol}`` (ranges kept as ``a-b`` strings)."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        return {"target": spec, "protocol": "tcp"}
    text = str(spec).strip()
    match = _PORT.match(text)
    if match is None:
        raise UsageError(f"invalid port {spec!r}: expected [[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]")
    out: PortSpec = {"target": _port_value(match.group("target"), spec)}
    published = match.group("published")
    if published:
        out["published"] = _port_value(published, spec)
    if match.group("ip"):
        out["host_ip"] = match.group("ip").strip("[]")
    out["protocol"] = (match.group("protocol") or "tcp").lower()
    return out


def _port_value(text: str, spec: Any) -> int | str:
    low, sep, high = text.partition("-")
    for number in (low, high) if sep else (low,):
        if not number or not 0 <= int(number) <= 65535:
            raise UsageError(f"invalid port {spec!r}: {text} is not a port (0-65535)")
    if sep:
        if int(high) < int(low):
            raise UsageError(f"invalid port {spec!r}: the range {text} runs backwards")
        return text if high != low else int(low)
    return int(low)


def parse_duration(value: Any, what: str) -> float:
    """Seconds from a compose duration (``1m30s``, ``500ms``) or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    pieces = _DURATION.findall(text)
    if not pieces or "".join(n + u for n, u in pieces) != text:
        raise UsageError(f"{what}: {value!r} is not a duration such as 30s or 1m30s")
    return sum(float(n) * _SECONDS[u] for n, u in pieces)
