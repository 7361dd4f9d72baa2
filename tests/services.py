"""Start and stop real services for tests, and run commands without root.

Every family's fixtures use this: a free loopback port, the service's own data
folder, a readiness check polled (never a fixed sleep), stop by the PID we
started (its whole process group), and the service's log kept in its folder so
a failure can be read afterwards (pytest keeps the last three tmp roots).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FILL_TMPFS",
    "Service",
    "ServiceError",
    "free_port",
    "grant_traverse",
    "in_small_tmpfs",
    "port_open",
    "run_unprivileged",
    "running",
    "start_moto_server",
    "start_service",
    "unprivileged_argv",
    "wait_until",
]

UNPRIVILEGED = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")


class ServiceError(RuntimeError):
    """A service did not start; the message holds the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout:g} s")


@dataclass
class Service:
    name: str
    argv: tuple[str, ...]
    workdir: Path
    host: str = "127.0.0.1"
    port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop what we started: SIGTERM to its process group, SIGKILL after ``timeout``."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


def start_service(
    name: str,
    argv: Sequence[str],
    *,
    workdir: Path,
    ready: Callable[[], bool] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Service:
    """Start ``argv`` in its own session with output in ``workdir/<name>.log``.

    Ready when ``ready()`` is true, or (without it) when ``host:port`` accepts
    connections. Raises ServiceError with the log tail if it exits or is not
    ready in time (and stops it).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    service = Service(name=name, argv=tuple(argv), workdir=workdir, host=host, port=port)
    log = service.log_path.open("ab")
    full_env = dict(os.environ if env is None else env)
    try:
        service.process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env=full_env,
            start_new_session=True,
        )
    finally:
        log.close()
    check = ready
    if check is None:
        if port is None:
            raise ValueError("start_service needs ready= or port=")
        check = lambda: port_open(host, port)  # noqa: E731
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise ServiceError(f"{name} exited with {service.process.returncode}:\n{service.log_tail()}")
        if check():
            return service
        time.sleep(0.05)
    service.stop()
    raise ServiceError(f"{name} not ready within {timeout:g} s:\n{service.log_tail()}")


@contextlib.contextmanager
def running(name: str, argv: Sequence[str], **kwargs: object) -> Iterator[Service]:
    """``start_service`` as a context manager that always stops what it started."""
    service = start_service(name, argv, **kwargs)  # type: ignore[arg-type]
    try:
        yield service
    finally:
        service.stop()


def grant_traverse(path: Path) -> None:
    """Let other users pass through ``path``'s folders (search bit only, never read).

    CI may clone the project under a 0700 temp folder; nobody could then not reach the venv
    or the sources. Adding o+x reveals no file names and no contents.
    """
    for folder in [path, *path.parents]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            continue
        if folder.is_dir() and not mode & 0o001:
            with contextlib.suppress(OSError):
                folder.chmod(mode | 0o001)


def unprivileged_argv(argv: Sequence[str]) -> list[str]:
    """Prefix ``argv`` so it runs as nobody when we are root (CI runs as root)."""
    if os.geteuid() == 0:
        return [*UNPRIVILEGED, *argv]
    return list(argv)


def run_unprivileged(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a command without root privileges and capture its output as text.

    Coverage is switched off for it: nobody cannot write the coverage data files.
    """
    if os.geteuid() == 0:
        grant_traverse(Path(sys.prefix))
        grant_traverse(Path(__file__).resolve().parent.parent / "src")
    full_env = dict(os.environ if env is None else env)
    full_env.pop("COVERAGE_PROCESS_START", None)
    full_env["HOME"] = full_env.get("HOME_FOR_NOBODY", "/tmp")
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        unprivileged_argv(argv),
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
        **kwargs,
    )


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_moto_server(workdir: Path) -> tuple[Service, str]:
    """A real moto server (AWS API stand-in) on a free loopback port; returns (service, endpoint URL).

    Point boto3 at the URL with ``endpoint_url`` and fake credentials (AWS_ACCESS_KEY_ID=testing ...).
    """
    port = free_port()
    moto = Path(sys.executable).parent / "moto_server"
    service = start_service(
        "moto", [str(moto), "-H", "127.0.0.1", "-p", str(port)], workdir=workdir, port=port, timeout=60
    )
    return service, f"http://127.0.0.1:{port}"


# Fills $MNT to the last byte (dd stops at ENOSPC): steps for in_small_tmpfs.
FILL_TMPFS = 'dd if=/dev/zero of="$MNT/filler" bs=64k status=none 2>/dev/null; true'


def in_small_tmpfs(tmp_path: Path, steps: str) -> Path:
    """Run bash ``steps`` with $MNT a fresh 4 MiB tmpfs and $OUT a folder outside it; return $OUT.

    The tmpfs is mounted in a mount namespace of its own (``unshare --mount``), so it goes away
    with the shell and nobody else sees it; $STACKRIG is the console script. Needs root (CI is).
    """
    import pytest

    from tests.conftest import STACKRIG

    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (CI runs as root)")
    mnt, out = tmp_path / "small", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    script = f"set -u; mount -t tmpfs -o size=4m stackrig-test {shlex.quote(str(mnt))} && {steps}"
    env = {**os.environ, "MNT": str(mnt), "OUT": str(out), "STACKRIG": str(STACKRIG)}
    done = subprocess.run(
        ["unshare", "--mount", "bash", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out
