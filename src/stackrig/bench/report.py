"""One self-contained HTML report of one or more runs (no CDN, no script: opens offline).

For each run: its facts (status, times, labels, machine, fio version, command), a summary
table per host, job and direction, the graphs (PNG embedded as data: URIs), the job files,
and the logs that held no data. With several runs, a comparison section against the first
(the baseline), built by :func:`stackrig.bench.compare_runs`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackrig import _io
from stackrig._units import format_ns, format_size, format_thousands
from stackrig.bench.compare import DEFAULT_METRICS, compare_runs
from stackrig.bench.groups import RunGroup
from stackrig.bench.history import History, ResultRow
from stackrig.bench.model import RunRecord
from stackrig.bench.plot import Graph, PlotSettings, draw
from stackrig.errors import UsageError

__all__ = ["ReportResult", "build_report", "write_report"]


@dataclass(frozen=True, slots=True)
class ReportResult:
    path: Path | None
    runs: tuple[str, ...]
    graphs: int
    bytes: int
    html: str = ""


def _bytes_rate(value: float | None) -> str:
    """Bytes per second in IEC units (KiB/s, MiB/s, GiB/s)."""
    return "—" if value is None else f"{format_size(value)}/s"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#1b1f24;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:2px solid #d0d7de;padding-bottom:.3rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:right}th{background:#f6f8fa}
td.l,th.l{text-align:left}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.85rem}
img.graph{max-width:100%;border:1px solid #d0d7de;margin:.5rem 0}
.bad{color:#cf222e;font-weight:600}.good{color:#1a7f37}.note{color:#57606a}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _facts(run: RunRecord) -> str:
    machine = run.machine or {}
    items = [
        ("run id", run.id),
        ("status", run.status.value),
        ("started", run.started.isoformat(timespec="seconds")),
        ("ended", run.ended.isoformat(timespec="seconds") if run.ended else "—"),
        ("labels", ", ".join(f"{k}={v}" for k, v in sorted(run.labels.items())) or "—"),
        ("fio", run.fio_version or "—"),
        ("fio servers", ", ".join(run.hosts) or "— (local)"),
        ("command", " ".join(run.command) or "—"),
    ]
    items += [(f"machine {k}", v) for k, v in sorted(machine.items())]
    if run.error:
        items.append(("error", run.error))
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _no_results(run: RunRecord) -> str:
    if run.log_only:
        return (
            "No results: a log-only run (fio's logs without its JSON output); the graphs come from the logs."
        )
    if run.error:
        return f"No results: the run failed: {run.error}"
    return "No results: fio.json is missing or holds no jobs."


def _summary(run: RunRecord, rows: Sequence[ResultRow]) -> str:
    if not rows:
        return f"<p class='note'>{_e(_no_results(run))}</p>"
    head = (
        "<tr><th class='l'>host</th><th class='l'>job</th><th class='l'>direction</th><th>IOPS</th>"
        "<th>bandwidth</th><th>mean latency</th><th>p50</th><th>p99</th><th>p99.9</th><th>runtime</th></tr>"
    )
    body = "".join(
        f"<tr><td class='l'>{_e(r.host or 'local')}</td><td class='l'>{_e(r.job)}</td>"
        f"<td class='l'>{_e(r.direction)}</td><td>{format_thousands(r.iops)}</td>"
        f"<td>{_bytes_rate(r.bw_bytes)}</td>"
        f"<td>{format_ns(r.lat_mean_ns)}</td><td>{format_ns(r.lat_p50_ns)}</td><td>{format_ns(r.lat_p99_ns)}</td>"
        f"<td>{format_ns(r.lat_p999_ns)}</td><td>{format_thousands(r.runtime_ms)} ms</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


def _embed(graphs: Sequence[Graph]) -> list[str]:
    parts = []
    for path, data in graphs:
        kind = "svg+xml" if path.suffix == ".svg" else "png"
        text = base64.b64encode(data).decode("ascii")
        parts.append(f"<img class='graph' alt='{_e(path.stem)}' src='data:image/{kind};base64,{text}'>")
    return parts


def _graphs(run: RunRecord, size: tuple[int, int], drawn: Sequence[Graph] | None) -> tuple[str, int]:
    from stackrig.bench.logs import find_logs

    if drawn:
        return "\n".join(_embed(drawn)), len(drawn)
    if not find_logs(run.folder):
        return "<p class='note'>No fio logs in this run (run with <code>--logs</code> for graphs).</p>", 0
    result, graphs = draw(PlotSettings(source=run.folder, title=run.name, size=size))  # in memory only
    parts = _embed(graphs)
    if result.no_data:
        parts.append(f"<p class='note'>No data (said, not plotted): {_e(', '.join(result.no_data))}</p>")
    return "\n".join(parts), len(graphs)


def _job_files(run: RunRecord) -> str:
    out = []
    names = [j.file for j in run.jobs] or sorted(p.name for p in run.folder.glob("*.fio"))
    for name in names:
        path = run.folder / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = "(not in the run folder)"
        out.append(f"<h4>{_e(name)}</h4><pre>{_e(text)}</pre>")
    return "".join(out) or "<p class='note'>No job files recorded.</p>"


def _comparison(history: History, runs: Sequence[RunRecord]) -> str:
    comp = compare_runs(history, runs, DEFAULT_METRICS, None)
    head = (
        "<tr><th class='l'>run</th><th class='l'>host/job/direction</th><th class='l'>metric</th>"
        "<th>baseline</th><th>value</th><th>change</th></tr>"
    )
    body = []
    for c in comp.changes:
        fmt = _bytes_rate if c.metric == "bw" else (format_thousands if c.metric == "iops" else format_ns)
        pct = "—" if c.change_pct is None else f"{c.change_pct:+.1f}%"
        cls = "bad" if c.regression else "good"
        body.append(
            f"<tr><td class='l'>{_e(c.run_id)}</td><td class='l'>{_e(c.host or 'local')}/{_e(c.job)}/"
            f"{_e(c.direction)}</td><td class='l'>{_e(c.metric)}</td><td>{fmt(c.baseline)}</td>"
            f"<td>{fmt(c.value)}</td><td class='{cls}'>{pct}{' regression' if c.regression else ''}</td></tr>"
        )
    notes = "".join(f"<li>{_e(u)}</li>" for u in comp.unmatched)
    base = f"<p>Baseline: <b>{_e(comp.baseline.name)}</b> ({_e(comp.baseline.id)}); changes beyond "
    base += f"{comp.threshold_pct:g}% for the worse are marked.</p>"
    return (
        base + f"<table>{head}{''.join(body)}</table>" + (f"<ul class='note'>{notes}</ul>" if notes else "")
    )


def _cells(*values: object) -> str:
    return "".join(f"<td>{v}</td>" for v in values)


def _group_section(history: History, group: RunGroup, runs: Sequence[RunRecord]) -> str:
    """A sweep's table of points, or a repeat group's statistics per job and metric."""
    head = f"<h2>Group {_e(group.ref)} ({_e(group.name)}, {_e(group.kind)}, {len(runs)} runs)</h2>"
    if group.kind == "sweep":
        from stackrig.bench.sweepplot import sweep_points

        rows = "".join(
            "<tr>" + _cells(_e(p.rw), _e(p.bs), p.numjobs, p.iodepth, p.runs, format_thousands(p.iops),
                            _bytes_rate(p.bw_bytes), format_ns(p.lat_mean_ns),
                            format_ns(p.lat_p99_ns)) + "</tr>"
            for p in sweep_points(history, group)
        )  # fmt: skip
        sweep_cols = ("rw", "bs", "numjobs", "iodepth", "runs", "IOPS", "bandwidth", "mean latency", "p99")
        return f"{head}<table><tr>{''.join(f'<th>{c}</th>' for c in sweep_cols)}</tr>{rows}</table>"
    from stackrig.bench.noise import group_stats

    def fmt(metric: str, value: Any) -> str:
        if value is None:
            return "—"
        return (
            format_thousands(value)
            if metric == "iops"
            else (_bytes_rate(value) if metric == "bw" else format_ns(value))
        )

    body = ""
    for r in group_stats(history, group, runs):
        m = str(r["metric"])
        where = f"{_e(r['host'])}/{_e(r['job'])}/{_e(r['direction'])}"
        interval = f"{fmt(m, r['ci_low'])} .. {fmt(m, r['ci_high'])}"
        body += (
            "<tr>" + _cells(where, _e(m), r["n"], fmt(m, r["mean"]), fmt(m, r["stdev"]), interval) + "</tr>"
        )
    names = ("host/job/direction", "metric", "n", "mean", "stdev", "interval")
    return f"{head}<table><tr>{''.join(f'<th>{c}</th>' for c in names)}</tr>{body}</table>"


def build_report(
    history: History,
    runs: Sequence[RunRecord],
    *,
    graph_size: tuple[int, int] = (1100, 520),
    graphs_drawn: Mapping[str, Sequence[Graph]] | None = None,
    groups: Sequence[tuple[RunGroup, Sequence[RunRecord]]] = (),
) -> tuple[str, int]:
    """The HTML text of the report and the number of graphs in it.

    ``graphs_drawn`` maps a run id to graphs already drawn for it (embedded as they are);
    ``groups`` adds a section per group (a sweep's table of points, a repeat's statistics) and
    replaces the run-by-run comparison.
    """
    if not runs:
        raise UsageError("report needs at least one run")
    title = runs[0].name if len(runs) == 1 else f"{len(runs)} fio runs compared"
    if groups:
        title = ", ".join(f"{g.name} ({g.ref})" for g, _ in groups)
    sections = []
    graphs = 0
    toc = []
    for i, run in enumerate(runs):
        anchor = f"run{i}"
        toc.append(f"<li><a href='#{anchor}'>{_e(run.name)}</a> ({_e(run.id)})</li>")
        pictures, count = _graphs(run, graph_size, (graphs_drawn or {}).get(run.id))
        graphs += count
        sections.append(
            f"<section id='{anchor}'><h2>{_e(run.name)}</h2>{_facts(run)}<h3>Summary</h3>"
            f"{_summary(run, history.rows(run))}<h3>Graphs</h3>{pictures}"
            f"<h3>Job files</h3>{_job_files(run)}</section>"
        )
    compare = "".join(f"<section id='group{i}'>{_group_section(history, g, members)}</section>"
                      for i, (g, members) in enumerate(groups))  # fmt: skip
    if len(runs) > 1 and not groups:
        toc.append("<li><a href='#compare'>comparison</a></li>")
        compare = f"<section id='compare'><h2>Comparison</h2>{_comparison(history, runs)}</section>"
    made = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class='note'>stackrig bench report, made {made}</p>"
        f"<ul>{''.join(toc)}</ul>{compare}{''.join(sections)}</body></html>"
    )
    return doc, graphs


def write_report(
    history: History,
    runs: Sequence[RunRecord],
    output: Path | None,
    *,
    graphs_drawn: Mapping[str, Sequence[Graph]] | None = None,
    groups: Sequence[tuple[RunGroup, Sequence[RunRecord]]] = (),
) -> ReportResult:
    """Build the report; write it to ``output`` (atomically) or return its text when None."""
    text, graphs = build_report(history, runs, graphs_drawn=graphs_drawn, groups=groups)
    if output is not None:
        _io.ensure_not_input(output, [r.folder for r in runs] + [r.results_path for r in runs])
        _io.atomic_write(output, text)
    return ReportResult(
        path=output,
        runs=tuple(r.id for r in runs),
        graphs=graphs,
        bytes=len(text.encode("utf-8")),
        html="" if output is not None else text,
    )
