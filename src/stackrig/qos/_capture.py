"""Count the DSCP marks of the IPv4 packets a host receives (run inside its namespace, as root).

``python -m stackrig.qos._capture --iface eth0 --src A --dst B --port N`` opens a
packet socket, prints ``ready`` once it listens, counts the packets from A to B
(to port N, TCP or UDP) by DSCP value, and on SIGTERM or after ``--seconds``
prints one JSON line: ``{"packets": N, "dscp": {"46": N, ...}}``. No tcpdump needed.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence

__all__ = ["count_marks", "main"]

ETH_P_IP = 0x0800
ETH_HEADER = 14


def count_marks(frame: bytes, src: bytes, dst: bytes, port: int | None) -> int | None:
    """The DSCP of an Ethernet frame carrying IPv4 from ``src`` to ``dst`` (to ``port``), else None."""
    ip = frame[ETH_HEADER:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[12:16] != src or ip[16:20] != dst:
        return None
    if port is not None:
        header = (ip[0] & 0x0F) * 4
        if ip[9] not in (6, 17) or len(ip) < header + 4:
            return None
        if struct.unpack("!H", ip[header + 2 : header + 4])[0] != port:
            return None
    return ip[1] >> 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stackrig.qos._capture")
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--src", required=True)
    parser.add_argument("--dst", required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    src = ipaddress.IPv4Address(args.src).packed
    dst = ipaddress.IPv4Address(args.dst).packed
    stop = False

    def _stop(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    counts: dict[int, int] = {}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)) as sock:
        sock.bind((args.iface, 0))
        sock.settimeout(0.1)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        deadline = time.monotonic() + args.seconds
        while not stop and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError, InterruptedError):
                frame = sock.recv(256)
                mark = count_marks(frame, src, dst, args.port)
                if mark is not None:
                    counts[mark] = counts.get(mark, 0) + 1
    result = {"packets": sum(counts.values()), "dscp": {str(k): v for k, v in sorted(counts.items())}}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
