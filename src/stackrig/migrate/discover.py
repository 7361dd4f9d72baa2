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

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from stackrig._io import atomic_write
from stackrig._proc import mask
from stackrig.errors import UsageError
from stackrig.migrate._appstack import AppStack, DbConfig, find_apps, read_app_stack, read_db_configs
from stackrig.migrate._propose import ProposedService, propose_services
from stackrig.migrate._system import (
    CronJob,
    HistoryEntry,
    Listener,
    OsRelease,
    Package,
    read_cron,
    read_dpkg_status,
    read_history,
    read_listeners,
    read_os_release,
)

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
    "read_listeners",
]

log = logging.getLogger("stackrig.migrate")


@dataclass(frozen=True, slots=True)
class DiscoverSettings:
    root: Path = Path("/")
    app: Path | None = None
    output: Path | None = None


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
        services=tuple(propose_services(stack, dbs, packages, listeners)),
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
