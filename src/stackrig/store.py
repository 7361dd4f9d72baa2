"""The embedded SQLite store: one file, schema migrations per component.

Several families share one database file (``Paths.db``). Each component
(``bench``, ``fleet``, ...) owns an ordered list of migrations; the version
each component has reached is kept in the table ``stackrig_schema`` and each
migration runs in its own transaction, so a failure leaves the previous
version intact. ``PRAGMA user_version`` holds the version of that bookkeeping
itself (currently 1).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from stackrig._io import ensure_dir
from stackrig.errors import OutputPathError, UsageError

__all__ = ["connect", "schema_version"]

_META_VERSION = 1


def _open(path: Path) -> sqlite3.Connection:
    ensure_dir(path.parent)
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise OutputPathError(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        meta = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise UsageError(
            f"{path} is not a stackrig database ({exc})",
            hint="point --db at another file or move this one away",
        ) from exc
    if meta > _META_VERSION:
        conn.close()
        raise UsageError(f"{path} was written by a newer stackrig; upgrade stackrig to use it")
    if meta < _META_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS stackrig_schema ("
            " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        conn.execute(f"PRAGMA user_version = {_META_VERSION}")
        conn.execute("COMMIT")
    return conn


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    row = conn.execute("SELECT version FROM stackrig_schema WHERE component = ?", (component,)).fetchone()
    return int(row[0]) if row else 0


def connect(path: str | Path, component: str, migrations: Sequence[str]) -> sqlite3.Connection:
    """Open the database and bring ``component``'s tables up to date.

    ``migrations[i]`` is an SQL script taking the component from version i to
    i + 1. The connection is in autocommit mode; use ``with conn:`` or explicit
    BEGIN/COMMIT for transactions.
    """
    db_path = Path(path)
    conn = _open(db_path)
    current = schema_version(conn, component)
    if current > len(migrations):
        conn.close()
        raise UsageError(
            f"{db_path}: the {component} tables are at version {current}, "
            f"newer than this stackrig knows ({len(migrations)}); upgrade stackrig"
        )
    for version in range(current, len(migrations)):
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(migrations[version]):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO stackrig_schema(component, version) VALUES(?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, version + 1),
            )
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            conn.close()
            raise
    return conn


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
