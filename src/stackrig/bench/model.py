"""The run-folder contract: settings of a run, the record of a run, and ``meta.json``.

See the package docstring (:mod:`stackrig.bench`) for the folder layout.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig import _io
from stackrig.errors import OutputPathError, UsageError

__all__ = [
    "DEFAULT_PORT",
    "META_FILE",
    "RESULTS_FILE",
    "STDERR_FILE",
    "FioHost",
    "GroupMember",
    "IncludeCopy",
    "JobSource",
    "RunRecord",
    "RunSettings",
    "RunStatus",
    "SourceFile",
    "make_run_folder",
    "parse_host",
    "parse_label",
    "read_meta",
    "write_meta",
]

META_FILE = "meta.json"
RESULTS_FILE = "fio.json"
STDERR_FILE = "fio.stderr"
META_SCHEMA = 1
DEFAULT_PORT = 8765
_LABEL_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RunStatus(enum.StrEnum):
    """``running`` is written when fio starts and replaced when it ends."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class FioHost:
    """A fio server to run on (client/server mode)."""

    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def client_arg(self) -> str:
        """The value of fio's ``--client=`` (``ip6:`` for IPv6 literals)."""
        if ":" in self.host:
            return f"ip6:{self.host},{self.port}"
        return f"{self.host},{self.port}"


def parse_host(text: str) -> FioHost:
    """``HOST``, ``HOST:PORT`` or ``[V6]:PORT`` → FioHost (USAGE on a bad port)."""
    raw = text.strip()
    if not raw:
        raise UsageError("empty host in --hosts")
    host, port = raw, str(DEFAULT_PORT)
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise UsageError(f"bad host {text!r}: missing ']'")
        host = raw[1:end]
        rest = raw[end + 1 :]
        if rest.startswith(":"):
            port = rest[1:]
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"bad port in host {text!r}", hint="use HOST or HOST:PORT with PORT 1-65535")
    return FioHost(host, int(port))


def parse_label(text: str) -> tuple[str, str]:
    """``K=V`` → (K, V)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not _LABEL_KEY.match(key):
        raise UsageError(f"bad label {text!r}", hint="use KEY=VALUE, KEY made of letters, digits, _ . -")
    return key, value.strip()


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A run's place in a group (``--repeat``, ``bench sweep``): the group, its position, its point."""

    id: str
    seq: int
    warmup: bool = False
    """A warm-up run (``--warmup``): kept, left out of the group's statistics."""
    point: Mapping[str, str] = field(default_factory=dict)
    """A sweep's parameters for this run (iodepth, numjobs, bs, rw)."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Everything ``bench run`` needs; built by the CLI from its flags."""

    jobs: tuple[str, ...]
    """Job files: paths or http(s) URLs."""
    runs_dir: Path
    db: Path
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    target: Path | None = None
    logs: bool = False
    log_avg_msec: int = 1000
    hosts: tuple[FioHost, ...] = ()
    status_interval: float = 1.0
    url_max_bytes: int = 1024 * 1024
    url_timeout: float = 20.0
    repeat_of: str | None = None
    """The run this one repeats (``bench run --from``)."""
    group: GroupMember | None = None
    """The group this run belongs to (``--repeat``, ``bench sweep``)."""
    params: Mapping[str, str] = field(default_factory=dict)
    """Options set last in every job section (a sweep's point): they win over the job's own."""
    steady_state: Mapping[str, str] = field(default_factory=dict)
    """fio's steadystate options (``--steady-state``), put in stackrig's [global] section."""
    precondition: bool = False
    """Write the job's files sequentially twice before the workload (SNIA PTS)."""
    allow_raw_device: bool = False
    """Consent to precondition a raw device (``--yes``)."""


@dataclass(frozen=True, slots=True)
class IncludeCopy:
    """A file a job file includes (fio's ``include``), kept byte for byte beside the job copy."""

    file: str
    """Path inside the run folder, relative to the job copy's folder, where fio finds it."""
    source: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class JobSource:
    """A job file as given (path or URL) and the copy kept in the run folder."""

    file: str
    """File name of the byte-for-byte copy inside the run folder (its sha256 is ``sha256``)."""
    source: str
    sha256: str
    size: int
    effective: str | None = None
    """File name of the job fio ran (what stackrig added, then the copy), when it differs."""
    includes: tuple[IncludeCopy, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file an imported run was made from: where it was and its sha256 (the import key)."""

    path: str
    sha256: str
    role: str
    """``results``, ``log`` or ``job``."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run: what ``meta.json`` holds, plus where the folder is."""

    id: str
    name: str
    folder: Path
    status: RunStatus
    started: dt.datetime
    ended: dt.datetime | None
    exit_code: int | None
    """fio's exit code (None when fio never ran: an imported run)."""
    command: tuple[str, ...]
    jobs: tuple[JobSource, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    """fio servers of a client-mode run (``host:port``)."""
    machine: Mapping[str, Any] = field(default_factory=dict)
    """hostname, kernel, cpu, cpu_count of the machine that ran fio (or the client)."""
    fio_version: str | None = None
    error: str | None = None
    imported_from: str | None = None
    replay: Mapping[str, Any] = field(default_factory=dict)
    """What ``bench run --from`` needs beyond the job copies (logs, log_avg_msec, target, hosts)."""
    sources: tuple[SourceFile, ...] = ()
    """The files an imported run was made from."""
    log_only: bool = False
    """An imported folder of logs without fio's JSON output."""
    group: GroupMember | None = None
    steady: Mapping[str, Any] = field(default_factory=dict)
    """Per job: whether fio's steady state was attained and after how long (``--steady-state``)."""
    owner: Mapping[str, Any] = field(default_factory=dict)
    """While running: the process running it (pid, host, boot id, start time); see bench.liveness."""

    @property
    def results_path(self) -> Path:
        return self.folder / RESULTS_FILE

    def to_meta(self) -> dict[str, Any]:
        return {
            "schema": META_SCHEMA,
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
            "exit_code": self.exit_code,
            "command": list(self.command),
            "jobs": [_job_meta(j) for j in self.jobs],
            "labels": dict(self.labels),
            "hosts": list(self.hosts),
            "machine": dict(self.machine),
            "fio_version": self.fio_version,
            "error": self.error,
            "imported_from": self.imported_from,
            "replay": dict(self.replay),
            "sources": [{"path": f.path, "sha256": f.sha256, "role": f.role} for f in self.sources],
            "log_only": self.log_only,
            "group": _group_meta(self.group),
            "steady": dict(self.steady),
            **({"owner": dict(self.owner)} if self.owner else {}),
        }

    @classmethod
    def from_meta(cls, doc: Mapping[str, Any], folder: Path) -> RunRecord:
        def text(key: str) -> str | None:
            value = doc.get(key)
            return value if isinstance(value, str) else None

        started = _parse_time(text("started")) or dt.datetime.fromtimestamp(0, dt.UTC)
        jobs_raw = doc.get("jobs") if isinstance(doc.get("jobs"), list) else []
        jobs = tuple(
            JobSource(
                file=str(j.get("file", "")),
                source=str(j.get("source", "")),
                sha256=str(j.get("sha256", "")),
                size=int(j.get("size", 0) or 0),
                effective=str(j["effective"]) if j.get("effective") else None,
                includes=_includes_of(j.get("includes")),
            )
            for j in jobs_raw or []
            if isinstance(j, Mapping)
        )
        sources_raw = doc.get("sources") if isinstance(doc.get("sources"), list) else []
        sources = tuple(
            SourceFile(str(f.get("path", "")), str(f.get("sha256", "")), str(f.get("role", "")))
            for f in sources_raw or []
            if isinstance(f, Mapping)
        )
        replay = doc.get("replay") if isinstance(doc.get("replay"), Mapping) else {}
        labels = doc.get("labels") if isinstance(doc.get("labels"), Mapping) else {}
        try:
            status = RunStatus(text("status") or "failed")
        except ValueError:
            status = RunStatus.FAILED
        exit_code = doc.get("exit_code")
        return cls(
            id=text("id") or folder.name,
            name=text("name") or folder.name,
            folder=folder,
            status=status,
            started=started,
            ended=_parse_time(text("ended")),
            exit_code=exit_code if isinstance(exit_code, int) else None,
            command=tuple(str(a) for a in doc.get("command") or ()),
            jobs=jobs,
            labels={str(k): str(v) for k, v in (labels or {}).items()},
            hosts=tuple(str(h) for h in doc.get("hosts") or ()),
            machine=dict(doc.get("machine") or {}),
            fio_version=text("fio_version"),
            error=text("error"),
            imported_from=text("imported_from"),
            replay=dict(replay or {}),
            sources=sources,
            log_only=doc.get("log_only") is True,
            group=_group_of(doc.get("group")),
            steady=dict(doc["steady"]) if isinstance(doc.get("steady"), Mapping) else {},
            owner=dict(doc["owner"]) if isinstance(doc.get("owner"), Mapping) else {},
        )


def _group_meta(group: GroupMember | None) -> dict[str, Any] | None:
    if group is None:
        return None
    return {"id": group.id, "seq": group.seq, "warmup": group.warmup, "point": dict(group.point)}


def _group_of(doc: Any) -> GroupMember | None:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("id"), str):
        return None
    point = doc.get("point") if isinstance(doc.get("point"), Mapping) else {}
    seq = doc.get("seq")
    return GroupMember(
        id=doc["id"],
        seq=seq if isinstance(seq, int) else 0,
        warmup=doc.get("warmup") is True,
        point={str(k): str(v) for k, v in (point or {}).items()},
    )


def _job_meta(job: JobSource) -> dict[str, Any]:
    meta: dict[str, Any] = {"file": job.file, "source": job.source, "sha256": job.sha256, "size": job.size}
    if job.effective:
        meta["effective"] = job.effective
    if job.includes:
        meta["includes"] = [
            {"file": i.file, "source": i.source, "sha256": i.sha256, "size": i.size} for i in job.includes
        ]
    return meta


def _includes_of(doc: Any) -> tuple[IncludeCopy, ...]:
    return tuple(
        IncludeCopy(
            str(i.get("file", "")),
            str(i.get("source", "")),
            str(i.get("sha256", "")),
            int(i.get("size") or 0),
        )
        for i in (doc if isinstance(doc, list) else [])
        if isinstance(i, Mapping)
    )


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def new_run_id() -> str:
    return secrets.token_hex(6)


def safe_name(name: str) -> str:
    """A run name usable in a folder name."""
    cleaned = _NAME_UNSAFE.sub("-", name).strip("-.")
    return cleaned[:60] or "run"


def make_run_folder(runs_dir: Path, name: str, when: dt.datetime) -> Path:
    """Create ``<runs_dir>/<UTC yyyymmddTHHMMSSZ>-<name>/``, with a short suffix when taken.

    Never reuses an existing folder, so earlier runs are never touched.
    """
    _io.ensure_dir(runs_dir)
    stem = f"{when.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{safe_name(name)}"
    for attempt in range(1000):
        candidate = runs_dir / (stem if attempt == 0 else f"{stem}-{secrets.token_hex(2)}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputPathError(
                f"cannot create run folder in {runs_dir}: {exc.strerror or exc}",
                hint="choose another --runs-dir",
            ) from exc
        return candidate
    raise OutputPathError(f"cannot find a free run folder name for {stem} in {runs_dir}")


def write_meta(record: RunRecord) -> None:
    _io.atomic_write(record.folder / META_FILE, json.dumps(record.to_meta(), indent=2) + "\n")


def read_meta(folder: Path) -> RunRecord:
    path = folder / META_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{folder} is not a run folder (no {META_FILE})") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise UsageError(f"{path} is not a run description (not a JSON object)")
    return RunRecord.from_meta(doc, folder)


def machine_info() -> dict[str, Any]:
    """hostname, kernel, cpu model and count of this machine (never raises)."""
    uname = os.uname()
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = None
    return {
        "hostname": uname.nodename,
        "kernel": uname.release,
        "os": uname.sysname,
        "arch": uname.machine,
        "cpu": cpu or uname.machine,
        "cpu_count": os.cpu_count(),
    }
