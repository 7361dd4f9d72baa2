"""Job files: read from a path or fetch from an http(s) URL, check with ``fio --parse-only``.

A URL is fetched with a size limit and a timeout; the sha256 of the bytes is
recorded, and the run folder keeps those bytes unchanged. Options stackrig adds
(the scratch ``directory=``, ``--target``, ``--logs``) go into a separate *effective*
job file: a ``[global]`` section put in front of the user's text (fio reads sections
in order, so a ``directory=`` or log option the job sets itself still wins). The
run-specific scratch folder appears there as ``${STACKRIG_RUN_SCRATCH}``, which fio
expands from the environment stackrig gives it, so the effective file is exactly
what fio ran and can run again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stackrig import _io, _proc
from stackrig.bench._includes import IncludedFile, expand, read_includes
from stackrig.bench.model import META_FILE, RESULTS_FILE, STDERR_FILE, JobSource
from stackrig.errors import UsageError

__all__ = [
    "SCRATCH_PLACEHOLDER",
    "SCRATCH_VAR",
    "InvalidJobError",
    "JobCheck",
    "JobFetchError",
    "JobFile",
    "check_jobs",
    "fetch_job",
    "job_sections",
    "prepare_jobs",
    "validate_jobs",
    "with_params",
    "write_includes",
]

_RESERVED = {META_FILE, RESULTS_FILE, STDERR_FILE}
#: The environment variable fio expands to the run's scratch folder in an effective job file.
SCRATCH_VAR = "STACKRIG_RUN_SCRATCH"
SCRATCH_PLACEHOLDER = "${" + SCRATCH_VAR + "}"


class InvalidJobError(UsageError):
    """fio refused a job file (``fio --parse-only``)."""


class JobFetchError(UsageError):
    """A job file could not be read or downloaded."""


@dataclass(frozen=True, slots=True)
class JobFile:
    """A job file's bytes, where they came from, the name of its copy and of its effective job."""

    source: str
    data: bytes
    file: str
    effective: str = ""
    """Name of the effective job file (stackrig's ``[global]`` section, then the copy)."""
    includes: tuple[IncludedFile, ...] = ()
    """The files the job includes (fio's ``include``), nested ones too, kept beside the copy."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def record(self, *, effective: bool = True) -> JobSource:
        return JobSource(
            file=self.file,
            source=self.source,
            sha256=self.sha256,
            size=len(self.data),
            effective=self.effective if effective and self.effective else None,
            includes=tuple(inc.record() for inc in self.includes),
        )

    def expanded(self) -> str:
        """The job's text with its include lines replaced by what they include (fio's view)."""
        return expand(self.data, self.includes).decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class JobCheck:
    """fio's verdict on one job file, as given and as stackrig would run it."""

    source: str
    file: str
    effective: str
    text: str
    """The effective job, as fio would read it."""
    accepted: bool
    complaint: str = ""
    includes: tuple[str, ...] = ()
    """The files it includes, as placed beside the job copy in the run folder."""


def _is_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme.lower() in {"http", "https"}


def _download(url: str, *, max_bytes: int, timeout: float) -> bytes:
    import urllib.error  # lazily: urllib.request costs ~40 ms at start-up
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "stackrig-bench"})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise JobFetchError(
                    f"job file {url} is too large ({int(length)} bytes, limit {max_bytes})",
                    hint="a fio job file is a few KiB; check the URL",
                )
            data: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise JobFetchError(f"cannot download job file {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise JobFetchError(
            f"cannot download job file {url}: {exc.reason}", hint="check the URL and the network"
        ) from exc
    except TimeoutError as exc:
        raise JobFetchError(f"cannot download job file {url}: no answer within {timeout:g} s") from exc
    except OSError as exc:
        raise JobFetchError(f"cannot download job file {url}: {exc}") from exc
    if len(data) > max_bytes:
        raise JobFetchError(
            f"job file {url} is too large (more than {max_bytes} bytes)",
            hint="a fio job file is a few KiB; check the URL",
        )
    return data


def fetch_job(source: str, *, max_bytes: int = 1024 * 1024, timeout: float = 20.0) -> tuple[bytes, str]:
    """The bytes of a job file (path or http(s) URL) and a base name for its copy."""
    if _is_url(source):
        data = _download(source, max_bytes=max_bytes, timeout=timeout)
        name = PurePosixPath(urllib.parse.urlsplit(source).path).name or "job.fio"
        return data, name
    if "://" in source:
        raise JobFetchError(f"job {source}: only paths and http(s) URLs are supported")
    path = Path(source)
    # byte for byte: the run folder keeps exactly these bytes (CRLF, no final newline, ...)
    return _io.read_bytes(path, what="job file", utf8=True), path.name


def _copy_name(base: str, taken: set[str]) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).lstrip(".") or "job.fio"
    if cleaned in _RESERVED or cleaned.endswith(".log") or ".log." in cleaned:
        cleaned = f"job-{cleaned}"
    name = cleaned
    counter = 2
    while name in taken:
        stem, dot, ext = cleaned.rpartition(".")
        name = f"{stem}-{counter}.{ext}" if dot and stem else f"{cleaned}-{counter}"
        counter += 1
    taken.add(name)
    return name


def prepare_jobs(
    sources: tuple[str, ...], *, max_bytes: int = 1024 * 1024, timeout: float = 20.0
) -> tuple[JobFile, ...]:
    """Read or download every job; the copies get distinct file names."""
    if not sources:
        raise UsageError("give at least one job file (a path or an http(s) URL)")
    taken: set[str] = set()
    jobs = []
    for source in sources:
        data, base = fetch_job(source, max_bytes=max_bytes, timeout=timeout)
        includes = read_includes(
            data,
            source,
            is_url=_is_url(source),
            download=lambda url: _download(url, max_bytes=max_bytes, timeout=timeout),
            max_bytes=max_bytes,
        )
        copy = _copy_name(base, taken)
        stem, dot, ext = copy.rpartition(".")
        effective = _copy_name(f"{stem}.effective.{ext}" if dot and stem else f"{copy}.effective", taken)
        jobs.append(JobFile(source=source, data=data, file=copy, effective=effective, includes=includes))
    _check_include_places(tuple(jobs), taken)
    return tuple(jobs)


def _check_include_places(jobs: tuple[JobFile, ...], taken: set[str]) -> None:
    """Included files share the run folder with the job copies: no name may mean two files."""
    seen: dict[str, tuple[JobFile, IncludedFile]] = {}
    for job in jobs:
        for inc in job.includes:
            if inc.file.split("/", 1)[0] in taken:
                raise UsageError(
                    f"job file {job.source} includes {inc.file}, "
                    "the name of a job file copy in the run folder",
                    hint="rename the included file, or run the two job files separately",
                )
            other = seen.setdefault(inc.file, (job, inc))
            if other[1].data != inc.data:
                raise UsageError(
                    f"job files {other[0].source} and {job.source} include two different files "
                    f"named {inc.file} (from {other[1].source} and {inc.source})",
                    hint="a run folder holds one file of each name: run the two job files separately",
                )


def write_includes(folder: Path, jobs: tuple[JobFile, ...]) -> None:
    """Put each job's included files in ``folder`` byte for byte, where fio looks for them."""
    for job in jobs:
        for inc in job.includes:
            target = folder / inc.file
            _io.ensure_dir(target.parent)
            _io.atomic_write(target, inc.data)


def header(
    *,
    target: Path | None,
    logs: bool,
    log_avg_msec: int,
    scratch: bool = False,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The ``[global]`` section stackrig puts before a job ("" when nothing to add).

    ``scratch``: fio lays out its files in the run's scratch folder (``${STACKRIG_RUN_SCRATCH}``);
    ``extra``: more options (fio's steadystate ones).
    """
    lines: list[str] = [f"{key}={value}" for key, value in (extra or {}).items()]
    if target is not None:
        lines.append(f"directory={target}")
    elif scratch:
        lines.append(f"directory={SCRATCH_PLACEHOLDER}")
    if logs:
        lines += ["write_bw_log", "write_iops_log", "write_lat_log", f"log_avg_msec={log_avg_msec}"]
    if not lines:
        return ""
    return (
        "; added by stackrig bench run (a setting of the job itself wins)\n[global]\n"
        + "\n".join(lines)
        + "\n"
    )


def job_text(job: JobFile, prefix: str, params: Mapping[str, str] | None = None) -> bytes:
    """The effective job: stackrig's section, then the job (``params`` set last in each job section)."""
    data = with_params(job.data, params) if params else job.data
    if not prefix:
        return data
    return prefix.encode("utf-8") + b"\n" + data


def with_params(data: bytes, params: Mapping[str, str]) -> bytes:
    """The job text with ``key=value`` lines added at the end of every job section (not
    ``[global]``): set last, they win over the section's own options (a sweep's point)."""
    lines = data.decode("utf-8").splitlines(keepends=True)
    note = "; set by stackrig: " + " ".join(f"{k}={v}" for k, v in params.items())
    added = "".join(f"{key}={value}\n" for key, value in params.items())
    out: list[str] = []
    section: str | None = None

    def close() -> None:
        if section is not None and section != "global":
            if out and not out[-1].endswith("\n"):
                out[-1] += "\n"
            out.append(f"{note}\n{added}")

    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            close()
            section = stripped[1:-1].strip()
        out.append(line)
    close()
    return "".join(out).encode("utf-8")


def _parse_only(paths: list[Path], env: dict[str, str], cwd: str) -> tuple[bool, str]:
    """(accepted, fio's complaint) of ``fio --parse-only`` on the job files.

    ``cwd``: fio looks for an included file in its working folder first, then beside the
    file including it; the check runs where the run will (the run folder's stand-in)."""
    # --clocksource skips fio's per-CPU clock test at start-up (~0.2 s); the check does no I/O.
    args = ["--clocksource=clock_gettime", "--parse-only", *map(str, paths)]
    done = _proc.run("fio", args, timeout=120, check=False, env=env, cwd=cwd, needed_for="bench run")
    bad = [
        line
        for line in (done.stderr + "\n" + done.stdout).splitlines()
        if line.startswith(("fio:", "Bad option", "Did you mean")) or "failed parsing" in line
    ]
    if done.returncode != 0 or any("job" in line and "dropped" in line for line in bad):
        return False, "\n".join(bad) or _proc.tail(done.stderr or done.stdout)
    return True, ""


def check_jobs(
    jobs: tuple[JobFile, ...], prefix: str, params: Mapping[str, str] | None = None
) -> tuple[JobCheck, ...]:
    """fio's verdict on each job, as given and as it will run (both must pass).

    Checking the file as given too keeps the verdict fio's own: a file fio refuses
    alone (options outside any section) is not made valid by stackrig's ``[global]``.
    One fio call checks every file (fio's start-up costs a few hundred ms); only when
    it fails is each job checked alone, to name the one fio rejects.
    """
    with tempfile.TemporaryDirectory(prefix="stackrig-parse-") as tmp:
        env = {**os.environ, SCRATCH_VAR: str(Path(tmp) / "scratch")}
        given, effective = [], []
        write_includes(Path(tmp), jobs)
        write_includes(Path(tmp) / "given", jobs)
        for job in jobs:
            (Path(tmp) / "given").mkdir(exist_ok=True)
            given.append(Path(tmp) / "given" / job.file)
            given[-1].write_bytes(job.data)
            effective.append(Path(tmp) / job.file)
            effective[-1].write_bytes(job_text(job, prefix, params))
        accepted, _ = _parse_only(given + (effective if prefix or params else []), env, tmp)
        checks = []
        for job, as_given, as_run in zip(jobs, given, effective, strict=True):
            complaint = ""
            if not accepted:
                ok, complaint = _parse_only([as_given], env, tmp)
                if ok and (prefix or params):
                    ok, complaint = _parse_only([as_run], env, tmp)
            text = job_text(job, prefix, params).decode("utf-8", "replace")
            places = tuple(inc.file for inc in job.includes)
            checks.append(
                JobCheck(job.source, job.file, job.effective, text, accepted or ok, complaint, places)
            )
        return tuple(checks)


def validate_jobs(jobs: tuple[JobFile, ...], prefix: str, params: Mapping[str, str] | None = None) -> None:
    """``fio --parse-only`` on the jobs (as given and as they will run); InvalidJobError quoting fio."""
    for check in check_jobs(jobs, prefix, params):
        if not check.accepted:
            raise InvalidJobError(
                f"fio rejects job file {check.source}:\n{check.complaint}",
                hint="fix the job file; see man fio",
            )


# ---------------------------------------------------------------- reading a job file's options


def job_sections(text: str) -> dict[str, dict[str, str]]:
    """The options of each job in a fio job file, ``[global]`` merged in (fio's own order).

    A section after which ``[global]`` changes again sees only what came before it, as
    fio reads them. Options without a value map to "". Comments (``;``/``#``) and
    ``include`` lines are skipped; nothing is expanded (``${VAR}`` stays as written).
    """
    sections: dict[str, dict[str, str]] = {}
    global_opts: dict[str, str] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = (
            raw.split(";", 1)[0].split("#", 1)[0].strip() if not raw.lstrip().startswith(("#", ";")) else ""
        )
        if not line or line.startswith("include "):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip()
            if name == "global":
                current = global_opts
            else:
                current = dict(global_opts)
                sections[name] = current
            continue
        key, _, value = line.partition("=")
        if current is not None and key.strip():
            current[key.strip()] = value.strip()
    return sections
