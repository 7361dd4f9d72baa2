"""``stackrig bench``: run fio jobs locally or across a fleet, keep every result, compare runs.

This module holds run, server, list and show; compare, import, export, delete and prune are in
:mod:`stackrig.cli.bench_manage`; plot, report, serve and aio in :mod:`stackrig.cli.bench_views`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from stackrig import output
from stackrig._units import Seconds
from stackrig.cli import bench_container, bench_manage, bench_sweep, bench_views
from stackrig.cli._bench_common import (
    LabelOpt,
    RunArg,
    YesOpt,
    db_path,
    group_view,
    hosts_of,
    labels_of,
    run_view,
    runs_path,
    wide,
)
from stackrig.cli._bench_live import live_progress
from stackrig.cli._bench_options import RunsDirOpt, TagOpt, TargetOpt
from stackrig.cli._common import finish
from stackrig.cli.options import DbOpt, Duration, JsonOpt, When
from stackrig.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from stackrig import bench

app = typer.Typer(
    help="Run fio jobs locally or on fio servers, keep every run, compare and export results.",
    no_args_is_help=True,
)


# ---------------------------------------------------------------- commands


@app.command(epilog="Example: stackrig bench run examples/randread.fio --label cloud=aws --logs")
def run(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    jobs: Annotated[list[str] | None, typer.Argument(help="Job files: paths or http(s) URLs.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Run name (default: the first job's).")] = None,
    label: TagOpt = None,
    runs_dir: RunsDirOpt = None,
    target: TargetOpt = None,
    logs: Annotated[
        bool, typer.Option("--logs", help="Write bw/iops/lat/clat/slat logs for all jobs.")
    ] = False,
    log_avg_msec: Annotated[
        int, typer.Option("--log-avg-msec", min=1, help="Average log samples (ms).")
    ] = 1000,
    hosts: Annotated[
        str | None, typer.Option("--hosts", help="fio servers H1[:PORT],H2,... (client/server mode).")
    ] = None,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", help="Ansible inventory whose hosts run fio --server.")
    ] = None,
    limit: Annotated[str | None, typer.Option("--limit", help="Only this inventory group.")] = None,
    status_interval: Annotated[
        float,
        typer.Option(
            "--status-interval", click_type=Duration(), help="Time between progress readings (0: off)."
        ),
    ] = Seconds(1),
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from", help="Repeat RUN: its job copies and its options (new --name/--label allowed)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check each job with fio, print the effective job and command; run nothing."
        ),
    ] = False,
    repeat: Annotated[
        int | None,
        typer.Option("--repeat", min=1, help="Run N times as one group (g:ID) for bench compare."),
    ] = None,
    interleave: Annotated[
        bool, typer.Option("--interleave", help="With --repeat: each job file its own run, round robin.")
    ] = False,
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, help="With --repeat: K runs first, kept but left out of stats.")
    ] = 0,
    precondition: Annotated[
        bool,
        typer.Option("--precondition", help="First write the job's files sequentially, twice (SNIA PTS)."),
    ] = False,
    steady_state: Annotated[
        str | None,
        typer.Option(
            "--steady-state", help="fio's steady state METRIC:LIMIT:DURATION[:RAMP], e.g. iops:10%:60s."
        ),
    ] = None,
    require_steady: Annotated[
        bool, typer.Option("--require-steady", help="Exit 1 when a job does not reach steady state.")
    ] = False,
    yes: YesOpt = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run fio jobs into a new run folder and record the run in the history.

    Each job is checked with fio --parse-only first (as given and as it will run). The
    run folder keeps each job file byte for byte and, beside it, the effective job fio
    ran (stackrig's [global] section first), and every file a job includes (fio's
    `include FILE`, relative to the job file's folder or URL; a missing one exits 2),
    so --from RUN repeats a run exactly. A
    failed run exits 1 and Ctrl-C exits 130; both keep the folder. --dry-run exits 0
    when fio accepts every job, 2 when it refuses one.
    """
    from stackrig import bench

    if from_run and jobs:
        raise UsageError("give job files or --from RUN, not both")
    if not from_run and not jobs:
        raise UsageError("give job files (paths or http(s) URLs) or --from RUN")
    settings = bench.RunSettings(
        jobs=tuple(jobs or ()),
        runs_dir=runs_path(ctx, runs_dir),
        db=db_path(ctx, db),
        name=name,
        labels=labels_of(label),
        target=target.absolute() if target else None,
        logs=logs,
        log_avg_msec=log_avg_msec,
        hosts=hosts_of(hosts, inventory, limit),
        status_interval=status_interval,
        steady_state=bench.parse_steady_state(steady_state) if steady_state else {},
        precondition=precondition,
        allow_raw_device=yes,
    )
    if require_steady and not steady_state:
        raise UsageError("--require-steady needs --steady-state METRIC:LIMIT:DURATION")
    if from_run:
        with bench.History.open(settings.db) as history:
            record = bench.resolve_runs(history, from_run)[1][0]  # a group: its first run
        settings = bench.settings_from_run(record, settings, name=name, labels=labels_of(label))
    if dry_run:
        plan = bench.plan_run(settings)
        code = ExitCode.OK if plan.valid else ExitCode.USAGE
        finish(ctx, output.Report(plan, render=_plan_view(plan), exit_code=code), json_mode=json_)
        return
    if repeat is None and (interleave or warmup):
        raise UsageError("--interleave and --warmup go with --repeat N")
    if repeat is not None:
        _run_group(ctx, settings, repeat=repeat, warmup=warmup, interleave=interleave, json_=json_)
        return
    with live_progress(json_) as progress:
        result = bench.run_jobs(settings, progress=progress)
    unsteady = [f"job {job}: steady state ({state['criterion']}) not reached"
                for job, state in result.run.steady.items() if not state.get("attained")]  # fmt: skip
    code = ExitCode.FAILED if require_steady and unsteady else ExitCode.OK
    report = output.Report(result, render=run_view(result.run, result.results), warnings=tuple(unsteady),
                           exit_code=code)  # fmt: skip
    finish(ctx, report, json_mode=json_)


def _run_group(
    ctx: typer.Context,
    settings: bench.RunSettings,
    *,
    repeat: int,
    warmup: int,
    interleave: bool,
    json_: bool,
) -> None:
    from stackrig import bench

    err = output.stderr_console()

    def started(position: int, total: int, is_warmup: bool) -> None:
        if not json_:
            err.print(f"run {position}/{total}{' (warm-up)' if is_warmup else ''}", markup=False)

    with live_progress(json_) as progress:
        result = bench.run_group(
            settings, repeat=repeat, warmup=warmup, interleave=interleave, progress=progress, started=started
        )
    with bench.History.open(settings.db) as history:
        stats = bench.group_stats(history, result.group, [r.run for r in result.counted])
    data = {"group": result.group, "runs": [r.run for r in result.runs], "stats": stats}
    finish(ctx, output.Report(data, render=group_view(result.group, [r.run for r in result.runs], stats)),
           json_mode=json_)  # fmt: skip


def _plan_view(plan: bench.RunPlan) -> output.Renderer:
    def draw(console: Console) -> None:
        for check in plan.jobs:
            verdict = "accepted by fio" if check.accepted else "REFUSED by fio"
            console.print(f"job {check.source}: {verdict}", markup=False)
            if check.complaint:
                console.print(check.complaint, markup=False)
            if check.includes:
                console.print(f"includes (copied beside it): {', '.join(check.includes)}", markup=False)
            note = f" (fio reads ${{STACKRIG_RUN_SCRATCH}} as {plan.scratch})" if plan.scratch else ""
            console.print(f"--- effective job {check.effective}{note}", markup=False)
            console.file.write(check.text if check.text.endswith("\n") else check.text + "\n")
        console.print("command (run in the new run folder): " + " ".join(plan.command), markup=False)

    return draw


@app.command(epilog="Example: stackrig bench server --host 10.0.0.5 --port 8765")
def server(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
) -> None:
    """Run fio --server in the foreground (Ctrl-C stops it), for bench run --hosts on another machine.

    fio's server has no authentication: anyone who can reach the port can run
    jobs as this user. Bind it beyond loopback only on a trusted network.
    """
    from stackrig import bench

    err = output.stderr_console()
    if not bench.is_loopback(host):
        err.print(
            f"warning: fio's server has no authentication; anyone reaching {host}:{port} can run jobs here",
            markup=False,
        )
    err.print(f"fio server listening on {host}:{port} (Ctrl-C stops it)", markup=False)
    bench.run_fio_server(host, port)


@app.command("list", epilog="Example: stackrig bench list --label cloud=aws --since 7d")
def list_runs(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Name glob, e.g. 'randread*'.")] = None,
    label: LabelOpt = None,
    since: Annotated[
        dt.datetime | None,
        typer.Option(
            "--since", click_type=When(), help="Runs started at or after this date, or within this age (7d)."
        ),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Machine or fio server (glob).")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Show the N newest (0: all); the total is said.")
    ] = 100,
    groups: Annotated[bool, typer.Option("--groups", help="List the groups of runs instead.")] = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List recorded runs (or groups of runs), newest first."""
    from stackrig import bench

    with bench.History.open(db_path(ctx, db)) as history:
        if groups:
            found = bench.list_groups(history, limit=limit or None)
            finish(ctx, output.Report({"groups": found}, render=_groups_view(found)), json_mode=json_)
            return
        labels, after = labels_of(label), since
        runs = history.list(name=name, labels=labels, since=after, host=host, limit=limit or None)
        full = limit and len(runs) >= limit
        total = history.count(name=name, labels=labels, since=after, host=host) if full else len(runs)

    def draw(console: Console) -> None:
        wide(console)
        shown = f"{len(runs)} runs" if total == len(runs) else f"{len(runs)} of {total} runs (--limit 0: all)"
        table = Table(title=shown, title_justify="left")
        for column in ("id", "started (UTC)", "name", "status", "group", "hosts", "labels"):
            table.add_column(column)
        for r in runs:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(r.labels.items()))
            where = ", ".join(r.hosts) or str(r.machine.get("hostname") or "")
            group = f"g:{r.group.id}#{r.group.seq}" if r.group else ""
            table.add_row(
                r.id, f"{r.started:%Y-%m-%d %H:%M:%S}", r.name, r.status.value, group, where, labels
            )
        console.print(table)

    finish(ctx, output.Report({"runs": runs, "total": total}, render=draw), json_mode=json_)


def _groups_view(groups: list[bench.RunGroup]) -> output.Renderer:
    def draw(console: Console) -> None:
        wide(console)
        table = Table(title=f"{len(groups)} groups", title_justify="left")
        for column in ("group", "created (UTC)", "name", "kind", "runs"):
            table.add_column(column)
        for g in groups:
            table.add_row(g.ref, f"{g.created:%Y-%m-%d %H:%M:%S}", g.name, g.kind, str(g.runs))
        console.print(table)

    return draw


@app.command(epilog="Example: stackrig bench show latest")
def show(ctx: typer.Context, run: RunArg, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Show one run (its description and results per host, job and direction) or a group (g:ID):
    its runs and, per job and metric, the mean, spread and interval."""
    from stackrig import bench

    with bench.History.open(db_path(ctx, db)) as history:
        if bench.is_group_ref(run):
            group = bench.resolve_group(history, run)
            runs = bench.group_runs(history, group.id, warmup=True)
            counted = [r for r in runs if not (r.group and r.group.warmup)]
            stats = bench.group_stats(history, group, counted)
            data = {"group": group, "runs": runs, "stats": stats}
            finish(ctx, output.Report(data, render=group_view(group, runs, stats)), json_mode=json_)
            return
        record = history.resolve(run)
        rows = history.rows(record)
    finish(
        ctx, output.Report({"run": record, "results": rows}, render=run_view(record, rows)), json_mode=json_
    )


# compare, import, export, delete and prune; then plot, report, serve (the dashboard) and aio.
bench_manage.register(app)
bench_sweep.register(app)
bench_views.register(app)
bench_container.register(app)
