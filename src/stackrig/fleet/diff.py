"""``fleet diff``: what changed between two inventories (any format stackrig writes) or discovery snapshots.

Hosts are matched by instance id when both sides carry one for every host (the
``ec2_id``/``azure_id``/``gce_id``/``os_id`` variable, or a snapshot's id), else by host
name. Each host is compared field by field: ``address`` (ansible_host), the provider
facts without their prefix (``state``, ``type``, ``zone``, ``launch_time``, ...), each tag
as ``tag:KEY``, the other ``ansible_*`` variables, and ``groups``. A field one side cannot
carry (INI leaves out what it cannot hold safely; snapshots have no groups) is counted
as unknown, never as changed. ``ignore`` takes field names or globs (``launch_time``,
``tag:LastSeen``, ``tag:*``).

Speed: two 100,000-host JSON inventories are read with ``json.loads`` and hosts whose
variables and groups are equal (most of them) are never flattened.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import read_text
from stackrig.errors import UsageError
from stackrig.fleet._model import PROVIDER_PREFIX
from stackrig.fleet._reader import looks_yaml, read_inventory
from stackrig.fleet._snapshots import SNAPSHOT_FORMAT, snapshot_hosts

__all__ = ["Change", "DiffResult", "HostChange", "HostRef", "Side", "diff_sides", "load_side"]

_PREFIXES = frozenset(PROVIDER_PREFIX.values())
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a diff: hosts by name with their raw variables and groups (None: not carried)."""

    label: str
    hosts: Mapping[str, Mapping[str, Any]]
    groups: Mapping[str, frozenset[str]] | None
    lossy: bool = False
    """True for INI: a variable missing there may just not have been written."""
    named: bool = True
    """False for snapshots: their hosts are named by instance id, not as an inventory names them."""


@dataclass(frozen=True, slots=True)
class HostRef:
    key: str
    name: str
    address: Any = None


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class HostChange:
    key: str
    name: str
    changes: tuple[Change, ...]
    renamed_from: str | None = None


@dataclass(frozen=True, slots=True)
class DiffResult:
    old: str
    new: str
    keyed_by: str
    added: tuple[HostRef, ...]
    removed: tuple[HostRef, ...]
    changed: tuple[HostChange, ...]
    unchanged: int
    unknown: Mapping[str, int] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    @property
    def differ(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def summary(self) -> str:
        line = (
            f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed, "
            f"{self.unchanged} unchanged (hosts matched by {self.keyed_by})"
        )
        if self.unknown:
            line += f"; {sum(self.unknown.values())} field value(s) unknown on one side"
        return line


# ------------------------------------------------------------------ reading a side


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "__ansible_unsafe" in value:
            return value["__ansible_unsafe"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _membership(groups: Mapping[str, Iterable[str]], hosts: Iterable[str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {name: set() for name in hosts}
    for group, members in groups.items():
        if group in ("all", "ungrouped"):
            continue
        for name in members:
            found.setdefault(name, set()).add(group)
    return {name: frozenset(gs) for name, gs in found.items()}


def _plugin_groups(children: Any, into: dict[str, list[str]]) -> None:
    for group, body in (children or {}).items():
        if not isinstance(body, dict):
            continue
        into.setdefault(group, []).extend(body.get("hosts") or {})
        _plugin_groups(body.get("children"), into)
        for child in body.get("children") or {}:  # a child's hosts are the parent's too
            into[group].extend(into.get(child, []))


def _from_plugin_layout(doc: dict[str, Any], label: str) -> Side | None:
    top = doc.get("all")
    if set(doc) != {"all"} or not isinstance(top, dict) or not isinstance(top.get("hosts", {}), dict):
        return None
    groups: dict[str, list[str]] = {}
    _plugin_groups(top.get("children"), groups)
    hosts = top.get("hosts") or {}
    if top.get("vars") or _has_group_vars(top.get("children")):
        return None  # group variables apply to hosts: the general reader merges them
    return Side(label, {n: v or {} for n, v in hosts.items()}, _membership(groups, hosts))


def _has_group_vars(children: Any) -> bool:
    return any(
        isinstance(body, dict) and (body.get("vars") or _has_group_vars(body.get("children")))
        for body in (children or {}).values()
    )


def _from_script_layout(doc: dict[str, Any], label: str) -> Side | None:
    meta = doc.get("_meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("hostvars"), dict):
        return None
    if any(isinstance(body, dict) and body.get("vars") for body in doc.values()):
        return None
    groups: dict[str, list[str]] = {}
    for group, body in doc.items():
        if group != "_meta" and isinstance(body, dict):
            groups[group] = list(body.get("hosts") or [])
    return Side(label, meta["hostvars"], _membership(groups, meta["hostvars"]))


def _from_snapshot(doc: dict[str, Any], label: str) -> Side:
    return Side(label, snapshot_hosts(doc), None, named=False)


def load_side(path: Path, label: str | None = None) -> Side:
    """Read an inventory (INI, YAML, JSON, script JSON) or a snapshot (``.json.gz``) for a diff."""
    shown = label or str(path)
    if path.name.endswith(".gz"):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                doc = json.load(handle)
        except (OSError, EOFError, ValueError) as exc:
            raise UsageError(f"{path} is not a stackrig snapshot ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
            raise UsageError(f"{path} is not a stackrig snapshot (no {SNAPSHOT_FORMAT} format mark)")
        return _from_snapshot(doc, shown)
    text = read_text(path, what="inventory")
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            if doc.get("format") == SNAPSHOT_FORMAT:
                return _from_snapshot(doc, shown)
            side = _from_plugin_layout(doc, shown) or _from_script_layout(doc, shown)
            if side is not None:
                return side
    inventory = read_inventory(path)  # YAML, INI, and JSON with group variables
    hosts = {entry.name: dict(entry.vars) for entry in inventory.hosts}
    return Side(shown, hosts, _membership(inventory.groups, hosts), lossy=_is_ini(path, text))


def _is_ini(path: Path, text: str) -> bool:
    """As read_inventory decides: neither JSON nor YAML."""
    suffix, head = path.suffix.lower(), text.lstrip()
    if suffix in (".json", ".yml", ".yaml") or head.startswith("{"):
        return False
    return suffix in (".ini", ".cfg") or not looks_yaml(head)


# ------------------------------------------------------------------ comparing


def flatten(vars_: Mapping[str, Any]) -> dict[str, Any]:
    """Host variables as diff fields: address, facts without their prefix, tag:KEY, ansible_*."""
    out: dict[str, Any] = {}
    for key, raw in vars_.items():
        value = _unwrap(raw)
        if key == "ansible_host":
            out["address"] = value
            continue
        prefix, sep, rest = key.partition("_")
        name = rest if sep and prefix in _PREFIXES else key
        if name == "tags" and isinstance(value, dict):
            out.update((f"tag:{tag}", tag_value) for tag, tag_value in value.items())
        else:
            out[name] = value
    return out


def _key_of(vars_: Mapping[str, Any]) -> str | None:
    for prefix in _PREFIXES:
        value = vars_.get(f"{prefix}_id")
        if value is not None:
            return str(_unwrap(value))
    return None


def _keys(side: Side) -> dict[str, str] | None:
    """name → instance id when every host has one and no id repeats, else None (match by name)."""
    keys: dict[str, str] = {}
    seen: set[str] = set()
    for name, vars_ in side.hosts.items():
        key = _key_of(vars_)
        if key is None or key in seen:
            return None
        seen.add(key)
        keys[name] = key
    return keys


def _ignored(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _compare(
    old: Side, new: Side, o_name: str, n_name: str, *, ignore: Sequence[str], unknown: dict[str, int]
) -> list[Change]:
    a, b = flatten(old.hosts[o_name]), flatten(new.hosts[n_name])
    changes = []
    for name in sorted(a.keys() | b.keys()):
        if _ignored(name, ignore):
            continue
        before, after = a.get(name, _MISSING), b.get(name, _MISSING)
        if before == after:
            continue
        if (before is _MISSING and old.lossy) or (after is _MISSING and new.lossy):
            unknown[name] = unknown.get(name, 0) + 1
            continue
        changes.append(
            Change(name, None if before is _MISSING else before, None if after is _MISSING else after)
        )
    if not _ignored("groups", ignore):
        if old.groups is None or new.groups is None:
            unknown["groups"] = unknown.get("groups", 0) + 1
        else:
            before_groups, after_groups = (
                old.groups.get(o_name, frozenset()),
                new.groups.get(n_name, frozenset()),
            )
            if before_groups != after_groups:
                changes.append(Change("groups", sorted(before_groups), sorted(after_groups)))
    return changes


def diff_sides(old: Side, new: Side, *, ignore: Sequence[str] = ()) -> DiffResult:
    """Hosts added, removed and changed from ``old`` to ``new``."""
    old_keys, new_keys = _keys(old), _keys(new)
    by_id = old_keys is not None and new_keys is not None
    o_map = (
        {k: n for n, k in old_keys.items()} if by_id and old_keys is not None else {n: n for n in old.hosts}
    )
    n_map = (
        {k: n for n, k in new_keys.items()} if by_id and new_keys is not None else {n: n for n in new.hosts}
    )
    added = [
        HostRef(k, n_map[k], _unwrap(new.hosts[n_map[k]].get("ansible_host")))
        for k in n_map
        if k not in o_map
    ]
    removed = [
        HostRef(k, o_map[k], _unwrap(old.hosts[o_map[k]].get("ansible_host")))
        for k in o_map
        if k not in n_map
    ]
    changed: list[HostChange] = []
    unknown: dict[str, int] = {}
    unchanged = 0
    no_groups = old.groups is None or new.groups is None
    names_compare = old.named and new.named
    for key, o_name in o_map.items():
        n_name = n_map.get(key)
        if n_name is None:
            continue
        same_vars = old.hosts[o_name] == new.hosts[n_name]
        same_groups = no_groups or old.groups.get(o_name) == new.groups.get(n_name)  # type: ignore[union-attr]
        renamed = names_compare and o_name != n_name
        if same_vars and same_groups and not renamed:
            unchanged += 1
            if no_groups and not _ignored("groups", ignore):
                unknown["groups"] = unknown.get("groups", 0) + 1
            continue
        changes = _compare(old, new, o_name, n_name, ignore=ignore, unknown=unknown)
        if changes or renamed:
            changed.append(HostChange(key, n_name, tuple(changes), o_name if renamed else None))
        else:
            unchanged += 1
    return DiffResult(
        old=old.label,
        new=new.label,
        keyed_by="instance id" if by_id else "host name",
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(changed),
        unchanged=unchanged,
        unknown=dict(sorted(unknown.items())),
        ignored=tuple(ignore),
    )
