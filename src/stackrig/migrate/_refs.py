"""What Docker Compose checks between the parts of a project: references that exist, no dependency cycles,
container names used once, and what it refuses to create (healthcheck start_interval without start_period)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._yaml import Loc, loc_of, mapping

__all__ = ["check_consistency", "check_cycles", "check_references", "dependencies"]


class ReferenceProblemError(UsageError):
    """A service that refers to something the project does not define, or a dependency cycle."""


def _at(loc: Loc | None) -> str:
    return f"{loc}: " if loc is not None else ""


def dependencies(name: str, service: Mapping[str, Any]) -> list[tuple[str, str, Loc | None]]:
    """(other service, through which key, where) for each service this one needs before it starts."""
    out: list[tuple[str, str, Loc | None]] = []
    depends = service.get("depends_on")
    if isinstance(depends, dict):
        out.extend(
            (str(dep), "depends_on", loc_of(depends, dep) or loc_of(service, "depends_on")) for dep in depends
        )
    elif isinstance(depends, list):
        out.extend((str(dep), "depends_on", loc_of(depends, i)) for i, dep in enumerate(depends))
    for index, link in enumerate(service.get("links") or []):
        out.append((str(link).split(":", 1)[0], "links", loc_of(service["links"], index)))
    for index, source in enumerate(service.get("volumes_from") or []):
        text = str(source)
        if text.startswith("container:"):
            continue
        target = text.removeprefix("service:").split(":", 1)[0]
        out.append((target, "volumes_from", loc_of(service["volumes_from"], index)))
    mode = service.get("network_mode")
    if isinstance(mode, str) and mode.startswith("service:"):
        out.append((mode[8:], "network_mode", loc_of(service, "network_mode")))
    for key in ("ipc", "pid"):
        value = service.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            out.append((value[8:], key, loc_of(service, key)))
    return out


def check_references(model: Mapping[str, Any], disabled: Mapping[str, tuple[str, ...]]) -> None:
    """Every service, network, volume, config and secret a service names is defined (else a UsageError)."""
    services = model.get("services") or {}
    problems: list[str] = []
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        depends = mapping(service, "depends_on")
        for target, key, loc in dependencies(str(name), service):
            if target in services:
                continue
            spec = depends.get(target) if key == "depends_on" else None
            if isinstance(spec, dict) and spec.get("required") is False:
                continue
            if target in disabled:
                problems.append(
                    f"{_at(loc)}services.{name}.{key}: {target} is only enabled by profile "
                    f"{', '.join(disabled[target])}; pass --profile {disabled[target][0]}"
                )
            else:
                problems.append(f"{_at(loc)}services.{name}.{key}: {target} is not a service of this project")
        problems.extend(_named(model, str(name), service))
    if problems:
        raise ReferenceProblemError(
            problems[0] if len(problems) == 1 else "undefined references:\n  " + "\n  ".join(problems),
            hint="define what is named, or fix the spelling",
        )


def _named(model: Mapping[str, Any], name: str, service: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    networks = service.get("networks")
    declared = model.get("networks") or {}
    if isinstance(networks, dict):
        problems.extend(
            f"{_at(loc_of(networks, net))}services.{name}.networks: network {net} is not declared under "
            "the top-level networks"
            for net in networks
            if net != "default" and net not in declared
        )
    volumes = model.get("volumes") or {}
    for index, volume in enumerate(service.get("volumes") or []):
        named = isinstance(volume, dict) and volume.get("type", "volume") == "volume" and volume.get("source")
        if named and volume["source"] not in volumes:
            problems.append(
                f"{_at(loc_of(service['volumes'], index))}services.{name}.volumes: volume {volume['source']} "
                "is not declared under the top-level volumes"
            )
    for kind in ("secrets", "configs"):
        top = model.get(kind) or {}
        for index, item in enumerate(service.get(kind) or []):
            source = item.get("source") if isinstance(item, dict) else item
            if source not in top:
                problems.append(
                    f"{_at(loc_of(service[kind], index))}services.{name}.{kind}: {source} is not declared "
                    f"under the top-level {kind}"
                )
    return problems


def check_cycles(model: Mapping[str, Any]) -> None:
    """A cycle through depends_on, links, volumes_from or network_mode is a UsageError naming it."""
    services = model.get("services") or {}
    edges = {
        str(name): [(t, key, loc) for t, key, loc in dependencies(str(name), svc) if t in services]
        for name, svc in services.items()
        if isinstance(svc, dict)
    }
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root, first_edges in edges.items():
        if root in state:
            continue
        path = [root]
        todo = [iter(first_edges)]
        state[root] = 1
        while todo:
            step = next(todo[-1], None)
            if step is None:
                state[path.pop()] = 2
                todo.pop()
                continue
            target, key, loc = step
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise ReferenceProblemError(
                    f"{_at(loc)}dependency cycle: {' -> '.join(cycle)} (through services.{path[-1]}.{key})",
                    hint="remove one of these dependencies; Compose cannot start a cycle",
                )
            if target not in state:
                state[target] = 1
                path.append(target)
                todo.append(iter(edges.get(target, [])))


def check_consistency(model: Mapping[str, Any]) -> None:
    """What Compose refuses before it creates anything (``config`` and ``up``), as one UsageError each."""
    services = model.get("services") or {}
    names: dict[str, str] = {}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        container = service.get("container_name")
        if isinstance(container, str) and container:
            if container in names:
                raise ReferenceProblemError(
                    f"{_at(loc_of(service, 'container_name'))}services.{name}: container name {container!r} "
                    f"is already in use by service {names[container]}",
                    hint="Compose refuses two services with one container_name; rename one",
                )
            names[container] = str(name)
        check = service.get("healthcheck")
        if isinstance(check, dict) and "start_interval" in check and "start_period" not in check:
            raise ReferenceProblemError(
                f"{_at(loc_of(check, 'start_interval'))}services.{name}.healthcheck: start_interval requires "
                "start_period to be set",
                hint="Compose refuses to create this container; add start_period",
            )
