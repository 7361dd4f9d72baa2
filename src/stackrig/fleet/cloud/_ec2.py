"""One region's EC2 client for ``fleet up`` / ``fleet down``, and what a fleet member looks like."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stackrig.errors import UsageError
from stackrig.fleet._aws import AwsTarget, aws_errors, secrets_of

__all__ = ["FLEET_TAG", "LIVE_STATES", "Ec2", "FleetInstance", "Progress", "check_prefix", "order"]

FLEET_TAG = "stackrig:fleet"
LIVE_STATES = ("pending", "running", "stopping", "stopped")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    return None


def check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.fullmatch(prefix):
        raise UsageError(
            f"prefix {prefix!r} must be 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


@dataclass(frozen=True, slots=True)
class FleetInstance:
    instance_id: str
    name: str
    state: str
    private_ip: str | None = None
    public_ip: str | None = None
    zone: str | None = None
    subnet_id: str | None = None
    vpc_id: str | None = None


class Ec2:
    """One region's EC2 client with the error mapping applied to every call."""

    def __init__(self, target: AwsTarget) -> None:
        self.session = target.session()
        self.client = target.client(self.session, "ec2", target.region)
        self.region = str(self.client.meta.region_name)
        self.secrets = secrets_of(self.session)
        self.given: dict[str, str] = {}

    def call(self, action: str, method: str, **params: Any) -> Any:
        with aws_errors(action, region=self.region, given=self.given, secrets=self.secrets):
            return getattr(self.client, method)(**params)

    def pages(self, action: str, method: str, key: str, **params: Any) -> list[Any]:
        items: list[Any] = []
        with aws_errors(action, region=self.region, given=self.given, secrets=self.secrets):
            for page in self.client.get_paginator(method).paginate(**params):
                items.extend(page.get(key, []))
        return items

    def fleet_instances(self, prefix: str, states: Sequence[str] = LIVE_STATES) -> list[dict[str, Any]]:
        reservations = self.pages(
            f"list the instances of fleet {prefix}",
            "describe_instances",
            "Reservations",
            Filters=[
                {"Name": f"tag:{FLEET_TAG}", "Values": [prefix]},
                {"Name": "instance-state-name", "Values": list(states)},
            ],
        )
        return [inst for res in reservations for inst in res.get("Instances", [])]

    def fleet_reservations(self, prefix: str) -> list[dict[str, Any]]:
        return list(
            self.pages(
                f"list the instances of fleet {prefix}",
                "describe_instances",
                "Reservations",
                Filters=[{"Name": f"tag:{FLEET_TAG}", "Values": [prefix]}],
            )
        )

    def groups(self, name: str, vpc: str | None = None) -> list[dict[str, Any]]:
        filters = [{"Name": "group-name", "Values": [name]}]
        if vpc:
            filters.append({"Name": "vpc-id", "Values": [vpc]})
        return list(
            self.pages(
                f"look up security group {name}",
                "describe_security_groups",
                "SecurityGroups",
                Filters=filters,
            )
        )


def tag(instance: dict[str, Any], key: str) -> str | None:
    for tag in instance.get("Tags", []) or []:
        if tag.get("Key") == key:
            return str(tag.get("Value", ""))
    return None


def as_fleet_instance(instance: dict[str, Any]) -> FleetInstance:
    return FleetInstance(
        instance_id=str(instance["InstanceId"]),
        name=tag(instance, "Name") or "",
        state=str(instance.get("State", {}).get("Name", "unknown")),
        private_ip=instance.get("PrivateIpAddress"),
        public_ip=instance.get("PublicIpAddress"),
        zone=instance.get("Placement", {}).get("AvailabilityZone"),
        subnet_id=instance.get("SubnetId"),
        vpc_id=instance.get("VpcId"),
    )


def member_index(prefix: str, name: str) -> int | None:
    match = re.fullmatch(re.escape(prefix) + r"-(\d+)", name)
    return int(match.group(1)) if match else None


def order(prefix: str, members: list[FleetInstance]) -> list[FleetInstance]:
    """Members in keep-first order: lowest index first, unnamed/duplicates last."""
    seen: set[int] = set()
    first: list[tuple[int, FleetInstance]] = []
    rest: list[FleetInstance] = []
    for member in sorted(members, key=lambda m: (member_index(prefix, m.name) or 10**9, m.instance_id)):
        idx = member_index(prefix, member.name)
        if idx is None or idx in seen or idx < 1:
            rest.append(member)
        else:
            seen.add(idx)
            first.append((idx, member))
    return [m for _, m in first] + rest
