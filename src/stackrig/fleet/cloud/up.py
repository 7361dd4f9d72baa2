"""``fleet up``: converge a fleet on EC2 (security group, N tagged instances), idempotently.

A fleet is every instance tagged ``stackrig:fleet=NAME`` (and ``Name=NAME-<i>``)
plus the security group ``NAME-sg``. ``up`` converges the group's ingress rules and
the number of live instances on what was asked, and never removes anything without
consent (``prune_rules``, ``scale_down``).

Every instance is tagged in its own RunInstances call (TagSpecifications), so an
interruption at any moment leaves no untagged machine behind; a client token per
call makes botocore's retries safe.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig.errors import ConflictError, FailedError, InterruptError, UsageError, WaitTimeoutError
from stackrig.fleet._aws import AwsTarget, jsonable
from stackrig.fleet.cloud._ec2 import (
    FLEET_TAG,
    LIVE_STATES,
    Ec2,
    FleetInstance,
    Progress,
    as_fleet_instance,
    check_prefix,
    member_index,
    order,
    quiet,
)
from stackrig.fleet.cloud._placement import Spreader, Subnet, SubnetUse, fleet_subnets
from stackrig.fleet.cloud._security_group import Rule, RuleChanges, converge_group

if TYPE_CHECKING:
    from stackrig.fleet import InventoryOutcome
    from stackrig.fleet.discover import InventoryRequest

__all__ = ["UpOutcome", "UpResult", "UpSettings", "fleet_up", "parse_tag", "up_inventory"]


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
    public_ip: bool | None = None
    """AssociatePublicIpAddress for new instances; None: the subnet's own setting."""

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if self.count < 0:
            raise UsageError(f"--count must be 0 or more, not {self.count}")
        if self.poll_interval <= 0:
            raise UsageError("--poll-interval must be above 0 seconds")


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
    subnets: tuple[SubnetUse, ...] = ()
    """The subnets this run launched instances in."""
    outside_vpc: tuple[str, ...] = ()
    """Members of the fleet that are not in --vpc (launched by hand, or by an older stackrig)."""


def parse_tag(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` for ``--tag`` (the keys Name and stackrig:fleet are ours)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"tag {text!r} is not KEY=VALUE")
    if key in {"Name", FLEET_TAG} or key.startswith("aws:"):
        raise UsageError(f"tag key {key!r} is reserved (stackrig sets Name and {FLEET_TAG} itself)")
    return key, value


def _validate(ec2: Ec2, settings: UpSettings) -> None:
    """Fail early, with one clear line, on a VPC, subnet, image or key pair that does not exist."""
    ec2.given.update({"VPC": settings.vpc, "image (AMI)": settings.image})
    ec2.call(f"check VPC {settings.vpc}", "describe_vpcs", VpcIds=[settings.vpc])
    ec2.call(f"check image {settings.image}", "describe_images", ImageIds=[settings.image])
    if settings.key_name:
        ec2.given["key pair"] = settings.key_name
        ec2.call(f"check key pair {settings.key_name}", "describe_key_pairs", KeyNames=[settings.key_name])


def _token(prefix: str, index: int, run_id: str) -> str:
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:16]
    return f"stackrig-{digest}-{index}-{run_id}"


def _launch_one(
    ec2: Ec2, settings: UpSettings, group_id: str, index: int, *, run_id: str, subnet: Subnet
) -> FleetInstance:
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
    if settings.public_ip is None:  # the subnet's own public-IP setting applies
        params["SubnetId"] = subnet.subnet_id
        params["SecurityGroupIds"] = [group_id]
    else:  # AssociatePublicIpAddress exists only on a network interface given with the launch
        params["NetworkInterfaces"] = [
            {
                "DeviceIndex": 0,
                "SubnetId": subnet.subnet_id,
                "Groups": [group_id],
                "AssociatePublicIpAddress": settings.public_ip,
                "DeleteOnTermination": True,
            }
        ]
    made = ec2.call(f"launch {name} in {subnet.subnet_id} ({subnet.zone})", "run_instances", **params)
    return as_fleet_instance(made["Instances"][0])


def _wait_running(
    ec2: Ec2, settings: UpSettings, ids: Sequence[str], progress: Progress
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


def fleet_up(target: AwsTarget, settings: UpSettings, progress: Progress = quiet) -> UpResult:
    """Converge the fleet ``settings.prefix`` in ``target``'s region on the settings."""
    ec2 = Ec2(target)
    _validate(ec2, settings)
    subnets = fleet_subnets(ec2, settings.vpc, settings.subnet)
    members = order(settings.prefix, [as_fleet_instance(i) for i in ec2.fleet_instances(settings.prefix)])
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
        group = converge_group(
            ec2, settings.prefix, settings.vpc, settings.rules, prune=settings.prune_rules, progress=progress
        )
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
        used = {idx for m in kept if (idx := member_index(settings.prefix, m.name)) is not None}
        free = (i for i in range(1, 10**6) if i not in used)
        run_id = uuid.uuid4().hex[:12]
        spreader = Spreader.around(subnets, kept)
        for _ in range(settings.count - len(kept)):
            index = next(free)
            subnet = spreader.next()
            progress(f"launching {settings.prefix}-{index} in {subnet.subnet_id} ({subnet.zone})")
            made = _launch_one(ec2, settings, group.group_id, index, run_id=run_id, subnet=subnet)
            spreader.record(subnet, made.instance_id)
            known[made.instance_id] = made
            launched.append(made.instance_id)
        final_ids = [m.instance_id for m in kept] + launched
        if settings.wait and final_ids:
            _wait_running(ec2, settings, final_ids, progress)
        reservations = ec2.fleet_reservations(settings.prefix)
    except KeyboardInterrupt:
        raise _interrupted(settings, ec2.region, known) from None
    live = [
        as_fleet_instance(i)
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
        instances=tuple(
            sorted(live, key=lambda m: (member_index(settings.prefix, m.name) or 0, m.instance_id))
        ),
        waited=settings.wait,
        reservations=tuple(jsonable(reservations)),
        subnets=spreader.uses(),
        outside_vpc=tuple(m.instance_id for m in kept if m.vpc_id and m.vpc_id != settings.vpc),
    )


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


def _placement_warnings(settings: UpSettings, result: UpResult, request: InventoryRequest) -> list[str]:
    warnings: list[str] = []
    if result.outside_vpc:
        warnings.append(
            f"instance(s) {', '.join(result.outside_vpc)} of fleet {settings.prefix} are not in "
            f"--vpc {settings.vpc}: fleet down --prefix {settings.prefix} and up again moves them"
        )
    private_only = [u.subnet_id for u in result.subnets if not u.public_ip_on_launch]
    if settings.public_ip is None and private_only and request.options.address != "private":
        warnings.append(
            f"subnet(s) {', '.join(private_only)} give no public address (MapPublicIpOnLaunch is off): "
            "the instances launched there are reached on their private addresses; --public-ip gives "
            "them one, --no-public-ip says private is meant"
        )
    return warnings


def up_inventory(
    target: AwsTarget,
    settings: UpSettings,
    request: InventoryRequest,
    *,
    cache_root: Path | None = None,
    progress: Progress = quiet,
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
    warnings = _placement_warnings(settings, result, request)
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
