"""fleet diff and fleet history: what changed between two inventories or snapshots; the snapshots kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from stackrig.cli._common import consent, finish, state
from stackrig.cli.options import DbOpt, JsonOpt, When
from stackrig.errors import ExitCode, UsageError
from stackrig.fleet._snapshots import (
    Snapshot,
    list_snapshots,
    nearest_snapshot,
    prune_snapshots,
    snapshots_to_prune,
)
from stackrig.fleet.diff import DiffResult, diff_sides, load_side
from stackrig.output import Report, stderr_console

__all__ = ["register"]


def _db(ctx: typer.Context, db: Path | None) -> Path:
    return db or state(ctx).paths.db


def _snapshot_ref(ref: str, snapshots: list[Snapshot]) -> Snapshot:
    """``@latest``, ``@ID``."""
    if not snapshots:
        raise UsageError("there are no snapshots yet", hint="run fleet discover --snapshot first")
    if ref == "@latest":
        return snapshots[-1]
    by_id = {f"@{s.id}": s for s in snapshots}
    if ref not in by_id:
        raise UsageError(f"no snapshot {ref}", hint="fleet history lists them")
    return by_id[ref]


def _side_path(ref: str, snapshots: list[Snapshot]) -> tuple[Path, str]:
    if ref.startswith("@"):
        snap = _snapshot_ref(ref, snapshots)
        return snap.path, f"snapshot {snap.id} ({snap.taken_at})"
    return Path(ref), ref


def _since(
    ctx: typer.Context, db: Path | None, when: dt.datetime, first: str | None, second: str | None
) -> tuple[str, str]:
    """``--since WHEN [NEW]``: the snapshot nearest to WHEN, against NEW or the latest snapshot."""
    if second is not None:
        raise UsageError("--since takes the place of OLD: give at most one file (NEW)")
    snapshots = list_snapshots(_db(ctx, db))
    old = nearest_snapshot(snapshots, when)
    if first is None and old.id == snapshots[-1].id:
        raise UsageError(
            f"the snapshot nearest to {when:%Y-%m-%d %H:%M} is the latest one (@{old.id}, {old.taken_at}): "
            "nothing to compare it with",
            hint="keep a discovery each run with fleet discover --snapshot",
        )
    return f"@{old.id}", first or "@latest"


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    return str(value)


def _diff_report(result: DiffResult, exit_code: bool) -> Report:
    def render(console: Console) -> None:
        for host in result.added:
            console.print(f"+ {host.key}  {host.name}  {_value(host.address)}", markup=False)
        for host in result.removed:
            console.print(f"- {host.key}  {host.name}  {_value(host.address)}", markup=False)
        for change in result.changed:
            parts = [f"renamed from {change.renamed_from}"] if change.renamed_from else []
            for item in change.changes:
                if item.field == "groups":
                    before, after = set(item.old or []), set(item.new or [])
                    moved = [f"+{g}" for g in sorted(after - before)] + [
                        f"-{g}" for g in sorted(before - after)
                    ]
                    parts.append(f"groups {' '.join(moved)}")
                else:
                    parts.append(f"{item.field} {_value(item.old)} -> {_value(item.new)}")
            console.print(f"~ {change.key}  {change.name}: {'; '.join(parts)}", markup=False)
        err = stderr_console()
        err.print(f"fleet diff {result.old} -> {result.new}: {result.summary()}", markup=False)
        if result.unknown:
            fields = ", ".join(f"{name} ({count})" for name, count in result.unknown.items())
            err.print(f"  unknown on one side (not carried by its format): {fields}", markup=False)

    code = ExitCode.FAILED if exit_code and result.differ else ExitCode.OK
    return Report(result, render=render, exit_code=code)


def diff(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    old: Annotated[
        str | None,
        typer.Argument(help="Inventory file (ini, yaml, json, script), snapshot file, @ID or @latest."),
    ] = None,
    new: Annotated[str | None, typer.Argument(help="The same kinds, compared against OLD.")] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Fields not compared, comma-separated or repeated; globs allowed "
            "(launch_time, tag:LastSeen, tag:*, groups, address).",
        ),
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when they differ (for CI and cron).")
    ] = False,
    since: Annotated[
        dt.datetime | None,
        typer.Option(
            "--since",
            click_type=When(),
            help="Compare the snapshot taken nearest to this point (a date such as 2026-01-31, or an "
            "age: 1d, 12h) with the latest snapshot (or with the one file given).",
        ),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Hosts added, removed and changed (address, state, type, tags, groups, ...) between two inventories.

    Hosts are matched by instance id when both sides carry it, else by host name; a field one
    side's format cannot carry (INI, snapshots' groups) is unknown, not changed.
    """
    if since is not None:
        old, new = _since(ctx, db, since, old, new)
    if old is None or new is None:
        raise UsageError("give OLD and NEW (files, or snapshots as @ID / @latest), or --since")
    snapshots = list_snapshots(_db(ctx, db)) if old.startswith("@") or new.startswith("@") else []
    (old_path, old_label), (new_path, new_label) = _side_path(old, snapshots), _side_path(new, snapshots)
    fields = tuple(f.strip() for given in ignore or () for f in given.split(",") if f.strip())
    result = diff_sides(load_side(old_path, old_label), load_side(new_path, new_label), ignore=fields)
    finish(ctx, _diff_report(result, exit_code), json_mode=json_)


def history(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    keep: Annotated[
        int | None, typer.Option("--keep", min=0, help="Delete all but the N newest snapshots.")
    ] = None,
    older_than: Annotated[
        dt.datetime | None,
        typer.Option(
            "--older-than",
            click_type=When(),
            help="Delete the snapshots taken before this date or age (30d, 2026-01-31).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The snapshots fleet discover --snapshot kept (oldest first); --keep and --older-than prune them."""
    path = _db(ctx, db)
    deleted: list[Snapshot] = []
    if keep is not None or older_than is not None:
        doomed = snapshots_to_prune(list_snapshots(path), keep=keep, older_than=older_than)
        if doomed:
            what = f"{len(doomed)} snapshot(s)"
            consent(
                f"Delete {what}?",
                yes=yes,
                refusal=f"refusing to delete {what} without --yes (stdin is not a terminal)",
                hint="pass --yes to delete them",
            )
            deleted = prune_snapshots(path, keep=keep, older_than=older_than)
    snapshots = list_snapshots(path)

    def render(console: Console) -> None:
        for snap in snapshots:
            accounts = ",".join(snap.accounts) or "-"
            partial = " partial" if snap.partial else ""
            console.print(
                f"@{snap.id:<5} {snap.taken_at}  {snap.provider:<9} {snap.hosts:>7} host(s)  "
                f"{accounts}  {','.join(snap.regions)}{partial}",
                markup=False,
            )
        if deleted:
            stderr_console().print(f"deleted {len(deleted)} snapshot(s)", markup=False)
        if not snapshots:
            stderr_console().print("no snapshots yet: fleet discover --snapshot keeps one", markup=False)

    finish(ctx, Report({"snapshots": snapshots, "deleted": deleted}, render=render), json_mode=json_)


def register(app: typer.Typer) -> None:
    """Add diff and history to the fleet app."""
    app.command(
        epilog="Example (nightly, from cron): stackrig fleet diff --since 1d --ignore launch_time --exit-code"
    )(diff)
    app.command(epilog="Example: stackrig fleet history --older-than 90d --keep 100 --yes")(history)
