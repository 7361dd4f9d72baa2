"""Groups of runs: the repeats of one job (``bench run --repeat``) or the points of a sweep.

A group is a row of ``bench_groups`` (id, name, kind, when, and the spec that made it,
which ``bench sweep --resume`` reads); each of its runs carries the group id, its
position and, for a sweep, its point (``meta.json`` ``group``). A group is written
``g:ID`` (a unique prefix of the id will do) or ``latest-group`` wherever a RUN is
taken.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackrig.bench.history import History, RunNotFoundError, like_prefix
from stackrig.bench.model import RunRecord

__all__ = [
    "GROUP_PREFIX",
    "LATEST_GROUP",
    "RunGroup",
    "delete_group",
    "get_group",
    "group_runs",
    "is_group_ref",
    "list_groups",
    "new_group",
    "resolve_group",
    "resolve_runs",
]

GROUP_PREFIX = "g:"
LATEST_GROUP = "latest-group"


@dataclass(frozen=True, slots=True)
class RunGroup:
    id: str
    name: str
    kind: str
    """``repeat`` or ``sweep``."""
    created: dt.datetime
    spec: Mapping[str, Any] = field(default_factory=dict)
    runs: int = 0
    """How many runs it holds (warm-ups included)."""

    @property
    def ref(self) -> str:
        return f"{GROUP_PREFIX}{self.id}"


def is_group_ref(text: str) -> bool:
    return text.strip().startswith(GROUP_PREFIX) or text.strip() == LATEST_GROUP


def _group(row: Any) -> RunGroup:
    keys = row.keys()
    return RunGroup(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        created=dt.datetime.fromisoformat(row["created"]),
        spec=json.loads(row["spec"] or "{}"),
        runs=int(row["runs"]) if "runs" in keys and row["runs"] is not None else 0,
    )


_SELECT = (
    "SELECT g.*, (SELECT COUNT(*) FROM bench_runs r WHERE r.group_id = g.id) AS runs FROM bench_groups g"
)


def new_group(history: History, name: str, kind: str, spec: Mapping[str, Any]) -> RunGroup:
    group = RunGroup(secrets.token_hex(6), name, kind, dt.datetime.now(dt.UTC), dict(spec))
    with history.transaction() as conn:
        conn.execute(
            "INSERT INTO bench_groups(id, name, kind, created, spec) VALUES (?, ?, ?, ?, ?)",
            (group.id, name, kind, group.created.isoformat(), json.dumps(dict(spec))),
        )
    return group


def get_group(history: History, group_id: str) -> RunGroup | None:
    row = history.query(f"{_SELECT} WHERE g.id = ?", (group_id,)).fetchone()
    return _group(row) if row else None


def resolve_group(history: History, ref: str) -> RunGroup:
    """``g:ID`` (exact or a unique prefix) or ``latest-group``."""
    text = ref.strip()
    if text == LATEST_GROUP:
        row = history.query(f"{_SELECT} ORDER BY g.created DESC, g.rowid DESC LIMIT 1").fetchone()
        if row is None:
            raise RunNotFoundError("no groups yet", hint="make one with `stackrig bench run JOB --repeat 5`")
        return _group(row)
    key = text.removeprefix(GROUP_PREFIX)
    if not key:
        raise RunNotFoundError(f"empty group reference {ref!r}", hint="write a group as g:ID")
    exact = get_group(history, key)
    if exact is not None:
        return exact
    rows = history.query(
        f"{_SELECT} WHERE g.id LIKE ? ESCAPE '\\' ORDER BY g.created", (like_prefix(key),)
    ).fetchall()
    if len(rows) == 1:
        return _group(rows[0])
    if not rows:
        raise RunNotFoundError(f"no group matches {ref!r}", hint="see `stackrig bench list --groups`")
    shown = ", ".join(f"g:{r['id']} ({r['name']})" for r in rows[:5])
    raise RunNotFoundError(f"{ref!r} matches {len(rows)} groups: {shown}", hint="give more of the id")


def group_runs(history: History, group_id: str, *, warmup: bool = False) -> builtins.list[RunRecord]:
    """The runs of a group in order (warm-up runs only when ``warmup``)."""
    sql = "SELECT * FROM bench_runs WHERE group_id = ?"
    if not warmup:
        sql += " AND warmup = 0"
    rows = history.query(sql + " ORDER BY group_seq, started", (group_id,))
    return [history.record_of(row) for row in rows]


def list_groups(history: History, *, limit: int | None = None) -> builtins.list[RunGroup]:
    sql = f"{_SELECT} ORDER BY g.created DESC, g.rowid DESC"
    args: tuple[Any, ...] = ()
    if limit is not None:
        sql += " LIMIT ?"
        args = (limit,)
    return [_group(row) for row in history.query(sql, args)]


def resolve_runs(history: History, ref: str) -> tuple[RunGroup | None, builtins.list[RunRecord]]:
    """A RUN or a group: (the group or None, its runs without warm-ups, or the one run)."""
    if is_group_ref(ref):
        group = resolve_group(history, ref)
        runs = group_runs(history, group.id)
        if not runs:
            raise RunNotFoundError(f"group {group.ref} ({group.name}) holds no runs yet")
        return group, runs
    return None, [history.resolve(ref)]


def delete_group(history: History, group: RunGroup) -> builtins.list[RunRecord]:
    """Delete every run of a group (warm-ups included), then the group."""
    runs = group_runs(history, group.id, warmup=True)
    for record in runs:
        history.delete(record)
    with history.transaction() as conn:
        conn.execute("DELETE FROM bench_groups WHERE id = ?", (group.id,))
    return runs
