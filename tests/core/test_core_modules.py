from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stackrig import _proc, _tools, store
from stackrig.errors import (
    ExitCode,
    FailedError,
    MissingToolError,
    StackrigError,
    UsageError,
)
from stackrig.output import Report, emit, envelope, to_jsonable
from stackrig.paths import Paths


def test_paths_precedence(tmp_path: Path) -> None:
    env = {"STACKRIG_HOME": str(tmp_path / "h"), "XDG_DATA_HOME": str(tmp_path / "x"), "HOME": "/home/u"}
    assert Paths.resolve(tmp_path / "o", env).data_dir == tmp_path / "o"
    assert Paths.resolve(None, env).data_dir == tmp_path / "h"
    del env["STACKRIG_HOME"]
    assert Paths.resolve(None, env).data_dir == tmp_path / "x" / "stackrig"
    del env["XDG_DATA_HOME"]
    paths = Paths.resolve(None, env)
    assert paths.data_dir == Path("/home/u/.local/share/stackrig")
    assert paths.db.name == "stackrig.db"
    assert {paths.runs.name, paths.cache.name, paths.qos.name, paths.logs.name} == {
        "runs",
        "cache",
        "qos",
        "logs",
    }
    assert paths.tune_backups.parts[-2:] == ("tune", "backups")
    with pytest.raises(dataclasses.FrozenInstanceError):
        paths.data_dir = tmp_path  # type: ignore[misc]


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Item:
    name: str
    where: Path
    when: dt.datetime
    color: Color
    tags: frozenset[str]


def test_to_jsonable() -> None:
    item = Item("a", Path("/x"), dt.datetime(2026, 1, 2, tzinfo=dt.UTC), Color.RED, frozenset({"b", "a"}))
    assert to_jsonable({"i": item, "t": (1, 2), "b": b"hi"}) == {
        "i": {
            "name": "a",
            "where": "/x",
            "when": "2026-01-02T00:00:00+00:00",
            "color": "red",
            "tags": ["'a'", "'b'"] and ["a", "b"],
        },
        "t": [1, 2],
        "b": "hi",
    }
    with pytest.raises(TypeError):
        to_jsonable(object())


def test_envelope_and_emit() -> None:
    report = Report({"n": 1}, warnings=("careful",), partial=True, exit_code=ExitCode.FAILED)
    doc = envelope("bench run", report)
    assert doc["ok"] is False
    assert doc["partial"] is True
    assert doc["exit_code"] == 1
    buf = io.StringIO()
    assert emit(report, command="bench run", json_mode=True, file=buf) == ExitCode.FAILED
    assert json.loads(buf.getvalue())["data"] == {"n": 1}
    buf = io.StringIO()
    emit(Report({}, render=lambda c: c.print("hello")), command="x", json_mode=False, file=buf)
    assert buf.getvalue() == "hello\n"


def test_error_str_includes_hint() -> None:
    assert str(UsageError("bad", hint="fix it")) == "bad (fix it)"
    assert str(StackrigError("x")) == "x"
    assert StackrigError("x").exit_code == ExitCode.INTERNAL
    assert all(code.meaning for code in ExitCode)


def test_proc_run_and_failure(tmp_path: Path) -> None:
    done = _proc.run("ip", ["-V"])
    assert done.returncode == 0
    with pytest.raises(_proc.ProcessFailedError) as info:
        _proc.run("ip", ["no-such-object", "hunter2"], secrets=["hunter2"])
    assert "ip no-such-object ***" in info.value.message
    assert "hunter2" not in info.value.message
    assert info.value.exit_code == ExitCode.FAILED
    unchecked = _proc.run("ip", ["no-such-object"], check=False)
    assert unchecked.returncode != 0


def test_proc_missing_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tools, "_search_path", lambda: "/nonexistent")
    with pytest.raises(MissingToolError) as info:
        _proc.run("fio", ["--version"], needed_for="bench run")
    assert info.value.exit_code == ExitCode.MISSING
    assert "fio is not installed (needed for bench run)" in info.value.message
    assert info.value.hint == "apt-get install fio (make run installs it)"
    with pytest.raises(MissingToolError):
        _proc.start("fio", ["--version"])


def test_proc_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "iperf3").write_text("#!/bin/sh\nsleep 5\n")
    (fake / "iperf3").chmod(0o755)
    monkeypatch.setattr(_tools, "_search_path", lambda: str(fake))
    with pytest.raises(_proc.ToolTimeLimitError) as info:
        _proc.run("iperf3", ["-c", "x"], timeout=0.2)
    assert info.value.message == "iperf3 ran past its time limit of 200ms and was stopped: iperf3 -c x"
    assert info.value.exit_code == ExitCode.FAILED


def test_proc_start_streams() -> None:
    proc = _proc.start("ip", ["-V"])
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "ip" in out


def test_proc_helpers() -> None:
    assert _proc.tail("a\n\nb\nc\n", 2) == "b\nc"
    assert _proc.mask("pw=abc", ["abc", ""]) == "pw=***"


def test_probe_unversioned_and_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    status = _tools.probe(_tools.tool("ip"))
    assert status.found
    assert status.version
    monkeypatch.setattr(_tools, "_search_path", lambda: "/nonexistent")
    assert not _tools.probe(_tools.tool("ip")).found


MIGRATIONS = [
    "CREATE TABLE runs (id TEXT PRIMARY KEY);",
    "ALTER TABLE runs ADD COLUMN name TEXT;\nCREATE INDEX runs_name ON runs(name);",
]


def test_store_migrates_each_component(tmp_path: Path) -> None:
    db = tmp_path / "d" / "stackrig.db"
    conn = store.connect(db, "bench", MIGRATIONS[:1])
    conn.execute("INSERT INTO runs VALUES ('r1')")
    conn.close()
    conn = store.connect(db, "bench", MIGRATIONS)
    assert store.schema_version(conn, "bench") == 2
    assert conn.execute("SELECT id, name FROM runs").fetchall()[0]["id"] == "r1"
    conn.close()
    other = store.connect(db, "fleet", ["CREATE TABLE cache (k TEXT);"])
    assert store.schema_version(other, "fleet") == 1
    assert store.schema_version(other, "bench") == 2
    other.close()
    with pytest.raises(UsageError, match="newer than this stackrig"):
        store.connect(db, "bench", MIGRATIONS[:1])


def test_store_failed_migration_keeps_previous_version(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store.connect(db, "c", MIGRATIONS[:1]).close()
    with pytest.raises(sqlite3.OperationalError):
        store.connect(db, "c", [MIGRATIONS[0], "ALTER TABLE nope ADD COLUMN x;"])
    conn = store.connect(db, "c", MIGRATIONS[:1])
    assert store.schema_version(conn, "c") == 1
    conn.close()


def test_store_failed_migration_leaves_no_part_of_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(sqlite3.OperationalError, match="no such table: nope"):
        store.connect(db, "c", [MIGRATIONS[0], "ALTER TABLE nope ADD COLUMN x;"])
    conn = store.connect(db, "other", [])
    assert store.schema_version(conn, "c") == 0
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'runs'").fetchall() == []
    conn.close()


def test_store_failed_begin_is_reported_as_itself(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store.connect(db, "c", MIGRATIONS[:1]).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            store.connect(db, "c", MIGRATIONS, busy_timeout=0.1)
        assert str(info.value) == "database is locked"  # not "cannot rollback - no transaction is active"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    conn = store.connect(db, "c", MIGRATIONS)
    assert store.schema_version(conn, "c") == 2
    conn.close()


CONNECT_IN_CHILD = """
import sys
from stackrig import store
store.connect(sys.argv[1], "bench", [{bench!r}, {bench2!r}]).close()
store.connect(sys.argv[1], "fleet", ["CREATE TABLE cache (k TEXT);"]).close()
"""


def test_store_first_use_races_migrate_once(tmp_path: Path) -> None:
    """8 processes opening one fresh database at once, 20 times: every one succeeds.

    Fresh interpreters (not a fork of this one, whose threads could hold locks at the fork).
    """
    code = CONNECT_IN_CHILD.format(bench=MIGRATIONS[0], bench2=MIGRATIONS[1])
    failures: list[str] = []
    for round_ in range(20):
        db = str(tmp_path / f"race-{round_}" / "stackrig.db")
        procs = [
            subprocess.Popen([sys.executable, "-c", code, db], stderr=subprocess.PIPE, text=True)
            for _ in range(8)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                failures.append(err.strip().splitlines()[-1])
        conn = store.connect(db, "bench", MIGRATIONS)
        assert store.schema_version(conn, "bench") == 2
        assert store.schema_version(conn, "fleet") == 1
        conn.close()
    assert failures == []


def test_store_rejects_non_database(tmp_path: Path) -> None:
    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="not a stackrig database"):
        store.connect(bad, "c", MIGRATIONS)


def test_failed_error_is_stackrig_error() -> None:
    assert issubclass(_proc.ProcessFailedError, FailedError)
