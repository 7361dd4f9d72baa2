"""fio servers from an Ansible inventory (any format ``fleet inventory`` writes).

``ansible-inventory -i INV --list`` reads INI, YAML and JSON inventories and
dynamic-inventory scripts alike. A host's address is its ``ansible_host``
(else its name); its fio port is ``fio_port`` (else 8765).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackrig import _proc
from stackrig.bench.model import DEFAULT_PORT, FioHost
from stackrig.errors import UsageError

__all__ = ["hosts_from_inventory", "hosts_from_listing"]


def _group_hosts(listing: Mapping[str, Any], group: str, seen: set[str]) -> list[str]:
    if group in seen:
        return []
    seen.add(group)
    entry = listing.get(group)
    if not isinstance(entry, Mapping):
        return []
    hosts = [str(h) for h in entry.get("hosts") or []]
    for child in entry.get("children") or []:
        hosts += _group_hosts(listing, str(child), seen)
    return hosts


def hosts_from_listing(listing: Mapping[str, Any], limit: str | None) -> tuple[FioHost, ...]:
    """FioHosts of an ``ansible-inventory --list`` document (optionally one group)."""
    group = limit or "all"
    if limit and limit not in listing:
        raise UsageError(f"group {limit!r} is not in the inventory", hint="see ansible-inventory --graph")
    names = _group_hosts(listing, group, set())
    if group == "all":
        names += [str(h) for h in (listing.get("ungrouped") or {}).get("hosts") or []]
    hostvars = (listing.get("_meta") or {}).get("hostvars") or {}
    result: dict[tuple[str, int], FioHost] = {}
    for name in names:
        variables = hostvars.get(name) or {}
        address = str(variables.get("ansible_host") or name)
        port_raw = variables.get("fio_port", DEFAULT_PORT)
        try:
            port = int(port_raw)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"host {name}: fio_port {port_raw!r} is not a number") from exc
        result.setdefault((address, port), FioHost(address, port))
    if not result:
        raise UsageError(f"no hosts in {'group ' + repr(limit) if limit else 'the inventory'}")
    return tuple(result.values())


def hosts_from_inventory(path: Path, limit: str | None) -> tuple[FioHost, ...]:
    if not path.exists():
        raise UsageError(f"inventory {path} does not exist")
    done = _proc.run(
        "ansible-inventory", ["-i", str(path), "--list"], timeout=120, needed_for="bench run --inventory"
    )
    try:
        listing = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise UsageError(f"ansible-inventory gave no JSON for {path}: {exc}") from exc
    if not isinstance(listing, Mapping):
        raise UsageError(f"ansible-inventory gave no host list for {path}")
    return hosts_from_listing(listing, limit)
