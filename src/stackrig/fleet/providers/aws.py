"""``aws ec2 describe-instances`` (CLI JSON or a boto3 response dict) → :class:`Host`.

Every instance of every reservation is read (a common script reads only ``Instances[0]``).
The primary address is the one of the network interface with ``DeviceIndex`` 0;
``PublicIpAddress`` and ``Tags`` are often absent (private subnets, untagged,
stopped or terminated instances). ``LaunchTime`` is a string from the CLI and a
datetime from boto3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import as_dict, as_list, require_object, text, where

__all__ = ["detect", "parse"]

_REGION = re.compile(r"^([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+)")
_STATES = {"pending", "running", "shutting-down", "terminated", "stopping", "stopped"}


def detect(doc: Any) -> bool:
    if isinstance(doc, dict):
        return "Reservations" in doc or "InstanceId" in doc or _instance_list(doc.get("Instances"))
    return _instance_list(doc)


def _instance_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and "InstanceId" in value[0]


def _instances(doc: Any, index: int) -> Iterator[tuple[int, Any]]:
    if isinstance(doc, dict):
        if "Reservations" in doc:
            reservations = doc["Reservations"]
            if not isinstance(reservations, list):
                raise ProviderParseError(f"{where(index)}: Reservations is not a list")
            n = 0
            for reservation in reservations:
                for instance in as_list(as_dict(reservation).get("Instances")):
                    yield n, instance
                    n += 1
            return
        if "Instances" in doc:  # run-instances output
            yield from enumerate(as_list(doc["Instances"]))
            return
        yield 0, doc
        return
    if isinstance(doc, list):  # --query 'Reservations[].Instances[]'
        yield from enumerate(doc)
        return
    raise ProviderParseError(f"{where(index)}: not describe-instances output")


def _primary_nic(instance: Mapping[str, Any]) -> Mapping[str, Any]:
    nics = [as_dict(n) for n in as_list(instance.get("NetworkInterfaces"))]
    for nic in nics:
        if as_dict(nic.get("Attachment")).get("DeviceIndex") == 0:
            return nic
    return nics[0] if nics else {}


def region_of(zone: str | None) -> str | None:
    if not zone:
        return None
    match = _REGION.match(zone)
    return match.group(1) if match else None


def parse(doc: Any, index: int = 0) -> Iterator[Host]:
    for n, raw in _instances(doc, index):
        instance = require_object(raw, index, n)
        instance_id = text(instance.get("InstanceId"))
        if instance_id is None:
            raise ProviderParseError(f"{where(index, n)}: instance without InstanceId")
        nic = _primary_nic(instance)
        private = text(instance.get("PrivateIpAddress")) or text(nic.get("PrivateIpAddress"))
        public = text(instance.get("PublicIpAddress")) or text(
            as_dict(nic.get("Association")).get("PublicIp")
        )
        state_doc = as_dict(instance.get("State"))
        raw_state = text(state_doc.get("Name"))
        state = raw_state if raw_state in _STATES else "unknown"
        placement = as_dict(instance.get("Placement"))
        zone = text(placement.get("AvailabilityZone"))
        tags: dict[str, str] = {}
        for pair in as_list(instance.get("Tags")):
            key = text(as_dict(pair).get("Key"))
            if key is not None:
                tags[key] = text(as_dict(pair).get("Value")) or ""
        extra: dict[str, Any] = {}
        for field, var in (
            ("VpcId", "vpc_id"),
            ("SubnetId", "subnet_id"),
            ("PrivateDnsName", "private_dns_name"),
            ("PublicDnsName", "public_dns_name"),
            ("Ipv6Address", "ipv6_address"),
            ("Architecture", "architecture"),
            ("Platform", "platform"),
        ):
            value = text(instance.get(field))
            if value is not None:
                extra[var] = value
        code = state_doc.get("Code")
        if isinstance(code, int) and not isinstance(code, bool):
            extra["state_code"] = code
        yield Host(
            provider="aws",
            instance_id=instance_id,
            name=tags.get("Name") or None,
            state=state,
            raw_state=raw_state,
            private_address=private,
            public_address=public,
            region=region_of(zone),
            zone=zone,
            instance_type=text(instance.get("InstanceType")),
            key_name=text(instance.get("KeyName")),
            image=text(instance.get("ImageId")),
            launch_time=text(instance.get("LaunchTime")),
            tags=tags,
            extra=extra,
        )
