"""``migrate discover``: what a monolith VM runs, read from its files (the survey people do by hand).

Sources under ``--root`` (``/`` by default; a copied tree or a test fixture otherwise)::

    etc/os-release, etc/lsb-release      OS release
    var/lib/dpkg/status                  installed packages; notable ones flagged
    <app>/Gemfile.lock, requirements.txt, poetry.lock, pyproject.toml, package.json, package-lock.json
    <app>/config/database.yml, .env, */settings.py      database settings (passwords: only "set")
    proc/net/tcp, proc/net/tcp6          listening sockets → proc/<pid>/fd links → cmdline
    etc/crontab, etc/cron.d/*, var/spool/cron/crontabs/*  cron jobs
    root/.bash_history, home/*/.bash_history              shell history, secrets redacted

No secret value reaches the report: history, cron and command lines go through
:func:`stackrig.migrate._redact.redact`, and every secret value found in a
config file is masked out of the whole report before it is returned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import logging
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from stackrig._io import atomic_write
from stackrig._proc import mask
from stackrig.errors import UsageError
from stackrig.migrate._appstack import AppStack, DbConfig, find_apps, read_app_stack, read_db_configs
from stackrig.migrate._redact import redact

__all__ = [
    "CronJob",
    "DiscoverReport",
    "DiscoverSettings",
    "HistoryEntry",
    "Listener",
    "OsRelease",
    "Package",
    "ProposedService",
    "discover",
]

log = logging.getLogger("stackrig.migrate")

_HISTORY_LIMIT = 2000
_NOTABLE: tuple[tuple[str, str], ...] = (
    (r"^(apache2|nginx|nginx-\w+|lighttpd|haproxy|varnish|caddy)$", "web server"),
    (r"^(libapache2-mod-passenger|passenger|unicorn|puma|gunicorn|uwsgi|tomcat\d*)$", "app server"),
    (r"^(mysql-server(-[\d.]+)?|mysql-server-core-[\d.]+|mariadb-server(-[\d.]+)?)$", "database"),
    (r"^(postgresql(-\d+(\.\d+)?)?|mongodb(-server|-org)?|redis-server|memcached|sqlite3)$", "database"),
    (r"^(mysql-client(-[\d.]+)?|mariadb-client(-[\d.]+)?|postgresql-client(-\d+)?)$", "database client"),
    (
        r"^(ruby[\d.]*|python[\d.]*|nodejs|openjdk-\d+-jre(-headless)?|php[\d.]*|golang(-[\d.]+)?|erlang)$",
        "runtime",
    ),
    (r"^(rabbitmq-server|elasticsearch|solr-\w+)$", "service"),
)
_DB_PORTS = {3306: "mysql", 5432: "postgres", 6379: "redis", 11211: "memcached", 27017: "mongo"}
_APP_PROCESS = re.compile(
    r"\b(rails|puma|unicorn|thin|passenger|rackup|ruby|gunicorn|uwsgi|uvicorn|manage\.py|flask|node|npm)\b"
)


@dataclass(frozen=True, slots=True)
class DiscoverSettings:
    root: Path = Path("/")
    app: Path | None = None
    output: Path | None = None


@dataclass(frozen=True, slots=True)
class OsRelease:
    id: str | None
    name: str | None
    version: str | None
    codename: str | None
    pretty_name: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    notable: str | None


@dataclass(frozen=True, slots=True)
class Listener:
    protocol: str
    address: str
    port: int
    pid: int | None
    process: str | None
    cmdline: str | None


@dataclass(frozen=True, slots=True)
class CronJob:
    source: str
    schedule: str
    user: str | None
    command: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    user: str
    source: str
    line: int
    command: str


@dataclass(frozen=True, slots=True)
class ProposedService:
    name: str
    role: str
    image: str | None
    base_image: str | None
    runtime: str | None
    version: str | None
    port: int | None
    publish: int | None
    database: str | None
    username: str | None
    environment: dict[str, str]
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DiscoverReport:
    root: str
    os: OsRelease
    package_count: int
    notable_packages: tuple[Package, ...]
    packages: tuple[Package, ...]
    app: AppStack | None
    databases: tuple[DbConfig, ...]
    listeners: tuple[Listener, ...]
    cron: tuple[CronJob, ...]
    history: tuple[HistoryEntry, ...]
    services: tuple[ProposedService, ...]
    notes: tuple[str, ...]
    written: str | None = None


def _read(path: Path, limit: int = 8 * 1024 * 1024) -> str | None:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


# ------------------------------------------------------------------ OS and packages


def _kv_file(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            try:
                out[key.strip()] = " ".join(shlex.split(value)) if value.strip() else ""
            except ValueError:
                out[key.strip()] = value.strip().strip("\"'")
    return out


def read_os_release(root: Path) -> OsRelease:
    sources = []
    data: dict[str, str] = {}
    for rel in ("etc/os-release", "usr/lib/os-release"):
        text = _read(root / rel)
        if text is not None:
            data = _kv_file(text)
            sources.append(str(root / rel))
            break
    lsb_text = _read(root / "etc/lsb-release")
    lsb = _kv_file(lsb_text) if lsb_text is not None else {}
    if lsb_text is not None:
        sources.append(str(root / "etc/lsb-release"))
    return OsRelease(
        id=data.get("ID") or (lsb.get("DISTRIB_ID", "").lower() or None),
        name=data.get("NAME") or lsb.get("DISTRIB_ID"),
        version=data.get("VERSION_ID") or lsb.get("DISTRIB_RELEASE"),
        codename=data.get("VERSION_CODENAME") or lsb.get("DISTRIB_CODENAME") or None,
        pretty_name=data.get("PRETTY_NAME") or lsb.get("DISTRIB_DESCRIPTION"),
        sources=tuple(sources),
    )


def _notable(name: str) -> str | None:
    for pattern, kind in _NOTABLE:
        if re.match(pattern, name):
            return kind
    return None


def read_dpkg_status(root: Path) -> list[Package]:
    """Installed packages from dpkg's status file (``install ok installed`` only)."""
    text = _read(root / "var/lib/dpkg/status", limit=64 * 1024 * 1024)
    if text is None:
        return []
    packages = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t"):
                continue
            key, sep, value = line.partition(":")
            if sep:
                fields[key] = value.strip()
        if "Package" not in fields or not fields.get("Status", "").endswith(" installed"):
            continue
        name = fields["Package"]
        packages.append(Package(name, fields.get("Version", ""), _notable(name)))
    return sorted(packages, key=lambda p: p.name)


# ------------------------------------------------------------------ sockets


def _address(hex_addr: str) -> tuple[str, int]:
    host_hex, _, port_hex = hex_addr.partition(":")
    raw = bytes.fromhex(host_hex)
    # /proc/net/tcp prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address), int(port_hex, 16)


def _socket_owners(root: Path) -> dict[str, int]:
    owners: dict[str, int] = {}
    proc = root / "proc"
    try:
        pids = [p for p in proc.iterdir() if p.name.isdigit()]
    except OSError:
        return owners
    for pid_dir in pids:
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target.startswith("socket:["):
                owners.setdefault(target[8:-1], int(pid_dir.name))
    return owners


def read_listeners(root: Path) -> list[Listener]:
    """Listening TCP sockets with the process that holds each (when /proc lets us see it)."""
    rows: list[tuple[str, str, int, str]] = []
    for name, proto in (("tcp", "tcp"), ("tcp6", "tcp6")):
        text = _read(root / "proc/net" / name)
        if text is None:
            continue
        for line in text.splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "0A":
                continue
            try:
                address, port = _address(cols[1])
            except ValueError:
                continue
            rows.append((proto, address, port, cols[9]))
    owners = _socket_owners(root) if rows else {}
    seen: set[tuple[str, int, str]] = set()
    out = []
    for proto, address, port, inode in rows:
        pid = owners.get(inode)
        process = cmdline = None
        if pid is not None:
            comm = _read(root / "proc" / str(pid) / "comm")
            process = comm.strip() if comm else None
            raw = _read(root / "proc" / str(pid) / "cmdline")
            if raw:
                cmdline = redact(" ".join(shlex.quote(a) for a in raw.rstrip("\0").split("\0")))
        key = (address, port, proto)
        if key in seen:
            continue
        seen.add(key)
        out.append(Listener(proto, address, port, pid, process, cmdline))
    return sorted(out, key=lambda x: (x.port, x.address))


# ------------------------------------------------------------------ cron and history

_CRON_FIELDS = re.compile(r"^(@\w+|(?:\S+\s+){4}\S+)\s+(.*)$")


def _cron_lines(path: Path, *, system: bool, user: str | None) -> list[CronJob]:
    text = _read(path)
    if text is None:
        return []
    jobs = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Za-z_]\w*\s*=", line):
            continue
        match = _CRON_FIELDS.match(line)
        if not match:
            continue
        schedule, rest = match.group(1), match.group(2)
        owner = user
        if system:
            owner, _, rest = rest.partition(" ")
        jobs.append(CronJob(str(path), schedule, owner, redact(rest.strip())))
    return jobs


def read_cron(root: Path) -> list[CronJob]:
    jobs = _cron_lines(root / "etc/crontab", system=True, user=None)
    for folder, system in (("etc/cron.d", True), ("var/spool/cron/crontabs", False)):
        try:
            files = sorted((root / folder).iterdir())
        except OSError:
            continue
        for path in files:
            if path.is_file() and not path.name.startswith("."):
                jobs.extend(_cron_lines(path, system=system, user=None if system else path.name))
    return jobs


def read_history(root: Path) -> list[HistoryEntry]:
    homes: list[tuple[str, Path]] = [("root", root / "root")]
    with contextlib.suppress(OSError):
        homes.extend((p.name, p) for p in sorted((root / "home").iterdir()) if p.is_dir())
    entries: list[HistoryEntry] = []
    for user, home in homes:
        for name in (".bash_history", ".zsh_history"):
            text = _read(home / name)
            if text is None:
                continue
            lines = text.splitlines()
            start = max(0, len(lines) - _HISTORY_LIMIT)
            for number, line in enumerate(lines[start:], start=start + 1):
                command = re.sub(r"^: \d+:\d+;", "", line).strip()
                if command and not command.startswith("#"):
                    entries.append(HistoryEntry(user, str(home / name), number, redact(command)))
    return entries


# ------------------------------------------------------------------ proposals

_DB_ADAPTERS = {
    "mysql": "mysql",
    "mysql2": "mysql",
    "trilogy": "mysql",
    "mysql.connector": "mysql",
    "postgresql": "postgres",
    "postgres": "postgres",
    "postgis": "postgres",
    "psycopg2": "postgres",
    "pg": "postgres",
}


def _short_version(version: str | None, parts: int = 2) -> str | None:
    if not version:
        return None
    m = re.match(r"^(?:\d+:)?(\d+(?:\.\d+){0," + str(parts - 1) + "})", version)
    return m.group(1) if m else None


def _propose(  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
    app: AppStack | None,
    dbs: list[DbConfig],
    packages: list[Package],
    listeners: list[Listener],
) -> list[ProposedService]:
    services: list[ProposedService] = []
    by_name = {p.name: p for p in packages}
    prod = next((d for d in dbs if d.environment == "production"), dbs[0] if dbs else None)
    if app is not None:
        evidence = list(app.evidence)
        port = app.default_port
        for lst in listeners:
            if lst.cmdline and _APP_PROCESS.search(lst.cmdline) and lst.port not in _DB_PORTS:
                port = lst.port
                evidence.append(
                    f"{lst.process or 'process'} (pid {lst.pid}) listens on {lst.address}:{lst.port}"
                )
                break
        publish = port
        web = next((lst for lst in listeners if lst.port in (80, 443) and lst.process), None)
        if web is not None:
            publish = web.port
            evidence.append(f"{web.process} listens on :{web.port}; publish the app there")
        runtime_version = app.runtime_version
        if app.language == "ruby" and not runtime_version:
            ruby = next((p for p in packages if re.match(r"^ruby\d[\d.]*$", p.name)), None)
            if ruby:
                runtime_version = _short_version(ruby.version, 3)
                evidence.append(f"dpkg: {ruby.name} {ruby.version}")
        base = f"{app.language}:{_short_version(runtime_version)}" if runtime_version else None
        env = {"RAILS_ENV": "production"} if app.framework == "rails" else {}
        services.append(
            ProposedService(
                name="app",
                role="app",
                image=None,
                base_image=base,
                runtime=f"{app.language} {runtime_version}" if runtime_version else app.language,
                version=f"{app.framework} {app.framework_version}" if app.framework else None,
                port=port,
                publish=publish,
                database=None,
                username=None,
                environment=env,
                evidence=tuple(evidence),
            )
        )
    kind = _DB_ADAPTERS.get((prod.adapter or "").lower()) if prod else None
    evidence = []
    if prod is not None and kind:
        evidence.append(f"{prod.source}: {prod.environment or 'config'} adapter {prod.adapter}")
    server = next(
        (p for p in packages if p.notable == "database" and re.match(r"^(mysql|mariadb)-server", p.name)),
        None,
    )
    pg = next((p for p in packages if re.match(r"^postgresql-\d", p.name)), None)
    if kind is None:
        for lst in listeners:
            if lst.port in (3306, 5432):
                kind = _DB_PORTS[lst.port]
                break
    if kind is None and server:
        kind = "mysql"
    if kind is None and pg:
        kind = "postgres"
    if kind is not None:
        version = None
        image_name = kind
        if kind == "mysql" and server is not None:
            version = _short_version(server.version)
            if server.name.startswith("mariadb") or "mariadb" in server.version.lower():
                image_name = "mariadb"
                version = _short_version(re.sub(r"^\d+:", "", server.version))
            evidence.append(f"dpkg: {server.name} {server.version}")
        elif kind == "postgres" and pg is not None:
            version = _short_version(pg.version, 1)
            evidence.append(f"dpkg: {pg.name} {pg.version}")
        port = 3306 if kind == "mysql" else 5432
        for lst in listeners:
            if lst.port == port:
                evidence.append(f"{lst.process or 'a process'} listens on {lst.address}:{lst.port}")
        services.append(
            ProposedService(
                name="db",
                role="db",
                image=f"{image_name}:{version}" if version else image_name,
                base_image=None,
                runtime=image_name,
                version=version,
                port=port,
                publish=None,
                database=prod.database if prod else None,
                username=prod.username if prod else None,
                environment={},
                evidence=tuple(evidence),
            )
        )
    for name, port in (("redis", 6379), ("memcached", 11211)):
        pkg = by_name.get("redis-server" if name == "redis" else name)
        listening = [lst for lst in listeners if lst.port == port]
        if pkg or listening:
            ev = [f"dpkg: {pkg.name} {pkg.version}"] if pkg else []
            ev += [f"{lst.process or 'a process'} listens on {lst.address}:{port}" for lst in listening]
            version = _short_version(pkg.version) if pkg else None
            services.append(
                ProposedService(
                    name,
                    "cache",
                    f"{name}:{version}" if version else name,
                    None,
                    name,
                    version,
                    port,
                    None,
                    None,
                    None,
                    {},
                    tuple(ev),
                )
            )
    return services


# ------------------------------------------------------------------ scrub and run

T = TypeVar("T")


def _scrub(value: T, secrets: set[str]) -> T:
    """Mask every known secret value in every string of a result tree."""
    ordered = sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True)
    if not ordered:
        return value

    def walk(obj: Any) -> Any:
        if isinstance(obj, str):
            return mask(obj, ordered)
        if isinstance(obj, tuple):
            return tuple(walk(v) for v in obj)
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        if isinstance(obj, dict):
            return {walk(k): walk(v) for k, v in obj.items()}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.replace(
                obj, **{f.name: walk(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
            )
        return obj

    return walk(value)  # type: ignore[no-any-return]


def discover(settings: DiscoverSettings) -> DiscoverReport:
    """Survey the VM (or tree) at ``settings.root``; write the JSON report to ``settings.output``."""
    root = settings.root
    if not root.is_dir():
        raise UsageError(f"--root {root} is not a folder")
    notes: list[str] = []
    secrets: set[str] = set()
    packages = read_dpkg_status(root)
    if not packages:
        notes.append(f"no dpkg status under {root} (not a Debian/Ubuntu system?)")
    if settings.app is not None:
        app_dir = settings.app if settings.app.is_absolute() else root / settings.app
        if not app_dir.is_dir():
            raise UsageError(f"--app {settings.app} is not a folder under {root}")
        apps = [app_dir]
    else:
        apps = find_apps(root)
        if len(apps) > 1:
            notes.append(
                "several app folders found (" + ", ".join(str(a) for a in apps[:5]) + "); "
                f"surveyed {apps[0]}; choose another with --app"
            )
    stack = read_app_stack(apps[0]) if apps else None
    if stack is None:
        notes.append("no app found (Gemfile.lock, requirements.txt, pyproject.toml, package.json); use --app")
    dbs = read_db_configs(apps[0], secrets) if apps else []
    listeners = read_listeners(root)
    report = DiscoverReport(
        root=str(root),
        os=read_os_release(root),
        package_count=len(packages),
        notable_packages=tuple(p for p in packages if p.notable),
        packages=tuple(packages),
        app=stack,
        databases=tuple(dbs),
        listeners=tuple(listeners),
        cron=tuple(read_cron(root)),
        history=tuple(read_history(root)),
        services=tuple(_propose(stack, dbs, packages, listeners)),
        notes=tuple(notes),
    )
    report = _scrub(report, secrets)
    if settings.output is not None:
        from stackrig.output import to_jsonable

        path = atomic_write(settings.output, json.dumps(to_jsonable(report), indent=2) + "\n")
        report = dataclasses.replace(report, written=str(path))
    log.info(
        "discover: %d packages, %d listeners, %d history lines",
        len(packages),
        len(listeners),
        len(report.history),
    )
    return report
