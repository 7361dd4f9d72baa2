"""Azure virtual machines → :class:`Host`: the az CLI's output and Azure Resource Manager documents.

- ``az vm list -d -o json`` (the CLI flattens ``properties``): ``powerState`` ("VM running",
  "VM deallocated", ...) and comma-separated ``privateIps``/``publicIps`` (the first is the
  primary NIC's). Without ``-d`` there is no power state and no address.
- ``az vm list-ip-addresses -o json``: addresses but no state (state ``unknown``).
- Azure Resource Manager (``az rest``, SDKs, saved fixtures): ``{"value": [vm, ...]}`` or one
  VM, fields under ``properties``; the power state is in ``properties.instanceView`` when
  the list was asked with ``$expand=instanceView``; addresses only when the network
  interfaces are expanded (``properties.ipConfigurations``). A VM whose document has no
  address says so, naming the commands that give them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import Place, as_dict, as_list, require_object, string_tags, text

__all__ = ["detect", "parse"]

_POWER = {
    "running": "running",
    "starting": "pending",
    "stopping": "stopping",
    "deallocating": "stopping",
    "stopped": "stopped",
    "deallocated": "stopped",
}
_GROUP = re.compile(r"/resourceGroups/([^/]+)/", re.IGNORECASE)
NO_ADDRESS_NOTE = (
    "its addresses are not in the document (Azure Resource Manager names network interfaces only "
    "by id): use az vm list -d, or az vm list-ip-addresses, or expand the network interfaces"
)


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
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        doc = doc["value"]
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


def _from_ip_listing(entry: Mapping[str, Any], where: str) -> Host:
    vm = as_dict(entry.get("virtualMachine"))
    name = text(vm.get("name"))
    if name is None:
        raise ProviderParseError(f"{where}: virtualMachine without a name")
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
        address_fields={"private": "privateIpAddresses", "public": "publicIpAddresses[].ipAddress"},
    )


def _power(vm: Mapping[str, Any], props: Mapping[str, Any]) -> str | None:
    """``VM running`` from the CLI's powerState, or from the instance view's PowerState status."""
    raw = text(vm.get("powerState"))
    if raw:
        return raw
    view = as_dict(props.get("instanceView") or vm.get("instanceView"))
    for status in as_list(view.get("statuses")):
        code = text(as_dict(status).get("code")) or ""
        if code.startswith("PowerState/"):
            return text(as_dict(status).get("displayStatus")) or f"VM {code.split('/', 1)[1]}"
    return None


def _nic_addresses(props: Mapping[str, Any]) -> tuple[list[str], list[str], bool]:
    """Addresses of expanded network interfaces (primary first); False when none is expanded."""
    nics = [as_dict(n) for n in as_list(as_dict(props.get("networkProfile")).get("networkInterfaces"))]
    nics.sort(key=lambda nic: not as_dict(nic.get("properties")).get("primary", False))
    private: list[str] = []
    public: list[str] = []
    expanded = False
    for nic in nics:
        configs = as_list(as_dict(nic.get("properties")).get("ipConfigurations"))
        expanded = expanded or bool(configs)
        for config in configs:
            conf = as_dict(as_dict(config).get("properties"))
            if ip := text(conf.get("privateIPAddress")):
                private.append(ip)
            pip = as_dict(conf.get("publicIPAddress"))
            if ip := text(as_dict(pip.get("properties")).get("ipAddress")) or text(pip.get("ipAddress")):
                public.append(ip)
    return private, public, expanded


def _image(props: Mapping[str, Any]) -> str | None:
    ref = as_dict(as_dict(props.get("storageProfile")).get("imageReference"))
    parts = [p for p in (text(ref.get(k)) for k in ("publisher", "offer", "sku", "version")) if p]
    return text(ref.get("id")) or (":".join(parts) or None)


def _from_vm(vm: Mapping[str, Any], where: str) -> Host:
    name = text(vm.get("name"))
    rid = text(vm.get("id"))
    if name is None and rid is None:
        raise ProviderParseError(f"{where}: virtual machine without name or id")
    # The CLI flattens ARM's ``properties``; read both (the CLI's own keys win).
    props = {**as_dict(vm.get("properties")), **vm}
    raw_state = _power(vm, as_dict(vm.get("properties")))
    state = _POWER.get(raw_state.lower().removeprefix("vm "), "unknown") if raw_state else "unknown"
    cli_listed = "privateIps" in vm or "publicIps" in vm
    private, public = _ips(vm.get("privateIps")), _ips(vm.get("publicIps"))
    note = None
    fields = {"private": "privateIps", "public": "publicIps"}
    if not cli_listed:
        private, public, expanded = _nic_addresses(props)
        fields = {
            "private": "ipConfigurations[].privateIPAddress",
            "public": "ipConfigurations[].publicIPAddress.ipAddress",
        }
        note = None if expanded else NO_ADDRESS_NOTE
    zones = [z for z in (text(x) for x in as_list(vm.get("zones"))) if z]
    extra: dict[str, Any] = {}
    group = text(vm.get("resourceGroup")) or (m.group(1) if rid and (m := _GROUP.search(rid)) else None)
    if group:
        extra["resource_group"] = group
    for field, var in (
        ("vmId", "vm_id"),
        ("fqdns", "fqdns"),
        ("provisioningState", "provisioning_state"),
    ):
        value = text(props.get(field))
        if value is not None:
            extra[var] = value
    os_profile = as_dict(props.get("osProfile"))
    for field, var in (("adminUsername", "admin_username"), ("computerName", "computer_name")):
        if value := text(os_profile.get(field)):
            extra[var] = value
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
        instance_type=text(as_dict(props.get("hardwareProfile")).get("vmSize")),
        image=_image(props),
        launch_time=text(props.get("timeCreated")),
        tags=string_tags(as_dict(vm.get("tags"))),
        extra=extra,
        address_fields=fields,
        address_note=note,
    )


def parse(doc: Any, place: Place | None = None) -> Iterator[Host]:
    place = place or Place()
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        doc = doc["value"]  # an ARM list (nextLink, if any, is another page for the user to fetch)
    items = (
        [(place.at(("item", n)), item) for n, item in enumerate(doc, start=place.first_item or 0)]
        if isinstance(doc, list)
        else [(place.at(), doc)]
    )
    for where, raw in items:
        item = require_object(raw, where)
        if "virtualMachine" in item:
            yield _from_ip_listing(item, where)
        else:
            yield _from_vm(item, where)
