"""Create and tear down a fleet on EC2 through boto3: ``fleet up`` and ``fleet down``.

A fleet is every instance tagged ``stackrig:fleet=NAME`` (and ``Name=NAME-<i>``)
plus the security group ``NAME-sg``. ``up`` is idempotent: it converges the
group's ingress rules and the number of live instances on what was asked, and
never removes anything without consent (``prune_rules``, ``scale_down``).

Every instance is tagged in its own RunInstances call (TagSpecifications), so an
interruption at any moment leaves no untagged machine behind; a client token per
call makes botocore's retries safe.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig.errors import ConflictError, FailedError, InterruptError, UsageError, WaitTimeoutError
from stackrig.fleet._aws import RETRY_MODES, AwsTarget, aws_errors, jsonable, secrets_of

if TYPE_CHECKING:
    from stackrig.fleet import InventoryOutcome
    from stackrig.fleet.discover import InventoryRequest

__all__ = [
    "FLEET_TAG",
    "RETRY_MODES",
    "AwsTarget",
    "DownPlan",
    "DownResult",
    "FleetInstance",
    "Rule",
    "RuleChanges",
    "UpOutcome",
    "UpResult",
    "UpSettings",
    "execute_down",
    "fleet_down",
    "fleet_up",
    "parse_rule",
    "parse_tag",
    "plan_down",
    "up_inventory",
]

FLEET_TAG = "stackrig:fleet"
LIVE_STATES = ("pending", "running", "stopping", "stopped")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "all": "-1", "-1": "-1"}

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# ------------------------------------------------------------------ rules and tags


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


def parse_tag(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` for ``--tag`` (the keys Name and stackrig:fleet are ours)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"tag {text!r} is not KEY=VALUE")
    if key in {"Name", FLEET_TAG} or key.startswith("aws:"):
        raise UsageError(f"tag key {key!r} is reserved (stackrig sets Name and {FLEET_TAG} itself)")
    return key, value


def _rules_of(permissions: Iterable[dict[str, Any]]) -> set[Rule]:
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


# ------------------------------------------------------------------ values


@dataclass(frozen=True, slots=True)
class UpSettings:
    prefix: str
    count: int
    image: str
    instance_type: str
    key_name: str | None
    vpc: str
    subnet: str | None = None
    rules: tuple[Rule, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    prune_rules: bool = False
    scale_down: bool = False
    wait: bool = True
    poll_interval: float = 2.0
    timeout: float = 600.0

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if self.count < 0:
            raise UsageError(f"--count must be 0 or more, not {self.count}")
        if self.poll_interval <= 0:
            raise UsageError("--poll-interval must be above 0 seconds")


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


@dataclass(frozen=True, slots=True)
class RuleChanges:
    group_id: str
    group_name: str
    created: bool
    added: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UpResult:
    prefix: str
    region: str
    security_group: RuleChanges
    launched: tuple[str, ...]
    started: tuple[str, ...]
    terminated: tuple[str, ...]
    kept: tuple[str, ...]
    instances: tuple[FleetInstance, ...]
    waited: bool
    reservations: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    """describe-instances ``Reservations`` of the fleet after the run (JSON types), for the inventory."""


@dataclass(frozen=True, slots=True)
class DownPlan:
    prefix: str
    region: str
    instances: tuple[FleetInstance, ...]
    security_groups: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.instances and not self.security_groups


@dataclass(frozen=True, slots=True)
class DownResult:
    plan: DownPlan
    terminated: tuple[str, ...]
    deleted_groups: tuple[str, ...]
    dry_run: bool


# ------------------------------------------------------------------ the EC2 conversation


class _Ec2:
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


def _tag(instance: dict[str, Any], key: str) -> str | None:
    for tag in instance.get("Tags", []) or []:
        if tag.get("Key") == key:
            return str(tag.get("Value", ""))
    return None


def _as_fleet_instance(instance: dict[str, Any]) -> FleetInstance:
    return FleetInstance(
        instance_id=str(instance["InstanceId"]),
        name=_tag(instance, "Name") or "",
        state=str(instance.get("State", {}).get("Name", "unknown")),
        private_ip=instance.get("PrivateIpAddress"),
        public_ip=instance.get("PublicIpAddress"),
    )


def _index(prefix: str, name: str) -> int | None:
    match = re.fullmatch(re.escape(prefix) + r"-(\d+)", name)
    return int(match.group(1)) if match else None


def _order(prefix: str, members: list[FleetInstance]) -> list[FleetInstance]:
    """Members in keep-first order: lowest index first, unnamed/duplicates last."""
    seen: set[int] = set()
    first: list[tuple[int, FleetInstance]] = []
    rest: list[FleetInstance] = []
    for member in sorted(members, key=lambda m: (_index(prefix, m.name) or 10**9, m.instance_id)):
        idx = _index(prefix, member.name)
        if idx is None or idx in seen or idx < 1:
            rest.append(member)
        else:
            seen.add(idx)
            first.append((idx, member))
    return [m for _, m in first] + rest


def _validate(ec2: _Ec2, settings: UpSettings) -> None:
    """Fail early, with one clear line, on a VPC, subnet, image or key pair that does not exist."""
    ec2.given.update({"VPC": settings.vpc, "image (AMI)": settings.image})
    ec2.call(f"check VPC {settings.vpc}", "describe_vpcs", VpcIds=[settings.vpc])
    if settings.subnet:
        ec2.given["subnet"] = settings.subnet
        found = ec2.call(f"check subnet {settings.subnet}", "describe_subnets", SubnetIds=[settings.subnet])
        subnet_vpc = found["Subnets"][0].get("VpcId")
        if subnet_vpc and subnet_vpc != settings.vpc:
            raise UsageError(f"subnet {settings.subnet} is in {subnet_vpc}, not in --vpc {settings.vpc}")
    ec2.call(f"check image {settings.image}", "describe_images", ImageIds=[settings.image])
    if settings.key_name:
        ec2.given["key pair"] = settings.key_name
        ec2.call(f"check key pair {settings.key_name}", "describe_key_pairs", KeyNames=[settings.key_name])


def _converge_group(ec2: _Ec2, settings: UpSettings, progress: Progress) -> RuleChanges:
    name = f"{settings.prefix}-sg"
    found = ec2.groups(name, settings.vpc)
    created = not found
    if created:
        progress(f"creating security group {name} in {settings.vpc}")
        made = ec2.call(
            f"create security group {name}",
            "create_security_group",
            GroupName=name,
            Description=f"stackrig fleet {settings.prefix}",
            VpcId=settings.vpc,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": FLEET_TAG, "Value": settings.prefix}, {"Key": "Name", "Value": name}],
                }
            ],
        )
        group_id = str(made["GroupId"])
        current: set[Rule] = set()
    else:
        group_id = str(found[0]["GroupId"])
        current = _rules_of(found[0].get("IpPermissions", []))
    wanted = set(settings.rules)
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
    if extra and settings.prune_rules:
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


def _token(prefix: str, index: int, run_id: str) -> str:
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:16]
    return f"stackrig-{digest}-{index}-{run_id}"


def _launch_one(ec2: _Ec2, settings: UpSettings, group_id: str, index: int, run_id: str) -> FleetInstance:
    name = f"{settings.prefix}-{index}"
    tags = [{"Key": "Name", "Value": name}, {"Key": FLEET_TAG, "Value": settings.prefix}]
    tags += [{"Key": k, "Value": v} for k, v in settings.tags]
    params: dict[str, Any] = {
        "ImageId": settings.image,
        "InstanceType": settings.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": _token(settings.prefix, index, run_id),
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": tags},
        ],
    }
    if settings.key_name:
        params["KeyName"] = settings.key_name
    params["SecurityGroupIds"] = [group_id]
    if settings.subnet:
        params["SubnetId"] = settings.subnet  # its own public-IP setting applies
    made = ec2.call(f"launch {name}", "run_instances", **params)
    return _as_fleet_instance(made["Instances"][0])


def _wait_running(
    ec2: _Ec2, settings: UpSettings, ids: Sequence[str], progress: Progress
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + settings.timeout
    while True:
        instances = ec2.fleet_instances(settings.prefix, (*LIVE_STATES, "shutting-down", "terminated"))
        by_id = {str(i["InstanceId"]): i for i in instances}
        states = {iid: str(by_id[iid]["State"]["Name"]) if iid in by_id else "unknown" for iid in ids}
        gone = sorted(iid for iid, state in states.items() if state in {"shutting-down", "terminated"})
        if gone:
            raise FailedError(
                f"instance(s) {', '.join(gone)} of fleet {settings.prefix} terminated while starting",
                hint="see the instance state reason in the EC2 console (capacity, limits, image)",
            )
        running = sum(1 for state in states.values() if state == "running")
        progress(f"waiting: {running}/{len(ids)} running")
        if running == len(ids):
            return instances
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(
                f"only {running} of {len(ids)} instances of fleet {settings.prefix} ran within "
                f"{settings.timeout:g} s",
                hint="run stackrig fleet up again with the same options to keep waiting",
            )
        time.sleep(settings.poll_interval)


def _interrupted(settings: UpSettings, region: str, known: dict[str, FleetInstance]) -> InterruptError:
    lines = [f"{m.name or '(no name)'} {m.instance_id} ({m.state})" for m in known.values()]
    listing = "; ".join(lines) if lines else "none"
    return InterruptError(
        f"interrupted: fleet {settings.prefix} in {region} has {len(known)} instance(s), "
        f"all tagged {FLEET_TAG}={settings.prefix}: {listing}",
        hint=f"run the same fleet up again to finish, or stackrig fleet down --prefix {settings.prefix}",
    )


def fleet_up(target: AwsTarget, settings: UpSettings, progress: Progress = _quiet) -> UpResult:
    """Converge the fleet ``settings.prefix`` in ``target``'s region on the settings."""
    ec2 = _Ec2(target)
    _validate(ec2, settings)
    members = _order(settings.prefix, [_as_fleet_instance(i) for i in ec2.fleet_instances(settings.prefix)])
    surplus = members[settings.count :]
    if surplus and not settings.scale_down:
        names = ", ".join(f"{m.name or m.instance_id}" for m in surplus)
        raise ConflictError(
            f"fleet {settings.prefix} has {len(members)} instances; --count {settings.count} "
            f"would terminate {len(surplus)} ({names}); nothing was changed",
            hint="pass --scale-down to terminate them",
        )
    known = {m.instance_id: m for m in members}
    launched: list[str] = []
    started: list[str] = []
    terminated: list[str] = []
    try:
        group = _converge_group(ec2, settings, progress)
        if surplus:
            ids = [m.instance_id for m in surplus]
            progress(f"terminating {len(ids)} instance(s): {', '.join(ids)}")
            ec2.call(f"scale fleet {settings.prefix} down", "terminate_instances", InstanceIds=ids)
            terminated = ids
            for iid in ids:
                known.pop(iid, None)
        kept = members[: settings.count]
        stopped = [m.instance_id for m in kept if m.state == "stopped"]
        if stopped:
            progress(f"starting {len(stopped)} stopped instance(s)")
            ec2.call(f"start stopped instances of {settings.prefix}", "start_instances", InstanceIds=stopped)
            started = stopped
        used = {idx for m in kept if (idx := _index(settings.prefix, m.name)) is not None}
        free = (i for i in range(1, 10**6) if i not in used)
        run_id = uuid.uuid4().hex[:12]
        for _ in range(settings.count - len(kept)):
            index = next(free)
            progress(f"launching {settings.prefix}-{index}")
            made = _launch_one(ec2, settings, group.group_id, index, run_id)
            known[made.instance_id] = made
            launched.append(made.instance_id)
        final_ids = [m.instance_id for m in kept] + launched
        if settings.wait and final_ids:
            _wait_running(ec2, settings, final_ids, progress)
        reservations = ec2.fleet_reservations(settings.prefix)
    except KeyboardInterrupt:
        raise _interrupted(settings, ec2.region, known) from None
    live = [
        _as_fleet_instance(i)
        for res in reservations
        for i in res.get("Instances", [])
        if str(i["InstanceId"]) in set(final_ids)
    ]
    return UpResult(
        prefix=settings.prefix,
        region=ec2.region,
        security_group=group,
        launched=tuple(launched),
        started=tuple(started),
        terminated=tuple(terminated),
        kept=tuple(m.instance_id for m in kept),
        instances=tuple(sorted(live, key=lambda m: (_index(settings.prefix, m.name) or 0, m.instance_id))),
        waited=settings.wait,
        reservations=tuple(jsonable(reservations)),
    )


# ------------------------------------------------------------------ down


def plan_down(target: AwsTarget, prefix: str) -> DownPlan:
    """What ``fleet down`` would terminate and delete (nothing is changed)."""
    check_prefix(prefix)
    ec2 = _Ec2(target)
    instances = [_as_fleet_instance(i) for i in ec2.fleet_instances(prefix)]
    groups = [
        str(g["GroupId"])
        for g in ec2.groups(f"{prefix}-sg")
        if any(t.get("Key") == FLEET_TAG and t.get("Value") == prefix for t in g.get("Tags", []) or [])
    ]
    return DownPlan(
        prefix=prefix,
        region=ec2.region,
        instances=tuple(_order(prefix, instances)),
        security_groups=tuple(groups),
    )


def execute_down(
    target: AwsTarget,
    plan: DownPlan,
    *,
    poll_interval: float = 2.0,
    timeout: float = 600.0,
    progress: Progress = _quiet,
) -> DownResult:
    """Terminate the plan's instances, wait until they are gone, then delete the security group."""
    ec2 = _Ec2(target)
    ids = [m.instance_id for m in plan.instances]
    if ids:
        progress(f"terminating {len(ids)} instance(s)")
        ec2.call(f"terminate fleet {plan.prefix}", "terminate_instances", InstanceIds=ids)
        deadline = time.monotonic() + timeout
        while True:
            left = [
                str(i["InstanceId"])
                for i in ec2.fleet_instances(plan.prefix, (*LIVE_STATES, "shutting-down"))
                if str(i["InstanceId"]) in set(ids)
            ]
            progress(f"waiting: {len(ids) - len(left)}/{len(ids)} terminated")
            if not left:
                break
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"{len(left)} instance(s) of fleet {plan.prefix} still shutting down "
                    f"after {timeout:g} s; "
                    "the security group was kept",
                    hint="run stackrig fleet down again in a minute",
                )
            time.sleep(poll_interval)
    deleted: list[str] = []
    for group_id in plan.security_groups:
        progress(f"deleting security group {group_id}")
        ec2.call(f"delete security group {group_id}", "delete_security_group", GroupId=group_id)
        deleted.append(group_id)
    return DownResult(plan=plan, terminated=tuple(ids), deleted_groups=tuple(deleted), dry_run=False)


# ------------------------------------------------------------------ commands: caches kept honest, inventory


@dataclass(frozen=True, slots=True)
class UpOutcome:
    result: UpResult
    inventory: InventoryOutcome | None
    warnings: tuple[str, ...] = ()

    def notes(self) -> tuple[str, ...]:
        extra = self.inventory.notes() if self.inventory is not None else ()
        return self.warnings + extra

    def to_dict(self) -> dict[str, Any]:
        from stackrig.output import to_jsonable

        data = {k: v for k, v in to_jsonable(self.result).items() if k != "reservations"}
        data["inventory"] = self.inventory.to_dict() if self.inventory is not None else None
        return dict(data)


def up_inventory(
    target: AwsTarget,
    settings: UpSettings,
    request: InventoryRequest,
    *,
    cache_root: Path | None = None,
    progress: Progress = _quiet,
) -> UpOutcome:
    """``fleet up``: converge the fleet, forget stale discover caches, write the inventory."""
    from stackrig.fleet import NoHostsError, parse_documents
    from stackrig.fleet.discover import forget_region

    try:
        result = fleet_up(target, settings, progress)
    except BaseException:  # an interrupted or failed run may still have changed the region
        if cache_root is not None and target.region:
            forget_region(cache_root, target, target.region)
        raise
    if cache_root is not None:
        forget_region(cache_root, target, result.region)
    warnings: list[str] = []
    if result.security_group.extra:
        warnings.append(
            f"security group {result.security_group.group_name} has rules that were not asked for: "
            f"{', '.join(result.security_group.extra)} (--prune-rules removes them)"
        )
    if settings.count == 0:
        return UpOutcome(result, None, tuple(warnings))
    ids = {m.instance_id for m in result.instances}
    hosts = [
        h
        for h in parse_documents([{"Reservations": list(result.reservations)}], "aws")
        if h.instance_id in ids
    ]
    try:
        inventory = request.inventory(hosts)
    except NoHostsError:
        if settings.wait:
            raise
        warnings.append("no instance runs yet, so no inventory was written: run fleet discover once they run")
        return UpOutcome(result, None, tuple(warnings))
    return UpOutcome(result, inventory, tuple(warnings))


def fleet_down(
    target: AwsTarget,
    plan: DownPlan,
    *,
    cache_root: Path | None = None,
    poll_interval: float = 2.0,
    timeout: float = 600.0,
    progress: Progress = _quiet,
) -> DownResult:
    """``fleet down`` after consent: execute the plan, then forget the region's discover caches."""
    from stackrig.fleet.discover import forget_region

    try:
        return execute_down(target, plan, poll_interval=poll_interval, timeout=timeout, progress=progress)
    finally:
        if cache_root is not None:
            forget_region(cache_root, target, plan.region)
