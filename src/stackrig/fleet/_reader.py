"""Read an inventory in the three formats stackrig writes (INI, YAML, JSON), for other families.

Not a full Ansible inventory engine: static INI (``[group]``, ``[group:vars]``,
``[group:children]``, ``key=value``), YAML (``all:`` with hosts, vars, children;
``!unsafe`` read as plain text) and JSON (a dynamic-inventory ``--list``
document with ``_meta.hostvars``, or the YAML layout in JSON, values marked unsafe or not). ``host_vars/`` and
``group_vars/`` beside the file are read too. Host ranges (``web[01:10]``) are
a USAGE error: run ``ansible-inventory --list`` and read its JSON instead.

PyYAML is imported by the first YAML file read (``fleet inventory`` itself never reads one).
"""

from __future__ import annotations

import ast
import functools
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig._io import read_text
from stackrig.errors import UsageError

if TYPE_CHECKING:
    import yaml

__all__ = ["Inventory", "InventoryEntry", "is_script_layout", "looks_yaml", "read_inventory"]


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    """One host of an inventory file: its name and its variables (group vars merged under host vars)."""

    name: str
    vars: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return str(self.vars.get("ansible_host", self.name))

    @property
    def user(self) -> str | None:
        user = self.vars.get("ansible_user")
        return str(user) if user is not None else None

    @property
    def port(self) -> int | None:
        port = self.vars.get("ansible_port")
        try:
            return int(port) if port is not None else None
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Inventory:
    """Hosts in file order and groups (name → host names, children resolved)."""

    path: Path
    hosts: tuple[InventoryEntry, ...]
    groups: Mapping[str, tuple[str, ...]]

    def host(self, name: str) -> InventoryEntry:
        for entry in self.hosts:
            if entry.name == name:
                return entry
        raise KeyError(name)


@functools.cache
def _loader() -> type[yaml.SafeLoader]:
    """SafeLoader that reads Ansible's ``!unsafe`` and ``!vault`` tags as plain values."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        return None  # pragma: no cover - yaml has no other node kinds

    _Loader.add_constructor("!unsafe", plain)
    _Loader.add_constructor("!vault", plain)
    return _Loader


class _Builder:
    def __init__(self) -> None:
        self.hosts: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, None]] = {}
        self.children: dict[str, dict[str, None]] = {}
        self.group_vars: dict[str, dict[str, Any]] = {}

    def add_host(self, name: str, group: str | None = None, vars_: Mapping[str, Any] | None = None) -> None:
        if "[" in name and ":" in name and "]" in name:
            raise UsageError(
                f"inventory host {name!r} is a range; stackrig reads ranges only through ansible",
                hint="expand it with: ansible-inventory -i FILE --list > inventory.json",
            )
        self.hosts.setdefault(name, {}).update(vars_ or {})
        if group and group not in ("all", "ungrouped"):
            self.groups.setdefault(group, {})[name] = None

    def build(self, path: Path) -> Inventory:
        _read_side_vars(path, self)
        resolved: dict[str, tuple[str, ...]] = {}

        def members(group: str, seen: frozenset[str]) -> dict[str, None]:
            out = dict(self.groups.get(group, {}))
            for child in self.children.get(group, {}):
                if child not in seen:
                    out.update(members(child, seen | {child}))
            return out

        for group in [*self.groups, *self.children]:
            resolved[group] = tuple(members(group, frozenset({group})))
        entries = []
        for name, host_vars in self.hosts.items():
            merged: dict[str, Any] = dict(self.group_vars.get("all", {}))
            for group, names in resolved.items():
                if name in names:
                    merged.update(self.group_vars.get(group, {}))
            merged.update(host_vars)
            entries.append(InventoryEntry(name, merged))
        return Inventory(path, tuple(entries), resolved)


def _ini_value(raw: str) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return raw


def _ini_pairs(tokens: list[str], path: Path, lineno: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            raise UsageError(f"{path}:{lineno}: expected key=value, found {token!r}")
        out[key] = _ini_value(value)
    return out


def _read_ini(text: str, path: Path) -> _Builder:
    builder = _Builder()
    section, kind = "ungrouped", "hosts"
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section, _, kind = stripped[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise UsageError(f"{path}:{lineno}: unknown section kind {kind!r}")
            if kind == "hosts" and section not in ("all", "ungrouped"):
                builder.groups.setdefault(section, {})
            continue
        try:
            tokens = shlex.split(stripped, comments=True)
        except ValueError as exc:
            raise UsageError(f"{path}:{lineno}: {exc}") from exc
        if not tokens:
            continue
        if kind == "vars":
            key, _, value = stripped.partition("=")
            builder.group_vars.setdefault(section, {})[key.strip()] = _ini_value(value.strip())
        elif kind == "children":
            builder.children.setdefault(section, {})[tokens[0]] = None
        else:
            builder.add_host(tokens[0], section, _ini_pairs(tokens[1:], path, lineno))
    return builder


def _yaml_group(builder: _Builder, name: str, body: Any, path: Path) -> None:
    if body is None:
        return
    if not isinstance(body, Mapping):
        raise UsageError(f"{path}: group {name!r} is not a mapping")
    for host, host_vars in (body.get("hosts") or {}).items():
        builder.add_host(str(host), name, _unwrap(host_vars) if isinstance(host_vars, Mapping) else {})
    if isinstance(body.get("vars"), Mapping):
        builder.group_vars.setdefault(name, {}).update(_unwrap(body["vars"]))
    for child, child_body in (body.get("children") or {}).items():
        if name != "all":
            builder.children.setdefault(name, {})[str(child)] = None
        else:
            builder.groups.setdefault(str(child), {})
        _yaml_group(builder, str(child), child_body, path)


def _read_structured(doc: Any, path: Path) -> _Builder:
    builder = _Builder()
    if not isinstance(doc, Mapping):
        raise UsageError(f"{path} is not an inventory (expected a mapping at the top)")
    if "_meta" in doc or ("all" in doc and isinstance(doc["all"], Mapping) and _script_layout(doc)):
        hostvars = doc.get("_meta", {}).get("hostvars", {}) or {}
        for name, host_vars in hostvars.items():
            builder.add_host(str(name), None, _unwrap(host_vars))
        for group, body in doc.items():
            if group == "_meta" or not isinstance(body, Mapping):
                continue
            for name in body.get("hosts") or []:
                builder.add_host(str(name), group)
            if group != "all":
                for child in body.get("children") or []:
                    builder.children.setdefault(group, {})[str(child)] = None
            if isinstance(body.get("vars"), Mapping):
                builder.group_vars.setdefault(group, {}).update(_unwrap(body["vars"]))
        return builder
    for name, body in doc.items():
        _yaml_group(builder, str(name), body, path)
    return builder


def _script_layout(doc: Mapping[str, Any]) -> bool:
    return isinstance(doc["all"].get("children"), list) or isinstance(doc["all"].get("hosts"), list)


def is_script_layout(path: Path) -> bool:
    """True for a JSON file in the dynamic-inventory script layout (Ansible reads it only from a script)."""
    try:
        text = path.read_text(encoding="utf-8")
        if not text.lstrip().startswith("{"):
            return False
        doc = json.loads(text)
    except (OSError, ValueError):
        return False
    if not isinstance(doc, Mapping):
        return False
    return "_meta" in doc or (isinstance(doc.get("all"), Mapping) and _script_layout(doc))


def _unwrap(value: Any) -> Any:
    """Drop the ``__ansible_unsafe`` wrappers of a JSON inventory."""
    if isinstance(value, Mapping):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _load_yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc


def _read_side_vars(path: Path, builder: _Builder) -> None:
    base = path.parent
    for kind, target in (("host_vars", builder.hosts), ("group_vars", builder.group_vars)):
        folder = base / kind
        if not folder.is_dir():
            continue
        for name in list(target if kind == "host_vars" else [*builder.groups, *builder.children, "all"]):
            for ext in (".yml", ".yaml", ".json"):
                candidate = folder / f"{name}{ext}"
                if candidate.is_file():
                    doc = _load_yaml(read_text(candidate, what="vars file"), candidate)
                    if isinstance(doc, Mapping):
                        target.setdefault(name, {}).update(_unwrap(doc))


def read_inventory(path: str | Path) -> Inventory:
    """Read an INI, YAML or JSON inventory file (format from the extension, else from the content)."""
    source = Path(path)
    text = read_text(source, what="inventory")
    suffix = source.suffix.lower()
    head = text.lstrip()
    if suffix == ".json" or (suffix not in (".yml", ".yaml") and head.startswith("{")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"inventory {source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from exc
        builder = _read_structured(doc, source)
    elif suffix in (".yml", ".yaml") or (suffix not in (".ini", ".cfg") and looks_yaml(head)):
        builder = _read_structured(_load_yaml(text, source), source)
    else:
        builder = _read_ini(text, source)
    return builder.build(source)


def looks_yaml(head: str) -> bool:
    for line in head.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.endswith(":") or stripped == "---"
    return False
