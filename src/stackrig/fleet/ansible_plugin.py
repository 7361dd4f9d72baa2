"""What the Ansible inventory plugin ``stackrig.fleet.discover`` runs: ``fleet discover`` as a function.

The plugin (shipped as an Ansible collection inside this package, see
:mod:`stackrig.fleet.collection`) hands its options over as a plain mapping, named as
the CLI flags (``region``, ``account``, ``filter``, ``group_by``, ``hostname``, ...);
this module checks them the CLI's way, discovers through the same cache as ``fleet
discover`` (the data folder's, ``STACKRIG_HOME`` included) and returns the inventory:
host names, their variables, groups, and what failed. The plugin marks every value
that came from the cloud unsafe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackrig._units import parse_duration
from stackrig.errors import UsageError
from stackrig.fleet._accounts import DEFAULT_SESSION_NAME, AccountOptions
from stackrig.fleet._aws import RETRY_MODES, AwsTarget
from stackrig.fleet._inventory import TRUSTED_VARS, InventoryOptions, build_inventory
from stackrig.fleet.discover import DiscoverSettings, discover
from stackrig.paths import Paths

__all__ = ["OPTIONS", "PluginInventory", "plugin_inventory"]

#: The plugin's options (the CLI's flags, underscores for dashes) and their defaults.
OPTIONS: dict[str, Any] = {
    "provider": "aws",
    "region": [],
    "all_regions": False,
    "account": [],
    "external_id": None,
    "role_session_name": DEFAULT_SESSION_NAME,
    "via": None,
    "profile": None,
    "endpoint_url": None,
    "max_attempts": 5,
    "retry_mode": "standard",
    "filter": [],
    "state": None,
    "address": "auto",
    "hostname": "address",
    "group": [],
    "group_by": [],
    "user": None,
    "port": None,
    "ssh_proxy": None,
    "cache_ttl": "5m",
    "refresh": False,
    "allow_partial": False,
}


@dataclass(frozen=True, slots=True)
class PluginInventory:
    """Hosts (name, variables, the names of the variables the user gave), groups, failed parts."""

    hosts: tuple[tuple[str, Mapping[str, Any]], ...]
    groups: Mapping[str, tuple[str, ...]]
    trusted: frozenset[str]
    failed: tuple[str, ...]
    warnings: tuple[str, ...]


def _words(value: Any, name: str) -> tuple[str, ...]:
    """A list option given as a YAML list or as a comma-separated string."""
    if value is None:
        return ()
    items: Sequence[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence):
        raise UsageError(f"option {name} must be a list or a comma-separated string")
    return tuple(part.strip() for item in items for part in str(item).split(",") if part.strip())


def _options(given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise UsageError(f"unknown option(s) {', '.join(unknown)}", hint=f"known: {', '.join(OPTIONS)}")
    merged = dict(OPTIONS)
    merged.update({k: v for k, v in given.items() if v is not None})
    if merged["retry_mode"] not in RETRY_MODES[:2]:
        raise UsageError(f"retry_mode {merged['retry_mode']!r} is not standard or adaptive")
    for name, allowed in (
        ("address", ("auto", "public", "private")),
        ("hostname", ("address", "name", "id")),
    ):
        if merged[name] not in allowed:
            raise UsageError(f"{name} {merged[name]!r} is not one of {', '.join(allowed)}")
    return merged


def _port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535 or isinstance(value, bool):
        raise UsageError(f"port {value!r} is not a TCP port (1-65535)")
    return port


def plugin_inventory(given: Mapping[str, Any], environ: Mapping[str, str]) -> PluginInventory:
    """Discover and build the inventory for the plugin (USAGE errors for bad options)."""
    opts = _options(given)
    filters = _words(opts["filter"], "filter")
    inventory_options = InventoryOptions(
        filters=filters,
        state=opts["state"],
        address=opts["address"],
        hostname=opts["hostname"],
        groups=_words(opts["group"], "group"),
        group_by=_words(opts["group_by"], "group_by"),
        user=opts["user"],
        port=_port(opts["port"]),
        ssh_proxy=opts["ssh_proxy"],
    )
    settings = DiscoverSettings(
        provider=str(opts["provider"]),
        regions=_words(opts["region"], "region"),
        all_regions=bool(opts["all_regions"]),
        filters=filters,
        state=inventory_options.resolved_state,
        cache_ttl=parse_duration(opts["cache_ttl"], what="cache_ttl"),
        refresh=bool(opts["refresh"]),
        accounts=AccountOptions(
            _words(opts["account"], "account"),
            opts["external_id"],
            str(opts["role_session_name"]),
            opts["via"],
        ),
    )
    target = AwsTarget(
        region=None,
        endpoint_url=opts["endpoint_url"] or environ.get("AWS_ENDPOINT_URL") or None,
        profile=opts["profile"],
        retry_mode=str(opts["retry_mode"]),
        max_attempts=int(opts["max_attempts"]),
    )
    cache_root = Paths.resolve(None, environ).cache
    result = discover(settings, cache_root=cache_root, target=target)
    built = build_inventory(result.hosts, inventory_options)
    notes = [*built.warnings, *(f"skipped {s.instance_id}: {s.reason}" for s in built.skipped)]
    return PluginInventory(
        hosts=tuple((h.name, h.vars) for h in built.hosts),
        groups=built.groups,
        trusted=TRUSTED_VARS,
        failed=result.failed,
        warnings=tuple(notes),
    )
