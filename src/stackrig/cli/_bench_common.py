"""What the bench commands share: run arguments and options, the data folder's defaults,
label/host/date parsing, consent, and the tables that show runs and their results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from stackrig import output
from stackrig._units import format_count, format_ns, format_size
from stackrig.cli._common import consent, db_path, state
from stackrig.errors import UsageError

if TYPE_CHECKING:
    from stackrig import bench

__all__ = [
    "LabelOpt",
    "RunArg",
    "YesOpt",
    "bw",
    "consent",
    "db_path",
    "group_view",
    "hosts_of",
    "labels_of",
    "lat",
    "num",
    "record_lines",
    "rows_table",
    "run_view",
    "runs_path",
    "wide",
]

RunArg = Annotated[str, typer.Argument(help="A run: id, unique id prefix, run folder, or 'latest'.")]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option("--label", "-l", help="KEY=VALUE (repeatable); only runs with all these labels."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; needed when stdin is not a terminal.")]


# ---------------------------------------------------------------- helpers


def runs_path(ctx: typer.Context, runs_dir: Path | None) -> Path:
    return runs_dir or state(ctx).paths.runs


def labels_of(items: Sequence[str] | None) -> dict[str, str]:
    from stackrig import bench

    return dict(bench.parse_label(item) for item in items or ())


def hosts_of(hosts: str | None, inventory: Path | None, limit: str | None) -> tuple[bench.FioHost, ...]:
    from stackrig import bench

    if hosts and inventory:
        raise UsageError("give --hosts or --inventory, not both")
    if limit and not inventory:
        raise UsageError("--limit needs --inventory")
    if inventory:
        return bench.hosts_from_inventory(inventory, limit)
    return tuple(bench.parse_host(h) for h in (hosts or "").split(",") if h.strip())


def num(value: float | None, unit: str = "") -> str:
    return format_count(value, unit=unit)


def bw(value: float | None) -> str:
    return "-" if value is None else f"{format_size(value, unit='MiB')}/s"


def lat(value: float | None) -> str:
    return format_ns(value, decimals=1, micro="us", missing="-")


def wide(console: Console) -> Console:
    """Pipes and files get whole rows, not tables squeezed to 80 columns."""
    if not console.is_terminal:
        console.width = max(console.width, 200)
    return console


def rows_table(rows: Sequence[bench.ResultRow], title: str | None = None) -> Table:
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
            num(row.iops),
            bw(row.bw_bytes),
            lat(row.lat_mean_ns),
            lat(row.lat_p50_ns),
            lat(row.lat_p99_ns),
            lat(row.lat_p999_ns),
        )
    return table


def record_lines(console: Console, record: bench.RunRecord) -> None:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(record.labels.items())) or "-"
    console.print(f"run {record.id}  {record.name}  [{record.status.value}]", markup=False)
    console.print(f"  folder  {record.folder}", markup=False)
    console.print(f"  started {record.started:%Y-%m-%d %H:%M:%S} UTC   labels {labels}", markup=False)
    if record.hosts:
        console.print(f"  hosts   {', '.join(record.hosts)}", markup=False)
    if record.error:
        console.print(f"  error   {record.error}", markup=False)
    for job, steady in record.steady.items():
        reached = f"reached after {steady.get('after_s')} s" if steady.get("attained") else "NOT reached"
        console.print(f"  steady  {job}: {steady.get('criterion')} {reached}", markup=False)


def run_view(record: bench.RunRecord, rows: Sequence[bench.ResultRow]) -> output.Renderer:
    def draw(console: Console) -> None:
        wide(console)
        record_lines(console, record)
        if rows:
            console.print(rows_table(rows))
        elif record.log_only:
            console.print("  no results: a log-only run (plot it: stackrig bench plot RUN)", markup=False)
        else:
            console.print("  no results", markup=False)

    return draw


def group_view(
    group: bench.RunGroup, runs: Sequence[bench.RunRecord], stats: Sequence[Mapping[str, Any]]
) -> output.Renderer:
    """A group: its runs, then per host, job, direction and metric the mean, spread and interval."""

    def draw(console: Console) -> None:
        wide(console)
        warm = sum(1 for r in runs if r.group and r.group.warmup)
        extra = f", {warm} warm-up" if warm else ""
        console.print(
            f"group {group.ref}  {group.name}  [{group.kind}]  {len(runs)} runs{extra}", markup=False
        )
        for r in runs:
            mark = " (warm-up)" if r.group and r.group.warmup else ""
            console.print(f"  {r.id}  {r.status.value}  {r.folder}{mark}", markup=False)
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("host", "job", "dir", "metric", "n", "mean", "stdev", "cv", "interval of the mean"):
            table.add_column(
                column, no_wrap=True, justify="left" if column in ("host", "job", "dir") else "right"
            )
        for row in stats:
            fmt = lat if str(row["metric"]).startswith("lat") else (bw if row["metric"] == "bw" else num)
            cv = row["cv"]
            low, high = row["ci_low"], row["ci_high"]
            table.add_row(
                str(row["host"]), str(row["job"]), str(row["direction"]), str(row["metric"]), str(row["n"]),
                fmt(_float(row["mean"])), fmt(_float(row["stdev"])),
                "-" if cv is None else f"{float(cv) * 100:.1f}%",
                "-" if low is None else f"{fmt(_float(low))} .. {fmt(_float(high))}",
            )  # fmt: skip
        console.print(table)

    return draw


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
