"""Measure a shaped rate: iperf3 between two lab hosts, inside their namespaces.

The server runs in the destination's namespace (``-1``: one test, then it exits);
with ``reverse`` a second server runs in the source's namespace on the next
port and the destination sends to it, so a rule matching the forward server
port does not touch the reverse test (nor its ACKs).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from dataclasses import dataclass

from stackrig import _proc
from stackrig.errors import FailedError, UsageError
from stackrig.qos.lab import LabHost, LabState
from stackrig.qos.model import format_rate

__all__ = ["Measurement", "VerifyRequest", "VerifyResult", "measure", "verify"]


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    src: str
    dst: str
    port: int = 5201
    seconds: float = 3.0
    reverse: bool = False
    expect_max: int | None = None
    expect_min: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65534:
            raise UsageError(f"invalid --port {self.port}: use 1-65534 (the reverse test uses port+1)")
        if not 0.5 <= self.seconds <= 600:
            raise UsageError(f"invalid --seconds {self.seconds:g}: use 0.5-600")


@dataclass(frozen=True, slots=True)
class Measurement:
    src: str
    dst: str
    port: int
    bits_per_second: float
    retransmits: int | None

    @property
    def human(self) -> str:
        return format_rate(self.bits_per_second)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    forward: Measurement
    reverse: Measurement | None
    expect_max: int | None
    expect_min: int | None
    ok: bool
    problems: tuple[str, ...]


def _wait_listening(proc: subprocess.Popen[str], timeout: float) -> None:
    if proc.stdout is None:  # pragma: no cover - started with a pipe
        raise FailedError("iperf3 server has no output pipe")
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            if b"listening" in seen.lower():
                return
        elif proc.poll() is not None:
            break
    text = seen.decode(errors="replace").strip()
    raise FailedError(f"iperf3 server did not start: {text[-300:] or 'no output'}")


def measure(src: LabHost, dst: LabHost, port: int, seconds: float) -> Measurement:
    """One iperf3 TCP test from ``src`` to a server in ``dst``'s namespace."""
    _proc.run("iperf3", ["--version"], timeout=10, check=False, needed_for="qos verify")
    server = _proc.start(
        "ip",
        ["netns", "exec", dst.netns, "iperf3", "-s", "-1", "--forceflush", "-B", dst.ip, "-p", str(port)],
        needed_for="qos verify",
    )
    try:
        _wait_listening(server, 10)
        done = _proc.run(
            "ip",
            ["netns", "exec", src.netns, "iperf3", "-c", dst.ip, "-p", str(port), "-t", f"{seconds:g}", "-J"],
            timeout=seconds + 30,
            check=False,
        )
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=5)
        if server.poll() is None:
            server.kill()
            server.wait()
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise FailedError(f"iperf3 {src.name}→{dst.name} gave no JSON: {_proc.tail(done.stderr)}") from exc
    if "error" in doc:
        raise FailedError(f"iperf3 {src.name}→{dst.name} failed: {doc['error']}")
    try:
        received = float(doc["end"]["sum_received"]["bits_per_second"])
        retrans = doc["end"].get("sum_sent", {}).get("retransmits")
    except (KeyError, TypeError, ValueError) as exc:
        raise FailedError(f"iperf3 {src.name}→{dst.name}: unexpected JSON ({exc})") from exc
    return Measurement(src.name, dst.name, port, received, retrans)


def verify(lab: LabState, req: VerifyRequest) -> VerifyResult:
    src, dst = lab.host(req.src), lab.host(req.dst)
    if src.name == dst.name:
        raise UsageError("--src and --dst are the same host")
    forward = measure(src, dst, req.port, req.seconds)
    reverse = measure(dst, src, req.port + 1, req.seconds) if req.reverse else None
    problems: list[str] = []
    if req.expect_max is not None and forward.bits_per_second > req.expect_max:
        limit = format_rate(req.expect_max)
        problems.append(f"{src.name}→{dst.name} measured {forward.human}, above --expect-max {limit}")
    if req.expect_min is not None and forward.bits_per_second < req.expect_min:
        limit = format_rate(req.expect_min)
        problems.append(f"{src.name}→{dst.name} measured {forward.human}, below --expect-min {limit}")
    return VerifyResult(forward, reverse, req.expect_max, req.expect_min, not problems, tuple(problems))
