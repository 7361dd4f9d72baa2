"""``az vm list -d -o json`` and ``az vm list-ip-addresses -o json`` → :class:`Host`.

``az vm list`` without ``-d`` has no power state and no addresses; ``-d``
adds ``powerState`` ("VM running", "VM deallocated", ...) and comma-separated
``privateIps``/``publicIps`` strings (the first is the primary NIC's).
``list-ip-addresses`` has addresses but no state (state ``unknown``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import (
    as_dict,
    as_list,
    require_object,
    string_tags,
    text,
    where,
)

__all__ = ["detect", "parse"]

_POWER = {
    "vm running": "running",
    "vm starting": "pending",
    "vm stopping": "stopping",
    "vm deallocating": "stopping",
    "vm stopped": "stopped",
    "vm deallocated": "stopped",
}


def _looks_like_vm(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if "virtualMachine" in item:
        return True
    rid = item.get("id")
    kind = item.get("type")
    return (isinstance(rid, str) and "/providers/Microsoft.Compute/virtualMachines/" in rid) or (
        isinstance(kind, str) and kind.lower() == "microsoft.compute/virtualmachines"
    )


def detect(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc) and _looks_like_vm(doc[0])
    return _looks_like_vm(doc)


def _ips(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in (text(x) for x in value) if v]
    joined = text(value)
    if not joined:
        return []
    return [part.strip() for part in joined.split(",") if part.strip()]


def _first_addresses(
    private: list[str], public: list[str], extra: dict[str, Any]
) -> tuple[str | None, str | None]:
    """The first private and public address; all of them go to ``extra`` when a VM has several."""
    if len(private) > 1:
        extra["private_ips"] = private
    if len(public) > 1:
        extra["public_ips"] = public
    return (private[0] if private else None), (public[0] if public else None)


def _from_ip_listing(entry: Mapping[str, Any], index: int, n: int) -> Host:
    vm = as_dict(entry.get("virtualMachine"))
    name = text(vm.get("name"))
    if name is None:
        raise ProviderParseError(f"{where(index, n)}: virtualMachine without a name")
    group = text(vm.get("resourceGroup"))
    network = as_dict(vm.get("network"))
    private = _ips(network.get("privateIpAddresses"))
    public = [
        ip
        for ip in (text(as_dict(p).get("ipAddress")) for p in as_list(network.get("publicIpAddresses")))
        if ip
    ]
    extra: dict[str, Any] = {}
    if group:
        extra["resource_group"] = group
    private_address, public_address = _first_addresses(private, public, extra)
    return Host(
        provider="azure",
        instance_id=f"{group}/{name}" if group else name,
        name=name,
        private_address=private_address,
        public_address=public_address,
        extra=extra,
    )


def _from_vm(vm: Mapping[str, Any], index: int, n: int) -> Host:
    name = text(vm.get("name"))
    rid = text(vm.get("id"))
    if name is None and rid is None:
        raise ProviderParseError(f"{where(index, n)}: virtual machine without name or id")
    raw_state = text(vm.get("powerState"))
    state = _POWER.get(raw_state.lower(), "unknown") if raw_state else "unknown"
    private = _ips(vm.get("privateIps"))
    public = _ips(vm.get("publicIps"))
    zones = [z for z in (text(x) for x in as_list(vm.get("zones"))) if z]
    image_ref = as_dict(as_dict(vm.get("storageProfile")).get("imageReference"))
    image = text(image_ref.get("id")) or (
        ":".join(p for p in (text(image_ref.get(k)) for k in ("publisher", "offer", "sku", "version")) if p)
        or None
    )
    extra: dict[str, Any] = {}
    for field, var in (
        ("resourceGroup", "resource_group"),
        ("vmId", "vm_id"),
        ("fqdns", "fqdns"),
        ("provisioningState", "provisioning_state"),
    ):
        value = text(vm.get(field))
        if value is not None:
            extra[var] = value
    admin = text(as_dict(vm.get("osProfile")).get("adminUsername"))
    if admin:
        extra["admin_username"] = admin
    private_address, public_address = _first_addresses(private, public, extra)
    return Host(
        provider="azure",
        instance_id=rid or name or "",
        name=name,
        state=state,
        raw_state=raw_state,
        private_address=private_address,
        public_address=public_address,
        region=text(vm.get("location")),
        zone=zones[0] if zones else None,
        instance_type=text(as_dict(vm.get("hardwareProfile")).get("vmSize")),
        image=image,
        launch_time=text(vm.get("timeCreated")),
        tags=string_tags(as_dict(vm.get("tags"))),
        extra=extra,
    )


def parse(doc: Any, index: int = 0) -> Iterator[Host]:
    items = doc if isinstance(doc, list) else [doc]
    for n, raw in enumerate(items):
        item = require_object(raw, index, n)
        if "virtualMachine" in item:
            yield _from_ip_listing(item, index, n)
        else:
            yield _from_vm(item, index, n)
