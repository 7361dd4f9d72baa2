"""What a lab needs from the machine: root, the OVS daemons, links, namespaces and processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from stackrig import _proc, _tools
from stackrig.errors import NotRootError

LOCK_DIR = Path("/run/lock")
#: Written when a lab starts OVS: the ovs-vswitchd PID it started, so the last ``lab down``
#: stops it whichever lab started it, and an OVS the user started is never stopped.
OVS_MARK = Path("/run/stackrig-qos-ovs.pid")
VSWITCHD_PID = Path("/var/run/openvswitch/ovs-vswitchd.pid")

__all__ = [
    "existing_bridges",
    "existing_links",
    "existing_netns",
    "in_netns",
    "machine_lock",
    "ovs_running",
    "pid_is",
    "require_root",
    "start_ovs",
    "started_ovs",
    "stop_ovs",
    "stop_pid",
]


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "qos lab needs root (it creates OVS bridges and network namespaces)", hint="run it with sudo"
        )


def ovs_running() -> bool:
    done = _proc.run("ovs-vsctl", ["--timeout=3", "show"], timeout=10, check=False)
    return done.returncode == 0


def existing_links() -> set[str]:
    done = _proc.run("ip", ["-o", "link", "show"], timeout=20)
    names = set()
    for line in done.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) > 1:
            names.add(parts[1].strip().split("@")[0])
    return names


def existing_netns() -> set[str]:
    done = _proc.run("ip", ["netns", "list"], timeout=20)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def existing_bridges() -> set[str]:
    done = _proc.run("ovs-vsctl", ["--timeout=10", "list-br"], timeout=20)
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def in_netns(netns: str, tool: str, *args: str) -> None:
    _tools.require(tool, needed_for="qos lab")
    _proc.run("ip", ["netns", "exec", netns, tool, *args], timeout=30)


@contextlib.contextmanager
def machine_lock() -> Iterator[None]:
    """Serialise ``lab up``/``lab down`` machine-wide: they share the OVS daemons, and one lab's
    ``down`` must not stop OVS while another's ``up`` is between starting it and adding bridges."""
    folder = LOCK_DIR if LOCK_DIR.is_dir() else Path(tempfile.gettempdir())
    fd = os.open(folder / "stackrig-qos-lab.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _vswitchd_pid() -> int | None:
    try:
        return int(VSWITCHD_PID.read_text().strip())
    except (OSError, ValueError):
        return None


def start_ovs() -> None:
    """Start the OVS daemons and mark them as stackrig's (the mark names ovs-vswitchd's PID)."""
    _proc.run("ovs-ctl", ["start", "--system-id=random"], timeout=120, needed_for="qos lab")
    pid = _vswitchd_pid()
    if pid is not None:
        OVS_MARK.write_text(f"{pid}\n", encoding="ascii")


def started_ovs() -> bool:
    """Whether the running OVS is the one a ``lab up`` started (whichever lab that was)."""
    try:
        marked = int(OVS_MARK.read_text().strip())
    except (OSError, ValueError):
        return False
    return marked == _vswitchd_pid()


def stop_ovs() -> None:
    _proc.run("ovs-ctl", ["stop"], timeout=120, needed_for="qos lab")
    with contextlib.suppress(FileNotFoundError):
        OVS_MARK.unlink()


def pid_is(pid: int, needle: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return needle in cmdline


def stop_pid(pid: int, needle: str, timeout: float = 10.0) -> None:
    """Stop a process we started (checked by its command line), TERM then KILL."""
    if not pid_is(pid, needle):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_is(pid, needle):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
