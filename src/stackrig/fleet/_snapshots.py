"""Discovery snapshots: each ``fleet discover --snapshot`` kept for ``fleet diff`` and ``fleet history``.

A snapshot is a gzip-compressed JSON file under ``<data>/fleet/snapshots/`` (0600: it
lists addresses and tags) holding the discovered hosts, and a row of the SQLite
history (``fleet_snapshots``) saying when, which accounts, regions and filters, how many
hosts, and whether the discovery was partial. The file is written before the row, so a
row always has its file; pruning deletes the row first, then the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig import store
from stackrig._io import atomic_write, ensure_dir
from stackrig.errors import UsageError
from stackrig.fleet._cache import hosts_from_payload, hosts_payload

if TYPE_CHECKING:
    from stackrig.fleet.discover import DiscoverResult

__all__ = [
    "Snapshot",
    "list_snapshots",
    "nearest_snapshot",
    "prune_snapshots",
    "save_snapshot",
    "snapshot_hosts",
]

SNAPSHOT_FORMAT = "stackrig-fleet-snapshot-1"
MIGRATIONS = (
    """
    CREATE TABLE fleet_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        taken_at TEXT NOT NULL,
        taken_ts REAL NOT NULL,
        provider TEXT NOT NULL,
        accounts TEXT NOT NULL,
        regions TEXT NOT NULL,
        filters TEXT NOT NULL,
        hosts INTEGER NOT NULL,
        partial INTEGER NOT NULL,
        path TEXT NOT NULL
    );
    CREATE INDEX fleet_snapshots_taken ON fleet_snapshots(taken_ts);
    """,
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    id: int
    taken_at: str
    provider: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    filters: tuple[str, ...]
    hosts: int
    partial: bool
    path: Path

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.taken_at)


def _connect(db: Path) -> sqlite3.Connection:
    return store.connect(db, "fleet", MIGRATIONS)


def _row(row: sqlite3.Row) -> Snapshot:
    return Snapshot(
        id=int(row["id"]),
        taken_at=str(row["taken_at"]),
        provider=str(row["provider"]),
        accounts=tuple(json.loads(row["accounts"])),
        regions=tuple(json.loads(row["regions"])),
        filters=tuple(json.loads(row["filters"])),
        hosts=int(row["hosts"]),
        partial=bool(row["partial"]),
        path=Path(row["path"]),
    )


def save_snapshot(
    folder: Path, db: Path, result: DiscoverResult, filters: Sequence[str], *, now: dt.datetime | None = None
) -> Snapshot:
    """Keep ``result`` as a snapshot: the compressed file, then its row in the history."""
    taken = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    accounts = [a.alias or a.label for a in result.accounts] or ([result.account] if result.account else [])
    regions = list(dict.fromkeys(r.region for r in result.regions))
    doc = {
        "format": SNAPSHOT_FORMAT,
        "taken_at": taken.isoformat(),
        "provider": result.provider,
        "accounts": accounts,
        "regions": regions,
        "filters": list(filters),
        "partial": result.partial,
        "failed": list(result.failed),
        "hosts": hosts_payload(result.hosts),
    }
    base = ensure_dir(folder, private=True)
    path = base / f"{taken.strftime('%Y%m%dT%H%M%S.%fZ')}.json.gz"
    atomic_write(path, gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), mtime=0), secret=True)
    conn = _connect(db)
    try:
        with conn:
            cursor = conn.execute(
                "INSERT INTO fleet_snapshots(taken_at, taken_ts, provider, accounts, regions, filters, hosts,"
                " partial, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    taken.isoformat(), taken.timestamp(), result.provider, json.dumps(accounts),
                    json.dumps(regions), json.dumps(list(filters)), len(result.hosts), int(result.partial),
                    str(path),
                ),
            )  # fmt: skip
            row = conn.execute("SELECT * FROM fleet_snapshots WHERE id = ?", (cursor.lastrowid,)).fetchone()
    finally:
        conn.close()
    return _row(row)


def list_snapshots(db: Path) -> list[Snapshot]:
    """Every snapshot of the history, oldest first."""
    if not db.exists():
        return []
    conn = _connect(db)
    try:
        return [_row(r) for r in conn.execute("SELECT * FROM fleet_snapshots ORDER BY taken_ts, id")]
    finally:
        conn.close()


def nearest_snapshot(snapshots: Sequence[Snapshot], when: dt.datetime) -> Snapshot:
    """The snapshot taken nearest to ``when`` (the older one on a tie)."""
    if not snapshots:
        raise UsageError("there are no snapshots yet", hint="run fleet discover --snapshot first")
    return min(snapshots, key=lambda s: (abs((s.when - when).total_seconds()), s.when))


def snapshots_to_prune(
    snapshots: Sequence[Snapshot], *, keep: int | None = None, older_than: dt.datetime | None = None
) -> list[Snapshot]:
    """Those beyond the newest ``keep`` and those taken before ``older_than`` (oldest first)."""
    doomed = {s.id: s for s in snapshots[: max(0, len(snapshots) - keep)]} if keep is not None else {}
    if older_than is not None:
        doomed.update((s.id, s) for s in snapshots if s.when < older_than)
    return sorted(doomed.values(), key=lambda s: s.id)


def prune_snapshots(
    db: Path, *, keep: int | None = None, older_than: dt.datetime | None = None
) -> list[Snapshot]:
    """Forget snapshots beyond the newest ``keep`` and those taken before ``older_than``; return them."""
    doomed = snapshots_to_prune(list_snapshots(db), keep=keep, older_than=older_than)
    if not doomed:
        return []
    conn = _connect(db)
    try:
        with conn:
            conn.executemany("DELETE FROM fleet_snapshots WHERE id = ?", [(s.id,) for s in doomed])
    finally:
        conn.close()
    for snap in doomed:
        snap.path.unlink(missing_ok=True)
    return doomed


def snapshot_hosts(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A snapshot's hosts as inventory variables (named by instance id), for ``fleet diff``."""
    from stackrig.fleet._inventory import InventoryOptions, host_vars

    hosts = hosts_from_payload(doc.get("hosts"))
    if hosts is None:
        raise UsageError("the snapshot was written by another stackrig version and cannot be read")
    options = InventoryOptions()
    seen: dict[str, int] = {}
    out: dict[str, dict[str, Any]] = {}
    for host in hosts:
        name = host.instance_id
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # the same id in another account
            name = f"{name}@{host.extra.get('account_id', seen[name])}"
        address = host.address
        out[name] = host_vars(dataclasses.replace(host), address or "", options, False)
        if address is None:
            out[name]["ansible_host"] = None
    return out
