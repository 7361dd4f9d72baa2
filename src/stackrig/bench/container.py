"""The container image's contract: fio-tools' four images as the modes of one.

fio-tools shipped ``fio-tool`` (run the jobs), ``fio-genplots`` (fio2gnuplot),
``fio-plotserve`` (serve the folder) and ``fiotools-aio`` (all three). The stackrig
image has one entrypoint, ``stackrig bench container``, whose modes are those images;
every mode works on one data folder, the volume mounted on ``/tmp/fio-data``:

- each run is a folder at its top (fio JSON, logs, graphs, ``report.html``), and the
  history ``stackrig.db`` sits beside them: the dashboard and ``bench`` commands read it;
- job names in ``JOBFILES`` are looked up there; nothing in it is ever deleted
  (fio-tools emptied it on every run).

This module holds what the modes decide; the CLI only parses and renders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stackrig.bench.aio import DB_FILE, FIO_DATA, AioRequest, AioResult, plan_aio, run_aio
from stackrig.bench.runner import ProgressCallback
from stackrig.errors import UsageError

__all__ = ["FIO_DATA", "DataFolder", "run_from_env"]

LOG_AVG_MSEC = 100  # the all-in-one's graphs: 10 points a second, as fio2gnuplot users expect


@dataclass(frozen=True, slots=True)
class DataFolder:
    """The data folder of the container modes (the volume root)."""

    root: Path = FIO_DATA

    @property
    def runs(self) -> Path:
        """Run folders live at the top of the data folder, as fio-tools' results did."""
        return self.root

    @property
    def db(self) -> Path:
        return self.root / DB_FILE

    def plot_source(self) -> str:
        """What ``plot`` draws when no source is named.

        fio logs at the top of the folder (copied there, as fio-tools users did) are drawn
        in place; otherwise the latest run made in the folder.
        """
        if any(self.root.glob("*.log")) or any(self.root.glob("*.log.*")):
            return str(self.root)
        return "latest"

    def check_writable(self) -> None:
        """A clear error before fio runs, when the volume cannot take the results."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise UsageError(f"data folder {root} is not a folder")
        probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
        if not os.access(probe, os.W_OK | os.X_OK):
            try:
                owner = f"uid {probe.stat().st_uid}"
            except OSError:
                owner = "another user"
            raise UsageError(
                f"cannot write the results to {probe} (owned by {owner}, running as uid {os.getuid()})",
                hint="run the container with --user $(id -u):$(id -g) of the folder's owner",
            )


def run_from_env(
    environ: Mapping[str, str],
    folder: DataFolder,
    *,
    labels: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
) -> AioResult:
    """fio-tool's job: run the jobs the environment names into a new folder of ``folder``.

    The graphs (every log kind) and the report are written into the run folder, and the
    run is recorded in the folder's history. Earlier runs are kept. ``REMOTEFILES`` entries
    no ``JOBFILES`` name asked for are in the result's ``ignored``.
    """
    request = AioRequest(
        environ=environ,
        fio_data=folder.root,
        runs_dir=folder.runs,
        db=folder.db,
        labels=dict(labels or {}),
        log_avg_msec=LOG_AVG_MSEC,
    )
    plan = plan_aio(request)  # UsageError before anything is written when no job is named
    folder.check_writable()
    return run_aio(plan, progress=progress)
