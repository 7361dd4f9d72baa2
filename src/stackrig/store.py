"""The embedded SQLite store: one file, schema migrations per component.

Several families share one database file (``Paths.db``). Each component
(``bench``, ``fleet``, ...) owns an ordered list of migrations; the version
each component has reached is kept in the table ``stackrig_schema``. The
pending migrations run in one ``BEGIN IMMEDIATE`` transaction that re-reads
the version under the write lock, so processes racing on a fresh database
migrate it once, and a failure leaves the previous version intact.
``PRAGMA user_version`` holds the version of that bookkeeping itself (currently 1).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stackrig._io import ensure_dir
from stackrig.errors import DiskFullError, OutputPathError, UsageError
from stackrig.errors import disk_full as errors_disk_full

__all__ = ["connect", "disk_full", "schema_version"]

_META_VERSION = 1


def _open(path: Path, busy_timeout: float) -> sqlite3.Connection:
    ensure_dir(path.parent)
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise OutputPathError(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        _use_wal(conn, busy_timeout)
        meta = conn.execute("PRAGMA user_version").fetchone()[0]
        if meta < _META_VERSION:
            _in_write_transaction(conn, _bootstrap)
    except sqlite3.OperationalError:  # locked, full, read-only: said by the caller, as it is
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        conn.close()
        raise UsageError(
            f"{path} is not a stackrig database ({exc})",
            hint="point --db at another file or move this one away",
        ) from exc
    if meta > _META_VERSION:
        conn.close()
        raise UsageError(f"{path} was written by a newer stackrig; upgrade stackrig to use it")
    return conn


def disk_full(exc: BaseException, db: Path) -> DiskFullError | None:
    """A DiskFullError naming ``db``'s folder when SQLite failed for want of space.

    SQLITE_FULL says so; a disk I/O error (SQLITE_IOERR) is taken for one when the file
    system is full at that moment (less than 1 MiB or 1 % left).
    """
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    folder = db.absolute().parent
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _nearly_full(folder)):
        return DiskFullError(folder, writing=db.name)
    return errors_disk_full(exc)


def _nearly_full(folder: Path) -> bool:
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    free, total = fs.f_bavail * fs.f_frsize, fs.f_blocks * fs.f_frsize
    return free < max(1 << 20, total // 100)


def _use_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch a new database to WAL, waiting out another process doing the same.

    Changing the journal mode needs the database to itself and SQLite answers "database is
    locked" at once, without the busy timeout, when several processes open a new file together;
    so it is retried until ``busy_timeout``. A database already in WAL is not touched.
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (
                sqlite3.SQLITE_BUSY,
                sqlite3.SQLITE_LOCKED,
            )
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        else:
            return


def _bootstrap(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA user_version").fetchone()[0] < _META_VERSION:  # re-read under the lock
        conn.execute(
            "CREATE TABLE IF NOT EXISTS stackrig_schema ("
            " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        conn.execute(f"PRAGMA user_version = {_META_VERSION}")


def _in_write_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], None]) -> None:
    """``work`` inside BEGIN IMMEDIATE .. COMMIT; on any error ROLLBACK and raise the first error."""
    conn.execute("BEGIN IMMEDIATE")  # a BEGIN that fails (locked, full disk) raises as itself
    try:
        work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                conn.execute("ROLLBACK")
        raise


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    row = conn.execute("SELECT version FROM stackrig_schema WHERE component = ?", (component,)).fetchone()
    return int(row[0]) if row else 0


def connect(
    path: str | Path, component: str, migrations: Sequence[str], *, busy_timeout: float = 30.0
) -> sqlite3.Connection:
    """Open the database and bring ``component``'s tables up to date.

    ``migrations[i]`` is an SQL script taking the component from version i to
    i + 1. The connection is in autocommit mode; use ``with conn:`` or explicit
    BEGIN/COMMIT for transactions. ``busy_timeout`` is how long to wait for another
    process's write lock.
    """
    db_path = Path(path)
    conn = _open(db_path, busy_timeout)
    try:
        _check_not_newer(db_path, component, schema_version(conn, component), len(migrations))
        if schema_version(conn, component) < len(migrations):
            _migrate(conn, db_path, component, migrations)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_not_newer(db_path: Path, component: str, current: int, known: int) -> None:
    if current > known:
        raise UsageError(
            f"{db_path}: the {component} tables are at version {current}, "
            f"newer than this stackrig knows ({known}); upgrade stackrig"
        )


def _migrate(conn: sqlite3.Connection, db_path: Path, component: str, migrations: Sequence[str]) -> None:
    """Every pending migration in one write transaction that re-reads the version first.

    Two processes opening a fresh database at once both see version 0; the second to get
    the write lock finds the first one's work done and migrates nothing (no "table already
    exists"). A failure rolls everything back: the version on disk stays the one before.
    """

    def work(conn: sqlite3.Connection) -> None:
        current = schema_version(conn, component)
        _check_not_newer(db_path, component, current, len(migrations))
        for version in range(current, len(migrations)):
            for statement in _statements(migrations[version]):
                conn.execute(statement)
        if current < len(migrations):
            conn.execute(
                "INSERT INTO stackrig_schema(component, version) VALUES(?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )

    _in_write_transaction(conn, work)


def _statements(script: str) -> list[str]:
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
