"""``migrate compose``: a current Compose Specification file, from a discover report or an old file.

From a report: an app service and a db service, a named volume for the db's
data, environment that names the db by its service name, secrets through
``env_file``, a healthcheck on the db and ``depends_on: {db: {condition:
service_healthy}}`` in place of the seed's ``sleep 15``.

``--upgrade``: a version-1 file (services at the top level, ``links``) or a
version-2/3 file becomes a current one: ``version`` dropped, ``links`` turned
into ``depends_on`` plus a network alias, and the Docker link variables the
app read (``APPDB_PORT_3306_TCP_ADDR`` ...) set explicitly to the service name.

Every document is validated against the vendored Compose Specification schema
before it is written or printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stackrig._io import atomic_write, ensure_not_input, read_text
from stackrig.errors import UsageError
from stackrig.migrate._schema import parse_bytes, validate_compose

__all__ = [
    "ComposeResult",
    "ComposeSettings",
    "compose_from_report",
    "dump_yaml",
    "load_compose",
    "make_compose",
    "upgrade_compose",
]

SECRETS_FILE = "secrets.env"


@dataclass(frozen=True, slots=True)
class ComposeSettings:
    report: Path | None = None
    upgrade: Path | None = None
    output: Path | None = None
    cpu_shares: int | None = None
    mem_limit: str | None = None
    secrets_file: str = SECRETS_FILE


@dataclass(frozen=True, slots=True)
class ComposeResult:
    content: str
    services: tuple[str, ...]
    notes: tuple[str, ...] = ()
    written: Path | None = None
    source: str = ""
    document: dict[str, Any] = field(default_factory=dict, repr=False)


# ------------------------------------------------------------------ database kinds

# Healthchecks use only the server's own client, present in every image of that kind (not a
# script one image ships, such as the Docker Hub mariadb image's healthcheck.sh), over TCP: the
# official images' first-start setup runs a server without networking, so the check passes only
# once the real server listens. `ping` answers without credentials (exit 0 even on "access
# denied": the server is up), so no password lands in the compose file. MariaDB before 10.4 has
# no mariadb-admin and MariaDB 11 no mysqladmin: its check tries one, then the other.
_DB_KINDS: dict[str, dict[str, Any]] = {
    "mysql": {
        "port": 3306,
        "data": "/var/lib/mysql",
        "healthcheck": ["CMD", "mysqladmin", "ping", "-h", "127.0.0.1", "--silent"],
        "db_var": "MYSQL_DATABASE",
        "user_vars": ("MYSQL_USER", "MYSQL_PASSWORD"),
        "secret_vars": ("MYSQL_ROOT_PASSWORD",),
    },
    "mariadb": {
        "port": 3306,
        "data": "/var/lib/mysql",
        "healthcheck": [
            "CMD-SHELL",
            "mariadb-admin ping -h 127.0.0.1 --silent || mysqladmin ping -h 127.0.0.1 --silent",
        ],
        "db_var": "MARIADB_DATABASE",
        "user_vars": ("MARIADB_USER", "MARIADB_PASSWORD"),
        "secret_vars": ("MARIADB_ROOT_PASSWORD",),
    },
    "postgres": {
        "port": 5432,
        "data": "/var/lib/postgresql/data",
        "healthcheck": ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"],
        "db_var": "POSTGRES_DB",
        "user_vars": ("POSTGRES_USER", "POSTGRES_PASSWORD"),
        "secret_vars": ("POSTGRES_PASSWORD",),
    },
}
_OTHER_PORTS = {"redis": 6379, "memcached": 11211, "mongo": 27017, "rabbitmq": 5672, "elasticsearch": 9200}


def db_kind(image: str) -> str | None:
    """``mysql``/``mariadb``/``postgres`` for a database image name, else None."""
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()
    if name in ("mysql", "mysql-server", "percona", "percona-server"):
        return "mysql"
    if name == "mariadb":
        return "mariadb"
    if name in ("postgres", "postgresql", "postgis"):
        return "postgres"
    return None


def _default_port(image: str) -> int | None:
    kind = db_kind(image)
    if kind:
        return int(_DB_KINDS[kind]["port"])
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].lower()
    return _OTHER_PORTS.get(name)


def _healthcheck(kind: str) -> dict[str, Any]:
    return {
        "test": list(_DB_KINDS[kind]["healthcheck"]),
        "interval": "5s",
        "timeout": "3s",
        "retries": 10,
        "start_period": "30s",
    }


# ------------------------------------------------------------------ YAML in and out


def dump_yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False, width=100)


def load_compose(path: Path) -> dict[str, Any]:
    """Read a compose file as a mapping, or a UsageError naming it."""
    text = read_text(path, what="compose file")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"compose file {path} is not valid YAML{where}") from exc
    if not isinstance(doc, dict) or not doc:
        raise UsageError(f"compose file {path} is not a mapping of services")
    return doc


# ------------------------------------------------------------------ from a report


def _load_report(path: Path) -> dict[str, Any]:
    text = read_text(path, what="discover report")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"discover report {path} is not JSON (line {exc.lineno})") from exc
    if isinstance(doc, dict) and "stackrig" in doc and isinstance(doc.get("data"), dict):
        doc = doc["data"]  # the --json envelope of `migrate discover`
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        raise UsageError(
            f"discover report {path} has no services list",
            hint="write one with: stackrig migrate discover -o report.json",
        )
    return doc


def _limits(service: dict[str, Any], settings: ComposeSettings) -> None:
    if settings.cpu_shares is not None:
        if settings.cpu_shares < 2:
            raise UsageError("--cpu-shares must be at least 2 (Docker's minimum)")
        service["cpu_shares"] = settings.cpu_shares
    if settings.mem_limit is not None:
        service["mem_limit"] = parse_bytes(settings.mem_limit, what="--mem-limit")


def compose_from_report(report: Mapping[str, Any], settings: ComposeSettings) -> ComposeResult:  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    """Build the compose document for the services a discover report proposes."""
    proposals = [s for s in report.get("services", []) if isinstance(s, dict)]
    apps = [s for s in proposals if s.get("role") == "app"]
    dbs = [s for s in proposals if s.get("role") == "db"]
    others = [s for s in proposals if s.get("role") not in ("app", "db")]
    if not apps and not dbs:
        raise UsageError("the discover report proposes no app or db service; nothing to compose")
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    notes: list[str] = []
    secret_vars: list[str] = []
    db_name = None
    app_password = ""
    for db in dbs[:1]:
        name = "db"
        image = str(db.get("image") or "mysql")
        kind = db_kind(image) or "mysql"
        spec = _DB_KINDS[kind]
        service: dict[str, Any] = {"image": image}
        env: dict[str, str] = {}
        if db.get("database"):
            env[spec["db_var"]] = str(db["database"])
        secret_vars.extend(spec["secret_vars"])
        # The app's login is created on first start (the images' *_USER/*_PASSWORD); root
        # is the images' own account, never a *_USER.
        app_password = spec["secret_vars"][0]
        user = str(db.get("username") or "")
        if user and (kind == "postgres" or user != "root"):
            user_var, app_password = spec["user_vars"]
            env[user_var] = user
            secret_vars.append(app_password)
        if env:
            service["environment"] = env
        service["env_file"] = [settings.secrets_file]
        service["volumes"] = [f"db-data:{spec['data']}"]
        volumes["db-data"] = {}
        service["healthcheck"] = _healthcheck(kind)
        _limits(service, settings)
        services[name] = service
        db_name = name
        db_port = int(db.get("port") or spec["port"])
    for extra in others:
        image = str(extra.get("image") or "")
        if not image:
            continue
        services[str(extra.get("name") or image.split(":")[0])] = {"image": image}
    for app in apps[:1]:
        service = {}
        if app.get("image"):
            service["image"] = str(app["image"])
        service["build"] = "."
        if app.get("base_image"):
            notes.append(f"app: build from a Dockerfile that starts FROM {app['base_image']}")
        port = app.get("port")
        publish = app.get("publish") or port
        if port:
            service["ports"] = [f"{publish}:{port}"]
        env = {str(k): str(v) for k, v in (app.get("environment") or {}).items()}
        if db_name:
            env["DATABASE_HOST"] = db_name
            env["DATABASE_PORT"] = str(db_port)
            db = dbs[0]
            if db.get("database"):
                env["DATABASE_NAME"] = str(db["database"])
            if db.get("username"):
                env["DATABASE_USERNAME"] = str(db["username"])
            secret_vars.append("DATABASE_PASSWORD")
            service["depends_on"] = {db_name: {"condition": "service_healthy"}}
        for extra in others:
            if extra.get("name") in services:
                service.setdefault("depends_on", {})[str(extra["name"])] = {"condition": "service_started"}
        if env:
            service["environment"] = env
        service["env_file"] = [settings.secrets_file]
        _limits(service, settings)
        services["app"] = service
    if len(apps) > 1 or len(dbs) > 1:
        notes.append("the report proposes more than one app or db; only the first of each is composed")
    doc: dict[str, Any] = {"services": services}
    if volumes:
        doc["volumes"] = volumes
    same = f" (DATABASE_PASSWORD: the same as {app_password})" if db_name and apps else ""
    notes.append(
        f"create {settings.secrets_file} beside the compose file (mode 0600, not in git) with: "
        + ", ".join(f"{v}=..." for v in dict.fromkeys(secret_vars))
        + same
    )
    return _finish(doc, notes, source="discover report")


# ------------------------------------------------------------------ upgrade

_V1_RENAMES = {"net": "network_mode", "dockerfile": None, "log_driver": None, "log_opt": None}
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


def upgrade_compose(path: Path, settings: ComposeSettings | None = None) -> ComposeResult:  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    """Turn a version-1 (or 2/3) compose file into a current Compose Specification file."""
    old = load_compose(path)
    notes: list[str] = []
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
            raise UsageError(f"compose file {path}: service {name!r} is not a mapping")
    services: dict[str, Any] = {}
    aliases: dict[str, list[str]] = {}
    healthy: set[str] = set()
    for name, body in services_in.items():
        services[str(name)] = _upgrade_service(str(name), dict(body), notes)
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
                notes.append(f"added a {kind} healthcheck to {target}")
            elif "healthcheck" in target_body:
                healthy.add(target)
            condition = "service_healthy" if target in healthy else "service_started"
            depends[target] = {"condition": condition}
            if alias != target:
                aliases.setdefault(target, []).append(alias)
            port = _exposed_port(target_body)
            env.update(_link_variables(alias, target, port))
            notes.append(
                f"{name}: link {link} became depends_on {target} ({condition})"
                + (f" and network alias {alias}" if alias != target else "")
                + (f"; {alias.upper()}_PORT_{port}_TCP_* now name {target}" if port else "")
            )
        env = {k: _rewrite_link_refs(v, services, aliases) for k, v in env.items()}
        body["environment"] = env
        body["depends_on"] = depends
        if any(k.endswith("_TCP_ADDR") for k in env):
            notes.append(
                f"{name}: better read DATABASE_HOST-style variables than link variables; "
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
    return _finish(doc, notes, source=source)


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


def _upgrade_service(name: str, body: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "net":
            out["network_mode"] = "service:" + value[10:] if str(value).startswith("container:") else value
            notes.append(f"{name}: net became network_mode")
        elif key == "dockerfile":
            build = out.get("build") or body.get("build") or "."
            out["build"] = {"context": build if isinstance(build, str) else build.get("context", ".")}
            out["build"]["dockerfile"] = value
        elif key == "build" and "dockerfile" in body:
            continue
        elif key in ("log_driver", "log_opt"):
            logging_ = out.setdefault("logging", {})
            logging_["driver" if key == "log_driver" else "options"] = value
        elif key == "ports":
            out["ports"] = [str(p) if not isinstance(p, dict) else p for p in value or []]
        elif key == "mem_limit":
            out["mem_limit"] = value if isinstance(value, int) else str(value)
        elif key == "external_links":
            out[key] = value
            notes.append(f"{name}: external_links kept; they only work with containers on a shared network")
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------ finish and write


def _finish(doc: dict[str, Any], notes: list[str], *, source: str) -> ComposeResult:
    validate_compose(doc, what="the generated compose file")
    return ComposeResult(
        content=dump_yaml(doc),
        services=tuple(doc["services"]),
        notes=tuple(notes),
        source=source,
        document=doc,
    )


def make_compose(settings: ComposeSettings) -> ComposeResult:
    """Build (from --upgrade or a report), validate, and write to ``settings.output`` if given."""
    if (settings.upgrade is None) == (settings.report is None):
        raise UsageError("give either a discover REPORT or --upgrade OLD.yml")
    inputs = [p for p in (settings.report, settings.upgrade) if p is not None]
    if settings.output is not None:
        ensure_not_input(settings.output, inputs)
    result: ComposeResult | None = None
    if settings.upgrade is not None:
        result = upgrade_compose(settings.upgrade, settings)
    elif settings.report is not None:
        result = compose_from_report(_load_report(settings.report), settings)
    assert result is not None  # noqa: S101 - one of the two branches ran (checked above)
    if settings.output is None:
        return result
    written = atomic_write(settings.output, result.content)
    return ComposeResult(
        result.content, result.services, result.notes, written, result.source, result.document
    )
