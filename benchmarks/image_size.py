"""The stackrig image: its size against fio-tools' figure, and how fast `docker stop` ends it.

Size: the image `make image` builds (fio, Python, stackrig with its bench extra, tini), layer
by layer, and squashed into one layer (``docker export | docker import``, the "quick squash"
of the monolith's write-up), next to the reference this project set out to beat: that image,
184 MB once squashed (256 MB before). No registry is reachable here, so the reference is the
published figure, not a pull.

Stop: `docker stop` of the dashboard (`serve`) against what fio-plotserve did, Python's
http.server as PID 1 (it ignores SIGTERM, so docker waits its 10 s and kills it), both run
from the same image on the same engine, pair by pair.

Needs root and make test's install step (the engine's cached base image and apt stages).
Usage: python benchmarks/image_size.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.containers import prepare  # noqa: E402 - after the path is set
from tests.containers.build import build_image  # noqa: E402
from tests.containers.engine import Engine, start_engine  # noqa: E402

REFERENCE_SQUASHED_MB = 184.0
REFERENCE_UNSQUASHED_MB = 256.0


def mb(size: float) -> str:
    return f"{size / 1e6:.0f} MB"


def layers(engine: Engine, image: str) -> list[tuple[int, str]]:
    out = engine.run("history", "--no-trunc", "--format", "{{json .}}", image).stdout.splitlines()
    rows = [(_bytes(e["Size"]), " ".join(e["CreatedBy"].split())[:90]) for e in map(json.loads, out)]
    return [row for row in rows if row[0] > 0]


def _bytes(text: str) -> int:
    units = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}
    for unit in ("kB", "KB", "MB", "GB", "B"):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * units[unit])
    return int(text or 0)


def image_size(engine: Engine, image: str) -> int:
    return int(engine.run("image", "inspect", "-f", "{{.Size}}", image).stdout)


def squashed_size(engine: Engine, image: str) -> int:
    container = engine.run("create", image).stdout.strip()
    try:
        with tempfile.TemporaryDirectory() as folder:
            tar = Path(folder) / "rootfs.tar"
            engine.run("export", "-o", str(tar), container, timeout=600)
            engine.run("import", str(tar), "stackrig-bench/squashed:latest", timeout=600)
    finally:
        engine.run("rm", container)
    size = image_size(engine, "stackrig-bench/squashed:latest")
    engine.run("rmi", "stackrig-bench/squashed:latest")
    return size


def stop_seconds(engine: Engine, network: str, *args: str) -> float:
    """Start a container, wait until its port answers inside, then time `docker stop`."""
    container = engine.run("run", "-d", "--network", network, *args).stdout.strip()
    try:
        probe = "import socket,sys; socket.create_connection(('127.0.0.1', 8000), 1)"
        deadline = time.monotonic() + 60
        while engine.run("exec", container, "python3", "-c", probe, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not listen within 60 s")
            time.sleep(0.1)
        started = time.monotonic()
        engine.run("stop", container, timeout=60)
        return time.monotonic() - started
    finally:
        engine.run("rm", "-f", container, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    if os.geteuid() != 0:
        sys.exit("image_size: needs root (it starts its own dockerd)")
    prepare.prepare()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with prepare.engine_slot() as slot:
        engine = start_engine(slot)
        try:
            prepare.ensure_loaded(engine)
            with tempfile.TemporaryDirectory() as context:
                built = build_image(engine, Path(context))
            image = built.latest
            size, squashed = image_size(engine, image), squashed_size(engine, image)
            print(f"\nstackrig:{built.version} layers (base {prepare.base_tag()} included):")
            for layer_size, created_by in layers(engine, image):
                print(f"  {mb(layer_size):>7}  {created_by}")
            print(f"\n{'image':<44}{'size':>9}{'ratio to 184 MB':>18}")
            print(
                f"{'stackrig (layers as built)':<44}{mb(size):>9}{size / 1e6 / REFERENCE_SQUASHED_MB:>17.2f}x"
            )
            print(f"{'stackrig squashed (export | import)':<44}{mb(squashed):>9}"
                  f"{squashed / 1e6 / REFERENCE_SQUASHED_MB:>17.2f}x")  # fmt: skip
            print(
                f"{'reference: the write-up image, squashed':<44}{REFERENCE_SQUASHED_MB:>6.0f} MB{1:>17.2f}x"
            )
            print(f"{'reference: the same, before squashing':<44}{REFERENCE_UNSQUASHED_MB:>6.0f} MB"
                  f"{REFERENCE_UNSQUASHED_MB / REFERENCE_SQUASHED_MB:>17.2f}x")  # fmt: skip

            network = "stackrig-bench"
            engine.run("network", "create", network)
            ours, theirs = [], []
            for _ in range(rounds):
                ours.append(stop_seconds(engine, network, image, "serve"))
                plain = ("--entrypoint", "python3", image, "-m", "http.server", "8000")
                theirs.append(stop_seconds(engine, network, *plain))
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"\n`docker stop` (default 10 s grace), median of {rounds}:")
            print(f"  stackrig serve (tini, SIGTERM ends the dashboard)   {a:6.2f} s")
            print(f"  http.server as PID 1 (fio-plotserve's way)          {b:6.2f} s")
            print(f"  ratio stackrig / fio-plotserve                      {a / b:6.3f}")
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
