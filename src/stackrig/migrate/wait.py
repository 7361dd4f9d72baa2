"""``migrate wait``: poll targets until every one is ready, then hand over to a command.

Targets (the password of a URL never leaves this module unmasked)::

    tcp://host:port                 a TCP connect succeeds
    http://host[:port]/path         a GET answers 2xx or 3xx (https:// too)
    mysql://user:pass@host:port/db  a real login and ``SELECT 1`` (PyMySQL)
    postgres://user:pass@host/db    a real login and ``SELECT 1`` (psycopg); postgresql:// too
    file:///path                    the path exists

Each poll probes every target not yet ready; polls start ``interval`` seconds
apart (a slow probe does not push the next poll back) and the last one runs at
the deadline. This replaces the ``sleep 15`` of a hand-written init script.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stackrig._proc import mask
from stackrig.errors import MissingError, UsageError, WaitTimeoutError

__all__ = [
    "PollRecord",
    "Target",
    "TargetState",
    "WaitResult",
    "WaitSettings",
    "exec_command",
    "parse_target",
    "probe",
    "wait_for",
]

log = logging.getLogger("stackrig.migrate")

SCHEMES = ("tcp", "http", "https", "mysql", "postgres", "postgresql", "file")
_DEFAULT_PORTS = {"http": 80, "https": 443, "mysql": 3306, "postgres": 5432, "postgresql": 5432}
_MAX_PROBE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Target:
    """One parsed target. ``shown`` is the URL with its password replaced by ``***``."""

    scheme: str
    shown: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""
    path: str = ""
    url: str = field(default="", repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()

    def hide(self, text: str) -> str:
        return mask(text, self.secrets)


@dataclass(frozen=True, slots=True)
class WaitSettings:
    targets: tuple[str, ...]
    timeout: float = 60.0
    interval: float = 0.5
    command: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetState:
    target: str
    ready: bool
    polls: int
    seconds: float | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one poll saw for one target (handed to the ``on_poll`` callback)."""

    poll: int
    target: str
    ready: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class WaitResult:
    targets: tuple[TargetState, ...]
    polls: int
    seconds: float


def parse_target(text: str) -> Target:
    """Parse one TARGET argument; a UsageError (password masked) when it is not one we know."""
    parts = urllib.parse.urlsplit(text)
    password = urllib.parse.unquote(parts.password) if parts.password else ""
    shown = _masked_url(text, parts)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"target {shown!r} has no known scheme",
            hint="use tcp://host:port, http(s)://..., mysql://user:pass@host:port/db, "
            "postgres://user:pass@host:port/db or file:///path",
        )
    if scheme == "file":
        path = urllib.parse.unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path:
            raise UsageError(f"target {shown!r}: write a file target as file:///absolute/path")
        return Target(scheme, shown, path=path)
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"target {shown!r} has an invalid port") from exc
    host = parts.hostname or ""
    if not host:
        raise UsageError(f"target {shown!r} names no host")
    if port is None:
        if scheme == "tcp":
            raise UsageError(f"target {shown!r} needs a port: tcp://host:port")
        port = _DEFAULT_PORTS[scheme]
    return Target(
        scheme="postgres" if scheme == "postgresql" else scheme,
        shown=shown,
        host=host,
        port=port,
        user=urllib.parse.unquote(parts.username or ""),
        password=password,
        database=urllib.parse.unquote(parts.path.lstrip("/")),
        url=text,
    )


def _masked_url(text: str, parts: urllib.parse.SplitResult) -> str:
    if parts.password is None:
        return text
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    masked = parts._replace(netloc=f"{user}:***@{host}")
    return mask(urllib.parse.urlunsplit(masked), [parts.password])


# ------------------------------------------------------------------ probes


def probe(target: Target, timeout: float) -> str | None:
    """Probe once: None when ready, else why not (one line, password masked)."""
    timeout = max(0.05, min(timeout, _MAX_PROBE_TIMEOUT))
    try:
        reason = _PROBES[target.scheme](target, timeout)
    except OSError as exc:
        reason = _os_reason(exc)
    return target.hide(reason) if reason is not None else None


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return (exc.strerror or str(exc)).lower()


def _probe_tcp(target: Target, timeout: float) -> str | None:
    with socket.create_connection((target.host, target.port), timeout=timeout):
        return None


def _probe_http(target: Target, timeout: float) -> str | None:
    parts = urllib.parse.urlsplit(target.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    headers = {"User-Agent": "stackrig-migrate-wait"}
    if target.user or target.password:
        import base64

        token = base64.b64encode(f"{target.user}:{target.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        conn.request("GET", path, headers=headers)
        status = conn.getresponse().status
    except http.client.HTTPException as exc:
        return f"bad HTTP answer ({type(exc).__name__})"
    finally:
        conn.close()
    if 200 <= status < 400:
        return None
    return f"HTTP status {status}"


def _probe_file(target: Target, timeout: float) -> str | None:
    del timeout
    if Path(target.path).exists():
        return None
    return "does not exist yet"


def _probe_mysql(target: Target, timeout: float) -> str | None:
    import pymysql

    try:
        conn = pymysql.connect(
            host=target.host,
            port=target.port,
            user=target.user or "root",
            password=target.password,
            database=target.database or None,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
        )
    except pymysql.err.OperationalError as exc:
        return _mysql_reason(exc)
    except pymysql.err.MySQLError as exc:
        return f"login failed ({type(exc).__name__})"
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            row = cur.fetchone()
    except pymysql.err.MySQLError as exc:
        return f"SELECT 1 failed ({exc.args[0] if exc.args else type(exc).__name__})"
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    if row is None or row[0] != 1:
        return "SELECT 1 returned no row"
    return None


_MYSQL_ACCESS_DENIED = {1044, 1045, 1698}
_MYSQL_UNKNOWN_DB = 1049


def _mysql_reason(exc: Exception) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if code in _MYSQL_ACCESS_DENIED:
        return "access denied"
    if code == _MYSQL_UNKNOWN_DB:
        return "unknown database"
    if code in (2003, 2013):
        detail = str(exc.args[1]) if len(exc.args) > 1 else ""
        if "refused" in detail.lower():
            return "connection refused"
        if "timed out" in detail.lower():
            return "timed out"
        return "cannot connect"
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return f"not accepting logins ({code}: {text.splitlines()[0] if text else ''})"


def _probe_postgres(target: Target, timeout: float) -> str | None:
    import psycopg

    try:
        conn = psycopg.connect(
            host=target.host,
            port=target.port,
            user=target.user or "postgres",
            password=target.password,
            dbname=target.database or target.user or "postgres",
            connect_timeout=max(1, round(timeout)),
            sslmode="prefer",
        )
    except psycopg.OperationalError as exc:
        return _postgres_reason(exc)
    except psycopg.Error as exc:
        return f"login failed ({type(exc).__name__})"
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            row = cur.fetchone()
    except psycopg.Error as exc:
        return f"SELECT 1 failed ({type(exc).__name__})"
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    if row is None or row[0] != 1:
        return "SELECT 1 returned no row"
    return None


def _postgres_reason(exc: Exception) -> str:
    sqlstate = getattr(exc, "sqlstate", None)
    text = str(exc).lower()
    if sqlstate in ("28P01", "28000") or "password authentication failed" in text:
        return "access denied"
    if "no password supplied" in text:
        return "access denied (no password given)"
    if sqlstate == "3D000" or ("database" in text and "does not exist" in text):
        return "unknown database"
    if sqlstate == "57P03" or "starting up" in text or "shutting down" in text:
        return "server is starting up"
    if "connection refused" in text:
        return "connection refused"
    if "timeout" in text or "timed out" in text:
        return "timed out"
    first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return f"cannot connect ({first.strip()})"


_PROBES: dict[str, Callable[[Target, float], str | None]] = {
    "tcp": _probe_tcp,
    "http": _probe_http,
    "https": _probe_http,
    "mysql": _probe_mysql,
    "postgres": _probe_postgres,
    "file": _probe_file,
}


# ------------------------------------------------------------------ the loop


def wait_for(
    settings: WaitSettings,
    *,
    on_poll: Callable[[PollRecord], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until every target is ready; raise WaitTimeoutError naming the ones that are not."""
    if settings.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if settings.interval <= 0:
        raise UsageError("--interval must be more than 0 seconds")
    if not settings.targets:
        raise UsageError("name at least one target to wait for")
    targets = [parse_target(t) for t in settings.targets]
    start = clock()
    deadline = start + settings.timeout
    ready_at: dict[int, float] = {}
    polls_of: dict[int, int] = dict.fromkeys(range(len(targets)), 0)
    last: dict[int, str | None] = dict.fromkeys(range(len(targets)))
    poll = 0
    while True:
        poll += 1
        poll_started = clock()
        for index, target in enumerate(targets):
            if index in ready_at:
                continue
            polls_of[index] += 1
            reason = probe(target, deadline - clock())
            last[index] = reason
            if reason is None:
                ready_at[index] = clock() - start
                log.info("ready: %s (poll %d)", target.shown, poll)
            else:
                log.debug("not ready: %s: %s", target.shown, reason)
            if on_poll is not None:
                on_poll(PollRecord(poll, target.shown, reason is None, reason))
        if len(ready_at) == len(targets):
            break
        now = clock()
        if now >= deadline:
            _give_up(targets, last, ready_at, settings.timeout, poll)
        sleep(max(0.0, min(poll_started + settings.interval, deadline) - now))
    states = tuple(
        TargetState(t.shown, True, polls_of[i], round(ready_at[i], 3), None) for i, t in enumerate(targets)
    )
    return WaitResult(states, poll, round(clock() - start, 3))


def _give_up(
    targets: Sequence[Target],
    last: dict[int, str | None],
    ready_at: dict[int, float],
    timeout: float,
    polls: int,
) -> None:
    waiting = [f"{t.shown} ({last[i]})" for i, t in enumerate(targets) if i not in ready_at]
    raise WaitTimeoutError(
        f"not ready after {timeout:g} s ({polls} polls): " + "; ".join(waiting),
        hint="check that the service runs and the address and credentials are right, or raise --timeout",
    )


def exec_command(argv: Sequence[str]) -> None:
    """Replace this process with ``argv`` (found on PATH); never returns on success."""
    if not argv:
        return
    import shutil
    import sys

    if shutil.which(argv[0]) is None:
        raise MissingError(f"command {argv[0]!r} not found on PATH", hint="check the command after --")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], list(argv))  # noqa: S606 - exec is the point of wait -- CMD (wait-for-it does the same)
    except OSError as exc:  # pragma: no cover - which() found it; exec can still race or lack +x
        raise MissingError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from exc
