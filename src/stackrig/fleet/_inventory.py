"""Hosts → an inventory: filters, addresses, host names, groups and host variables."""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stackrig.errors import UsageError
from stackrig.fleet._filters import Filter, effective_state, parse_filter, state_filter
from stackrig.fleet._model import Host, NoHostsError

__all__ = [
    "InventoryHost",
    "InventoryOptions",
    "InventoryResult",
    "Skipped",
    "build_inventory",
    "safe_group_name",
    "safe_host_name",
]

AddressMode = Literal["auto", "public", "private"]
HostnameMode = Literal["address", "name", "id"]
Format = Literal["ini", "yaml", "json", "script"]
FORMATS: tuple[Format, ...] = ("ini", "yaml", "json", "script")

GROUP_BY_KEYS = ("region", "zone", "type", "provider", "state", "key-name", "image", "account")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_PROXY = re.compile(
    r"^(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,63}@)?(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)
_UNSAFE_GROUP = re.compile(r"[^A-Za-z0-9_]")
_UNSAFE_HOST = re.compile(r"[^A-Za-z0-9_.-]")
RESERVED_GROUPS = frozenset({"all", "ungrouped"})
#: Variables whose value the user gave on the command line (validated), not the cloud.
TRUSTED_VARS = frozenset({"ansible_user", "ansible_port", "ansible_ssh_common_args"})


@dataclass(frozen=True, slots=True)
class InventoryOptions:
    """How to turn hosts into an inventory (built from the flags of ``fleet inventory``)."""

    filters: tuple[str, ...] = ()
    state: str | None = None
    """None: ``running``, unless a filter names the state (see :func:`effective_state`)."""
    address: AddressMode = "auto"
    hostname: HostnameMode = "address"
    groups: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    user: str | None = None
    port: int | None = None
    ssh_proxy: str | None = None
    format: Format = "ini"

    @property
    def resolved_state(self) -> str:
        return effective_state(self.state, self.filters)


@dataclass(frozen=True, slots=True)
class InventoryHost:
    """A host as it appears in the inventory: its name there, its variables and the cloud host."""

    name: str
    vars: Mapping[str, Any]
    host: Host


@dataclass(frozen=True, slots=True)
class Skipped:
    instance_id: str
    name: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class InventoryResult:
    """The inventory: hosts in input order, groups (name → host names) and what was left out."""

    hosts: tuple[InventoryHost, ...]
    groups: Mapping[str, tuple[str, ...]]
    skipped: tuple[Skipped, ...] = ()
    read: int = 0
    filtered: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        line = f"{len(self.hosts)} hosts, {len(self.groups)} groups, {len(self.skipped)} skipped"
        line += f" (of {self.read} instances read"
        removed = sum(self.filtered.values())
        if removed:
            line += f", {removed} removed by filters"
        return line + ")"


def safe_group_name(name: str) -> str:
    """[A-Za-z0-9_] only, never starting with a digit (as Ansible wants group names)."""
    cleaned = _UNSAFE_GROUP.sub("_", name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = "_" + cleaned
    return cleaned


def safe_host_name(name: str) -> str:
    """[A-Za-z0-9_.-] only, starting with a letter, digit or _ and at most 253 characters."""
    cleaned = _UNSAFE_HOST.sub("_", name)[:253]
    if not cleaned or not (cleaned[0].isalnum() or cleaned[0] == "_") or not cleaned.isascii():
        cleaned = "_" + cleaned[:252]
    return cleaned


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"^{_OCTET}(?:\.{_OCTET}){{3}}$")


def _valid_ip(value: str | None) -> str | None:
    """The address in canonical form, or None when it is not an IP address."""
    if value is None:
        return None
    if _IPV4.match(value):
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _check_options(options: InventoryOptions) -> tuple[list[Filter], Filter | None]:
    filters = [parse_filter(spec) for spec in options.filters]
    state = state_filter(options.resolved_state)
    if options.user is not None and not _USER.match(options.user):
        raise UsageError(f"--user {options.user!r} is not a valid user name")
    if options.port is not None and not 1 <= options.port <= 65535:
        raise UsageError(f"--port {options.port} is not between 1 and 65535")
    if options.ssh_proxy is not None and not _PROXY.match(options.ssh_proxy):
        raise UsageError(
            f"--ssh-proxy {options.ssh_proxy!r} is not USER@HOST[:PORT]",
            hint="e.g. --ssh-proxy admin@bastion",
        )
    for group in options.groups:
        if safe_group_name(group) in RESERVED_GROUPS:
            raise UsageError(f"--group {group!r}: 'all' and 'ungrouped' are Ansible's own groups")
    for key in options.group_by:
        for part in key.split(","):
            if not (part.startswith("tag:") and len(part) > 4) and part not in GROUP_BY_KEYS:
                raise UsageError(
                    f"--group-by {part!r} is unknown",
                    hint=f"use tag:KEY or one of {', '.join(GROUP_BY_KEYS)}",
                )
    return filters, state


def _states(hosts: Sequence[Host]) -> str:
    counts: dict[str, int] = {}
    for host in hosts:
        counts[host.state] = counts.get(host.state, 0) + 1
    return ", ".join(f"{state} ({n})" for state, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _apply_filters(
    hosts: Sequence[Host], filters: list[Filter], state: Filter | None, *, state_given: bool
) -> tuple[list[Host], dict[str, int]]:
    removed: dict[str, int] = {}
    kept = list(hosts)
    steps: list[tuple[str, Any, bool]] = []
    if state is not None:
        match_state = state.matcher()
        how = "--state" if state_given else "the default --state; --state any or a state --filter lifts it"
        # The state filter keeps hosts whose input had no state at all (az vm list-ip-addresses).
        steps.append((f"{state.spec} ({how})", lambda h: h.state == "unknown" or match_state(h), True))
    steps.extend((f.spec, f.matcher(), False) for f in filters)
    for spec, match, is_state in steps:
        before = kept
        kept = [h for h in kept if match(h)]
        removed[spec] = len(before) - len(kept)
        if not kept and before:
            if is_state:
                others = "any" if state_given else "any, or --filter state=STATE"
                hint = f"their states: {_states(before)}; pass --state STATE[,STATE] or --state {others}"
            else:
                hint = "check the filter's spelling and case (globs are case-sensitive as in AWS)"
            raise NoHostsError(
                f"no hosts left: filter {spec} removed the last {len(before)} of {len(hosts)} instances read",
                hint=hint,
            )
    return kept, removed


_KIND_NAMES = {"public": "public address", "private": "private address", "ipv6": "IPv6 address"}


def _malformed(host: Host) -> list[str]:
    """The addresses of ``host`` that are not IP addresses, each named with its field and value."""
    found = []
    for kind, value in (
        ("private", host.private_address),
        ("public", host.public_address),
        ("ipv6", host.ipv6_address),
    ):
        if value is not None and _valid_ip(value) is None:
            field = host.address_fields.get(kind)
            where = f" ({field})" if field else ""
            found.append(f"{_KIND_NAMES[kind]} {value!r}{where} is not an IP address")
    return found


def _choose_address(host: Host, mode: AddressMode) -> tuple[str | None, bool, str]:
    """(address, reached on the private address?, reason when there is none).

    An instance without any IPv4 address (IPv6-only) is reached on its IPv6 address whatever
    the mode; a malformed address is never used, and is named in the reason.
    """
    public = _valid_ip(host.public_address)
    private = _valid_ip(host.private_address)
    ipv6 = _valid_ip(host.ipv6_address)
    bad = "; ".join(_malformed(host))
    if public is None and private is None and ipv6 is not None:
        return ipv6, not ipaddress.ip_address(ipv6).is_global, ""
    if mode == "public":
        reason = bad or (f"no public address (private {private})" if private else "no public address")
        return public, False, reason
    if mode == "private":
        return private, True, bad or "no private address"
    return public or private, public is None, bad or host.address_note or "no public or private address"


def host_vars(host: Host, address: str, options: InventoryOptions, via_private: bool) -> dict[str, Any]:
    """The variables of one host: connection first, then the provider-prefixed facts."""
    p = host.prefix
    out: dict[str, Any] = {"ansible_host": address}
    if options.user:
        out["ansible_user"] = options.user
    if options.port:
        out["ansible_port"] = options.port
    if options.ssh_proxy and via_private:
        out["ansible_ssh_common_args"] = f"-o ProxyJump={options.ssh_proxy}"
    facts: list[tuple[str, Any]] = [
        ("id", host.instance_id),
        ("name", host.name),
        ("state", host.state),
        ("raw_state", host.raw_state if host.raw_state != host.state else None),
        ("type", host.instance_type),
        ("region", host.region),
        ("zone", host.zone),
        ("private_ip", host.private_address),
        ("public_ip", host.public_address),
        ("key_name", host.key_name),
        ("image", host.image),
        ("launch_time", host.launch_time),
    ]
    if host.ipv6_address is not None:
        facts.append(("ipv6_address", host.ipv6_address))
    # sys.intern: one copy of each variable name for the whole fleet, not one per host
    for key, value in facts:
        if value is not None:
            out[sys.intern(f"{p}_{key}")] = value
    # the host's own tags (a dict nobody changes) rather than a copy per host
    out[sys.intern(f"{p}_tags")] = host.tags if type(host.tags) is dict else dict(host.tags)
    for key, value in host.extra.items():
        out.setdefault(sys.intern(f"{p}_{key}"), value)
    return out


def _base_name(host: Host, address: str, mode: HostnameMode) -> str:
    if mode == "address":
        return address
    if mode == "name" and host.name:
        return safe_host_name(host.name)
    return safe_host_name(host.instance_id)


def _keyed(host: Host, key: str) -> str | None:
    if key.startswith("tag:"):
        tag = key[4:]
        value = host.tags.get(tag)
        return safe_group_name(f"tag_{tag}_{value}") if value else None
    attr = {
        "region": host.region,
        "zone": host.zone,
        "type": host.instance_type,
        "provider": host.provider,
        "state": host.state,
        "key-name": host.key_name,
        "image": host.image,
        "account": host.extra.get("account_alias") or host.extra.get("account_id"),
    }[key]
    prefix = key.replace("-", "_")
    return safe_group_name(f"{prefix}_{attr}") if attr else None


def _addressed(
    kept: Sequence[Host], mode: AddressMode
) -> tuple[list[tuple[Host, str, bool]], list[Skipped], list[str]]:
    """The hosts with a usable address (and that address), the skipped ones with a reason, warnings."""
    warnings: list[str] = []
    skipped: list[Skipped] = []
    chosen: list[tuple[Host, str, bool]] = []
    for host in kept:
        address, via_private, reason = _choose_address(host, mode)
        if address is None:
            if host.state != "running":
                reason += f", state {host.state}"
            skipped.append(Skipped(host.instance_id, host.name, reason))
            continue
        for problem in _malformed(host):
            label = f"{host.instance_id} ({host.name})" if host.name else host.instance_id
            warnings.append(f"{label}: {problem}; it is not used")
        chosen.append((host, address, via_private))
    if not chosen:
        # Only modes that would reach one of these hosts, and never the one given.
        others = [
            f"--address {m}"
            for m in ("auto", "public", "private")
            if m != mode and any(_choose_address(h, m)[0] for h in kept)
        ]
        raise NoHostsError(
            f"no host has a usable address ({len(skipped)} skipped: {_skipped_by_reason(skipped)})",
            hint=f"{' or '.join(others)} would use the addresses these hosts have" if others else None,
        )
    return chosen, skipped, warnings


def _skipped_by_reason(skipped: Sequence[Skipped], names: int = 10) -> str:
    """Every skipped host named, grouped by reason: ``a, b: no address; c: ...`` (long lists cut)."""
    by_reason: dict[str, list[str]] = {}
    for host in skipped:
        by_reason.setdefault(host.reason, []).append(host.instance_id)
    parts = []
    for reason, ids in by_reason.items():
        shown = ", ".join(ids[:names]) + (f" and {len(ids) - names} more" if len(ids) > names else "")
        parts.append(f"{shown}: {reason}")
    return "; ".join(parts)


def build_inventory(hosts: Sequence[Host], options: InventoryOptions) -> InventoryResult:
    """Filter, name and group ``hosts``; hosts without a usable address are skipped with a reason.

    Raises :class:`NoHostsError` (FAILED) when nothing is left, naming the filter
    that removed the last hosts, and USAGE errors for invalid options.
    """
    filters, state = _check_options(options)
    if not hosts:
        raise NoHostsError("the input holds no instances", hint="check the cloud CLI's region and filters")
    kept, removed = _apply_filters(hosts, filters, state, state_given=options.state is not None)
    chosen, skipped, warnings = _addressed(kept, options.address)
    used: set[str] = set()
    result_hosts: list[InventoryHost] = []
    groups: dict[str, dict[str, None]] = {safe_group_name(g): {} for g in options.groups}
    group_keys = [part for key in options.group_by for part in key.split(",")]
    for host, address, via_private in chosen:
        name = _base_name(host, address, options.hostname)
        if name in used:
            clash = name
            if options.hostname != "id":
                name = f"{name}_{safe_host_name(host.instance_id)}"[:253]
            n = 2
            while name in used:
                name = f"{clash}_{n}"
                n += 1
            warnings.append(f"host name {clash} is taken; {host.instance_id} is named {name}")
        used.add(name)
        result_hosts.append(InventoryHost(name, host_vars(host, address, options, via_private), host))
        for group in options.groups:
            groups[safe_group_name(group)][name] = None
        for key in group_keys:
            keyed = _keyed(host, key)
            if keyed is not None:
                groups.setdefault(keyed, {})[name] = None
    return InventoryResult(
        hosts=tuple(result_hosts),
        groups={g: tuple(members) for g, members in groups.items()},
        skipped=tuple(skipped),
        read=len(hosts),
        filtered=removed,
        warnings=tuple(warnings),
    )
