"""``openstack server list --long -f json`` (and ``server show -f json``) → :class:`Host`.

``Networks`` is a dict ``{"net": ["10.0.0.5", "172.24.4.10"]}`` in recent
clients and a string ``"net=10.0.0.5, 172.24.4.10; other=..."`` in older ones.
An address counts as public when its network is named public/external, when it
is globally routable, or when it follows the fixed address in a network's list
(a floating IP). IPv4 is preferred over IPv6. ``Properties`` is a dict or a
``k='v', ...`` string. OpenStack prints no region: ``os_region`` stays unset.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import (
    as_dict,
    is_ipv4,
    require_object,
    string_tags,
    text,
    where,
)

__all__ = ["detect", "parse"]

_STATUS = {
    "active": "running",
    "build": "pending",
    "rebuild": "pending",
    "reboot": "pending",
    "hard_reboot": "pending",
    "resize": "pending",
    "verify_resize": "pending",
    "migrating": "pending",
    "shutoff": "stopped",
    "suspended": "stopped",
    "paused": "stopped",
    "shelved": "stopped",
    "shelved_offloaded": "stopped",
    "stopped": "stopped",
    "soft_deleted": "terminated",
    "deleted": "terminated",
    "error": "error",
}
_PROPERTY = re.compile(r"([^=,\s]+)='((?:[^'\\]|\\.)*)'")
_PUBLIC_NET = re.compile(r"public|external|ext[-_]net|internet", re.IGNORECASE)


def _looks_like_server(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if "ID" in item and "Name" in item and ("Networks" in item or "Status" in item):
        return True
    return (
        "id" in item and ("addresses" in item or "OS-EXT-AZ:availability_zone" in item) and "flavor" in item
    )


def detect(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc) and _looks_like_server(doc[0])
    return _looks_like_server(doc)


def networks(value: Any) -> dict[str, list[str]]:
    """Both shapes of ``Networks``/``addresses`` as {network: [addresses]}."""
    if isinstance(value, Mapping):
        found: dict[str, list[str]] = {}
        for net, addrs in value.items():
            items = addrs if isinstance(addrs, list) else [addrs]
            kept: list[str] = []
            for entry in items:
                # server show (API shape) gives {"addr": ..., "OS-EXT-IPS:type": ...}
                addr = text(as_dict(entry).get("addr")) if isinstance(entry, Mapping) else text(entry)
                if addr:
                    kept.append(addr)
            found[str(net)] = kept
        return found
    joined = text(value)
    if not joined:
        return {}
    found = {}
    for part in joined.split(";"):
        net, sep, addrs = part.strip().partition("=")
        if not sep:
            continue
        found[net.strip()] = [a.strip() for a in addrs.split(",") if a.strip()]
    return found


def _is_global(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_global
    except ValueError:
        return False


def split_addresses(nets: Mapping[str, list[str]]) -> tuple[list[str], list[str]]:
    private: list[str] = []
    public: list[str] = []
    for net, addrs in nets.items():
        public_net = bool(_PUBLIC_NET.search(net))
        fixed_v4_seen = False
        for addr in addrs:
            v4 = is_ipv4(addr)
            floating = v4 and fixed_v4_seen
            if public_net or floating or _is_global(addr):
                public.append(addr)
            else:
                private.append(addr)
            fixed_v4_seen = fixed_v4_seen or v4
    return private, public


def _pick(addrs: list[str]) -> str | None:
    for addr in addrs:
        if is_ipv4(addr):
            return addr
    return addrs[0] if addrs else None


def _properties(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return string_tags(value)
    joined = text(value)
    if not joined:
        return {}
    return {k: v.replace("\\'", "'") for k, v in _PROPERTY.findall(joined)}


def _get(server: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in server and server[key] not in (None, ""):
            return server[key]
    return None


def parse(doc: Any, index: int = 0) -> Iterator[Host]:
    items = doc if isinstance(doc, list) else [doc]
    for n, raw in enumerate(items):
        server = require_object(raw, index, n)
        server_id = text(_get(server, "ID", "id"))
        if server_id is None:
            raise ProviderParseError(f"{where(index, n)}: server without ID")
        nets = networks(_get(server, "Networks", "addresses"))
        private, public = split_addresses(nets)
        raw_state = text(_get(server, "Status", "status"))
        flavor = _get(server, "Flavor Name", "Flavor", "flavor")
        image = _get(server, "Image Name", "Image", "image")
        extra: dict[str, Any] = {}
        if nets:
            extra["networks"] = nets
        for keys, var in (
            (("Power State", "OS-EXT-STS:power_state"), "power_state"),
            (("Host", "OS-EXT-SRV-ATTR:host"), "compute_host"),
            (("Image ID",), "image_id"),
            (("Flavor ID",), "flavor_id"),
        ):
            value = text(_get(server, *keys))
            if value is not None:
                extra[var] = value
        yield Host(
            provider="openstack",
            instance_id=server_id,
            name=text(_get(server, "Name", "name")),
            state=_STATUS.get(raw_state.lower(), "unknown") if raw_state else "unknown",
            raw_state=raw_state,
            private_address=_pick(private),
            public_address=_pick(public),
            zone=text(_get(server, "Availability Zone", "OS-EXT-AZ:availability_zone")),
            instance_type=text(as_dict(flavor).get("name")) if isinstance(flavor, Mapping) else text(flavor),
            key_name=text(_get(server, "Key Name", "key_name")),
            image=text(as_dict(image).get("id")) if isinstance(image, Mapping) else text(image),
            launch_time=text(_get(server, "Created At", "created")),
            tags=_properties(_get(server, "Properties", "properties")),
            extra=extra,
        )
