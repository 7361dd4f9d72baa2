"""A compose project read as Docker Compose reads it: files, variables, extends, include, profiles.

:func:`load_project` takes the ``-f`` files in order and gives one model (the
``docker compose config`` view): every file interpolated, ``extends`` and
``include`` resolved, later files merged onto earlier ones, services outside the
active profiles set aside, volumes in the long syntax with relative host paths
made absolute, and the whole checked: the Compose Specification schema,
references between services and resources, dependency cycles. Each error names
the file and line.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import read_text
from stackrig._proc import mask
from stackrig.errors import StackrigError, UsageError
from stackrig.migrate._interpolate import Variables, interpolate, read_env_file
from stackrig.migrate._merge import merge_documents, merge_service, normalize_service, strip_markers
from stackrig.migrate._redact import is_secret_variable
from stackrig.migrate._refs import check_consistency, check_cycles, check_references
from stackrig.migrate._schema import ComposeSchemaError, schema_errors_at
from stackrig.migrate._syntax import is_path, parse_port, parse_volume
from stackrig.migrate._yaml import Loc, Node, at, display_name, load_yaml, loc_of, unshare

__all__ = [
    "ComposeInput",
    "Project",
    "hiding_secrets",
    "load_project",
    "project_variables",
    "read_compose_file",
    "validate_model",
    "without_markers",
]

WRITTEN = "x-written-source"  # the bind source as the file wrote it, before it was made absolute
_TOP_RESOURCES = ("networks", "volumes", "secrets", "configs")


@dataclass(frozen=True, slots=True)
class ComposeInput:
    """What the user gave: ``-f`` files in order, ``--env-file`` files, ``--profile`` names."""

    files: tuple[Path, ...]
    env_files: tuple[Path, ...] = ()
    profiles: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    project_directory: Path | None = None
    document: Any = None  # the first file's content already read (and changed), instead of reading it


@dataclass
class Project:
    name: str
    model: Node
    directory: Path
    files: tuple[Path, ...]
    variables: Variables
    disabled: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # services of included files: the variables of their own project (include's env_file, their .env)
    service_variables: dict[str, Variables] = field(default_factory=dict)

    def variables_of(self, service: str) -> Variables:
        """The variables a service's env_file and bare environment entries are resolved with."""
        return self.service_variables.get(service, self.variables)

    @property
    def services(self) -> dict[str, Any]:
        services = self.model.get("services")
        return services if isinstance(services, dict) else {}

    def unset_warnings(self) -> list[str]:
        """One line per variable that was not set, naming where it is used."""
        out = []
        for name, locs in sorted(self.variables.unset.items()):
            shown = ", ".join(sorted({str(loc) for loc in locs if loc is not None})) or "compose file"
            out.append(f"variable {name} is not set ({shown}); it reads as an empty string")
        return out


def project_variables(directory: Path, env_files: tuple[Path, ...], environ: Mapping[str, str]) -> Variables:
    """The environment over the env files (later ones winning), or over ``.env`` when none is given."""
    files = list(env_files)
    if not files and (directory / ".env").is_file():
        files = [directory / ".env"]
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for path in files:

        def lookup(name: str) -> str | None:
            return environ.get(name, values.get(name))

        for key, raw in read_env_file(path, lookup=lookup).items():
            value = raw if raw is not None else environ.get(key)
            if value is not None:
                values[key] = value
                sources[key] = str(path)
    values.update(environ)
    return Variables(values, sources)


def read_compose_file(path: Path, *, name: str | None = None) -> Node:
    """One compose file as a located mapping (not interpolated); a UsageError for what is not one."""
    shown = name or str(path)
    doc = load_yaml(read_text(path, what="compose file"), name=shown)
    if doc is None:
        raise UsageError(f"compose file {path} is empty")
    if not isinstance(doc, Node):
        raise UsageError(f"compose file {path} is not a mapping (services: ...)")
    return doc


def _looks_v1(doc: Mapping[str, Any]) -> bool:
    """Services at the top level (docker-compose's version-1 format)."""
    if any(k in doc for k in ("services", "version", "include")):
        return False
    keys = [str(k) for k in doc if not str(k).startswith("x-") and k != "name"]
    if keys and all(k in (*_TOP_RESOURCES, "models") for k in keys):
        return False  # a current file that defines only volumes, networks, ... (no services)
    bodies = [v for k, v in doc.items() if not str(k).startswith("x-") and k != "name"]
    return bool(bodies) and all(isinstance(v, dict) for v in bodies)


class _Reader:
    def __init__(self, inp: ComposeInput, directory: Path, variables: Variables) -> None:
        self.inp = inp
        self.directory = directory
        self.variables = variables
        self.include_stack: list[Path] = []
        self.service_variables: dict[str, Variables] = {}

    def name(self, path: Path) -> str:
        return display_name(path, self.directory)

    def read(self, path: Path, variables: Variables) -> Node:
        if self.inp.document is not None and path == self.inp.files[0]:
            doc = unshare(self.inp.document)
        else:
            doc = read_compose_file(path, name=self.name(path))
        if _looks_v1(doc):
            raise UsageError(
                f"compose file {path} has no services: it is a version-1 file",
                hint="upgrade it first: stackrig migrate compose --upgrade OLD.yml -o NEW.yml",
            )
        if "services" in doc and not isinstance(doc["services"], dict | type(None)):
            raise UsageError(f"{at(loc_of(doc, 'services'))}services must be a mapping of service names")
        interpolated: Node = interpolate(doc, variables)
        validate_model(without_markers(interpolated))
        return interpolated

    def load_file(self, path: Path, base: Path, variables: Variables, *, first: bool) -> Node:
        doc = self.read(path, variables)
        services = doc.get("services")
        if isinstance(services, dict):
            for name in list(services):
                services[name] = normalize_service(services[name])
            for name in list(services):
                services[name] = self.extends(str(name), services, path, variables, base, [])
        if first:
            strip_markers(doc)
        if isinstance(services, dict):
            for name, svc in services.items():
                _resolve_paths(str(name), svc, base, self.inp.environ)
        for kind in ("secrets", "configs"):
            for item in (doc.get(kind) or {}).values():
                if isinstance(item, dict) and isinstance(item.get("file"), str):
                    item["file"] = str(_absolute(item["file"], base, self.inp.environ))
        if "include" in doc:
            doc = self.include(doc, path, base)
        return doc

    def extends(  # noqa: PLR0917 - the service, where it is, and the chain that led to it
        self,
        name: str,
        services: dict[str, Any],
        path: Path,
        variables: Variables,
        base: Path,
        chain: list[str],
    ) -> Any:
        service = services[name]
        if not isinstance(service, dict) or "extends" not in service:
            return service
        spec = service["extends"]
        where = loc_of(service, "extends")
        label = f"{self.name(path)}:{name}"
        if label in chain:
            raise UsageError(f"extends cycle: {' -> '.join([*chain, label])} ({where})")
        if isinstance(spec, str):
            spec = {"service": spec}
        if not isinstance(spec, dict) or not spec.get("service"):
            raise UsageError(f"{at(where)}services.{name}.extends needs a service name")
        target = str(spec["service"])
        if spec.get("file"):
            other = _absolute(str(spec["file"]), path.parent, self.inp.environ)
            other_doc = self.read(other, variables)
            strip_markers(other_doc)
            pool = other_doc.get("services") or {}
            if not isinstance(pool, dict) or target not in pool:
                raise UsageError(f"{at(where)}services.{name}.extends: {target} is not a service of {other}")
            for key in list(pool):
                pool[key] = normalize_service(pool[key])
            parent = self.extends(target, pool, other, variables, other.parent, [*chain, label])
            _resolve_paths(target, parent, other.parent, self.inp.environ)
        else:
            if target not in services:
                raise UsageError(
                    f"{at(where)}services.{name}.extends: {target} is not a service of this file"
                )
            parent = self.extends(target, services, path, variables, base, [*chain, label])
        child = unshare(service)
        del child["extends"]
        return merge_service(_copy(parent), child, name=name)

    def include(self, doc: Node, path: Path, base: Path) -> Node:
        entries = doc.pop("include")
        if not isinstance(entries, list):
            raise UsageError(f"{loc_of(doc, 'include') or path}: include must be a list")
        merged = doc
        for index, entry in enumerate(entries):
            where = loc_of(entries, index)
            spec = {"path": entry} if isinstance(entry, str) else entry
            if not isinstance(spec, dict) or not spec.get("path"):
                raise UsageError(f"{at(where)}include entry needs a path")
            paths = spec["path"] if isinstance(spec["path"], list) else [spec["path"]]
            files = [_absolute(str(p), base, self.inp.environ) for p in paths]
            project_dir = (
                _absolute(str(spec["project_directory"]), base, self.inp.environ)
                if spec.get("project_directory")
                else files[0].parent
            )
            env_files = spec.get("env_file") or []
            env_files = [env_files] if isinstance(env_files, str) else env_files
            env_paths = tuple(_absolute(str(e), base, self.inp.environ) for e in env_files)
            if any(f in self.include_stack for f in files):
                raise UsageError(f"{at(where)}include cycle through {self.name(files[0])}")
            child_vars = project_variables(project_dir, env_paths, self.inp.environ)
            variables = self.variables.child(child_vars.values)
            self.include_stack.append(files[0])
            included: Node | None = None
            for number, file in enumerate(files):
                part = self.load_file(file, project_dir, variables, first=number == 0)
                included = part if included is None else merge_documents(included, part)
            self.include_stack.pop()
            if included is not None:
                for service in included.get("services") or {}:
                    self.service_variables.setdefault(str(service), variables)  # the innermost include wins
                merged = _add_included(merged, included, where)
        return merged


def _copy(value: Any) -> Any:
    return unshare(value)


def _add_included(doc: Node, included: Node, where: Loc | None) -> Node:
    for kind in ("services", *_TOP_RESOURCES):
        theirs = included.get(kind)
        if not isinstance(theirs, dict):
            continue
        ours = doc.get(kind)
        if not isinstance(ours, dict):
            ours = Node()
            doc[kind] = ours
        for name, body in theirs.items():
            if name in ours and ours[name] != body:
                raise UsageError(
                    f"{at(where)}the included file defines {kind}.{name}, which this file defines too",
                    hint="rename one of them; Compose refuses conflicting definitions",
                )
            ours[name] = body
            loc = loc_of(theirs, name)
            if isinstance(ours, Node) and loc is not None:
                ours.locs[name] = loc
    return doc


def _absolute(text: str, base: Path, environ: Mapping[str, str]) -> Path:
    if text.startswith("~"):
        home = environ.get("HOME") or str(Path.home())
        text = home + text[1:]
    path = Path(text)
    return path if path.is_absolute() else (base / path).resolve()


_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)", re.IGNORECASE)


def _resolve_paths(name: str, service: Any, base: Path, environ: Mapping[str, str]) -> None:  # noqa: PLR0912 - one branch per key holding a path
    """Volumes to the long syntax; bind sources, build contexts and env files made absolute."""
    if not isinstance(service, dict):
        return
    volumes = service.get("volumes")
    if isinstance(volumes, list):
        for index, item in enumerate(volumes):
            where = loc_of(volumes, index)
            if isinstance(item, str):
                try:
                    spec = Node(parse_volume(item))
                except UsageError as exc:
                    raise UsageError(f"{at(where)}services.{name}.volumes: {exc}") from None
                spec.loc = where
                if where is not None:
                    spec.locs = dict.fromkeys(spec, where)
                volumes[index] = spec
                item = spec  # noqa: PLW2901 - the parsed form replaces the short one
            if isinstance(item, dict) and item.get("type") == "bind" and isinstance(item.get("source"), str):
                written = item["source"]
                if not is_path(written):
                    written = "./" + written
                item[WRITTEN] = item["source"]
                item["source"] = str(_absolute(written, base, environ))
    build = service.get("build")
    if isinstance(build, dict) and isinstance(build.get("context"), str) and not _URL.match(build["context"]):
        build["context"] = str(_absolute(build["context"], base, environ))
    env_files = service.get("env_file")
    if isinstance(env_files, list):
        for index, item in enumerate(env_files):
            if isinstance(item, str) and not item.startswith("arn:"):
                env_files[index] = str(_absolute(item, base, environ))
            elif (
                isinstance(item, dict)
                and isinstance(item.get("path"), str)
                and not item["path"].startswith("arn:")
            ):
                item["path"] = str(_absolute(item["path"], base, environ))


def validate_model(model: Any) -> None:
    """The Compose Specification schema, each problem with its file and line."""
    problems = schema_errors_at(model)
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ComposeSchemaError(
            ("not valid under the Compose Specification:\n  " if len(problems) > 1 else "") + shown + more,
            hint="fix the named keys; Docker Compose would refuse them too",
        )


def without_markers(doc: Node) -> Any:
    """A copy for the schema: ``!override`` unwrapped, keys set to ``!reset`` left out."""
    return strip_markers(unshare(doc))


def _check_ports(model: Node) -> None:
    """Short-syntax ports that Compose would refuse."""
    for name, service in (model.get("services") or {}).items():
        ports = service.get("ports") if isinstance(service, dict) else None
        for index, item in enumerate(ports or []):
            if isinstance(item, str | int) and not isinstance(item, bool):
                try:
                    parse_port(item)
                except UsageError as exc:
                    raise UsageError(f"{at(loc_of(ports, index))}services.{name}.ports: {exc}") from None


def _profiles(model: Node, active: set[str]) -> dict[str, tuple[str, ...]]:
    services = model.get("services")
    if not isinstance(services, dict):
        return {}
    disabled = {}
    for name, service in list(services.items()):
        wanted = service.get("profiles") if isinstance(service, dict) else None
        if wanted and "*" not in active and not active.intersection(map(str, wanted)):
            disabled[str(name)] = tuple(map(str, wanted))
            del services[name]
    return disabled


def load_project(inp: ComposeInput) -> Project:
    """Read, interpolate, merge, resolve and check the project the files describe.

    No error message shows the value of a variable whose name looks secret.
    """
    if not inp.files:
        raise UsageError("no compose file given")
    first = inp.files[0]
    directory = (inp.project_directory or first.resolve().parent).resolve()
    variables = project_variables(directory, inp.env_files, inp.environ)
    with hiding_secrets(variables):
        return _load(inp, directory, variables)


@contextlib.contextmanager
def hiding_secrets(variables: Variables) -> Iterator[None]:
    """Errors raised inside never show the value of a variable whose name looks secret."""
    try:
        yield
    except StackrigError as exc:
        hidden = [v for k, v in variables.values.items() if is_secret_variable(k) and len(v) >= 3]
        hidden += [v for v in variables.secret_values if len(v) >= 3]
        secrets = sorted(set(hidden), key=len, reverse=True)
        exc.message = mask(exc.message, secrets)
        exc.hint = mask(exc.hint, secrets) if exc.hint else exc.hint
        exc.args = (exc.message,)
        raise


def _load(inp: ComposeInput, directory: Path, variables: Variables) -> Project:
    reader = _Reader(inp, directory, variables)
    model: Node | None = None
    for number, path in enumerate(inp.files):
        doc = reader.load_file(path, directory, variables, first=number == 0)
        model = doc if model is None else merge_documents(model, doc)
    assert model is not None  # noqa: S101 - at least one file was read (checked above)
    profiles = set(inp.profiles) or {
        p.strip() for p in (variables.values.get("COMPOSE_PROFILES") or "").split(",") if p.strip()
    }
    validate_model(model)
    disabled = _profiles(model, profiles)
    _check_ports(model)
    check_references(model, disabled)
    check_cycles(model)
    check_consistency(model)
    name = str(model.get("name") or variables.values.get("COMPOSE_PROJECT_NAME") or directory.name)
    name = re.sub(r"[^a-z0-9_-]", "", name.lower()) or "default"
    return Project(name, model, directory, inp.files, variables, disabled, reader.service_variables)
