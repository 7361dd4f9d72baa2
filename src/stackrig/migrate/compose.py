"""``migrate compose``: a current Compose Specification file, from a discover report or an old file.

From a report: an app service and a db service, a named volume for the db's
data, environment that names the db by its service name, secrets through
``env_file``, a healthcheck on the db and ``depends_on: {db: {condition:
service_healthy}}`` in place of an init script's ``sleep 15``.

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
    env_files: tuple[Path, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    from_ecs: Path | None = None  # a task definition file (register input or describe output)
    family: str | None = None  # or a task definition read through the API
    revision: int | None = None
    region: str = "us-east-1"
    endpoint_url: str | None = None


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


def _holds_literal_secrets(doc: Mapping[str, Any]) -> bool:
    """True when a service sets a secret-looking variable to a value written out (not a ${reference})."""
    from stackrig.migrate._redact import is_secret_variable

    for service in (doc.get("services") or {}).values():
        env = service.get("environment") if isinstance(service, dict) else None
        pairs = env.items() if isinstance(env, dict) else (str(e).partition("=")[::2] for e in env or [])
        for key, value in pairs:
            text = "" if value is None else str(value)
            if is_secret_variable(str(key)) and text and not re.fullmatch(r"\$\{?\w+.*\}?", text):
                return True
    return False


def make_compose(settings: ComposeSettings) -> ComposeResult:
    """Build (from a report, --upgrade or --from-ecs), validate, and write to ``settings.output`` if given."""
    sources = [settings.report, settings.upgrade, settings.from_ecs, settings.family]
    if sum(s is not None for s in sources) != 1:
        raise UsageError(
            "give one of: a discover REPORT, --upgrade OLD.yml, --from-ecs TASKDEF.json, --family NAME"
        )
    inputs = [p for p in (settings.report, settings.upgrade, settings.from_ecs) if p is not None]
    if settings.output is not None:
        ensure_not_input(settings.output, inputs)
    result: ComposeResult | None = None
    if settings.upgrade is not None:
        from stackrig.migrate._upgrade import upgrade_compose

        result = upgrade_compose(settings.upgrade, settings)
    elif settings.report is not None:
        result = compose_from_report(_load_report(settings.report), settings)
    else:
        from stackrig.migrate._register import compose_from_ecs

        result = compose_from_ecs(settings)
    assert result is not None  # noqa: S101 - one of the branches ran (checked above)
    if settings.output is None:
        return result
    written = atomic_write(settings.output, result.content, secret=_holds_literal_secrets(result.document))
    return ComposeResult(
        result.content, result.services, result.notes, written, result.source, result.document
    )
