"""fio log file names: what a name says (prefix, kind, job index, host) and finding logs.

fio names a log ``<prefix>_<kind>.<job>.log`` (``<prefix>`` is the value of
``write_bw_log=`` and the like, or the job name when the option has no value),
``<prefix>_<kind>.log`` with ``per_job_logs=0``, and a fio client appends ``.<host>``
for each server (``<prefix>_<kind>.<job>.log.<host>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "KINDS",
    "LOG_OPTIONS",
    "LogName",
    "LogPrefix",
    "find_logs",
    "log_prefixes",
    "parse_log_name",
    "prefix_of",
]

#: Log kinds and the unit of their value column.
KINDS: dict[str, str] = {
    "bw": "KiB/s",
    "iops": "IOPS",
    "lat": "ns",
    "clat": "ns",
    "slat": "ns",
    "clat_hist": "ns",
}

_NAME = re.compile(
    r"^(?P<prefix>.*?)_(?P<kind>clat_hist|bw|iops|clat|slat|lat)"
    r"(?:\.(?P<job>\d+))?\.log(?:\.(?P<host>[^/]+))?$"
)


@dataclass(frozen=True, slots=True)
class LogName:
    """What a log's file name says: ``<prefix>_<kind>[.<job>].log[.<host>]``."""

    path: Path
    prefix: str
    kind: str
    job: int | None
    host: str | None

    @property
    def label(self) -> str:
        """A short name for legends: ``prefix.job`` plus the host in client mode."""
        text = self.prefix if self.job is None else f"{self.prefix}.{self.job}"
        return f"{text}@{self.host}" if self.host else text

    @property
    def is_hist(self) -> bool:
        return self.kind == "clat_hist"


def parse_log_name(path: str | Path) -> LogName | None:
    """The parts of a fio log file name, or None when it is not one."""
    p = Path(path)
    match = _NAME.match(p.name)
    if match is None or not match.group("prefix"):
        return None
    job = match.group("job")
    return LogName(
        path=p,
        prefix=match.group("prefix"),
        kind=match.group("kind"),
        job=int(job) if job is not None else None,
        host=match.group("host"),
    )


def find_logs(folder: str | Path, pattern: str = "*") -> list[LogName]:
    """Every fio log in ``folder`` whose name matches the shell ``pattern``, in job order:
    by prefix and kind, then job number as a number (job 2 before job 10), then host."""
    base = Path(folder)
    found: list[LogName] = []
    for p in base.glob(pattern):
        if not p.is_file():
            continue
        name = parse_log_name(p)
        if name is not None:
            found.append(name)
    found.sort(key=lambda n: (n.prefix, n.kind, n.job or 0, n.host or "", n.path.name))
    return found


# ---------------------------------------------------------------- which job a log belongs to

#: The options that make fio write logs, and the kinds each one writes.
LOG_OPTIONS: dict[str, tuple[str, ...]] = {
    "write_bw_log": ("bw",),
    "write_iops_log": ("iops",),
    "write_lat_log": ("lat", "clat", "slat"),
    "write_hist_log": ("clat_hist",),
}


@dataclass(frozen=True, slots=True)
class LogPrefix:
    """Where fio writes a job's logs: a folder relative to where fio ran, and the file name prefix."""

    folder: str
    prefix: str


def log_prefixes(options: dict[str, str], job_name: str) -> set[LogPrefix]:
    """Every place fio names a job's logs after: each ``write_*_log=`` value, else the job name.

    A value that is a path puts the logs in that folder (relative to where fio ran); an
    absolute one (Ceph CBT's ``/tmp/cbt/.../output.0``) is found by its last part beside the
    output. fio leaves a ``write_bw_log`` without a value out of its JSON, so the job name
    always counts.
    """
    found = {LogPrefix("", job_name)}
    for option in LOG_OPTIONS:
        value = (options.get(option) or "").strip()
        if not value:
            continue
        path = PurePosixPath(value)
        found.add(LogPrefix("", path.name))
        if not path.is_absolute() and str(path.parent) != ".":
            found.add(LogPrefix(str(path.parent), path.name))
    return found


def prefix_of(log: LogName, root: Path) -> LogPrefix:
    """The place a log file sits: its folder relative to ``root`` and its prefix."""
    try:
        folder = log.path.parent.relative_to(root).as_posix()
    except ValueError:
        folder = log.path.parent.as_posix()
    return LogPrefix("" if folder == "." else folder, log.prefix)
