"""``stackrig bench``: run fio jobs locally or across a fleet, keep every result, compare runs."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from stackrig import output
from stackrig.cli import bench_views
from stackrig.cli._bench_live import live_progress
from stackrig.cli._bench_options import RunsDirOpt, TagOpt, TargetOpt
from stackrig.cli._common import finish, state
from stackrig.cli.options import AllowPartialOpt, DbOpt, JsonOpt
from stackrig.errors import ConflictError, ExitCode, UsageError

if TYPE_CHECKING:
    from stackrig import bench

app = typer.Typer(
    help="Run fio jobs locally or on fio servers, keep every run, compare and export results.",
    no_args_is_help=True,
)

RunArg = Annotated[str, typer.Argument(help="A run: id, unique id prefix, run folder, or 'latest'.")]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option("--label", "-l", help="KEY=VALUE (repeatable); only runs with all these labels."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; needed when stdin is not a terminal.")]


# ---------------------------------------------------------------- helpers


def _db(ctx: typer.Context, db: Path | None) -> Path:
    return db or state(ctx).paths.db


def _runs_dir(ctx: typer.Context, runs_dir: Path | None) -> Path:
    return runs_dir or state(ctx).paths.runs


def _labels(items: Sequence[str] | None) -> dict[str, str]:
    from stackrig import bench

    return dict(bench.parse_label(item) for item in items or ())


def _since(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"bad date {text!r}", hint="use YYYY-MM-DD or an ISO date-time") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _hosts(hosts: str | None, inventory: Path | None, limit: str | None) -> tuple[bench.FioHost, ...]:
    from stackrig import bench

    if hosts and inventory:
        raise UsageError("give --hosts or --inventory, not both")
    if limit and not inventory:
        raise UsageError("--limit needs --inventory")
    if inventory:
        return bench.hosts_from_inventory(inventory, limit)
    return tuple(bench.parse_host(h) for h in (hosts or "").split(",") if h.strip())


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConflictError(
            f"{question} needs consent", hint="pass --yes (stdin is not a terminal, cannot ask)"
        )
    typer.confirm(question, abort=True, err=True)


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.2f}{suffix}{unit}"
    return f"{value:.0f}{unit}" if abs(value) >= 10 else f"{value:.2f}{unit}"


def _bw(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1024 / 1024:.1f} MiB/s"


def _lat(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} ns"


def _wide(console: Console) -> Console:
    """Pipes and files get whole rows, not tables squeezed to 80 columns."""
    if not console.is_terminal:
        console.width = max(console.width, 200)
    return console


def _rows_table(rows: Sequence[bench.ResultRow], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("host", "job", "dir"):
        table.add_column(column, no_wrap=True)
    for column in ("IOPS", "bandwidth", "lat mean", "p50", "p99", "p99.9"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.host or "local",
            row.job,
            row.direction,
            _num(row.iops),
            _bw(row.bw_bytes),
            _lat(row.lat_mean_ns),
            _lat(row.lat_p50_ns),
            _lat(row.lat_p99_ns),
            _lat(row.lat_p999_ns),
        )
    return table


def _record_lines(console: Console, record: bench.RunRecord) -> None:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(record.labels.items())) or "-"
    console.print(f"run {record.id}  {record.name}  [{record.status.value}]", markup=False)
    console.print(f"  folder  {record.folder}", markup=False)
    console.print(f"  started {record.started:%Y-%m-%d %H:%M:%S} UTC   labels {labels}", markup=False)
    if record.hosts:
        console.print(f"  hosts   {', '.join(record.hosts)}", markup=False)
    if record.error:
        console.print(f"  error   {record.error}", markup=False)


def _run_view(record: bench.RunRecord, rows: Sequence[bench.ResultRow]) -> output.Renderer:
    def draw(console: Console) -> None:
        _wide(console)
        _record_lines(console, record)
        if rows:
            console.print(_rows_table(rows))
        else:
            console.print("  no results")

    return draw


# ---------------------------------------------------------------- commands


@app.command(epilog="Example: stackrig bench run examples/randread.fio --label cloud=aws --logs")
def run(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    jobs: Annotated[list[str], typer.Argument(help="Job files: paths or http(s) URLs.")],
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
        float, typer.Option("--status-interval", min=0, help="Seconds between progress readings (0: off).")
    ] = 1.0,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run fio jobs into a new run folder and record the run in the history.

    Each job is checked with fio --parse-only first. A failed run exits 1 and
    Ctrl-C exits 130; both keep the folder.
    """
    from stackrig import bench

    settings = bench.RunSettings(
        jobs=tuple(jobs),
        runs_dir=_runs_dir(ctx, runs_dir),
        db=_db(ctx, db),
        name=name,
        labels=_labels(label),
        target=target.absolute() if target else None,
        logs=logs,
        log_avg_msec=log_avg_msec,
        hosts=_hosts(hosts, inventory, limit),
        status_interval=status_interval,
    )
    with live_progress(json_) as progress:
        result = bench.run_jobs(settings, progress=progress)
    finish(ctx, output.Report(result, render=_run_view(result.run, result.results)), json_mode=json_)


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


@app.command("list", epilog="Example: stackrig bench list --label cloud=aws --since 2026-01-01")
def list_runs(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Name glob, e.g. 'randread*'.")] = None,
    label: LabelOpt = None,
    since: Annotated[str | None, typer.Option("--since", help="Runs started on or after this date.")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Machine or fio server (glob).")] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List recorded runs, newest first."""
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        runs = history.list(name=name, labels=_labels(label), since=_since(since), host=host)

    def draw(console: Console) -> None:
        _wide(console)
        table = Table(title=f"{len(runs)} runs", title_justify="left")
        for column in ("id", "started (UTC)", "name", "status", "hosts", "labels"):
            table.add_column(column)
        for r in runs:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(r.labels.items()))
            where = ", ".join(r.hosts) or str(r.machine.get("hostname") or "")
            table.add_row(r.id, f"{r.started:%Y-%m-%d %H:%M:%S}", r.name, r.status.value, where, labels)
        console.print(table)

    finish(ctx, output.Report({"runs": runs}, render=draw), json_mode=json_)


@app.command(epilog="Example: stackrig bench show latest")
def show(ctx: typer.Context, run: RunArg, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Show one run: its description and results per host, job and direction."""
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        record = history.resolve(run)
        rows = history.rows(record)
    finish(
        ctx, output.Report({"run": record, "results": rows}, render=_run_view(record, rows)), json_mode=json_
    )


def _compare_view(comparison: bench.Comparison) -> output.Renderer:
    def draw(console: Console) -> None:
        _wide(console)
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
            fmt = _lat if c.metric.startswith("lat") else (_bw if c.metric == "bw" else _num)
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

    return draw


@app.command(epilog="Example: stackrig bench compare 3fa2 latest --fail-on-regression 10")
def compare(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    runs: Annotated[list[str] | None, typer.Argument(help="Runs; the first is the baseline.")] = None,
    label: LabelOpt = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Comma list of iops,bw,lat_mean,lat_p50,lat_p99,lat_p999.")
    ] = None,
    fail_on_regression: Annotated[
        float | None,
        typer.Option("--fail-on-regression", help="Exit 1 when a metric worsens by more than PCT."),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Compare runs with a baseline: % change per job and direction, regressions marked.

    With --label, runs carrying those labels are added (oldest first) after the given RUNs.
    """
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        chosen = bench.select_runs(history, runs or [], _labels(label))
        comparison = bench.compare_runs(history, chosen, bench.parse_metrics(metric), fail_on_regression)
    failed = fail_on_regression is not None and bool(comparison.regressions)
    code = ExitCode.FAILED if failed else ExitCode.OK
    report = output.Report(comparison, render=_compare_view(comparison), exit_code=code)
    finish(ctx, report, json_mode=json_)


@app.command("import", epilog="Example: stackrig bench import /tmp/fio-data --label cloud=aws")
def import_(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder with fio JSON output, logs and job files.")],
    name: Annotated[str | None, typer.Option("--name", help="Run name (default: the folder's).")] = None,
    label: TagOpt = None,
    runs_dir: RunsDirOpt = None,
    allow_partial: AllowPartialOpt = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Copy fio output made elsewhere into new run folders (the source is never changed).

    A file that could not be read is named on stderr and makes the import partial:
    the rest is imported, and the exit code is 1 unless --allow-partial.
    """
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        result = bench.import_dir(
            folder, runs_dir=_runs_dir(ctx, runs_dir), history=history, name=name, labels=_labels(label)
        )

    def draw(console: Console) -> None:
        for record in result.runs:
            console.print(f"imported {record.id} {record.name} -> {record.folder}", markup=False)

    failed = tuple(f"not imported: {line}" for line in result.skipped)
    report = output.Report(result, render=draw, failed=failed, partial=bool(result.skipped))
    finish(ctx, report, json_mode=json_, allow_partial=allow_partial)


@app.command(epilog="Example: stackrig bench export latest --format csv -o results.csv")
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
    """Export results: one row per run, host, job and direction."""
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        chosen = bench.select_runs(history, runs or [], _labels(label), all_when_empty=True)
        result = bench.export_runs(history, chosen, fmt, out)
    content = result.content

    def draw(console: Console) -> None:
        if content is not None:
            console.file.write(content)

    finish(ctx, output.Report(result, render=draw), json_mode=json_)


@app.command(epilog="Example: stackrig bench delete 3fa2 --yes")
def delete(
    ctx: typer.Context, run: RunArg, yes: YesOpt = False, db: DbOpt = None, json_: JsonOpt = False
) -> None:
    """Delete a run: its history rows and its folder."""
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        record = history.resolve(run)
        _confirm(f"delete run {record.id} ({record.name}) and {record.folder}?", yes)
        history.delete(record)
    draw = lambda console: console.print(f"deleted {record.id} ({record.folder})", markup=False)  # noqa: E731
    finish(ctx, output.Report({"deleted": [record]}, render=draw), json_mode=json_)


@app.command(epilog="Example: stackrig bench prune --keep 20 --yes")
def prune(  # noqa: PLR0917 - Typer maps parameters to flags
    ctx: typer.Context,
    keep: Annotated[int | None, typer.Option("--keep", help="Keep the N newest runs.")] = None,
    older_than: Annotated[
        float | None, typer.Option("--older-than", help="Delete runs older than DAYS.")
    ] = None,
    yes: YesOpt = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete old runs (history rows and folders)."""
    from stackrig import bench

    with bench.History.open(_db(ctx, db)) as history:
        doomed = bench.plan_prune(history, keep=keep, older_than_days=older_than)
        if doomed:
            _confirm(f"delete {len(doomed)} runs ({', '.join(r.id for r in doomed[:5])}...)?", yes)
        deleted = bench.delete_runs(history, doomed)
    draw = lambda console: console.print(f"deleted {len(deleted)} runs", markup=False)  # noqa: E731
    finish(ctx, output.Report({"deleted": deleted}, render=draw), json_mode=json_)


# plot, report, serve (the dashboard) and aio live in stackrig.cli.bench_views.
bench_views.register(app)
