"""make test's install step for the container tests: everything that needs the Debian mirror.

    python -m tests.containers.prepare          # prints the tarball it made or reuses

Tests must not reach the network, so what ``apt-get`` puts into images is made here, once:
the Debian 12 minbase base image (``scripts/base-image.sh``, tagged as our Dockerfile's FROM)
and every build stage that only installs Debian packages (the stackrig image's runtime and
build stages, the MariaDB and app stand-ins of the migrate test). A private dockerd builds
them with ``--network host`` and ``docker save`` writes them to one tarball in a cache
folder outside the clone, keyed by the date and by the text of those stages: a second
``make test`` the same day reuses it; a changed apt line or a new day makes a new one.
The tests ``docker load`` it and build with ``--cache-from`` and ``--network none``.

Where the engines keep their images: persistent data-roots ("slots") in the same cache
folder, each held by one engine at a time (a lock file), so a test session loads the
tarball only when its slot does not hold today's images yet, and never spends a minute
deleting a gigabyte of layers at the end. The install step builds in a slot too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.containers.engine import Engine, running_engine

ROOT = Path(__file__).resolve().parents[2]
IMAGES = Path(__file__).resolve().parent / "images"
BASE_SCRIPT = ROOT / "scripts" / "base-image.sh"
KEEP_DAYS = 2
SLOTS = 16


@dataclass(frozen=True)
class CachedStage:
    """A build stage that only installs Debian packages, saved under ``tag``."""

    dockerfile: Path
    target: str

    @property
    def tag(self) -> str:
        owner = "stackrig" if self.dockerfile.parent == ROOT else self.dockerfile.parent.name
        return f"stackrig-test-cache/{owner}-{self.target}:latest"

    def text(self) -> str:
        """The stage's instructions (FROM .. up to the next FROM), plus the ARGs before the first FROM."""
        lines = self.dockerfile.read_text().splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("FROM"))
        head = [line for line in lines[:first] if line.startswith("ARG")]
        pattern = re.compile(rf"^FROM\s+\S+\s+AS\s+{re.escape(self.target)}\s*$", re.IGNORECASE)
        start = next(i for i, line in enumerate(lines) if pattern.match(line))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("FROM")), len(lines))
        body = [line for line in lines[start:end] if line.strip() and not line.lstrip().startswith("#")]
        return "\n".join(head + body)


STAGES = (
    CachedStage(ROOT / "Dockerfile", "fio-build"),
    CachedStage(ROOT / "Dockerfile", "runtime"),
    CachedStage(ROOT / "Dockerfile", "build-deps"),
    CachedStage(IMAGES / "mariadb" / "Dockerfile", "deps"),
    CachedStage(IMAGES / "app" / "Dockerfile", "deps"),
)


def base_tag() -> str:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG BASE="):
            return line.split("=", 1)[1].strip()
    raise RuntimeError("Dockerfile has no ARG BASE=")


def cache_root() -> Path:
    """Outside the clone: $STACKRIG_TEST_CACHE, else $XDG_CACHE_HOME/stackrig, else ~/.cache/stackrig."""
    if os.environ.get("STACKRIG_TEST_CACHE"):
        return Path(os.environ["STACKRIG_TEST_CACHE"]) / "containers"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "stackrig" / "containers"


def cache_key(today: dt.date | None = None) -> str:
    digest = hashlib.sha256(BASE_SCRIPT.read_bytes())
    for stage in STAGES:
        digest.update(stage.text().encode())
    return f"{(today or dt.date.today()).isoformat()}-{digest.hexdigest()[:12]}"


def tarball(today: dt.date | None = None) -> Path:
    """Where today's images are (made by :func:`prepare`)."""
    return cache_root() / cache_key(today) / "images.tar"


def cache_tags() -> list[str]:
    return [base_tag(), *(stage.tag for stage in STAGES)]


def _log(message: str) -> None:
    print(f"containers: {message}", file=sys.stderr, flush=True)


def _build(engine: Engine) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [str(BASE_SCRIPT), "--tag", base_tag()], env=engine.env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/base-image.sh failed:\n{done.stdout}{done.stderr}")
    _log(f"base image {base_tag()} made in {time.monotonic() - started:.0f} s")
    with tempfile.TemporaryDirectory(prefix="stackrig-empty-") as empty:
        for stage in STAGES:
            started = time.monotonic()
            engine.run(
                "build", "--network", "host", "-f", str(stage.dockerfile), "--target", stage.target,
                "-t", stage.tag, empty, timeout=900,
            )  # fmt: skip
            _log(f"{stage.tag} built in {time.monotonic() - started:.0f} s")


def _prune_old(root: Path, keep: str) -> None:
    cutoff = time.time() - KEEP_DAYS * 86400
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.name == "engines":
            continue
        if folder.is_dir() and folder.name != keep and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def engine_slot() -> Iterator[Path]:
    """A persistent data-root no other engine uses now (held until the block ends)."""
    base = cache_root() / "engines"
    base.mkdir(parents=True, exist_ok=True)
    for number in range(SLOTS):
        handle = open(base / f"slot-{number}.lock", "w")  # noqa: SIM115 - held across the yield
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield base / f"slot-{number}"
        finally:
            handle.close()
        return
    raise RuntimeError(f"all {SLOTS} engine slots in {base} are in use")


def _loaded_marker(engine: Engine) -> Path:
    return engine.data_root.with_name(engine.data_root.name + ".loaded")


def ensure_loaded(engine: Engine) -> None:
    """Today's base image and apt stages on ``engine``: loaded from the tarball unless already there."""
    marker = _loaded_marker(engine)
    key = cache_key()
    if marker.is_file() and marker.read_text() == key and set(cache_tags()) <= engine.images():
        return
    source = tarball()
    if not source.is_file():
        raise RuntimeError(
            f"{source} is missing: make test makes it before the tests "
            "(or run: .venv/bin/python -m tests.containers.prepare)"
        )
    engine.run("load", "-q", "-i", str(source), timeout=600)
    engine.run("image", "prune", "-f", timeout=600)  # the stages of another day, untagged now
    marker.write_text(key)


def prepare() -> Path:
    """Make (or reuse) today's tarball of the base image and the apt stages; return its path."""
    target = tarball()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two make test at once: one builds, the other reuses
        if target.is_file():
            _log(f"reusing {target}")
            return target
        started = time.monotonic()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".tar.partial")
        with engine_slot() as slot, running_engine(slot) as engine:
            _build(engine)
            engine.run("save", "-o", str(partial), *cache_tags(), timeout=600)
            _loaded_marker(engine).write_text(cache_key())
        partial.rename(target)
        size = target.stat().st_size / 1e6
        _log(f"saved {target} ({size:.0f} MB) in {time.monotonic() - started:.0f} s")
        _prune_old(root, target.parent.name)
        return target


if __name__ == "__main__":
    print(prepare())
