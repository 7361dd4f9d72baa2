"""The fleet's security group: ingress rules parsed from ``--rule`` and converged on what was asked."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stackrig.errors import UsageError
from stackrig.fleet.cloud._ec2 import FLEET_TAG, Ec2, Progress

__all__ = ["Rule", "RuleChanges", "converge_group", "parse_rule"]

_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "all": "-1", "-1": "-1"}


@dataclass(frozen=True, slots=True, order=True)
class Rule:
    """One ingress rule: protocol, port range, source CIDR (IPv4 or IPv6)."""

    protocol: str
    from_port: int
    to_port: int
    cidr: str

    def __str__(self) -> str:
        proto = "all" if self.protocol == "-1" else self.protocol
        if self.protocol == "-1" or (self.from_port, self.to_port) == (-1, -1):
            ports = "*"
        elif self.from_port == self.to_port:
            ports = str(self.from_port)
        else:
            ports = f"{self.from_port}-{self.to_port}"
        return f"{proto}:{ports}:{self.cidr}"

    def permission(self) -> dict[str, Any]:
        """The IpPermissions entry for this rule."""
        entry: dict[str, Any] = {"IpProtocol": self.protocol}
        if self.protocol != "-1":
            entry["FromPort"] = self.from_port
            entry["ToPort"] = self.to_port
        if ":" in self.cidr:
            entry["Ipv6Ranges"] = [{"CidrIpv6": self.cidr}]
        else:
            entry["IpRanges"] = [{"CidrIp": self.cidr}]
        return entry


def parse_rule(text: str) -> Rule:
    """``PROTO:PORT[-PORT]:CIDR`` (``tcp:22:0.0.0.0/0``, ``udp:8000-8100:10.0.0.0/8``, ``all:*:::/0``)."""
    parts = text.split(":", 2)
    if len(parts) != 3:
        raise UsageError(
            f"rule {text!r} is not PROTO:PORT[-PORT]:CIDR", hint="for example --rule tcp:22:203.0.113.0/24"
        )
    proto_text, ports, cidr_text = parts
    protocol = _PROTOCOLS.get(proto_text.lower())
    if protocol is None:
        raise UsageError(f"rule {text!r}: protocol must be tcp, udp, icmp, icmpv6 or all")
    try:
        cidr = str(ipaddress.ip_network(cidr_text, strict=False))
    except ValueError as exc:
        raise UsageError(f"rule {text!r}: {cidr_text!r} is not a CIDR such as 10.0.0.0/8") from exc
    if protocol == "-1":
        if ports not in {"*", ""}:
            raise UsageError(f"rule {text!r}: protocol all takes no ports (write all:*:CIDR)")
        return Rule(protocol, -1, -1, cidr)
    if ports == "*":
        low, high = (-1, -1) if protocol.startswith("icmp") else (0, 65535)
        return Rule(protocol, low, high, cidr)
    match = re.fullmatch(r"(-1|\d{1,5})(?:-(\d{1,5}))?", ports)
    if match is None:
        raise UsageError(f"rule {text!r}: port must be N, N-M or *")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    limit = 255 if protocol.startswith("icmp") else 65535
    if low > high or high > limit:
        raise UsageError(f"rule {text!r}: port range {ports} is out of order or above {limit}")
    return Rule(protocol, low, high, cidr)


def rules_of(permissions: Iterable[dict[str, Any]]) -> set[Rule]:
    found: set[Rule] = set()
    for perm in permissions:
        protocol = str(perm.get("IpProtocol", "-1"))
        low = int(perm.get("FromPort", -1)) if protocol != "-1" else -1
        high = int(perm.get("ToPort", -1)) if protocol != "-1" else -1
        for rng in perm.get("IpRanges", []):
            found.add(Rule(protocol, low, high, str(rng["CidrIp"])))
        for rng in perm.get("Ipv6Ranges", []):
            found.add(Rule(protocol, low, high, str(rng["CidrIpv6"])))
    return found


@dataclass(frozen=True, slots=True)
class RuleChanges:
    group_id: str
    group_name: str
    created: bool
    added: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def converge_group(
    ec2: Ec2, prefix: str, vpc: str, rules: Iterable[Rule], *, prune: bool, progress: Progress
) -> RuleChanges:
    """Create ``PREFIX-sg`` in ``vpc`` if missing, add the missing rules, remove extra ones if ``prune``."""
    name = f"{prefix}-sg"
    found = ec2.groups(name, vpc)
    created = not found
    if created:
        progress(f"creating security group {name} in {vpc}")
        made = ec2.call(
            f"create security group {name}",
            "create_security_group",
            GroupName=name,
            Description=f"stackrig fleet {prefix}",
            VpcId=vpc,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": FLEET_TAG, "Value": prefix}, {"Key": "Name", "Value": name}],
                }
            ],
        )
        group_id = str(made["GroupId"])
        current: set[Rule] = set()
    else:
        group_id = str(found[0]["GroupId"])
        current = rules_of(found[0].get("IpPermissions", []))
    wanted = set(rules)
    missing = sorted(wanted - current)
    extra = sorted(current - wanted)
    if missing:
        progress(f"adding {len(missing)} rule(s) to {name}")
        ec2.call(
            f"add ingress rules to {name}",
            "authorize_security_group_ingress",
            GroupId=group_id,
            IpPermissions=[r.permission() for r in missing],
        )
    removed: list[Rule] = []
    if extra and prune:
        progress(f"removing {len(extra)} extra rule(s) from {name}")
        ec2.call(
            f"remove ingress rules from {name}",
            "revoke_security_group_ingress",
            GroupId=group_id,
            IpPermissions=[r.permission() for r in extra],
        )
        removed, extra = extra, []
    return RuleChanges(
        group_id=group_id,
        group_name=name,
        created=created,
        added=tuple(map(str, missing)),
        extra=tuple(map(str, extra)),
        removed=tuple(map(str, removed)),
    )
