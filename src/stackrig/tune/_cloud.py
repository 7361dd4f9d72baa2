"""Read what a cloud says about its compute hosts: placement's providers or Nova's hypervisor list.

Two sources, one model (:class:`ComputeHost`):

* **placement** (current clouds): ``GET /resource_providers`` with, per provider, the
  responses of ``/inventories``, ``/usages`` and optionally ``/aggregates`` and ``/traits``,
  either inside each provider (keys ``inventories``, ``usages``, ...) or as maps keyed by
  provider uuid beside the list. Inventories carry the real reserved amounts and
  allocation ratios. ``openstack resource provider ... -f json`` rows are read too.
* **hypervisors** (older clouds): ``openstack hypervisor list --long -f json`` or the
  ``GET /os-hypervisors/detail`` document. Nova removed their capacity fields in API
  2.88; a document without them is refused. Reserved amounts and ratios come from the flags,
  and Nova counts ``reserved_host_memory_mb`` (and reserved disk) as used there.

Host aggregates (``GET /os-aggregates``, or ``openstack aggregate show -f json`` rows)
give availability zones and the metadata flavors may ask for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import read_text
from stackrig.errors import UsageError

__all__ = ["Aggregate", "Cloud", "ComputeHost", "Inventory", "load_aggregates", "load_cloud", "parse_cloud"]

# placement resource class -> the flavor resource of stackrig.tune.flavors
CLASSES = {"VCPU": "vcpu", "MEMORY_MB": "ram", "DISK_GB": "disk"}
_PLACEMENT_HINT = (
    "use placement instead: save GET /resource_providers with each provider's /inventories and "
    "/usages (see stackrig tune capacity --help)"
)


class CloudDocError(UsageError):
    """A --hypervisors or --aggregates document stackrig cannot read."""


@dataclass(frozen=True, slots=True)
class Inventory:
    """One resource of one host; None means: take it from the flags."""

    total: int
    used: int = 0
    reserved: int | None = None
    ratio: float | None = None
    max_unit: int | None = None
    min_unit: int = 1
    step_size: int = 1


@dataclass(frozen=True, slots=True)
class ComputeHost:
    name: str
    inventories: dict[str, Inventory]
    uuid: str = ""
    service_host: str = ""
    aggregates: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Aggregate:
    name: str
    uuid: str
    zone: str | None
    hosts: tuple[str, ...]
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class Cloud:
    source: str
    hosts: tuple[ComputeHost, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _load_json(path: Path, what: str) -> Any:
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CloudDocError(f"{what} {path} is not JSON (line {exc.lineno}: {exc.msg})") from exc


def _number(value: Any, what: str, *, whole: bool = True) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CloudDocError(f"{what} must be a number >= 0, got {value!r}")
    if whole and not float(value).is_integer():
        raise CloudDocError(f"{what} must be a whole number, got {value!r}")
    return int(value) if whole else float(value)


def _inner(value: Any, key: str) -> Any:
    """An API response ``{"inventories": {...}, "resource_provider_generation": 7}`` or its content."""
    if isinstance(value, Mapping) and key in value and "resource_provider_generation" in value:
        return value[key]
    if isinstance(value, Mapping) and set(value) == {key}:
        return value[key]
    return value


def _inventories(raw: Any, usages: Any, name: str) -> dict[str, Inventory]:
    rows = _inner(raw, "inventories")
    if isinstance(rows, list):  # openstack resource provider inventory list -f json
        rows = {str(r.get("resource_class")): r for r in rows if isinstance(r, Mapping)}
    if not isinstance(rows, Mapping):
        raise CloudDocError(f"provider {name}: inventories must be an object by resource class")
    used = _inner(usages, "usages") or {}
    if not isinstance(used, Mapping):
        raise CloudDocError(f"provider {name}: usages must be an object by resource class")
    out: dict[str, Inventory] = {}
    for rc, resource in CLASSES.items():
        inv = rows.get(rc)
        if inv is None:
            continue
        if not isinstance(inv, Mapping) or "total" not in inv:
            raise CloudDocError(f"provider {name}: inventory {rc} has no total")
        where = f"provider {name} {rc}"
        out[resource] = Inventory(
            total=_number(inv["total"], f"{where} total"),
            used=_number(used.get(rc, inv.get("used", 0)), f"{where} usage"),
            reserved=_number(inv.get("reserved", 0), f"{where} reserved"),
            ratio=_number(inv.get("allocation_ratio", 1.0), f"{where} allocation_ratio", whole=False),
            max_unit=_number(inv.get("max_unit", inv["total"]), f"{where} max_unit"),
            min_unit=_number(inv.get("min_unit", 1), f"{where} min_unit"),
            step_size=_number(inv.get("step_size", 1), f"{where} step_size"),
        )
    return out


def _by_uuid(doc: Mapping[str, Any], key: str, uuid: str, provider: Mapping[str, Any]) -> Any:
    if key in provider:
        return provider[key]
    side = doc.get(key)
    return side.get(uuid) if isinstance(side, Mapping) else None


def _strings(value: Any, key: str) -> tuple[str, ...]:
    items = _inner(value, key) or []
    return tuple(str(v) for v in items) if isinstance(items, list) else ()


def _placement(doc: Mapping[str, Any], providers: list[Any]) -> Cloud:
    hosts: list[ComputeHost] = []
    skipped: list[tuple[str, str]] = []
    for index, provider in enumerate(providers):
        if not isinstance(provider, Mapping) or not provider.get("uuid"):
            raise CloudDocError(f"resource provider #{index + 1} has no uuid")
        uuid = str(provider["uuid"])
        name = str(provider.get("name") or uuid)
        raw = _by_uuid(doc, "inventories", uuid, provider)
        if raw is None:
            skipped.append((name, "no inventories in the document"))
            continue
        inventories = _inventories(raw, _by_uuid(doc, "usages", uuid, provider), name)
        if "vcpu" not in inventories or "ram" not in inventories:
            skipped.append((name, "not a compute node (no VCPU and MEMORY_MB inventory)"))
            continue
        hosts.append(
            ComputeHost(
                name=name,
                inventories=inventories,
                uuid=uuid,
                service_host=name,
                aggregates=_strings(_by_uuid(doc, "aggregates", uuid, provider), "aggregates"),
                traits=_strings(_by_uuid(doc, "traits", uuid, provider), "traits"),
            )
        )
    notes = []
    shared = [h.name for h in hosts if "disk" not in h.inventories]
    if shared:
        notes.append(
            f"{len(shared)} host(s) have no DISK_GB inventory (shared storage?): disk not counted there"
        )
    return Cloud("placement", tuple(hosts), tuple(skipped), tuple(notes))


def _pick(row: Mapping[str, Any], *names: str) -> Any:
    lowered = {str(k).lower(): v for k, v in row.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _hypervisors(rows: list[Any]) -> Cloud:
    hosts: list[ComputeHost] = []
    skipped: list[tuple[str, str]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise CloudDocError(f"hypervisor #{index + 1} is not an object")
        name = str(_pick(row, "hypervisor_hostname", "Hypervisor Hostname") or f"#{index + 1}")
        vcpus = _pick(row, "vcpus", "vCPUs")
        memory = _pick(row, "memory_mb", "Memory MB")
        if vcpus is None or memory is None:
            raise CloudDocError(
                f"hypervisor {name} has no vCPUs / Memory MB: Nova removed them from the hypervisor list "
                "in API 2.88",
                hint=_PLACEMENT_HINT,
            )
        state = str(_pick(row, "state", "State") or "up").lower()
        status = str(_pick(row, "status", "Status") or "enabled").lower()
        if state != "up" or status != "enabled":
            skipped.append((name, f"state {state}, status {status}"))
            continue
        service = row.get("service")
        if not isinstance(service, Mapping):
            service = {}
        vcpus_used = _pick(row, "vcpus_used", "vCPUs Used") or 0
        ram_used = _pick(row, "memory_mb_used", "Memory MB Used") or 0
        inventories = {
            "vcpu": Inventory(_number(vcpus, f"{name} vCPUs"), _number(vcpus_used, f"{name} vCPUs Used")),
            # Nova counts reserved_host_memory_mb as used here; the capacity takes it back out.
            "ram": Inventory(
                _number(memory, f"{name} Memory MB"), _number(ram_used, f"{name} Memory MB Used")
            ),
        }
        disk = _pick(row, "local_gb", "Local GB")
        if disk is not None:
            used = _pick(row, "local_gb_used", "Local GB Used") or 0
            inventories["disk"] = Inventory(
                _number(disk, f"{name} Local GB"), _number(used, f"{name} Local GB Used")
            )
        host = str(service.get("host") or _pick(row, "service_host", "Service Host") or name)
        hosts.append(ComputeHost(name=name, inventories=inventories, service_host=host))
    return Cloud("hypervisors", tuple(hosts), tuple(skipped))


def parse_cloud(doc: Any, what: str = "--hypervisors") -> Cloud:
    """The compute hosts of a placement export or a hypervisor list (see the module doc)."""
    if isinstance(doc, Mapping) and isinstance(doc.get("resource_providers"), list):
        return _placement(doc, doc["resource_providers"])
    if isinstance(doc, Mapping) and isinstance(doc.get("hypervisors"), list):
        return _hypervisors(doc["hypervisors"])
    if isinstance(doc, list) and doc and all(isinstance(r, Mapping) for r in doc):
        if "uuid" in doc[0] and ("inventories" in doc[0] or "usages" in doc[0]):
            return _placement({}, doc)
        return _hypervisors(doc)
    raise CloudDocError(
        f"{what}: not a placement export nor a hypervisor list",
        hint="give placement's resource providers with inventories and usages, or "
        "'openstack hypervisor list --long -f json' of a cloud older than API 2.88",
    )


def load_cloud(path: Path) -> Cloud:
    return parse_cloud(_load_json(path, "--hypervisors file"), f"--hypervisors {path}")


def parse_aggregates(doc: Any, what: str = "--aggregates") -> tuple[Aggregate, ...]:
    rows = doc.get("aggregates") if isinstance(doc, Mapping) else doc
    if not isinstance(rows, list):
        raise CloudDocError(f"{what}: not a list of host aggregates", hint="save GET /os-aggregates")
    out = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise CloudDocError(f"{what}: aggregate #{index + 1} is not an object")
        hosts = _pick(row, "hosts")
        if not isinstance(hosts, list):
            raise CloudDocError(
                f"{what}: aggregate #{index + 1} lists no hosts",
                hint="'openstack aggregate list' leaves hosts out: save GET /os-aggregates, or "
                "'openstack aggregate show NAME -f json' of each",
            )
        metadata = _pick(row, "metadata", "properties") or {}
        if not isinstance(metadata, Mapping):
            metadata = {}
        zone = _pick(row, "availability_zone", "Availability Zone") or metadata.get("availability_zone")
        out.append(
            Aggregate(
                name=str(_pick(row, "name") or f"#{index + 1}"),
                uuid=str(_pick(row, "uuid") or ""),
                zone=str(zone) if zone else None,
                hosts=tuple(str(h) for h in hosts),
                metadata={str(k): str(v) for k, v in metadata.items()},
            )
        )
    return tuple(out)


def load_aggregates(path: Path) -> tuple[Aggregate, ...]:
    return parse_aggregates(_load_json(path, "--aggregates file"), f"--aggregates {path}")
