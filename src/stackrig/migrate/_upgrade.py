"""``migrate compose --upgrade``: an old compose file (version 1, 2 or 3) as a current Compose one.

- ``version`` is dropped; version-1 files (services at the top level) get a
  ``services`` mapping; ``net``, ``dockerfile``, ``log_driver``/``log_opt`` are renamed.
- ``links`` become ``depends_on`` plus a network alias, and the Docker link
  variables the app read (``APPDB_PORT_3306_TCP_ADDR`` ...) are set to the service name.
- Variables stay as written (``${DB_PASSWORD}`` is not replaced by its value), but
  the result is read back the way Docker Compose reads it (interpolated with the
  environment, ``.env`` or ``--env-file``) and checked: the Compose Specification
  schema, references, dependency cycles. What Compose would refuse is a USAGE
  error saying why; nothing is written.
- Relative paths (bind mounts, build contexts, env files, extends, include,
  secret and config files) are rewritten for the output's folder so they still
  point at the same place; a path built from a variable cannot be, and is named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._merge import merge_service
from stackrig.migrate._project import (
    ComposeInput,
    load_project,
    read_compose_file,
    validate_model,
    without_markers,
)
from stackrig.migrate._syntax import is_path, parse_volume
from stackrig.migrate._yaml import Node, at, loc_of, plain, unshare
from stackrig.migrate.compose import (
    ComposeResult,
    ComposeSettings,
    _default_port,
    _finish,
    _healthcheck,
    _limits,
    db_kind,
)

__all__ = ["upgrade_compose"]

_LINK_VAR = re.compile(r"\$\{?([A-Z0-9_]+?)_PORT_(\d+)_(TCP|UDP)_(ADDR|PORT|PROTO)\}?")


def _link_target(link: str) -> tuple[str, str]:
    name, _, alias = link.partition(":")
    return name.strip(), (alias or name).strip()


def _env_dict(value: Any, where: str) -> dict[str, str | None]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): (None if v is None else str(v)) for k, v in value.items()}
    if isinstance(value, list):
        out: dict[str, str | None] = {}
        for item in value:
            key, sep, val = str(item).partition("=")
            out[key] = val if sep else None
        return out
    raise UsageError(f"{where}: environment must be a mapping or a list")


def _exposed_port(service: Mapping[str, Any]) -> int | None:
    for key in ("expose", "ports"):
        for item in service.get(key) or []:
            text = str(item.get("target") if isinstance(item, dict) else item)
            port = text.rsplit(":", 1)[-1].split("/", 1)[0].split("-", 1)[0]
            if port.isdigit():
                return int(port)
    return _default_port(str(service.get("image") or ""))


def _structural(  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    path: Path, old: Node, settings: ComposeSettings | None, notes: list[str]
) -> tuple[dict[str, Any], str]:
    """The upgraded document (links → depends_on and aliases, v1 keys renamed) and what it came from."""
    if "services" in old and isinstance(old["services"], dict):
        version = old.get("version")
        source = f"version {version} file" if version else "compose file"
        services_in = old["services"]
        top = {k: v for k, v in old.items() if k not in ("version", "services")}
        if version:
            notes.append(f"dropped 'version: {version}' (obsolete in the Compose Specification)")
    else:
        source = "version-1 file"
        services_in = old
        top = {}
    for name, body in services_in.items():
        if not isinstance(body, dict):
            raise UsageError(f"{loc_of(services_in, name) or path}: service {name!r} is not a mapping")
    services = Node()
    services.locs, services.loc = dict(getattr(services_in, "locs", {})), getattr(services_in, "loc", None)
    aliases: dict[str, list[str]] = {}
    healthy: set[str] = set()
    for name, body in services_in.items():
        services[str(name)] = _upgrade_service(str(name), body, notes)
    # What Compose would refuse is refused before links are turned into anything.
    validate_model(without_markers(Node({"services": services, **top})))
    for name in list(services):
        if source == "version-1 file":
            services[str(name)] = _flatten_v1_extends(path, str(name), services[str(name)], notes)
            if services[str(name)].get("network_mode") == "bridge":
                del services[str(name)]["network_mode"]
                notes.append(
                    f"{name}: net: dropped network_mode bridge: the project's own network replaces Docker's "
                    "default bridge (and carries the names links gave)"
                )
        if settings is not None:
            _limits(services[str(name)], settings)
    for name, body in list(services.items()):
        links = body.pop("links", None) or []
        if not links:
            continue
        env = _env_dict(body.get("environment"), f"service {name}")
        depends: dict[str, Any] = {}
        existing = body.get("depends_on")
        if isinstance(existing, list):
            depends = {str(d): {"condition": "service_started"} for d in existing}
        elif isinstance(existing, dict):
            depends = dict(existing)
        for link in links:
            target, alias = _link_target(str(link))
            if target not in services:
                raise UsageError(
                    f"compose file {path}: service {name!r} links to {target!r}, which is not in the file",
                    hint="move outside containers to external_links or add the service",
                )
            target_body = services[target]
            kind = db_kind(str(target_body.get("image") or ""))
            if kind and "healthcheck" not in target_body:
                target_body["healthcheck"] = _healthcheck(kind)
                healthy.add(target)
                notes.append(f"{target}: healthcheck: added a {kind} healthcheck")
            elif "healthcheck" in target_body:
                healthy.add(target)
            condition = "service_healthy" if target in healthy else "service_started"
            depends[target] = {"condition": condition}
            if alias != target:
                aliases.setdefault(target, []).append(alias)
            port = _exposed_port(target_body)
            env.update(_link_variables(alias, target, port))
            notes.append(
                f"{name}: links: {link} became depends_on {target} ({condition})"
                + (f" and network alias {alias}" if alias != target else "")
                + (f"; {alias.upper()}_PORT_{port}_TCP_* now name {target}" if port else "")
            )
        env = {k: _rewrite_link_refs(v, services, aliases) for k, v in env.items()}
        body["environment"] = env
        body["depends_on"] = depends
        if any(k.endswith("_TCP_ADDR") for k in env):
            notes.append(
                f"{name}: environment: better read DATABASE_HOST-style variables than link variables; "
                "they are kept only so the app runs unchanged"
            )
    for target, names in aliases.items():
        networks = services[target].setdefault("networks", {"default": {}})
        if isinstance(networks, list):
            networks = services[target]["networks"] = {n: {} for n in networks}
        default = networks.setdefault("default", {}) or {}
        networks["default"] = default
        default["aliases"] = sorted({*default.get("aliases", []), *names})
    doc: dict[str, Any] = {"services": services, **top}
    if source == "version-1 file":
        named = _v1_named_volumes(services)
        if named:
            doc["volumes"] = {key: {} for key in named}
            notes.append(f"declared the named volumes {', '.join(named)} (version 1 created them unasked)")
    return doc, source


def _v1_named_volumes(services: Mapping[str, Any]) -> list[str]:
    names = []
    for body in services.values():
        for item in body.get("volumes") or [] if isinstance(body, dict) else []:
            if isinstance(item, str):
                try:
                    spec = parse_volume(item)
                except UsageError:
                    continue
                if spec["type"] == "volume" and spec.get("source"):
                    names.append(str(spec["source"]))
    return sorted(set(names))


def _link_variables(alias: str, target: str, port: int | None) -> dict[str, str | None]:
    prefix = re.sub(r"[^A-Z0-9]", "_", alias.upper())
    out: dict[str, str | None] = {f"{prefix}_NAME": f"/{target}"}
    if port:
        base = f"{prefix}_PORT_{port}_TCP"
        out.update(
            {
                f"{prefix}_PORT": f"tcp://{target}:{port}",
                base: f"tcp://{target}:{port}",
                f"{base}_ADDR": target,
                f"{base}_PORT": str(port),
                f"{base}_PROTO": "tcp",
            }
        )
    return out


def _rewrite_link_refs(
    value: str | None, services: Mapping[str, Any], aliases: Mapping[str, list[str]]
) -> str | None:
    """Values such as ``${APPDB_PORT_3306_TCP_ADDR}`` become the service name / port."""
    if value is None:
        return None
    by_alias = {a.upper(): t for t, names in aliases.items() for a in names}
    by_alias.update({t.upper(): t for t in services})

    def swap(match: re.Match[str]) -> str:
        target = by_alias.get(match.group(1))
        if target is None:
            return match.group(0)
        part = match.group(4)
        if part == "ADDR":
            return target
        if part == "PORT":
            return match.group(2)
        return match.group(3).lower()

    return _LINK_VAR.sub(swap, value)


def _flatten_v1_extends(path: Path, name: str, body: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``extends`` of a service in another version-1 file: merged in (Compose reads only current files)."""
    spec = body.get("extends")
    if not isinstance(spec, dict) or not spec.get("file"):
        return body
    other_path = (path.parent / str(spec["file"])).resolve()
    other = read_compose_file(other_path, name=str(spec["file"]))
    if "services" in other:
        return body
    target = str(spec.get("service") or "")
    base = other.get(target)
    if not isinstance(base, dict):
        raise UsageError(
            f"{at(loc_of(body, 'extends'))}services.{name}.extends: {target} is not in {spec['file']}"
        )
    parent = _flatten_v1_extends(other_path, target, _upgrade_service(target, base, notes), notes)
    child = unshare(body)
    del child["extends"]
    notes.append(f"{name}: extends: {target} of {spec['file']} (a version-1 file) merged in")
    merged: dict[str, Any] = merge_service(unshare(parent), child, name=name)
    return merged


def _upgrade_service(name: str, body: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    out = Node()
    out.locs, out.loc = dict(getattr(body, "locs", {})), getattr(body, "loc", None)
    for key, value in body.items():
        if key == "net":
            text = str(value)
            out["network_mode"] = "service:" + text[10:] if text.startswith("container:") else text
            notes.append(f"{name}: net: became network_mode")
        elif key == "dockerfile":
            build = out.get("build") or body.get("build") or "."
            out["build"] = {"context": build if isinstance(build, str) else build.get("context", ".")}
            out["build"]["dockerfile"] = value
        elif key == "build" and "dockerfile" in body:
            continue
        elif key in ("log_driver", "log_opt"):
            logging_ = out.setdefault("logging", {})
            logging_["driver" if key == "log_driver" else "options"] = value
        elif key == "ports" and isinstance(value, list):
            out["ports"] = [str(p) if not isinstance(p, dict) else p for p in value]
        elif key == "mem_limit":
            out["mem_limit"] = value if isinstance(value, int) else str(value)
        elif key == "external_links":
            out[key] = value
            notes.append(f"{name}: external_links: kept; they only work with containers on a shared network")
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------ paths for another folder

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


class _Paths:
    """Rewrites paths relative to ``source`` so that they work from ``target``."""

    def __init__(self, source: Path, target: Path, notes: list[str]) -> None:
        self.source, self.target, self.notes = source.resolve(), target.resolve(), notes

    def __call__(self, text: Any, what: str) -> Any:
        if not isinstance(text, str) or not text or text.startswith(("/", "~")) or _URL.match(text):
            return text
        if text.startswith("arn:"):
            return text
        if "$" in text:
            self.notes.append(
                f"{what}: {text} is built from a variable; check that it points at the right "
                f"place from {self.target}"
            )
            return text
        moved = os.path.relpath(self.source / text, self.target)
        return moved if moved.startswith(".") else f"./{moved}"

    def volume(self, item: Any, what: str) -> Any:
        if isinstance(item, dict):
            if item.get("type") == "bind" and isinstance(item.get("source"), str):
                item["source"] = self(item["source"], what)
            return item
        text = str(item)
        if "$" in text.split(":", 1)[0]:
            return self(text.split(":", 1)[0], what) and text
        try:
            spec = parse_volume(text)
        except UsageError:
            return item
        source = spec.get("source")
        if spec["type"] != "bind" or not isinstance(source, str):
            return item
        if not is_path(source):
            source = "./" + source
        return self(source, what) + text[len(spec["source"]) :]


def _rewrite_paths(doc: dict[str, Any], source: Path, target: Path, notes: list[str]) -> None:  # noqa: PLR0912 - one branch per key that holds a path
    move = _Paths(source, target, notes)
    for name, svc in (doc.get("services") or {}).items():
        if not isinstance(svc, dict):
            continue
        where = f"services.{name}"
        volumes = svc.get("volumes")
        if isinstance(volumes, list):
            svc["volumes"] = [move.volume(v, f"{where}.volumes") for v in volumes]
        build = svc.get("build")
        if isinstance(build, str):
            svc["build"] = move(build, f"{where}.build")
        elif isinstance(build, dict) and "context" in build:
            build["context"] = move(build["context"], f"{where}.build.context")
        for key in ("env_file", "label_file"):
            value = svc.get(key)
            if isinstance(value, str):
                svc[key] = move(value, f"{where}.{key}")
            elif isinstance(value, list):
                svc[key] = [
                    {**v, "path": move(v.get("path"), f"{where}.{key}")}
                    if isinstance(v, dict)
                    else move(v, f"{where}.{key}")
                    for v in value
                ]
        extends = svc.get("extends")
        if isinstance(extends, dict) and extends.get("file"):
            extends["file"] = move(extends["file"], f"{where}.extends.file")
    for kind in ("secrets", "configs"):
        for name, spec in (doc.get(kind) or {}).items():
            if isinstance(spec, dict) and spec.get("file"):
                spec["file"] = move(spec["file"], f"{kind}.{name}.file")
    includes = doc.get("include")
    if isinstance(includes, list):
        doc["include"] = [_include(move, entry) for entry in includes]
    if (source / ".env").is_file() and source.resolve() != target.resolve():
        notes.append(f"{source / '.env'} is not beside the new file: copy it there or pass --env-file")


def _include(move: _Paths, entry: Any) -> Any:
    if isinstance(entry, str):
        return move(entry, "include")
    if isinstance(entry, dict):
        for key in ("path", "env_file"):
            value = entry.get(key)
            if isinstance(value, list):
                entry[key] = [move(v, f"include.{key}") for v in value]
            elif value is not None:
                entry[key] = move(value, f"include.{key}")
        if entry.get("project_directory"):
            entry["project_directory"] = move(entry["project_directory"], "include.project_directory")
    return entry


# ------------------------------------------------------------------ the command


def upgrade_compose(path: Path, settings: ComposeSettings | None = None) -> ComposeResult:
    """A version-1 (or 2/3) compose file as a current Compose Specification file, checked as Compose would."""
    notes: list[str] = []
    old = read_compose_file(path)
    doc, source = _structural(path, old, settings, notes)
    output = settings.output if settings is not None else None
    if output is not None:
        _rewrite_paths(doc, path.parent, output.parent if str(output.parent) else Path(), notes)
    checked = unshare(doc)
    env_files = settings.env_files if settings is not None else ()
    if not env_files and (path.parent / ".env").is_file():
        env_files = (path.parent / ".env",)  # the variables the file is used with today
    project = load_project(
        ComposeInput(
            (output if output is not None else path,),
            env_files,
            ("*",),
            settings.environ if settings is not None else {},
            project_directory=(output.parent if output is not None else path.parent).resolve(),
            document=checked,
        )
    )
    notes.extend(project.unset_warnings())
    return _finish(plain(doc), notes, source=source)
