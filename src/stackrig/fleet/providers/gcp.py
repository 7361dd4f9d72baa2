"""GCE instances → :class:`Host`: ``gcloud compute instances list --format=json`` and the API's lists.

The CLI prints a list of instance resources; the API (``instances.list``) wraps them in
``{"items": [...]}`` and ``aggregatedList`` in ``{"items": {"zones/ZONE": {"instances":
[...]}}}`` (a zone without instances carries a ``warning`` instead). ``zone`` and
``machineType`` are URLs (the last segment is kept); the primary NIC is
``networkInterfaces[0]`` (nic0), its public address the ``natIP`` of an access config,
absent for internal-only VMs; its IPv6 address the ``externalIpv6`` of an IPv6 access
config, else ``ipv6Address``. ``status`` TERMINATED means stopped in GCE. Labels are the
tags; network tags go to ``gce_network_tags``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import (
    Place,
    as_dict,
    as_list,
    last_segment,
    require_object,
    string_tags,
    text,
)

__all__ = ["detect", "parse"]

_STATUS = {
    "provisioning": "pending",
    "staging": "pending",
    "repairing": "pending",
    "running": "running",
    "stopping": "stopping",
    "suspending": "stopping",
    "suspended": "stopped",
    "terminated": "stopped",
}
_LISTS = ("compute#instanceList", "compute#instanceAggregatedList")


def _looks_like_instance(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    link = item.get("selfLink")
    if isinstance(link, str) and "/compute/" in link and "/instances/" in link:
        return True
    kind = item.get("kind")
    if kind == "compute#instance":
        return True
    return "networkInterfaces" in item and "machineType" in item


def detect(doc: Any) -> bool:
    if isinstance(doc, dict) and ("items" in doc or doc.get("kind") in _LISTS):
        items = doc.get("items")
        if isinstance(items, dict):  # aggregatedList
            return all(isinstance(scope, dict) for scope in items.values())
        return doc.get("kind") in _LISTS or (isinstance(items, list) and detect(items))
    if isinstance(doc, list):
        return bool(doc) and _looks_like_instance(doc[0])
    return _looks_like_instance(doc)


def _instances(doc: Any, place: Place) -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict) and ("items" in doc or doc.get("kind") in _LISTS):
        items = doc.get("items")
        if isinstance(items, dict):
            for scope, body in items.items():
                for n, item in enumerate(as_list(as_dict(body).get("instances"))):
                    yield place.at(str(scope), ("item", n)), item
            return
        doc = as_list(items)
    if isinstance(doc, list):
        for n, item in enumerate(doc, start=place.first_item or 0):
            yield place.at(("item", n)), item
        return
    yield place.at(), doc


def _region(zone: str | None) -> str | None:
    if not zone or "-" not in zone:
        return None
    return zone.rsplit("-", 1)[0]


def _first(nic: Mapping[str, Any], configs: str, key: str) -> str | None:
    for config in as_list(nic.get(configs)):
        if value := text(as_dict(config).get(key)):
            return value
    return None


def parse(doc: Any, place: Place | None = None) -> Iterator[Host]:
    for where, raw in _instances(doc, place or Place()):
        vm = require_object(raw, where)
        instance_id = text(vm.get("id")) or text(vm.get("name"))
        if instance_id is None:
            raise ProviderParseError(f"{where}: instance without id or name")
        nics = [as_dict(nic) for nic in as_list(vm.get("networkInterfaces"))]
        nic0 = nics[0] if nics else {}
        public = _first(nic0, "accessConfigs", "natIP")
        ipv6 = _first(nic0, "ipv6AccessConfigs", "externalIpv6") or text(nic0.get("ipv6Address"))
        raw_state = text(vm.get("status"))
        zone = last_segment(vm.get("zone"))
        extra: dict[str, Any] = {}
        network_tags = [t for t in (text(x) for x in as_list(as_dict(vm.get("tags")).get("items"))) if t]
        if network_tags:
            extra["network_tags"] = network_tags
        for field, var in (("cpuPlatform", "cpu_platform"), ("hostname", "hostname")):
            value = text(vm.get(field))
            if value is not None:
                extra[var] = value
        network = last_segment(nic0.get("network"))
        if network:
            extra["network"] = network
        if len(nics) > 1:
            extra["private_ips"] = [ip for ip in (text(nic.get("networkIP")) for nic in nics) if ip]
        yield Host(
            provider="gcp",
            instance_id=instance_id,
            name=text(vm.get("name")),
            state=_STATUS.get(raw_state.lower(), "unknown") if raw_state else "unknown",
            raw_state=raw_state,
            private_address=text(nic0.get("networkIP")),
            public_address=public,
            ipv6_address=ipv6,
            region=_region(zone),
            zone=zone,
            instance_type=last_segment(vm.get("machineType")),
            image=last_segment(vm.get("sourceMachineImage") or vm.get("image")),
            launch_time=text(vm.get("creationTimestamp")),
            tags=string_tags(as_dict(vm.get("labels"))),
            extra=extra,
            address_fields={
                "private": "networkInterfaces[0].networkIP",
                "public": "networkInterfaces[0].accessConfigs[].natIP",
                "ipv6": "networkInterfaces[0].ipv6AccessConfigs[].externalIpv6 / ipv6Address",
            },
        )
