"""What a VM's files say about it: OS release, dpkg packages, listening sockets, cron, shell history.

Each reader takes the VM's root folder (``/`` or a copied tree) and returns plain
dataclasses; a file that is missing or unreadable reads as empty. Command lines,
cron jobs and history go through :func:`stackrig.migrate._redact.redact`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from stackrig.migrate._redact import redact

__all__ = [
    "CronJob",
    "HistoryEntry",
    "Listener",
    "OsRelease",
    "Package",
    "read_cron",
    "read_dpkg_status",
    "read_history",
    "read_listeners",
    "read_os_release",
]

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
