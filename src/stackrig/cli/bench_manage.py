"""``stackrig bench compare|import|export|delete|prune|fsck``: the history's runs, compared and kept.

Registered on the bench family's Typer app by :func:`register` (called from ``stackrig.cli.bench``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from stackrig import output
from stackrig.cli._bench_common import (
    LabelOpt,
    RunArg,
    YesOpt,
    bw,
    consent,
    db_path,
    labels_of,
    lat,
    num,
    runs_path,
    wide,
)
from stackrig.cli._bench_options import RunsDirOpt, TagOpt
from stackrig.cli._common import finish
from stackrig.cli.options import AllowPartialOpt, DbOpt, JsonOpt, When
from stackrig.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from stackrig import bench

__all__ = ["register"]

_COMMANDS: list[tuple[dict[str, Any], Callable[..., None]]] = []


def _command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Note a command; :func:`register` adds them to the app in order."""

    def add(func: Callable[..., None]) -> Callable[..., None]:
        if args:
            kwargs["name"] = args[0]
        _COMMANDS.append((kwargs, func))
        return func

    return add


def _compare_view(comparison: bench.Comparison) -> output.Renderer:
    def draw(console: Console) -> None:
        wide(console)
        base = comparison.baseline
        console.print(
            f"baseline {base.id} ({base.name}); regression = worse by more than "
            f"{comparison.threshold_pct:g}%",
            markup=False,
        )
        table = Table(title_justify="left")
        for column in ("run", "host", "job", "dir", "metric", "baseline", "value", "change", ""):
            table.add_column(column)
        for c in comparison.changes:
            fmt = lat if c.metric.startswith("lat") else (bw if c.metric == "bw" else num)
            change = "-" if c.change_pct is None else f"{c.change_pct:+.1f}%"
            mark = "[red]REGRESSION[/red]" if c.regression else ""
            row = (
                c.run_id,
                c.host or "local",
                c.job,
                c.direction,
                c.metric,
                fmt(c.baseline),
                fmt(c.value),
                change,
            )
            table.add_row(*(t.replace("[", r"\[") for t in row), mark)
        console.print(table)
        for line in comparison.unmatched:
            console.print(f"unmatched: {line}", markup=False)
        console.print(f"note: {comparison.note}", markup=False)

    return draw


def _group_compare_view(comparison: bench.GroupComparison) -> output.Renderer:
    def side(label: str, s: bench.noise.Side) -> str:
        what = f"group {s.group.ref} ({s.group.name})" if s.group else f"run {s.runs[0]}"
        return f"{label} {what}: {len(s.runs)} run(s)"

    def draw(console: Console) -> None:
        wide(console)
        console.print(side("baseline", comparison.baseline), markup=False)
        console.print(side("candidate", comparison.candidate), markup=False)
        gate = comparison.threshold_pct
        rule = f"; regression = worse by more than {gate:g}%" if gate is not None else ""
        sig = " and significant" if comparison.noise_aware and gate is not None else ""
        console.print(f"confidence {comparison.confidence:g}{rule}{sig}", markup=False)
        table = Table(box=box.SIMPLE_HEAD)
        for column in (
            "host",
            "job",
            "dir",
            "metric",
            "baseline",
            "candidate",
            "change",
            "interval",
            "verdict",
        ):
            table.add_column(column, no_wrap=True)
        for c in comparison.changes:
            fmt = lat if c.metric.startswith("lat") else (bw if c.metric == "bw" else num)

            interval = "-" if c.low_pct is None else f"{c.low_pct:+.1f}% .. {c.high_pct:+.1f}%"
            verdict = c.verdict.upper() if c.regression else c.verdict
            sides = (_spread(fmt, c.baseline), _spread(fmt, c.candidate))
            row = (
                c.host or "local",
                c.job,
                c.direction,
                c.metric,
                *sides,
                f"{c.change_pct:+.1f}%",
                interval,
                verdict,
            )
            style = "red" if c.regression else ("green" if c.verdict == "faster" else None)
            table.add_row(*row, style=style)
        console.print(table)
        for line in comparison.unmatched:
            console.print(f"unmatched: {line}", markup=False)
        if comparison.note:
            console.print(f"note: {comparison.note}", markup=False)

    return draw


def _spread(fmt: Callable[[float | None], str], summary: Any) -> str:
    sd = f" ± {fmt(summary.stdev)}" if summary.stdev is not None else ""
    return f"{fmt(summary.mean)}{sd} (n={summary.n})"


@_command(epilog="Example: stackrig bench compare g:3fa2 latest-group --fail-on-regression 10")
def compare(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    runs: Annotated[list[str] | None, typer.Argument(help="Runs; the first is the baseline.")] = None,
    label: LabelOpt = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Comma list of iops,bw,lat_mean,lat_p50,lat_p99,lat_p999.")
    ] = None,
    fail_on_regression: Annotated[
        float | None,
        typer.Option(
            "--fail-on-regression",
            help="Exit 1 when a metric worsens by more than PCT (and, for groups, significantly).",
        ),
    ] = None,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Confidence level of the intervals (groups).")
    ] = 0.95,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Compare runs with a baseline, or two groups of runs with noise taken into account.

    BASELINE CANDIDATE as groups (g:ID, latest-group; from bench run --repeat): per job,
    direction and metric, each side's mean and spread, the relative change with a
    confidence interval (Welch's t on the logarithms) and a verdict: faster, slower or
    no significant change. --fail-on-regression PCT then fails only on a change worse
    than PCT that is significant. With a single run on a side, the plain threshold
    applies and no confidence is given. Runs only: % change of each run against the
    first; with --label, runs carrying those labels are added (oldest first).
    """
    from stackrig import bench

    refs = runs or []
    if any(bench.is_group_ref(r) for r in refs):
        if len(refs) != 2 or label:
            raise UsageError("compare groups as BASELINE CANDIDATE (two refs, no --label)")
        with bench.History.open(db_path(ctx, db)) as history:
            grouped = bench.compare_groups(
                history, refs[0], refs[1], bench.parse_metrics(metric),
                confidence=confidence, threshold_pct=fail_on_regression,
            )  # fmt: skip
        code = ExitCode.FAILED if grouped.regressions else ExitCode.OK
        report = output.Report(grouped, render=_group_compare_view(grouped), exit_code=code,
                               warnings=grouped.warnings)  # fmt: skip
        finish(ctx, report, json_mode=json_)
        return
    with bench.History.open(db_path(ctx, db)) as history:
        chosen = bench.select_runs(history, runs or [], labels_of(label))
        comparison = bench.compare_runs(history, chosen, bench.parse_metrics(metric), fail_on_regression)
    failed = fail_on_regression is not None and bool(comparison.regressions)
    code = ExitCode.FAILED if failed else ExitCode.OK
    report = output.Report(
        comparison, render=_compare_view(comparison), exit_code=code, warnings=comparison.warnings
    )
    finish(ctx, report, json_mode=json_)


@_command("import", epilog="Example: stackrig bench import /tmp/fio-data --label cloud=aws")
def import_(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder with fio JSON output, logs and job files.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Run name (default: the folder's; with several runs, their prefix)."),
    ] = None,
    label: TagOpt = None,
    runs_dir: RunsDirOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be taken and left; write nothing.")
    ] = False,
    allow_partial: AllowPartialOpt = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import fio output made elsewhere: each result with its logs, and folders of logs alone.

    fio's JSON is found by content (any name, e.g. Ceph CBT's output.0), sub-folders
    included; logs go with the jobs fio named them after (write_*_log=); logs no result
    claims become a log-only run. Files are copied; the source is never changed. A file
    imported before (same sha256) is not imported again. A file that should be fio output
    but cannot be read is named on stderr and makes the import partial: the rest is
    imported, and the exit code is 1 unless --allow-partial.
    """
    from stackrig import bench

    database = db_path(ctx, db)
    history = None if dry_run and not database.is_file() else bench.History.open(database)
    try:
        result = bench.import_dir(
            folder, runs_dir=runs_path(ctx, runs_dir), history=history, name=name,
            labels=labels_of(label), dry_run=dry_run,
        )  # fmt: skip
    finally:
        if history is not None:
            history.close()
    failed = tuple(f"could not read {note.path}: {note.why}" for note in result.failed)
    report = output.Report(result, render=_import_view(result), failed=failed, partial=result.partial)
    finish(ctx, report, json_mode=json_, allow_partial=allow_partial)


def _import_view(result: bench.ImportResult) -> output.Renderer:
    def draw(console: Console) -> None:
        verb = "would import" if result.dry_run else "imported"
        by_run: dict[str, list[str]] = {}
        for taken in result.taken:
            by_run.setdefault(taken.run, []).append(f"{taken.role} {taken.path}")
        for record in result.runs:
            shown = "log-only run" if record.log_only else "run"
            console.print(f"{verb} {shown} {record.id} {record.name} -> {record.folder}", markup=False)
        if result.dry_run:
            for name in result.planned:
                console.print(f"{verb} run {name}", markup=False)
        for run, files in by_run.items():
            for line in files:
                console.print(f"  {run}: {line}", markup=False)
        for note in result.duplicates:
            console.print(f"already imported: {note.path} ({note.why})", markup=False)
        for note in result.left:
            console.print(f"left: {note.path}: {note.why}", markup=False)

    return draw


@_command(epilog="Example: stackrig bench export latest --format csv -o results.csv")
def export(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    runs: Annotated[
        list[str] | None, typer.Argument(help="Runs to export (default: all matching --label).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    label: LabelOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Export results: one row per run, host, job and direction; for groups (g:ID), one row per
    group, host, job, direction and metric with n, mean, stdev, cv and the interval of the mean."""
    from stackrig import bench

    refs = runs or []
    with bench.History.open(db_path(ctx, db)) as history:
        if any(bench.is_group_ref(r) for r in refs):
            if label or not all(bench.is_group_ref(r) for r in refs):
                raise UsageError("export groups (g:ID) or runs, not both: their rows differ")
            groups = [bench.resolve_runs(history, r) for r in refs]
            pairs = [(g, members) for g, members in groups if g is not None]
            result = bench.export_runs(history, [], fmt, out, groups=pairs)
        else:
            chosen = bench.select_runs(history, refs, labels_of(label), all_when_empty=True)
            result = bench.export_runs(history, chosen, fmt, out)
    content = result.content

    def draw(console: Console) -> None:
        if content is not None:
            console.file.write(content)

    finish(ctx, output.Report(result, render=draw), json_mode=json_)


@_command(epilog="Example: stackrig bench delete 3fa2 --yes")
def delete(
    ctx: typer.Context, run: RunArg, yes: YesOpt = False, db: DbOpt = None, json_: JsonOpt = False
) -> None:
    """Delete a run (its history rows and its folder), or every run of a group (g:ID)."""
    from stackrig import bench

    with bench.History.open(db_path(ctx, db)) as history:
        if bench.is_group_ref(run):
            group = bench.resolve_group(history, run)
            consent(f"delete group {group.ref} ({group.name}) and its {group.runs} runs?", yes=yes)
            gone = bench.delete_group(history, group)
            shown = lambda console: console.print(  # noqa: E731
                f"deleted group {group.ref} and {len(gone)} runs", markup=False
            )
            finish(ctx, output.Report({"group": group, "deleted": gone}, render=shown), json_mode=json_)
            return
        record = history.resolve(run)
        consent(f"delete run {record.id} ({record.name}) and {record.folder}?", yes=yes)
        history.delete(record)
    draw = lambda console: console.print(f"deleted {record.id} ({record.folder})", markup=False)  # noqa: E731
    finish(ctx, output.Report({"deleted": [record]}, render=draw), json_mode=json_)


@_command(epilog="Example: stackrig bench prune --keep 20 --older-than 90d --yes")
def prune(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    keep: Annotated[int | None, typer.Option("--keep", help="Keep the N newest runs.")] = None,
    older_than: Annotated[
        dt.datetime | None,
        typer.Option(
            "--older-than",
            click_type=When(),
            help="Delete runs started before this date, or older than this age (90d).",
        ),
    ] = None,
    yes: YesOpt = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete old runs (history rows and folders)."""
    from stackrig import bench

    with bench.History.open(db_path(ctx, db)) as history:
        doomed = bench.plan_prune(history, keep=keep, older_than=older_than)
        if doomed:
            consent(f"delete {len(doomed)} runs ({', '.join(r.id for r in doomed[:5])}...)?", yes=yes)
        deleted = bench.delete_runs(history, doomed)
    draw = lambda console: console.print(f"deleted {len(deleted)} runs", markup=False)  # noqa: E731
    finish(ctx, output.Report({"deleted": deleted}, render=draw), json_mode=json_)


@_command(epilog="Example: stackrig bench fsck --repair")
def fsck(
    ctx: typer.Context,
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what is found (without it, only report: a dry run).")
    ] = False,
    runs_dir: RunsDirOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check that the history and the runs folder agree; --repair makes them.

    Finds runs still marked running whose process is gone (recorded as interrupted), rows
    whose folder is gone (deleted), run folders the history does not know (indexed) and
    half-built folders of killed imports (removed). Exits 1 when something is wrong and
    was not repaired.
    """
    from stackrig import bench
    from stackrig.bench.fsck import fsck as check

    with bench.History.open(db_path(ctx, db)) as history:
        result = check(history, runs_path(ctx, runs_dir), repair=repair)

    def draw(console: Console) -> None:
        for f in result.findings:
            done = " (repaired)" if f.repaired else ""
            console.print(f"{f.kind}: {f.run_id or '-'} {f.folder}: {f.detail}{done}", markup=False)
        verdict = "clean" if not result.findings else "repaired" if result.clean else "not repaired"
        console.print(
            f"fsck: {result.rows} runs in the history, {result.folders} run folders, "
            f"{len(result.findings)} problems: {verdict}",
            markup=False,
        )
        if result.findings and not repair:
            console.print("run `stackrig bench fsck --repair` to fix them", markup=False)

    code = ExitCode.OK if result.clean else ExitCode.FAILED
    finish(ctx, output.Report(result, render=draw, exit_code=code), json_mode=json_)


def register(app: typer.Typer) -> None:
    """Add compare, import, export, delete and prune to the bench family's app."""
    for kwargs, func in _COMMANDS:
        app.command(**kwargs)(func)
