"""How many guests of each flavor fit one compute host, by Nova's placement arithmetic.

Placement gives every resource class a capacity of ``(total - reserved) x
allocation_ratio`` and refuses a single allocation larger than ``total``
(``max_unit``). A flavor fits as many times as its scarcest resource allows;
that resource binds, and what is left of the others is stranded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stackrig import _units
from stackrig._io import read_text
from stackrig.errors import UsageError
from stackrig.tune._host import Host, ReadError, parse_cpu_list

__all__ = [
    "Allocation",
    "Capacity",
    "Flavor",
    "FlavorFit",
    "FlavorReport",
    "FlavorSettings",
    "FlavorSpecError",
    "HostSpec",
    "Packing",
    "allocation_from",
    "describe_fit",
    "fit_flavors",
    "gather_flavors",
    "load_flavor_properties",
    "load_flavors_json",
    "parse_flavor",
    "parse_host",
    "parse_properties",
    "parse_size",
    "run_flavors",
    "this_host",
]

MIB = 1024 * 1024
GIB = 1024 * MIB
RESOURCES = ("vcpu", "ram", "disk")
UNIT = {"vcpu": "vCPUs", "ram": "MiB RAM", "disk": "GiB disk"}
LABEL = {"vcpu": "vCPU", "ram": "RAM", "disk": "disk"}
SEARCH_LIMIT = 200_000


class FlavorSpecError(UsageError):
    """A --host, --flavor or --flavors-json value that cannot be understood."""


def parse_size(text: str, what: str) -> int:
    """``32G`` → bytes (IEC: G = GiB). A bare number other than 0 is refused: say the unit."""
    try:
        return _units.parse_size(text, what=what, bare=False)
    except _units.UnitError as exc:
        raise FlavorSpecError(exc.message, hint=exc.hint) from None


def _count(text: str, what: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise FlavorSpecError(f"{what} {text!r} is not a whole number of at least 1")
    return int(text)


@dataclass(frozen=True, slots=True)
class HostSpec:
    ram_mib: int
    cpus: int
    disk_gib: int | None = None


@dataclass(frozen=True, slots=True)
class Flavor:
    name: str
    vcpus: int
    ram_mib: int
    disk_gib: int = 0

    def amount(self, resource: str) -> int:
        return {"vcpu": self.vcpus, "ram": self.ram_mib, "disk": self.disk_gib}[resource]


@dataclass(frozen=True, slots=True)
class Allocation:
    """Nova's knobs: reserved_host_* and *_allocation_ratio (defaults as in the issue)."""

    reserved_ram_mib: int = 512
    reserved_cpus: int = 0
    reserved_disk_gib: int = 0
    cpu_ratio: float = 4.0
    ram_ratio: float = 1.0
    disk_ratio: float = 1.0


@dataclass(frozen=True, slots=True)
class Capacity:
    resource: str
    total: int
    reserved: int
    ratio: float
    capacity: int


@dataclass(frozen=True, slots=True)
class FlavorFit:
    flavor: Flavor
    fits: int
    bound_by: tuple[str, ...]
    limits: dict[str, int]
    used: dict[str, int]
    stranded: dict[str, int]
    too_big: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Packing:
    counts: dict[str, int]
    instances: int
    used: dict[str, int]
    stranded: dict[str, int]
    utilisation: dict[str, float]
    exact: bool


@dataclass(frozen=True, slots=True)
class FlavorReport:
    host: HostSpec
    allocation: Allocation
    capacities: tuple[Capacity, ...]
    fits: tuple[FlavorFit, ...]
    packing: Packing | None


# ------------------------------------------------------------------ parsing


def parse_host(spec: str) -> HostSpec:
    """``RAM:CPUS[:DISK]``, e.g. ``64G:8`` or ``256G:32:2T``."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise FlavorSpecError(f"--host {spec!r} is not RAM:CPUS[:DISK]", hint="e.g. --host 64G:8 or 64G:8:1T")
    ram = parse_size(parts[0], "host RAM") // MIB
    if ram < 1:
        raise FlavorSpecError(f"--host {spec!r}: RAM must be at least 1M")
    cpus = _count(parts[1], "host CPU count")
    disk = parse_size(parts[2], "host disk") // GIB if len(parts) == 3 else None
    return HostSpec(ram_mib=ram, cpus=cpus, disk_gib=disk)


def parse_flavor(spec: str) -> Flavor:
    """``NAME=VCPUS:RAM[:DISK]``, e.g. ``m1.large=2:32G`` or ``m1.large=2:32G:40G``."""
    name, sep, rest = spec.partition("=")
    parts = rest.split(":")
    if not sep or not name.strip() or len(parts) not in (2, 3):
        raise FlavorSpecError(
            f"--flavor {spec!r} is not NAME=VCPUS:RAM[:DISK]", hint="e.g. --flavor m1.large=2:32G:40G"
        )
    vcpus = _count(parts[0], f"flavor {name} vCPUs")
    ram = math.ceil(parse_size(parts[1], f"flavor {name} RAM") / MIB)
    if ram < 1:
        raise FlavorSpecError(f"--flavor {spec!r}: RAM must be at least 1M")
    disk = math.ceil(parse_size(parts[2], f"flavor {name} disk") / GIB) if len(parts) == 3 else 0
    return Flavor(name=name.strip(), vcpus=vcpus, ram_mib=ram, disk_gib=disk)


def _json_int(row: dict[str, object], key: str, index: int, *, minimum: int) -> int:
    value = row.get(key, 0 if minimum == 0 else None)
    if value == "" and minimum == 0:
        value = 0
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FlavorSpecError(
            f"flavor #{index + 1} in --flavors-json: {key} must be a whole number >= {minimum}, got {value!r}"
        )
    return value


def load_flavors_json(path: Path) -> list[Flavor]:
    """Flavors from ``openstack flavor list --long -f json``.

    RAM and Swap are in MiB, Disk and Ephemeral in GiB; the disk a guest takes is
    Disk + Ephemeral + Swap, as Nova asks placement for it.
    """
    text = read_text(path, what="--flavors-json file")
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FlavorSpecError(
            f"--flavors-json {path} is not JSON (line {exc.lineno}: {exc.msg})",
            hint="write it with: openstack flavor list --long -f json > flavors.json",
        ) from exc
    if not isinstance(rows, list):
        raise FlavorSpecError(
            f"--flavors-json {path} is not a list of flavors",
            hint="write it with: openstack flavor list --long -f json > flavors.json",
        )
    flavors = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("Name"), str) or not row["Name"]:
            raise FlavorSpecError(f"flavor #{index + 1} in --flavors-json has no Name")
        vcpus = _json_int(row, "VCPUs", index, minimum=1)
        ram = _json_int(row, "RAM", index, minimum=1)
        disk = _json_int(row, "Disk", index, minimum=0) + _json_int(row, "Ephemeral", index, minimum=0)
        swap = _json_int(row, "Swap", index, minimum=0)
        flavors.append(
            Flavor(name=row["Name"], vcpus=vcpus, ram_mib=ram, disk_gib=disk + math.ceil(swap / 1024))
        )
    return flavors


def this_host(root: Path = Path("/")) -> HostSpec:
    """RAM from proc/meminfo and the online CPU count from sys (or proc/cpuinfo) under ``root``."""
    host = Host(root=root)
    try:
        ram_mib = host.meminfo()["MemTotal"] // 1024
        online = host.read_optional("sys/devices/system/cpu/online")
        if online is not None:
            cpus = len(parse_cpu_list(online))
        else:
            cpus = sum(1 for line in host.read("proc/cpuinfo").splitlines() if line.startswith("processor"))
    except (ReadError, ValueError) as exc:
        raise UsageError(f"--this-host: {exc}", hint="give --host RAM:CPUS instead") from exc
    if cpus < 1 or ram_mib < 1:
        raise UsageError(f"--this-host: found {cpus} CPUs and {ram_mib} MiB under {root}")
    return HostSpec(ram_mib=ram_mib, cpus=cpus)


# ------------------------------------------------------------------ arithmetic


def capacities(host: HostSpec, alloc: Allocation) -> tuple[Capacity, ...]:
    import numpy as np  # numpy and placement's arithmetic load only when counting

    from stackrig.tune._placement import usable

    rows = [
        ("vcpu", host.cpus, alloc.reserved_cpus, alloc.cpu_ratio),
        ("ram", host.ram_mib, alloc.reserved_ram_mib, alloc.ram_ratio),
    ]
    if host.disk_gib is not None:
        rows.append(("disk", host.disk_gib, alloc.reserved_disk_gib, alloc.disk_ratio))
    result = []
    for resource, total, reserved, ratio in rows:
        if not math.isfinite(ratio) or ratio <= 0:
            raise FlavorSpecError(
                f"the {LABEL[resource]} allocation ratio must be a number above 0, got {ratio:g}"
            )
        if reserved < 0:
            raise FlavorSpecError(f"reserved {LABEL[resource]} cannot be negative")
        capacity = int(usable(np.array(total), np.array(reserved), np.array(ratio)))
        if capacity <= 0:
            raise FlavorSpecError(
                f"no {LABEL[resource]} left for guests: ({total} - {reserved} reserved) x {ratio:g} "
                f"is less than 1 {UNIT[resource]}"
            )
        result.append(Capacity(resource, total, reserved, ratio, capacity))
    return tuple(result)


def _fit(flavor: Flavor, caps: Sequence[Capacity]) -> FlavorFit:
    import numpy as np

    from stackrig.tune._placement import limits as placement_limits

    amounts = [flavor.amount(c.resource) for c in caps]
    # placement's max_unit is the host's total: no single guest bigger than the host
    allowed = placement_limits(
        np.array([[c.capacity for c in caps]]),
        np.array([amounts]),
        max_unit=np.array([[c.total for c in caps]]),
    )[0, 0]
    limits = {c.resource: int(allowed[i]) for i, c in enumerate(caps) if amounts[i] > 0}
    too_big = [c.resource for c, amount in zip(caps, amounts, strict=True) if amount > c.total]
    fits = min(limits.values())
    bound = tuple(r for r, n in limits.items() if n == fits)
    used = {c.resource: fits * flavor.amount(c.resource) for c in caps}
    stranded = {c.resource: c.capacity - used[c.resource] for c in caps}
    return FlavorFit(flavor, fits, bound, limits, used, stranded, tuple(too_big))


def _pack(flavors: Sequence[Flavor], caps: Sequence[Capacity]) -> Packing:
    """Counts per flavor filling the host best: most of its capacity in use (averaged over
    resources), then most guests. Exhaustive up to SEARCH_LIMIT steps, else the best found
    (``exact`` False); a mix that fills every resource ends the search at once."""
    order = sorted(flavors, key=lambda f: tuple(-f.amount(c.resource) / c.capacity for c in caps))
    names = [c.resource for c in caps]
    cap = [c.capacity for c in caps]
    amounts = [[f.amount(r) for r in names] for f in order]
    best: tuple[float, int, list[int]] = (-1.0, -1, [0] * len(order))
    counts = [0] * len(order)
    steps = 0
    exact = True

    def score(left: list[int]) -> float:
        return sum((cap[i] - left[i]) / cap[i] for i in range(len(cap))) / len(cap)

    def walk(index: int, left: list[int], instances: int) -> None:
        nonlocal best, steps, exact
        if best[0] >= 1.0 - 1e-12:
            return  # every resource is full: nothing can fill the host better
        steps += 1
        if steps > SEARCH_LIMIT:
            exact = False
            return
        if index == len(order):
            candidate = (score(left), instances)
            if candidate > best[:2]:
                best = (candidate[0], candidate[1], counts.copy())
            return
        need = amounts[index]
        most = min(left[i] // need[i] for i in range(len(cap)) if need[i] > 0)
        for n in range(most, -1, -1):
            counts[index] = n
            walk(index + 1, [left[i] - n * need[i] for i in range(len(cap))], instances + n)
        counts[index] = 0

    walk(0, cap.copy(), 0)
    chosen = best[2]
    used = {r: sum(chosen[j] * amounts[j][i] for j in range(len(order))) for i, r in enumerate(names)}
    return Packing(
        counts={order[j].name: chosen[j] for j in range(len(order))},
        instances=sum(chosen),
        used=used,
        stranded={r: cap[i] - used[r] for i, r in enumerate(names)},
        utilisation={r: round(used[r] / cap[i], 4) for i, r in enumerate(names)},
        exact=exact,
    )


def fit_flavors(host: HostSpec, flavors: Sequence[Flavor], alloc: Allocation = Allocation()) -> FlavorReport:
    if not flavors:
        raise FlavorSpecError(
            "no flavors given", hint="use --flavor NAME=VCPUS:RAM[:DISK] or --flavors-json FILE"
        )
    seen: set[str] = set()
    for flavor in flavors:
        if flavor.name in seen:
            raise FlavorSpecError(f"flavor {flavor.name!r} is given twice")
        seen.add(flavor.name)
    caps = capacities(host, alloc)
    fits = tuple(_fit(f, caps) for f in flavors)
    packable = [fit.flavor for fit in fits if fit.fits > 0]
    packing = _pack(packable, caps) if len(packable) > 1 else None
    return FlavorReport(host=host, allocation=alloc, capacities=caps, fits=fits, packing=packing)


def describe_fit(fit: FlavorFit, caps: Sequence[Capacity]) -> str:
    """One sentence: ``m1.big fits 1 time, bound by RAM; stranded: 30 of 32 vCPUs, ...``."""
    name = fit.flavor.name
    if fit.too_big:
        wanted = ", ".join(LABEL[r] for r in fit.too_big)
        return f"{name} fits 0 times: it asks for more {wanted} than the host has"
    times = "time" if fit.fits == 1 else "times"
    bound = " and ".join(LABEL[r] for r in fit.bound_by)
    stranded = ", ".join(
        f"{fit.stranded[c.resource]} of {c.capacity} {UNIT[c.resource]}"
        for c in caps
        if c.resource not in fit.bound_by
    )
    return f"{name} fits {fit.fits} {times}, bound by {bound}" + (
        f"; stranded: {stranded}" if stranded else ""
    )


@dataclass(frozen=True, slots=True)
class FlavorSettings:
    """The flags of ``stackrig tune flavors``, unparsed (parsing errors name the flag)."""

    host: str | None = None
    this_host: bool = False
    root: Path = Path("/")
    flavors: tuple[str, ...] = ()
    flavors_json: Path | None = None
    reserved_ram: str = "512M"
    reserved_cpus: int = 0
    reserved_disk: str = "0"
    cpu_ratio: float = 4.0
    ram_ratio: float = 1.0
    disk_ratio: float = 1.0


def run_flavors(settings: FlavorSettings) -> FlavorReport:
    if settings.host and settings.this_host:
        raise FlavorSpecError("give --host or --this-host, not both")
    if settings.host:
        host = parse_host(settings.host)
    elif settings.this_host:
        host = this_host(settings.root)
    else:
        raise FlavorSpecError("no host given", hint="use --host RAM:CPUS[:DISK] (e.g. 64G:8) or --this-host")
    return fit_flavors(
        host, gather_flavors(settings.flavors, settings.flavors_json), allocation_from(settings)
    )


def gather_flavors(specs: Sequence[str], flavors_json: Path | None) -> list[Flavor]:
    """The --flavor specs, then the rows of --flavors-json."""
    flavors = [parse_flavor(spec) for spec in specs]
    if flavors_json is not None:
        flavors.extend(load_flavors_json(flavors_json))
    return flavors


def allocation_from(flags: FlavorSettings) -> Allocation:
    """The --reserved-* and --*-ratio flags as Nova's knobs (shared by tune flavors and tune capacity)."""
    if flags.reserved_cpus < 0:
        raise FlavorSpecError("--reserved-cpus cannot be negative")
    for flag, ratio in (
        ("--cpu-ratio", flags.cpu_ratio),
        ("--ram-ratio", flags.ram_ratio),
        ("--disk-ratio", flags.disk_ratio),
    ):
        if not math.isfinite(ratio) or ratio <= 0:
            raise FlavorSpecError(f"{flag} must be a number above 0, got {ratio:g}")
    return Allocation(
        reserved_ram_mib=parse_size(flags.reserved_ram, "--reserved-ram") // MIB,
        reserved_cpus=flags.reserved_cpus,
        reserved_disk_gib=parse_size(flags.reserved_disk, "--reserved-disk") // GIB,
        cpu_ratio=flags.cpu_ratio,
        ram_ratio=flags.ram_ratio,
        disk_ratio=flags.disk_ratio,
    )


def parse_properties(value: object) -> dict[str, str]:
    """A flavor's Properties column: an object (newer openstack CLI) or ``a='1', b='2'`` (older)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):
        return {
            k.strip(): v.strip().strip("'\"")
            for k, _, v in (p.partition("=") for p in value.split(","))
            if k.strip()
        }
    return {}


def load_flavor_properties(path: Path) -> dict[str, dict[str, str]]:
    """Extra specs by flavor name from ``openstack flavor list --long -f json`` (its Properties column)."""
    rows = json.loads(read_text(path, what="--flavors-json file"))
    return {
        str(row["Name"]): parse_properties(row.get("Properties"))
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("Name"), str)
    }
