"""A private Docker engine for the tests: Debian's dockerd on a socket in a folder of its own.

Never the default socket, never the firewall (``--iptables=false``), no default bridge
(``--bridge=none``: containers that publish ports join a user-defined network). Its socket,
exec-root, pidfile, config file and containerd namespace are in a new folder under /tmp; its
data-root (the images) is either in that folder too or a persistent folder the caller holds
a lock on, so any number of these engines (other test runs on the same machine) live side
by side. :meth:`Engine.stop` removes every container, network and volume, stops the daemon
by its PID, unmounts what it left mounted and deletes its folder (a persistent data-root
keeps its images: deleting a gigabyte of layers costs a minute, loading them again seconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Engine", "EngineError", "docker_program", "running_engine", "start_engine"]


class EngineError(RuntimeError):
    """dockerd did not start or a docker command failed; the message holds the output."""


def docker_program() -> str:
    """Debian's client (/usr/bin/docker) first: it matches the daemon; any docker on PATH else."""
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and Path(candidate).exists():
            return candidate
    raise EngineError("docker is not installed: scripts/apt-install.sh deps/apt/test-containers.txt")


@dataclass
class Engine:
    root: Path
    data_root: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    docker: str = field(default_factory=docker_program)

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log_path(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a process that talks to this engine (and never to another)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(self.root / "client")  # no credential helpers, no user config
        return env

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 300,
        input_: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``docker ARGS`` against this engine; raises EngineError with the output if it fails."""
        full_env = self.env | dict(env or {})
        done = subprocess.run(
            [self.docker, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=full_env,
            input=input_,
        )
        if check and done.returncode != 0:
            raise EngineError(
                f"docker {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}\n"
                f"dockerd's log ({self.log_path}), last lines:\n{self.log_tail(15)}"
            )
        return done

    def ids(self, *args: str) -> list[str]:
        return self.run(*args).stdout.split()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def images(self) -> set[str]:
        out = self.run("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        return {line for line in out if "<none>" not in line}

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, user-defined networks and volumes on this engine now."""
        nets = self.run("network", "ls", "--format", "{{json .}}").stdout.splitlines()
        return {
            "containers": self.ids("ps", "-aq"),
            "networks": [
                json.loads(n)["Name"] for n in nets if json.loads(n)["Name"] not in ("host", "none")
            ],
            "volumes": self.ids("volume", "ls", "-q"),
        }

    def clean(self) -> None:
        """Remove every container, user-defined network and volume (images stay)."""
        if not self.alive():
            return
        containers = self.ids("ps", "-aq")
        if containers:
            self.run("rm", "-f", "-v", *containers, check=False)
        left = self.leftovers()
        if left["networks"]:
            self.run("network", "rm", *left["networks"], check=False)
        if left["volumes"]:
            self.run("volume", "rm", "-f", *left["volumes"], check=False)

    def stop(self, timeout: float = 30.0) -> None:
        """Clean up, stop dockerd by its PID, unmount what is left, delete its folder."""
        try:
            with contextlib.suppress(EngineError, subprocess.TimeoutExpired):
                self.clean()
        finally:
            self._stop_daemon(timeout)
            _unmount_under(self.root)
            _unmount_under(self.data_root)
            shutil.rmtree(self.root, ignore_errors=True)

    def _stop_daemon(self, timeout: float) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # dockerd hung: take its whole session (containerd and the shims it started).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


def _mounts() -> list[str]:
    with open("/proc/self/mounts", encoding="utf-8") as handle:
        return [line.split()[1].replace("\\040", " ") for line in handle]


def _unmount_under(root: Path) -> None:
    """Unmount what the daemon left under its own root (overlays, nsfs files), deepest first."""
    prefix = str(root.resolve())
    for point in sorted((m for m in _mounts() if m == prefix or m.startswith(prefix + "/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def start_engine(data_root: Path | None = None, *, timeout: float = 60.0) -> Engine:
    """Start dockerd in a new short folder under /tmp (unix socket paths are short).

    ``data_root``: where the images live, if not in that folder; the caller must hold it alone.
    """
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if not Path(dockerd).exists():
        raise EngineError("dockerd is not installed: scripts/apt-install.sh deps/apt/test-containers.txt")
    if os.geteuid() != 0:
        raise EngineError("dockerd needs root (make test runs as root in CI)")
    root = Path(tempfile.mkdtemp(prefix="srd-", dir="/tmp"))
    root.chmod(0o711)
    engine = Engine(root=root, data_root=data_root or root / "data")
    (root / "daemon.json").write_text("{}\n")  # never the machine's /etc/docker/daemon.json
    (root / "client").mkdir(exist_ok=True)
    (root / "client" / "config.json").write_text("{}\n")
    # containerd takes [A-Za-z0-9] segments joined by . _ -; mkdtemp's names may hold "_" anywhere.
    namespace = "stackrig-" + hashlib.sha256(str(root).encode()).hexdigest()[:12]
    argv: Sequence[str] = [
        dockerd,
        f"--config-file={root / 'daemon.json'}",
        f"--host={engine.host}",
        f"--data-root={engine.data_root}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'dockerd.pid'}",
        f"--containerd-namespace={namespace}",
        f"--containerd-plugins-namespace={namespace}-plugins",
        "--iptables=false",
        "--ip-forward=false",
        "--bridge=none",
        "--log-level=warn",
    ]
    with engine.log_path.open("ab") as log:
        engine.process = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not engine.alive():
            tail = engine.log_tail()
            _unmount_under(root)
            _unmount_under(engine.data_root)
            shutil.rmtree(root, ignore_errors=True)
            raise EngineError(f"dockerd exited:\n{tail}")
        if engine.socket.exists() and engine.run("version", check=False, timeout=10).returncode == 0:
            return engine
        time.sleep(0.1)
    tail = engine.log_tail()
    engine.stop()
    raise EngineError(f"dockerd not ready within {timeout:g} s:\n{tail}")


@contextlib.contextmanager
def running_engine(data_root: Path | None = None) -> Iterator[Engine]:
    engine = start_engine(data_root)
    try:
        yield engine
    finally:
        engine.stop()
