"""The bench history: SQLite rows that index the run folders.

One row per run (``bench_runs``, with ``meta.json`` kept whole), its labels,
and one row per host, job and direction with the headline figures
(``bench_results``). The folders stay the source of truth; the rows make
``list``, ``compare`` and ``export`` fast.

RUN references resolve in this order: ``latest``; a path to a run folder;
an exact id; an exact folder name; a unique id prefix.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import fnmatch
import json
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from stackrig import store
from stackrig.bench import liveness
from stackrig.bench.model import META_FILE, RunRecord, RunStatus, read_meta
from stackrig.bench.results import FioResults, ResultsError, load_results
from stackrig.errors import ConflictError, OutputPathError, UsageError

__all__ = ["MIGRATIONS", "History", "ResultRow", "RunNotFoundError", "rows_from_results"]

LOCAL_HOST = ""
ALL_HOSTS = "all"

MIGRATIONS = [
    """
    CREATE TABLE bench_runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        folder TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT,
        exit_code INTEGER,
        machine TEXT,
        hosts TEXT NOT NULL DEFAULT '',
        fio_version TEXT,
        meta TEXT NOT NULL
    );
    CREATE INDEX bench_runs_started ON bench_runs(started);
    CREATE TABLE bench_labels (
        run_id TEXT NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE bench_results (
        run_id TEXT NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        host TEXT NOT NULL,
        job TEXT NOT NULL,
        direction TEXT NOT NULL,
        iops REAL,
        bw_bytes REAL,
        io_bytes INTEGER,
        runtime_ms INTEGER,
        lat_mean_ns REAL,
        lat_p50_ns REAL,
        lat_p99_ns REAL,
        lat_p999_ns REAL,
        usr_cpu REAL,
        sys_cpu REAL,
        PRIMARY KEY (run_id, seq)
    );
    """,
    """
    CREATE TABLE bench_imports (
        sha256 TEXT NOT NULL,
        run_id TEXT NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (sha256, run_id, path)
    );
    CREATE INDEX bench_imports_sha256 ON bench_imports(sha256);
    """,
    """
    CREATE TABLE bench_groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        created TEXT NOT NULL,
        spec TEXT NOT NULL
    );
    CREATE INDEX bench_groups_created ON bench_groups(created);
    ALTER TABLE bench_runs ADD COLUMN group_id TEXT REFERENCES bench_groups(id) ON DELETE SET NULL;
    ALTER TABLE bench_runs ADD COLUMN group_seq INTEGER;
    ALTER TABLE bench_runs ADD COLUMN warmup INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX bench_runs_group ON bench_runs(group_id, group_seq);
    """,
]


class RunNotFoundError(UsageError):
    """A RUN reference that matches no run, or several."""


@dataclass(frozen=True, slots=True)
class ResultRow:
    """The headline figures of one host, job and direction (host "" = local, "all" = aggregate)."""

    host: str
    job: str
    direction: str
    iops: float | None
    bw_bytes: float | None
    io_bytes: int | None
    runtime_ms: int | None
    lat_mean_ns: float | None
    lat_p50_ns: float | None
    lat_p99_ns: float | None
    lat_p999_ns: float | None
    usr_cpu: float | None
    sys_cpu: float | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.host, self.job, self.direction)

    def metric(self, name: str) -> float | None:
        value = {
            "iops": self.iops,
            "bw": self.bw_bytes,
            "lat_mean": self.lat_mean_ns,
            "lat_p50": self.lat_p50_ns,
            "lat_p99": self.lat_p99_ns,
            "lat_p999": self.lat_p999_ns,
        }.get(name)
        return value


ROW_FIELDS = (
    "host",
    "job",
    "direction",
    "iops",
    "bw_bytes",
    "io_bytes",
    "runtime_ms",
    "lat_mean_ns",
    "lat_p50_ns",
    "lat_p99_ns",
    "lat_p999_ns",
    "usr_cpu",
    "sys_cpu",
)


def rows_from_results(results: FioResults) -> list[ResultRow]:
    """One row per host, job and direction, in fio's order."""
    rows: list[ResultRow] = []
    for job in results.all_jobs:
        if job.aggregate:
            host = ALL_HOSTS
        elif results.client_mode:
            host = f"{job.host}:{job.port}" if job.host and job.port else (job.host or "?")
        else:
            host = LOCAL_HOST
        for stats in job.directions:
            lat = stats.lat or stats.clat
            rows.append(
                ResultRow(
                    host=host,
                    job=job.name,
                    direction=stats.direction,
                    iops=stats.iops,
                    bw_bytes=stats.bw_bytes,
                    io_bytes=stats.io_bytes,
                    runtime_ms=stats.runtime_ms,
                    lat_mean_ns=lat.mean_ns if lat else None,
                    lat_p50_ns=stats.latency_percentile(50.0),
                    lat_p99_ns=stats.latency_percentile(99.0),
                    lat_p999_ns=stats.latency_percentile(99.9),
                    usr_cpu=job.usr_cpu,
                    sys_cpu=job.sys_cpu,
                )
            )
    return rows


class History:
    """The bench tables of a stackrig database."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, db: str | Path) -> History:
        path = Path(db)
        try:
            conn = store.connect(path, "bench", MIGRATIONS)
        except sqlite3.Error as exc:
            raise store.disk_full(exc, path) or OutputPathError(
                f"cannot open database {path}: {exc}"
            ) from exc
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            full = store.disk_full(exc, self.path)
            raise full or OutputPathError(f"cannot write the bench history in {self.path}: {exc}") from exc

    # ------------------------------------------------------------ writing

    def add(self, record: RunRecord, results: FioResults | None) -> None:
        """Index a run (replacing an earlier row of the same id)."""
        rows = rows_from_results(results) if results is not None else []
        with self.transaction() as conn:
            conn.execute("DELETE FROM bench_runs WHERE id = ?", (record.id,))
            group = record.group
            conn.execute(
                "INSERT INTO bench_runs(id, name, folder, status, started, ended, exit_code, machine,"
                " hosts, fio_version, meta, group_id, group_seq, warmup)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    str(record.folder),
                    record.status.value,
                    _iso(record.started),
                    _iso(record.ended) if record.ended else None,
                    record.exit_code,
                    str(record.machine.get("hostname") or ""),
                    ",".join(record.hosts),
                    record.fio_version,
                    json.dumps(record.to_meta()),
                    group.id if group else None,
                    group.seq if group else None,
                    int(group.warmup) if group else 0,
                ),
            )
            conn.executemany(
                "INSERT INTO bench_labels(run_id, key, value) VALUES (?, ?, ?)",
                [(record.id, k, v) for k, v in record.labels.items()],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO bench_imports(sha256, run_id, path, role) VALUES (?, ?, ?, ?)",
                [(f.sha256, record.id, f.path, f.role) for f in record.sources],
            )
            conn.executemany(
                f"INSERT INTO bench_results(run_id, seq, {', '.join(ROW_FIELDS)})"  # noqa: S608 - fixed names
                f" VALUES (?, ?, {', '.join('?' for _ in ROW_FIELDS)})",
                [(record.id, seq, *(getattr(row, f) for f in ROW_FIELDS)) for seq, row in enumerate(rows)],
            )

    def delete(self, record: RunRecord, *, remove_folder: bool = True) -> None:
        """Forget a run and remove its folder (only a folder whose meta.json names this run)."""
        if remove_folder and record.folder.is_dir():
            try:
                owner = read_meta(record.folder).id
            except UsageError:
                owner = None
            if owner != record.id:
                raise ConflictError(
                    f"{record.folder} does not hold run {record.id}; not removing it",
                    hint="remove the folder by hand",
                )
            try:
                shutil.rmtree(record.folder)
            except OSError as exc:
                raise OutputPathError(f"cannot remove {record.folder}: {exc.strerror or exc}") from exc
        with self.transaction() as conn:
            conn.execute("DELETE FROM bench_runs WHERE id = ?", (record.id,))

    # ------------------------------------------------------------ reading

    def query(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise OutputPathError(f"cannot read the bench history in {self.path}: {exc}") from exc

    def record_of(self, row: sqlite3.Row) -> RunRecord:
        """The run of a row; a ``running`` run whose process is gone reads as ``interrupted``."""
        meta = json.loads(row["meta"])
        record = RunRecord.from_meta(meta, Path(row["folder"]))
        return liveness.effective(record) if record.status is RunStatus.RUNNING else record

    def _filter(
        self,
        name: str | None,
        labels: Mapping[str, str] | None,
        since: dt.datetime | None,
        host: str | None,
        group: str | None = None,
    ) -> tuple[str, builtins.list[Any]]:
        sql = " WHERE 1=1"
        args: builtins.list[Any] = []
        if name:
            sql += " AND name GLOB ?"
            args.append(name)
        for key, value in (labels or {}).items():
            sql += (
                " AND EXISTS (SELECT 1 FROM bench_labels l WHERE l.run_id = id AND l.key = ? AND l.value = ?)"
            )
            args += [key, value]
        if since is not None:
            sql += " AND started >= ?"
            args.append(_iso(since))
        if host:  # the machine, or a fio server with or without its port (checked exactly after)
            sql += (
                " AND (machine GLOB ? OR (',' || hosts || ',') GLOB ('*,' || ? || ',*')"
                " OR (',' || hosts || ',') GLOB ('*,' || ? || ':*'))"
            )
            args += [host, host, host]
        if group:
            sql += " AND group_id = ?"
            args.append(group)
        return sql, args

    def list(
        self,
        *,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
        since: dt.datetime | None = None,
        host: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[RunRecord]:
        """Runs matching every filter (name glob, labels, started since, machine or fio server),
        newest first; ``limit``/``offset`` page through them (indexed by start time)."""
        where, args = self._filter(name, labels, since, host)
        sql = "SELECT * FROM bench_runs" + where  # noqa: S608 - fixed SQL, values bound
        sql += " ORDER BY started DESC, rowid DESC" if newest_first else " ORDER BY started, rowid"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        records = [self.record_of(row) for row in self.query(sql, args)]
        if host:
            records = [r for r in records if _host_matches(r, host)]
        return records

    def count(
        self,
        *,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
        since: dt.datetime | None = None,
        host: str | None = None,
    ) -> int:
        """How many runs :meth:`list` would give without a limit."""
        where, args = self._filter(name, labels, since, host)
        return int(self.query("SELECT COUNT(*) FROM bench_runs" + where, args).fetchone()[0])  # noqa: S608

    def search(
        self, query: str | None, *, under: Sequence[str] = (), limit: int = 50, offset: int = 0
    ) -> tuple[builtins.list[RunRecord], int]:
        """A page of runs (newest first) whose id, name, status, machine, fio servers, folder or a
        label ``k=v`` hold every word of ``query`` (case-insensitive), inside one of the folders
        ``under`` when given; and how many match in all. Indexed paging: the dashboard's run list."""
        sql = " WHERE 1=1"
        args: builtins.list[Any] = []
        if under:
            sql += " AND (" + " OR ".join("folder LIKE ? ESCAPE '\\'" for _ in under) + ")"
            args += [_like(str(folder).rstrip("/") + "/") + "%" for folder in under]
        for word in (query or "").lower().split():
            pattern = "%" + _like(word) + "%"
            sql += (
                " AND (lower(id) LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\'"
                " OR lower(status) LIKE ?1 ESCAPE '\\' OR lower(machine) LIKE ?1 ESCAPE '\\'"
                " OR lower(hosts) LIKE ?1 ESCAPE '\\' OR lower(folder) LIKE ?1 ESCAPE '\\'"
                " OR EXISTS (SELECT 1 FROM bench_labels l WHERE l.run_id = bench_runs.id"
                " AND lower(l.key || '=' || l.value) LIKE ?1 ESCAPE '\\'))"
            ).replace("?1", "?")
            args += [pattern] * 7
        total = int(self.query("SELECT COUNT(*) FROM bench_runs" + sql, args).fetchone()[0])  # noqa: S608
        page = self.query(
            "SELECT * FROM bench_runs" + sql + " ORDER BY started DESC, rowid DESC LIMIT ? OFFSET ?",  # noqa: S608
            [*args, limit, offset],
        )
        return [self.record_of(row) for row in page], total

    def by_name(self, run_id: str) -> RunRecord | None:
        """A run by its id or its folder's name (the dashboard's URLs use either)."""
        found = self.get(run_id)
        if found is not None:
            return found
        row = self.query(
            "SELECT * FROM bench_runs WHERE folder LIKE ? ESCAPE '\\' LIMIT 1", ("%/" + _like(run_id),)
        ).fetchone()
        return self.record_of(row) if row else None

    def imported(self, sha256: str) -> str | None:
        """The run a file with this sha256 was imported into, if any."""
        row = self.query(
            "SELECT run_id FROM bench_imports WHERE sha256 = ? ORDER BY rowid LIMIT 1", (sha256,)
        ).fetchone()
        return str(row["run_id"]) if row else None

    def get(self, run_id: str) -> RunRecord | None:
        row = self.query("SELECT * FROM bench_runs WHERE id = ?", (run_id,)).fetchone()
        return self.record_of(row) if row else None

    def resolve(self, ref: str) -> RunRecord:
        """A run from an id, a unique id prefix, a folder (path or name), or ``latest``."""
        text = ref.strip()
        if not text:
            raise RunNotFoundError("empty RUN reference")
        if text == "latest":
            row = self.query("SELECT * FROM bench_runs ORDER BY started DESC, rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise RunNotFoundError("no runs yet", hint="run `stackrig bench run JOB` first")
            return self.record_of(row)
        path = Path(text)
        if (path / META_FILE).is_file():
            folder = path.absolute()
            row = self.query("SELECT * FROM bench_runs WHERE folder = ?", (str(folder),)).fetchone()
            return self.record_of(row) if row else read_meta(folder)
        exact = self.get(text)
        if exact is not None:
            return exact
        rows = self.query(
            "SELECT * FROM bench_runs WHERE folder LIKE ? ESCAPE '\\'", ("%/" + _like(text),)
        ).fetchall()
        if len(rows) == 1:
            return self.record_of(rows[0])
        rows = self.query(
            "SELECT * FROM bench_runs WHERE id LIKE ? ESCAPE '\\' ORDER BY started", (_like(text) + "%",)
        ).fetchall()
        if len(rows) == 1:
            return self.record_of(rows[0])
        if not rows:
            raise RunNotFoundError(
                f"no run matches {ref!r}",
                hint="see `stackrig bench list` for ids; RUN may also be a folder or latest",
            )
        shown = ", ".join(f"{r['id']} ({r['name']})" for r in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise RunNotFoundError(
            f"{ref!r} matches {len(rows)} runs: {shown}{more}", hint="give more characters of the id"
        )

    def rows(self, record: RunRecord) -> builtins.list[ResultRow]:
        """The result rows of a run (read from its fio.json when the run is not indexed)."""
        found = self.query(
            f"SELECT {', '.join(ROW_FIELDS)} FROM bench_results WHERE run_id = ? ORDER BY seq",  # noqa: S608
            (record.id,),
        ).fetchall()
        if found or self.get(record.id) is not None:
            return [ResultRow(**{f: row[f] for f in ROW_FIELDS}) for row in found]
        try:
            return rows_from_results(load_results(record.folder))
        except ResultsError:
            return []


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def like_prefix(text: str) -> str:
    """A LIKE pattern matching what starts with ``text`` (wildcards escaped)."""
    return _like(text) + "%"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _host_matches(record: RunRecord, host: str) -> bool:
    names = [str(record.machine.get("hostname") or "")]
    for entry in record.hosts:
        names += [entry, entry.rpartition(":")[0]]
    return any(fnmatch.fnmatchcase(name, host) for name in names if name)
