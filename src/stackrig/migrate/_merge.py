"""Several compose files (``-f a.yml -f b.yml``) and ``extends`` merged by the Compose Specification's rules.

- Mappings merge key by key; a scalar of the later file replaces the earlier one.
- Sequences are appended, except ``command``, ``entrypoint`` and ``healthcheck.test``
  (replaced), and ``ports``, ``volumes``, ``secrets`` and ``configs``, whose entries
  are unique by target (ports by host IP, target, published port and protocol): a
  later entry with the same key replaces the earlier one in place.
- ``environment``, ``labels``, ``extra_hosts``, ``sysctls``, ``annotations``,
  ``build.args``, ``depends_on`` and ``networks`` are merged as mappings whether
  they were written as lists or mappings; ``logging`` options merge only when the
  driver stays the same.
- ``!reset`` drops the earlier value, ``!override`` replaces it whole.

Before merging, each service is brought to one shape (:func:`normalize_service`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._yaml import Loc, Node, Override, Reset, Seq, loc_of

__all__ = ["merge_documents", "merge_service", "normalize_service", "strip_markers"]

_REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}
_AS_MAPPING = ("environment", "labels", "sysctls", "annotations", "extra_hosts")
_AS_LIST = ("dns", "dns_search", "dns_opt", "env_file", "tmpfs", "label_file", "external_links", "expose")
_SETS = {
    "cap_add",
    "cap_drop",
    "profiles",
    "dns",
    "dns_search",
    "dns_opt",
    "expose",
    "external_links",
    "links",
    "group_add",
    "security_opt",
    "env_file",
    "tmpfs",
    "devices",
    "label_file",
    "volumes_from",
    "device_cgroup_rules",
}


def _node_like(src: Any) -> Node:
    out = Node()
    if isinstance(src, Node):
        out.loc = src.loc
    return out


def _pairs(value: Any, *, separator: str = "=") -> Node:
    """``[A=1, B]`` or ``{A: 1, B: null}`` → a Node (None where no value was given)."""
    if isinstance(value, dict):
        out = _node_like(value)
        for key, item in value.items():
            out[str(key)] = item
            loc = loc_of(value, key)
            if loc is not None:
                out.locs[str(key)] = loc
        return out
    out = Node()
    if isinstance(value, Seq):
        out.loc = value.loc
    for index, item in enumerate(value or []):
        text = str(item)
        sep = separator if separator in text else ("=" if "=" in text else None)
        key, _, val = text.partition(sep) if sep else (text, "", "")
        out[key.strip()] = val if sep else None
        loc = loc_of(value, index)
        if loc is not None:
            out.locs[key.strip()] = loc
    return out


def _seq(value: Any, loc: Loc | None) -> Seq:
    if isinstance(value, Seq):
        return value
    out = Seq(value if isinstance(value, list) else [value])
    out.locs = [loc] * len(out)
    out.loc = loc
    return out


def _set_locs(target: Node, source: Any) -> None:
    if isinstance(source, Node):
        target.locs.update(source.locs)
        target.loc = source.loc


def normalize_service(service: Any) -> Any:
    """One shape per key (strings to lists, lists of pairs to mappings), locations kept."""
    if not isinstance(service, Node):
        return service
    for key in _AS_MAPPING:
        if key in service and isinstance(service[key], list | dict):
            service[key] = _pairs(service[key], separator=":" if key == "extra_hosts" else "=")
    for key in _AS_LIST:
        if key in service and isinstance(service[key], str | int):
            service[key] = _seq(service[key], loc_of(service, key))
    if isinstance(service.get("build"), str):
        build = Node({"context": service["build"]})
        build.loc = loc_of(service, "build")
        build.locs["context"] = build.loc  # type: ignore[assignment]
        service["build"] = build
    if isinstance(service.get("build"), dict) and isinstance(service["build"].get("args"), list | dict):
        service["build"]["args"] = _pairs(service["build"]["args"])
    if isinstance(service.get("depends_on"), list):
        deps = Node()
        for index, name in enumerate(service["depends_on"]):
            deps[str(name)] = Node({"condition": "service_started"})
            loc = loc_of(service["depends_on"], index)
            if loc is not None:
                deps.locs[str(name)] = loc
        deps.loc = loc_of(service, "depends_on")
        service["depends_on"] = deps
    if isinstance(service.get("networks"), list):
        service["networks"] = _node_from_list(service["networks"])
    return service


def _node_from_list(names: Any) -> Node:
    out = Node()
    out.loc = names.loc if isinstance(names, Seq) else None
    for index, name in enumerate(names):
        out[str(name)] = None
        loc = loc_of(names, index)
        if loc is not None:
            out.locs[str(name)] = loc
    return out


# ------------------------------------------------------------------ unique keys of sequences


def _volume_key(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("target")
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _port_key(item: Any) -> Any:
    if isinstance(item, dict):
        return (
            item.get("host_ip"),
            str(item.get("target")),
            str(item.get("published")),
            item.get("protocol"),
        )
    return str(item)


def _file_key(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("target") or item.get("source")
    return str(item)


_UNIQUE: dict[str, Callable[[Any], Any]] = {
    "volumes": _volume_key,
    "ports": _port_key,
    "secrets": _file_key,
    "configs": _file_key,
}


def _locs(seq: Seq) -> list[Loc | None]:
    """The item locations of ``seq``, one per item (None where unknown)."""
    return (list(seq.locs) + [None] * len(seq))[: len(seq)]


def _merge_unique(base: Seq, over: Seq, key: Callable[[Any], Any]) -> Seq:
    out = Seq(base)
    out.locs, out.loc = _locs(base), base.loc
    index = {key(item): pos for pos, item in enumerate(out)}
    for pos, item in enumerate(over):
        loc = loc_of(over, pos)
        k = key(item)
        if k in index:
            out[index[k]] = item
            out.locs[index[k]] = loc
        else:
            index[k] = len(out)
            out.append(item)
            out.locs.append(loc)
    return out


def _append(base: Seq, over: Seq, *, unique: bool) -> Seq:
    out = Seq(base)
    out.locs, out.loc = _locs(base), base.loc
    for pos, item in enumerate(over):
        if unique and item in out:
            continue
        out.append(item)
        out.locs.append(loc_of(over, pos))
    return out


# ------------------------------------------------------------------ the merge


def strip_markers(value: Any) -> Any:
    """``!override`` unwrapped and ``!reset`` entries dropped, for a file read on its own."""
    if isinstance(value, Override):
        return strip_markers(value.value)
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if isinstance(v, Reset)]:
            del value[key]
        for key in value:
            value[key] = strip_markers(value[key])
    elif isinstance(value, list):
        value[:] = [strip_markers(v) for v in value if not isinstance(v, Reset)]
    return value


def _merge(base: Any, over: Any, path: tuple[str, ...]) -> Any:
    if isinstance(over, Override):
        return strip_markers(over.value)
    if path[-2:] in _REPLACED or path[-1:] in _REPLACED:
        return strip_markers(over)
    if isinstance(base, dict) and isinstance(over, dict):
        if path[-1:] == ("logging",) and over.get("driver") not in (None, base.get("driver")):
            return strip_markers(over)
        out = Node(base)
        _set_locs(out, base)
        for key, value in over.items():
            loc = loc_of(over, key)
            if isinstance(value, Reset):
                out.pop(key, None)
                continue
            out[key] = _merge(out[key], value, (*path, str(key))) if key in out else strip_markers(value)
            if loc is not None:
                out.locs[key] = loc
        return out
    if isinstance(base, list) and isinstance(over, list):
        base_seq, over_seq = _seq(base, None), _seq(over, None)
        name = path[-1] if path else ""
        if name in _UNIQUE and len(path) == 1:
            return _merge_unique(base_seq, over_seq, _UNIQUE[name])
        return _append(base_seq, over_seq, unique=name in _SETS)
    return strip_markers(over)


def merge_service(base: Any, over: Any, *, name: str) -> Any:
    """``over`` merged onto ``base`` (both services, normalized here)."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        raise UsageError(f"service {name!r} is not a mapping")
    return _merge(normalize_service(base), normalize_service(over), ())


def merge_documents(base: Node, over: Node) -> Node:
    """A later compose file merged onto the model built so far."""
    out = Node(base)
    _set_locs(out, base)
    for key, value in over.items():
        loc = loc_of(over, key)
        if isinstance(value, Reset):
            out.pop(key, None)
            continue
        if key == "services" and isinstance(value, dict) and isinstance(out.get(key), dict):
            services = Node(out[key])
            _set_locs(services, out[key])
            for name, svc in value.items():
                if isinstance(svc, Reset):
                    services.pop(name, None)
                    continue
                if name in services and not isinstance(svc, Override):
                    services[name] = merge_service(services[name], svc, name=str(name))
                else:
                    services[name] = normalize_service(strip_markers(svc))
                svc_loc = loc_of(value, name)
                if svc_loc is not None:
                    services.locs[name] = svc_loc
            out[key] = services
        elif key in out and isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value, ("#" + str(key),))
        else:
            out[key] = strip_markers(value)
        if loc is not None:
            out.locs[key] = loc
    return out
