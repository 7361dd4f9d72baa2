"""OpenStack servers → :class:`Host`: the openstack CLI's output and Nova API documents.

- ``openstack server list --long -f json`` and ``server show -f json``: ``Networks`` is a
  dict ``{"net": ["10.0.0.5", "172.24.4.10"]}`` in recent clients and a string
  ``"net=10.0.0.5, 172.24.4.10; other=..."`` in older ones; ``Properties`` a dict or a
  ``k='v', ...`` string.
- Nova ``GET /servers/detail`` (``{"servers": [...]}``) and ``GET /servers/{id}``
  (``{"server": {...}}``): ``addresses`` by network, each entry ``{"addr": ...}`` with
  ``OS-EXT-IPS:type`` ``floating`` (public) or ``fixed`` (private) when Nova has the
  extension; ``metadata`` are the tags; ``accessIPv4``/``accessIPv6`` stand in when no
  address is public.

Without a type an address counts as public when its network is named public/external,
when it is globally routable, or when it follows the fixed address in a network's list
(a floating IP). IPv4 is preferred; an IPv6-only server keeps its IPv6 address. OpenStack
prints no region: ``os_region`` stays unset.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import (
    Place,
    as_dict,
    as_list,
    is_ipv4,
    require_object,
    string_tags,
    text,
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
    if isinstance(doc, dict) and (
        isinstance(doc.get("servers"), list) or isinstance(doc.get("server"), dict)
    ):
        return True  # the Nova API's wrappers
    if isinstance(doc, list):
        return bool(doc) and _looks_like_server(doc[0])
    return _looks_like_server(doc)


def typed_networks(value: Any) -> dict[str, list[tuple[str, str | None]]]:
    """Both shapes of ``Networks``/``addresses`` as {network: [(address, OS-EXT-IPS:type or None)]}."""
    if isinstance(value, Mapping):
        found: dict[str, list[tuple[str, str | None]]] = {}
        for net, addrs in value.items():
            kept: list[tuple[str, str | None]] = []
            for entry in addrs if isinstance(addrs, list) else [addrs]:
                if isinstance(entry, Mapping):  # the API's {"addr": ..., "OS-EXT-IPS:type": ...}
                    addr, kind = text(entry.get("addr")), text(entry.get("OS-EXT-IPS:type"))
                else:
                    addr, kind = text(entry), None
                if addr:
                    kept.append((addr, kind.lower() if kind else None))
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
        found[net.strip()] = [(a.strip(), None) for a in addrs.split(",") if a.strip()]
    return found


def networks(value: Any) -> dict[str, list[str]]:
    """Both shapes of ``Networks``/``addresses`` as {network: [addresses]}."""
    return {net: [addr for addr, _ in addrs] for net, addrs in typed_networks(value).items()}


def _is_global(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_global
    except ValueError:
        return False


def split_addresses(nets: Mapping[str, list[tuple[str, str | None]]]) -> tuple[list[str], list[str]]:
    """(private, public) addresses: by ``OS-EXT-IPS:type`` when given, else by the network's name,
    global routability and the floating-after-fixed order; typed floating addresses first."""
    private: list[str] = []
    public: list[str] = []
    floating: list[str] = []
    for net, addrs in nets.items():
        public_net = bool(_PUBLIC_NET.search(net))
        fixed_v4_seen = False
        for addr, kind in addrs:
            v4 = is_ipv4(addr)
            if kind == "floating":
                floating.append(addr)
            elif kind == "fixed":
                private.append(addr)
            elif public_net or (v4 and fixed_v4_seen) or _is_global(addr):
                public.append(addr)
            else:
                private.append(addr)
            fixed_v4_seen = fixed_v4_seen or v4
    return private, floating + public


def _pick(addrs: list[str], *, v4: bool) -> str | None:
    for addr in addrs:
        if is_ipv4(addr) == v4:
            return addr
    return None


def _flavor(server: Mapping[str, Any], extra: dict[str, Any]) -> str | None:
    flavor = _get(server, "Flavor Name", "Flavor", "flavor")
    if not isinstance(flavor, Mapping):
        return text(flavor)
    name = text(flavor.get("original_name")) or text(flavor.get("name"))
    if name is None and (flavor_id := text(flavor.get("id"))):
        extra["flavor_id"] = flavor_id  # before microversion 2.47 the API gives only the id
    return name


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


def _servers(doc: Any, place: Place) -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict) and isinstance(doc.get("servers"), list):
        doc = doc["servers"]  # servers_links (the next page), if any, is for the user to fetch
    elif isinstance(doc, dict) and isinstance(doc.get("server"), dict):
        doc = doc["server"]
    if isinstance(doc, list):
        for n, item in enumerate(doc, start=place.first_item or 0):
            yield place.at(("item", n)), item
    else:
        yield place.at(), doc


def parse(doc: Any, place: Place | None = None) -> Iterator[Host]:
    for where, raw in _servers(doc, place or Place()):
        server = require_object(raw, where)
        server_id = text(_get(server, "ID", "id"))
        if server_id is None:
            raise ProviderParseError(f"{where}: server without ID")
        nets = typed_networks(_get(server, "Networks", "addresses"))
        private, public = split_addresses(nets)
        fields = {"private": "addresses (fixed)", "public": "addresses (floating)", "ipv6": "addresses"}
        public_v4 = _pick(public, v4=True)
        if public_v4 is None and (access := text(server.get("accessIPv4"))):
            public_v4, fields["public"] = access, "accessIPv4"
        ipv6 = _pick(public, v4=False) or _pick(private, v4=False)
        if ipv6 is None and (access := text(server.get("accessIPv6"))):
            ipv6, fields["ipv6"] = access, "accessIPv6"
        raw_state = text(_get(server, "Status", "status"))
        image = _get(server, "Image Name", "Image", "image")
        extra: dict[str, Any] = {}
        if nets:
            extra["networks"] = {net: [addr for addr, _ in addrs] for net, addrs in nets.items()}
        for keys, var in (
            (("Power State", "OS-EXT-STS:power_state"), "power_state"),
            (("Host", "OS-EXT-SRV-ATTR:host"), "compute_host"),
            (("Image ID",), "image_id"),
            (("Flavor ID",), "flavor_id"),
            (("tenant_id", "Project ID"), "project_id"),
        ):
            value = text(_get(server, *keys))
            if value is not None:
                extra[var] = value
        server_tags = [t for t in (text(x) for x in as_list(server.get("tags"))) if t]
        if server_tags:
            extra["server_tags"] = server_tags
        tags = _properties(_get(server, "metadata"))
        tags.update(_properties(_get(server, "Properties", "properties")))
        instance_type = _flavor(server, extra)
        yield Host(
            provider="openstack",
            instance_id=server_id,
            name=text(_get(server, "Name", "name")),
            state=_STATUS.get(raw_state.lower(), "unknown") if raw_state else "unknown",
            raw_state=raw_state,
            private_address=_pick(private, v4=True),
            public_address=public_v4,
            ipv6_address=ipv6,
            zone=text(_get(server, "Availability Zone", "OS-EXT-AZ:availability_zone")),
            instance_type=instance_type,
            key_name=text(_get(server, "Key Name", "key_name")),
            image=text(as_dict(image).get("id")) if isinstance(image, Mapping) else text(image),
            launch_time=text(_get(server, "Created At", "created")),
            tags=tags,
            extra=extra,
            address_fields=fields,
        )
