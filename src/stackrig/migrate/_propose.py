"""The containers a surveyed VM should become: an app, its database, caches (``migrate discover``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stackrig.migrate._appstack import AppStack, DbConfig
from stackrig.migrate._system import Listener, Package

__all__ = ["ProposedService", "propose_services"]

_DB_PORTS = {3306: "mysql", 5432: "postgres", 6379: "redis", 11211: "memcached", 27017: "mongo"}
_APP_PROCESS = re.compile(
    r"\b(rails|puma|unicorn|thin|passenger|rackup|ruby|gunicorn|uwsgi|uvicorn|manage\.py|flask|node|npm)\b"
)


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


def propose_services(  # noqa: PLR0912, PLR0915 - one branch per translated key reads better than a dispatch table
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
