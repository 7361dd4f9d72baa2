"""``aws ec2 describe-instances`` (CLI JSON or a boto3 response dict) → :class:`Host`.

Every instance of every reservation is read (a common script reads only ``Instances[0]``).
The primary address is the one of the network interface with ``DeviceIndex`` 0;
``PublicIpAddress`` and ``Tags`` are often absent (private subnets, untagged, stopped or
terminated instances). ``LaunchTime`` is a string from the CLI and a datetime from boto3.
An IPv6-only instance has no ``PrivateIpAddress``: its ``Ipv6Address`` (or its primary
interface's first IPv6 address) is kept for ``ansible_host``. Positions are named the AWS
way: ``reservation 3, instance 2``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers._common import Place, as_dict, as_list, require_object, text

__all__ = ["detect", "parse"]

_REGION = re.compile(r"^([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d+)")
_STATES = {"pending", "running", "shutting-down", "terminated", "stopping", "stopped"}


def detect(doc: Any) -> bool:
    if isinstance(doc, dict):
        return "Reservations" in doc or "InstanceId" in doc or _instance_list(doc.get("Instances"))
    return _instance_list(doc)


def _instance_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and "InstanceId" in value[0]


def _instances(doc: Any, place: Place) -> Iterator[tuple[str, Any]]:
    if isinstance(doc, dict):
        if "Reservations" in doc:
            reservations = doc["Reservations"]
            if not isinstance(reservations, list):
                raise ProviderParseError(f"{place.at()}: Reservations is not a list")
            for r, reservation in enumerate(reservations, start=place.first_reservation):
                for n, instance in enumerate(as_list(as_dict(reservation).get("Instances"))):
                    yield place.at(("reservation", r), ("instance", n)), instance
            return
        if "Instances" in doc:  # run-instances output: one reservation
            for n, instance in enumerate(as_list(doc["Instances"])):
                yield place.at(("instance", n)), instance
            return
        yield place.at(), doc
        return
    if isinstance(doc, list):  # --query 'Reservations[].Instances[]'
        for n, instance in enumerate(doc, start=place.first_item or 0):
            yield place.at(("instance", n)), instance
        return
    raise ProviderParseError(f"{place.at()}: not describe-instances output")


def _primary_nic(instance: Mapping[str, Any]) -> Mapping[str, Any]:
    nics = [as_dict(n) for n in as_list(instance.get("NetworkInterfaces"))]
    for nic in nics:
        if as_dict(nic.get("Attachment")).get("DeviceIndex") in (0, "0"):
            return nic
    return nics[0] if nics else {}


def region_of(zone: str | None) -> str | None:
    if not zone:
        return None
    match = _REGION.match(zone)
    return match.group(1) if match else None


def _addresses(instance: Mapping[str, Any]) -> tuple[dict[str, str | None], dict[str, str]]:
    """(private, public, ipv6 addresses) and the field each came from."""
    nic = _primary_nic(instance)
    found: dict[str, str | None] = {}
    fields: dict[str, str] = {}
    candidates = {
        "private": (
            (instance.get("PrivateIpAddress"), "PrivateIpAddress"),
            (nic.get("PrivateIpAddress"), "NetworkInterfaces[].PrivateIpAddress"),
        ),
        "public": (
            (instance.get("PublicIpAddress"), "PublicIpAddress"),
            (as_dict(nic.get("Association")).get("PublicIp"), "NetworkInterfaces[].Association.PublicIp"),
        ),
        "ipv6": (
            (instance.get("Ipv6Address"), "Ipv6Address"),
            *(
                (as_dict(v6).get("Ipv6Address"), "NetworkInterfaces[].Ipv6Addresses[]")
                for v6 in as_list(nic.get("Ipv6Addresses"))
            ),
        ),
    }
    for kind, options in candidates.items():
        found[kind] = None
        for value, field in options:
            if (given := text(value)) is not None:
                found[kind], fields[kind] = given, field
                break
    return found, fields


def parse(doc: Any, place: Place | None = None) -> Iterator[Host]:
    for where, raw in _instances(doc, place or Place()):
        instance = require_object(raw, where)
        instance_id = text(instance.get("InstanceId"))
        if instance_id is None:
            raise ProviderParseError(f"{where}: instance without InstanceId")
        addresses, fields = _addresses(instance)
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
            private_address=addresses["private"],
            public_address=addresses["public"],
            ipv6_address=addresses["ipv6"],
            region=region_of(zone),
            zone=zone,
            instance_type=text(instance.get("InstanceType")),
            key_name=text(instance.get("KeyName")),
            image=text(instance.get("ImageId")),
            launch_time=text(instance.get("LaunchTime")),
            tags=tags,
            extra=extra,
            address_fields=fields,
        )
