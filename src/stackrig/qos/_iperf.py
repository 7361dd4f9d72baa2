"""iperf3 between two lab hosts, inside their namespaces: one server for one test (``-1``).

TCP runs take a payload size as the MSS (``--set-mss``; Linux refuses below 88 bytes,
so smaller sizes are raised to 88 and say so); UDP runs send datagrams of ``-l`` bytes
at ``-b`` bit/s, which the caller sets above the limit it checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from stackrig import _proc
from stackrig.errors import FailedError
from stackrig.qos._lab_plan import LabHost

__all__ = ["MIN_MSS", "Run", "run_iperf"]

MIN_MSS = 88  # Linux's TCP_MAXSEG floor


@dataclass(frozen=True, slots=True)
class Run:
    """One iperf3 test, as the receiver saw it."""

    protocol: str  # tcp | udp
    size: int | None  # the payload size asked for (None: iperf3's default)
    mss: int | None  # TCP: the MSS used
    src: str
    dst: str
    port: int
    sent_bps: float
    received_bps: float
    sent_bytes: int
    received_bytes: int
    lost_percent: float | None
    retransmits: int | None


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


def _client_args(protocol: str, size: int | None, udp_rate: int) -> tuple[list[str], int | None]:
    if protocol == "udp":
        return ["-u", "-b", str(udp_rate), *(["-l", str(size)] if size else [])], None
    if size is None:
        return [], None
    mss = max(MIN_MSS, size)
    return ["--set-mss", str(mss)], mss


def _parse(doc: dict[str, Any], protocol: str) -> tuple[float, float, int, int, float | None, int | None]:
    """(sent bit/s, received bit/s, sent bytes, received bytes, UDP loss %, TCP retransmits)."""
    end = doc["end"]
    if protocol == "tcp":
        sent, got = end["sum_sent"], end["sum_received"]
        return (
            float(sent["bits_per_second"]),
            float(got["bits_per_second"]),
            int(sent["bytes"]),
            int(got["bytes"]),
            None,
            sent.get("retransmits"),
        )
    total = end["sum"]
    lost = float(total.get("lost_percent") or 0.0)
    sent_bytes = int((end.get("sum_sent") or total)["bytes"])
    if "sum_received" in end:  # iperf3 >= 3.11 reports the receiver's side of a UDP test
        received = float(end["sum_received"]["bits_per_second"])
        received_bytes = int(end["sum_received"]["bytes"])
    else:
        received = float(total["bits_per_second"]) * (1 - lost / 100)
        received_bytes = round(sent_bytes * (1 - lost / 100))
    return float(total["bits_per_second"]), received, sent_bytes, received_bytes, lost, None


def run_iperf(
    src: LabHost,
    dst: LabHost,
    *,
    port: int,
    seconds: float,
    protocol: str = "tcp",
    size: int | None = None,
    udp_rate: int = 10_000_000,
) -> Run:
    """One test from ``src`` to a server in ``dst``'s namespace."""
    _proc.run("iperf3", ["--version"], timeout=10, check=False, needed_for="qos verify")
    extra, mss = _client_args(protocol, size, udp_rate)
    server = _proc.start(
        "ip",
        ["netns", "exec", dst.netns, "iperf3", "-s", "-1", "--forceflush", "-B", dst.ip, "-p", str(port)],
        needed_for="qos verify",
    )
    try:
        _wait_listening(server, 10)
        done = _proc.run(
            "ip",
            [
                "netns",
                "exec",
                src.netns,
                "iperf3",
                "-c",
                dst.ip,
                "-p",
                str(port),
                "-t",
                f"{seconds:g}",
                "-J",
                *extra,
            ],
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
    what = f"iperf3 {protocol} {src.name}→{dst.name}"
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise FailedError(f"{what} gave no JSON: {_proc.tail(done.stderr)}") from exc
    if "error" in doc:
        raise FailedError(f"{what} failed: {doc['error']}")
    try:
        sent_bps, received_bps, sent_bytes, received_bytes, lost, retrans = _parse(doc, protocol)
    except (KeyError, TypeError, ValueError) as exc:
        raise FailedError(f"{what}: unexpected JSON ({exc})") from exc
    return Run(
        protocol,
        size,
        mss,
        src.name,
        dst.name,
        port,
        sent_bps,
        received_bps,
        sent_bytes,
        received_bytes,
        lost,
        retrans,
    )
