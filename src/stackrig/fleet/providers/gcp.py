"""``gcloud compute instances list --format=json`` → :class:`Host`.

``zone`` and ``machineType`` are URLs (the last segment is kept); the primary
NIC is ``networkInterfaces[0]`` (nic0), its public address the ``natIP`` of an
access config, absent for internal-only VMs. ``status`` TERMINATED means
stopped in GCE. Labels are the tags; network tags go to ``gce_network_tags``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import (
    as_dict,
    as_list,
    last_segment,
    require_object,
    string_tags,
    text,
    where,
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
    if isinstance(doc, list):
        return bool(doc) and _looks_like_instance(doc[0])
    return _looks_like_instance(doc)


def _region(zone: str | None) -> str | None:
    if not zone or "-" not in zone:
        return None
    return zone.rsplit("-", 1)[0]


def parse(doc: Any, index: int = 0) -> Iterator[Host]:
    items = doc if isinstance(doc, list) else [doc]
    for n, raw in enumerate(items):
        vm = require_object(raw, index, n)
        instance_id = text(vm.get("id")) or text(vm.get("name"))
        if instance_id is None:
            raise ProviderParseError(f"{where(index, n)}: instance without id or name")
        nics = [as_dict(nic) for nic in as_list(vm.get("networkInterfaces"))]
        nic0 = nics[0] if nics else {}
        public = None
        for config in as_list(nic0.get("accessConfigs")):
            public = text(as_dict(config).get("natIP"))
            if public:
                break
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
            region=_region(zone),
            zone=zone,
            instance_type=last_segment(vm.get("machineType")),
            image=last_segment(vm.get("sourceMachineImage")),
            launch_time=text(vm.get("creationTimestamp")),
            tags=string_tags(as_dict(vm.get("labels"))),
            extra=extra,
        )
