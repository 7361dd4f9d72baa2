"""Choose, export and prune runs; run a fio server."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stackrig import _io, _proc
from stackrig.bench.compare import export_rows, format_rows
from stackrig.bench.groups import RunGroup
from stackrig.bench.history import History
from stackrig.bench.model import (
    META_FILE,
    RunRecord,
)
from stackrig.bench.noise import GROUP_EXPORT_FIELDS, group_stats
from stackrig.errors import ConflictError, FailedError, InterruptError, UsageError

__all__ = [
    "ExportResult",
    "delete_runs",
    "export_runs",
    "is_loopback",
    "plan_prune",
    "run_fio_server",
    "select_runs",
]

log = logging.getLogger("stackrig.bench")


def select_runs(
    history: History,
    refs: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    all_when_empty: bool = False,
) -> list[RunRecord]:
    """The runs named by ``refs`` (in order), then those carrying every label (oldest first).

    With neither refs nor labels: every run when ``all_when_empty``, else UsageError.
    """
    chosen = [history.resolve(ref) for ref in refs]
    if labels or (all_when_empty and not chosen):
        known = {r.id for r in chosen}
        chosen += [r for r in history.list(labels=labels, newest_first=False) if r.id not in known]
    if not chosen and not all_when_empty:
        raise UsageError("name the runs (RUN... and/or --label)")
    return chosen


@dataclass(frozen=True, slots=True)
class ExportResult:
    runs: tuple[str, ...]
    output: Path | None
    """The file written, or None when the content goes to stdout."""
    content: str | None = None
    """The exported text when it was not written to a file."""


def export_runs(
    history: History,
    runs: Sequence[RunRecord],
    fmt: str,
    output: Path | None,
    *,
    groups: Sequence[tuple[RunGroup, Sequence[RunRecord]]] = (),
    confidence: float = 0.95,
) -> ExportResult:
    """Rows of ``runs`` as CSV or JSON, written atomically to ``output`` (or returned).

    With ``groups`` (and no runs): one row per group, host, job, direction and metric with
    the group's statistics (n, mean, stdev, cv, interval of the mean, min, max).
    """
    if groups:
        if runs:
            raise UsageError("export groups or runs, not both (their rows differ)")
        rows = [row for group, members in groups for row in group_stats(history, group, members, confidence)]
        content = format_rows(rows, fmt, GROUP_EXPORT_FIELDS)
        ids = tuple(r.id for _, members in groups for r in members)
    else:
        content = format_rows(export_rows(history, runs), fmt)
        ids = tuple(r.id for r in runs)
    if output is None:
        return ExportResult(ids, None, content)
    if (output.absolute().parent / META_FILE).is_file():
        raise ConflictError(
            f"refusing to write {output}: it is inside a run folder, which holds a run's own files",
            hint="write the export outside the runs folder",
        )
    _io.ensure_not_input(output, [history.path])
    _io.atomic_write(output, content)
    return ExportResult(ids, output)


def delete_runs(history: History, runs: Sequence[RunRecord]) -> list[RunRecord]:
    """Delete each run (history rows and folder), in order; return those deleted."""
    deleted = []
    for record in runs:
        history.delete(record)
        deleted.append(record)
    return deleted


def plan_prune(history: History, *, keep: int | None, older_than: dt.datetime | None) -> list[RunRecord]:
    """The runs ``prune`` would delete: beyond the newest ``keep``, and/or started before ``older_than``."""
    if keep is None and older_than is None:
        raise UsageError("say what to prune", hint="use --keep N and/or --older-than AGE (90d) or DATE")
    if keep is not None and keep < 0:
        raise UsageError("--keep takes 0 or more")
    runs = history.list()
    doomed = runs[keep:] if keep is not None else runs
    if older_than is not None:
        doomed = [r for r in doomed if r.started < older_than]
    return doomed


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(host: str, port: int) -> None:
    """fio exits 0 when it cannot listen; find out first and say why."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise FailedError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="use an address of this machine and a free port",
        ) from exc


def run_fio_server(host: str, port: int) -> int:
    """Run ``fio --server`` in the foreground until it ends or Ctrl-C; return fio's exit code."""
    if not 0 < port < 65536:
        raise UsageError(f"bad port {port}", hint="use 1-65535")
    address = f"ip6:{host},{port}" if ":" in host else f"ip:{host},{port}"
    _check_bind(host, port)
    proc = _proc.start("fio", [f"--server={address}"], stdout=None, stderr=None, needed_for="bench server")
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise InterruptError("fio server stopped") from None
    if code != 0:
        raise FailedError(
            f"fio --server={address} exited with {code}", hint="is the address local and the port free?"
        )
    return code
