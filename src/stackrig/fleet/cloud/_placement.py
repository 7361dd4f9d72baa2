"""Where ``fleet up`` puts new instances: subnets of the fleet's VPC, spread over its zones.

With ``--subnet`` every new instance goes there. Without it the VPC's own subnets are
used: its default-for-AZ subnets when it has any, else all of them. Each new instance
goes to the zone that holds the fewest instances of the fleet (existing members
counted), and inside that zone to the subnet with the most free addresses. A VPC
without subnets is a USAGE error naming it: RunInstances without a subnet would put
the instance in the region's default VPC, outside the security group's network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackrig.errors import UsageError
from stackrig.fleet.cloud._ec2 import Ec2, FleetInstance

__all__ = ["Spreader", "Subnet", "SubnetUse", "fleet_subnets"]


@dataclass(frozen=True, slots=True)
class Subnet:
    subnet_id: str
    zone: str
    vpc_id: str
    public_ip_on_launch: bool
    free_addresses: int
    default_for_zone: bool

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Subnet:
        return cls(
            subnet_id=str(doc["SubnetId"]),
            zone=str(doc.get("AvailabilityZone", "")),
            vpc_id=str(doc.get("VpcId", "")),
            public_ip_on_launch=bool(doc.get("MapPublicIpOnLaunch", False)),
            free_addresses=int(doc.get("AvailableIpAddressCount", 0) or 0),
            default_for_zone=bool(doc.get("DefaultForAz", False)),
        )


@dataclass(frozen=True, slots=True)
class SubnetUse:
    """A subnet the run placed instances in, for the report."""

    subnet_id: str
    zone: str
    public_ip_on_launch: bool
    launched: tuple[str, ...] = ()


def fleet_subnets(ec2: Ec2, vpc: str, subnet: str | None) -> list[Subnet]:
    """The subnets new instances may go to (``--subnet``, else the VPC's, chosen as the module says)."""
    if subnet:
        ec2.given["subnet"] = subnet
        found = ec2.call(f"check subnet {subnet}", "describe_subnets", SubnetIds=[subnet])
        chosen = Subnet.of(found["Subnets"][0])
        if chosen.vpc_id and chosen.vpc_id != vpc:
            raise UsageError(f"subnet {subnet} is in {chosen.vpc_id}, not in --vpc {vpc}")
        return [chosen]
    subnets = [
        Subnet.of(doc)
        for doc in ec2.pages(
            f"list the subnets of {vpc}",
            "describe_subnets",
            "Subnets",
            Filters=[{"Name": "vpc-id", "Values": [vpc]}],
        )
    ]
    if not subnets:
        raise UsageError(
            f"VPC {vpc} has no subnets, so no instance can be launched in it",
            hint="create a subnet in it (aws ec2 create-subnet), or choose another --vpc",
        )
    defaults = [s for s in subnets if s.default_for_zone]
    return sorted(defaults or subnets, key=lambda s: (s.zone, s.subnet_id))


@dataclass
class Spreader:
    """Hands out subnets: the zone with the fewest fleet instances first, then the roomiest subnet."""

    subnets: Sequence[Subnet]
    per_zone: dict[str, int] = field(default_factory=dict)
    used: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def around(cls, subnets: Sequence[Subnet], members: Iterable[FleetInstance]) -> Spreader:
        zones = {s.zone for s in subnets}
        per_zone = dict.fromkeys(sorted(zones), 0)
        for member in members:
            if member.zone in per_zone:
                per_zone[member.zone] += 1
        return cls(subnets, per_zone)

    def next(self) -> Subnet:
        zone = min(self.per_zone, key=lambda z: (self.per_zone[z], z))
        candidates = [s for s in self.subnets if s.zone == zone]
        launched = {s.subnet_id: len(self.used.get(s.subnet_id, [])) for s in candidates}
        subnet = min(candidates, key=lambda s: (launched[s.subnet_id] - s.free_addresses, s.subnet_id))
        self.per_zone[zone] += 1
        return subnet

    def record(self, subnet: Subnet, instance_id: str) -> None:
        self.used.setdefault(subnet.subnet_id, []).append(instance_id)

    def uses(self) -> tuple[SubnetUse, ...]:
        return tuple(
            SubnetUse(s.subnet_id, s.zone, s.public_ip_on_launch, tuple(self.used[s.subnet_id]))
            for s in self.subnets
            if s.subnet_id in self.used
        )
