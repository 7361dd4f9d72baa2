"""How many more instances of each flavor fit in the whole cloud, by placement's arithmetic.

Each host offers ``(total - reserved) x allocation_ratio - used`` of vCPUs, RAM (MiB) and
disk (GiB); the inventories of placement say their own reserved amounts and ratios, and
only the hypervisor list of older clouds falls back to the flags (the same flags and
defaults as ``tune flavors``, which counts with the same functions, in
:mod:`stackrig.tune._placement`). A flavor goes only where its extra specs allow: host
aggregates with matching metadata (``aggregate_instance_extra_specs:KEY``), providers with
the required traits (``trait:NAME=required``), and the availability zone asked for.

Per flavor the report says how many more fit, on how many hosts, which resource binds on
how many of them; for the flavor mix (each flavor in turn, by ``--mix`` weights) it says
how many of each fit before the cloud is full and what capacity is then left stranded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stackrig._io import atomic_write, ensure_not_input
from stackrig.tune._cloud import Aggregate, Cloud, ComputeHost, load_aggregates, load_cloud
from stackrig.tune._placement import UNLIMITED, limits, usable
from stackrig.tune.flavors import (
    RESOURCES,
    Allocation,
    Flavor,
    FlavorSettings,
    FlavorSpecError,
    allocation_from,
    gather_flavors,
    load_flavor_properties,
)

__all__ = [
    "CapacityReport",
    "CapacitySettings",
    "FlavorCapacity",
    "MixFill",
    "cloud_capacity",
    "host_zones",
    "run_capacity",
]

DEFAULT_ZONE = "nova"  # Nova's default_availability_zone


@dataclass(frozen=True, slots=True)
class FlavorCapacity:
    flavor: Flavor
    fits: int
    hosts: int
    hosts_with_room: int
    largest_on_one_host: int
    bound_by: dict[str, int]
    too_big: int
    by_zone: dict[str, int]
    narrowed_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MixFill:
    weights: dict[str, int]
    counts: dict[str, int]
    instances: int
    stranded: dict[str, int]
    stranded_share: dict[str, float]


@dataclass(frozen=True, slots=True)
class CapacityReport:
    source: str
    hosts: int
    skipped: tuple[tuple[str, str], ...]
    zone: str | None
    zones: tuple[str, ...]
    allocation: Allocation
    capacity: dict[str, int]
    used: dict[str, int]
    free: dict[str, int]
    flavors: tuple[FlavorCapacity, ...]
    mix: MixFill | None
    notes: tuple[str, ...]


def _short(name: str) -> str:
    return name.split(".", 1)[0]


def host_zones(hosts: Sequence[ComputeHost], aggregates: Sequence[Aggregate]) -> list[list[Aggregate]]:
    """The aggregates of each host: by uuid (placement mirrors Nova's) or by host name (short or full)."""
    by_name: dict[str, list[int]] = {}
    for index, agg in enumerate(aggregates):
        for member in agg.hosts:
            for key in {member, _short(member)}:
                by_name.setdefault(key, []).append(index)
    by_uuid = {agg.uuid: index for index, agg in enumerate(aggregates) if agg.uuid}
    out: list[list[Aggregate]] = []
    for host in hosts:
        found = {by_uuid[u] for u in host.aggregates if u in by_uuid}
        for key in {host.name, host.service_host, _short(host.name), _short(host.service_host)}:
            found.update(by_name.get(key, ()))
        out.append([aggregates[i] for i in sorted(found)])
    return out


def _arrays(cloud: Cloud, alloc: Allocation) -> dict[str, Any]:
    """hosts x resources: capacity, used, free, max_unit, min_unit, step_size (UNLIMITED where uncounted)."""
    n = len(cloud.hosts)
    shape = (n, len(RESOURCES))
    total = np.zeros(shape, np.int64)
    reserved = np.zeros(shape, np.int64)
    ratio = np.ones(shape, np.float64)
    used = np.zeros(shape, np.int64)
    max_unit = np.full(shape, UNLIMITED, np.int64)
    min_unit = np.zeros(shape, np.int64)
    step = np.ones(shape, np.int64)
    counted = np.zeros(shape, bool)
    flags = {
        "vcpu": (alloc.reserved_cpus, alloc.cpu_ratio),
        "ram": (alloc.reserved_ram_mib, alloc.ram_ratio),
        "disk": (alloc.reserved_disk_gib, alloc.disk_ratio),
    }
    hypervisors = cloud.source == "hypervisors"
    for h, host in enumerate(cloud.hosts):
        for r, resource in enumerate(RESOURCES):
            inv = host.inventories.get(resource)
            if inv is None:
                continue
            flag_reserved, flag_ratio = flags[resource]
            counted[h, r] = True
            total[h, r] = inv.total
            reserved[h, r] = flag_reserved if inv.reserved is None else inv.reserved
            ratio[h, r] = flag_ratio if inv.ratio is None else inv.ratio
            # Nova's hypervisor stats count the reserved RAM and disk as used.
            taken = inv.used - flag_reserved if hypervisors and resource != "vcpu" else inv.used
            used[h, r] = max(taken, 0)
            max_unit[h, r] = inv.total if inv.max_unit is None else inv.max_unit
            min_unit[h, r] = inv.min_unit
            step[h, r] = inv.step_size
    capacity = np.where(counted, usable(total, reserved, ratio), 0)
    free = np.where(counted, capacity - used, UNLIMITED)
    return {
        "capacity": capacity, "used": np.where(counted, used, 0), "free": free, "counted": counted,
        "max_unit": max_unit, "min_unit": min_unit, "step": step,
    }  # fmt: skip


def _properties_match(
    props: dict[str, str], aggs: list[Aggregate] | None, traits: tuple[str, ...], source: str
) -> bool:
    """Whether a host passes the flavor's extra specs (aggregate metadata when known, traits on placement)."""
    for key, wanted in props.items():
        scope, _, name = key.partition(":")
        if scope == "aggregate_instance_extra_specs" and aggs is not None:
            values = {v.strip() for agg in aggs for v in agg.metadata.get(name, "").split(",")}
            if wanted not in values:
                return False
        elif scope == "trait" and source == "placement" and (wanted == "required") != (name in traits):
            return False
    return True


def _narrowing(props: dict[str, str]) -> tuple[str, ...]:
    return tuple(
        f"{k}={v}"
        for k, v in sorted(props.items())
        if k.split(":", 1)[0] in ("aggregate_instance_extra_specs", "trait")
    )


def _eligible(
    *,
    cloud: Cloud,
    flavors: Sequence[Flavor],
    properties: dict[str, dict[str, str]],
    aggs: list[list[Aggregate]],
    zones: list[str | None],
    zone: str | None,
    known: bool,
) -> Any:
    elig = np.ones((len(cloud.hosts), len(flavors)), bool)
    if zone is not None:
        elig &= np.array([z == zone for z in zones], bool)[:, None]
    for f, flavor in enumerate(flavors):
        props = properties.get(flavor.name, {})
        if _narrowing(props):
            elig[:, f] &= [
                _properties_match(props, aggs[h] if known else None, host.traits, cloud.source)
                for h, host in enumerate(cloud.hosts)
            ]
    return elig


def _fill_mix(
    free: Any, amounts: Any, fits_one: Any, elig: Any, weights: Any, **units: Any
) -> tuple[Any, Any]:
    """Fill each host with whole rounds of the mix, then single instances, largest flavor first.

    Returns (instances per flavor, what is left per host and resource).
    """
    left = np.maximum(free, 0).copy()
    room = (fits_one > 0) & elig  # flavors allowed and not too big on each host
    per_round = (room * weights[None, :]) @ amounts  # hosts x resources
    ratio = np.where(per_round > 0, left // np.maximum(per_round, 1), UNLIMITED)
    rounds = ratio.min(axis=1)
    rounds = np.where(room.any(axis=1), rounds, 0)
    counts = (rounds[:, None] * room * weights[None, :]).sum(axis=0)
    left -= np.where(per_round > 0, rounds[:, None] * per_round, 0)
    for f in np.argsort(-amounts.sum(axis=1), kind="stable"):
        one = limits(left, amounts[f : f + 1], **units)[:, 0, :].min(axis=1) * room[:, f]
        counts[f] += one.sum()
        left -= one[:, None] * amounts[f][None, :]
    return counts, left


def cloud_capacity(
    cloud: Cloud,
    flavors: Sequence[Flavor],
    alloc: Allocation | None = None,
    *,
    properties: dict[str, dict[str, str]] | None = None,
    aggregates: Sequence[Aggregate] = (),
    zone: str | None = None,
    mix: dict[str, int] | None = None,
) -> CapacityReport:
    """Count, for each flavor, the instances that still fit on the cloud's hosts (see the module doc)."""
    if not flavors:
        raise FlavorSpecError(
            "no flavors given", hint="use --flavor NAME=VCPUS:RAM[:DISK] or --flavors-json FILE"
        )
    properties = properties or {}
    alloc = alloc or Allocation()
    arr = _arrays(cloud, alloc)
    aggs = host_zones(cloud.hosts, aggregates)
    zones: list[str | None] = [
        next((a.zone for a in mine if a.zone), DEFAULT_ZONE) if aggregates else None for mine in aggs
    ]
    known_zones = tuple(sorted({z for z in zones if z}))
    if zone is not None and aggregates and zone not in known_zones:
        raise FlavorSpecError(
            f"no host is in availability zone {zone!r}", hint=f"zones: {', '.join(known_zones)}"
        )
    if zone is not None and not aggregates:
        raise FlavorSpecError("--zone needs --aggregates (which hosts are in which zone)")
    amounts = np.array([[f.amount(r) for r in RESOURCES] for f in flavors], np.int64)
    units = {"max_unit": arr["max_unit"], "min_unit": arr["min_unit"], "step_size": arr["step"]}
    allowed = limits(arr["free"], amounts, **units)
    one_each = limits(np.full_like(arr["free"], UNLIMITED), amounts, **units).min(axis=2)  # 0 = too big there
    elig = _eligible(
        cloud=cloud, flavors=flavors, properties=properties, aggs=aggs, zones=zones, zone=zone,
        known=bool(aggregates),
    )  # fmt: skip
    fits = np.where(elig, allowed.min(axis=2), 0)
    binds = (allowed == fits[:, :, None]) & (elig & (one_each > 0))[:, :, None]
    zone_fits = {z: fits[np.array([h == z for h in zones], bool)].sum(axis=0) for z in known_zones}
    rows = []
    for f, flavor in enumerate(flavors):
        by_zone = {z: int(zone_fits[z][f]) for z in known_zones}
        rows.append(
            FlavorCapacity(
                flavor=flavor,
                fits=int(fits[:, f].sum()),
                hosts=int(elig[:, f].sum()),
                hosts_with_room=int((fits[:, f] > 0).sum()),
                largest_on_one_host=int(fits[:, f].max()) if len(fits) else 0,
                bound_by={r: int(binds[:, f, i].sum()) for i, r in enumerate(RESOURCES) if amounts[f, i] > 0},
                too_big=int((elig[:, f] & (one_each[:, f] == 0)).sum()),
                by_zone=by_zone,
                narrowed_by=_narrowing(properties.get(flavor.name, {})),
            )
        )
    counted = arr["counted"]
    totals = {r: int(arr["capacity"][:, i].sum()) for i, r in enumerate(RESOURCES)}
    used = {r: int(arr["used"][:, i].sum()) for i, r in enumerate(RESOURCES)}
    free = {
        r: int(np.where(counted[:, i], np.maximum(arr["free"][:, i], 0), 0).sum())
        for i, r in enumerate(RESOURCES)
    }
    fill = None
    if len(flavors) > 1 or mix:
        weights = {f.name: (mix or {}).get(f.name, 0 if mix else 1) for f in flavors}
        counts, left = _fill_mix(
            arr["free"], amounts, one_each, elig, np.array(list(weights.values()), np.int64), **units
        )
        stranded = {r: int(np.where(counted[:, i], left[:, i], 0).sum()) for i, r in enumerate(RESOURCES)}
        fill = MixFill(
            weights=weights,
            counts={f.name: int(counts[i]) for i, f in enumerate(flavors)},
            instances=int(counts.sum()),
            stranded=stranded,
            stranded_share={r: round(stranded[r] / free[r], 4) if free[r] else 0.0 for r in RESOURCES},
        )
    notes = list(cloud.notes)
    if cloud.source == "hypervisors":
        notes.append(
            "hypervisor list: reserved amounts and allocation ratios are the flags' "
            "(placement has the real ones)"
        )
    asks = [
        k
        for f in flavors
        for k in properties.get(f.name, {})
        if k.startswith("aggregate_instance_extra_specs:")
    ]
    if asks and not aggregates:
        notes.append(
            "some flavors ask for aggregate metadata, but no --aggregates were given: not narrowed by it"
        )
    if cloud.source == "hypervisors" and any(
        k.startswith("trait:") for f in flavors for k in properties.get(f.name, {})
    ):
        notes.append("traits are not in a hypervisor list: flavors' trait:... specs are not narrowed by them")
    return CapacityReport(
        source=cloud.source,
        hosts=len(cloud.hosts),
        skipped=cloud.skipped,
        zone=zone,
        zones=known_zones,
        allocation=alloc,
        capacity=totals,
        used=used,
        free=free,
        flavors=tuple(rows),
        mix=fill,
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class CapacitySettings:
    """The flags of ``stackrig tune capacity`` (the allocation flags as in ``tune flavors``)."""

    flags: FlavorSettings
    hypervisors: Path | None = None
    from_cloud: bool = False
    save: Path | None = None
    aggregates: Path | None = None
    zone: str | None = None
    mix: tuple[str, ...] = ()


def _mix(specs: Sequence[str], flavors: Sequence[Flavor]) -> dict[str, int] | None:
    if not specs:
        return None
    names = {f.name for f in flavors}
    weights: dict[str, int] = {}
    for spec in (part for item in specs for part in item.split(",") if part.strip()):
        name, _, weight = spec.partition("=")
        name = name.strip()
        if name not in names:
            raise FlavorSpecError(
                f"--mix {spec!r}: no flavor named {name!r}", hint=f"flavors: {', '.join(sorted(names))}"
            )
        if not weight.strip().isdigit() or int(weight) < 1:
            raise FlavorSpecError(f"--mix {spec!r} is not NAME=WEIGHT with a whole weight of at least 1")
        weights[name] = int(weight)
    return weights


def run_capacity(settings: CapacitySettings, *, environ: Mapping[str, str] | None = None) -> CapacityReport:
    flags = settings.flags
    if settings.hypervisors is not None and settings.from_cloud:
        raise FlavorSpecError("give --hypervisors or --from-cloud, not both")
    if settings.save is not None and not settings.from_cloud:
        raise FlavorSpecError("--save keeps what --from-cloud read; it needs --from-cloud")
    alloc = allocation_from(flags)
    flavors = gather_flavors(flags.flavors, flags.flavors_json)
    properties = load_flavor_properties(flags.flavors_json) if flags.flavors_json is not None else {}
    aggregates = load_aggregates(settings.aggregates) if settings.aggregates is not None else ()
    if settings.from_cloud:
        from stackrig.tune._openstack import read_cloud

        if settings.save is not None:
            ensure_not_input(settings.save, [p for p in (flags.flavors_json, settings.aggregates) if p])
        found = read_cloud(environ=environ, need_flavors=not flavors, need_aggregates=not aggregates)
        if settings.save is not None:
            atomic_write(settings.save, json.dumps(found.export, indent=1) + "\n")
        cloud, aggregates = found.cloud, aggregates or found.aggregates
        if not flavors:
            flavors, properties = list(found.flavors), found.properties
    elif settings.hypervisors is not None:
        cloud = load_cloud(settings.hypervisors)
    else:
        raise FlavorSpecError(
            "no hypervisors given",
            hint="use --hypervisors FILE (a placement export or a hypervisor list) or --from-cloud",
        )
    return cloud_capacity(
        cloud, flavors, alloc, properties=properties, aggregates=aggregates, zone=settings.zone,
        mix=_mix(settings.mix, flavors),
    )  # fmt: skip
