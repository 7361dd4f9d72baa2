"""Building the stackrig image on a test engine: ``make image`` as the README says, offline.

Every build runs with ``--network none`` and ``--cache-from`` the apt stages made by
``tests/containers/prepare.py``; the build stage and the previous image are named as cache
sources too, so an unchanged tree builds in seconds.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.containers import prepare
from tests.containers.engine import Engine, EngineError

__all__ = ["IMAGE_BUILD", "OFFLINE_BUILD", "BuiltImage", "build_image", "make_image"]

ROOT = Path(__file__).resolve().parents[2]


def cache_from() -> list[str]:
    """``--cache-from`` every apt stage of the tarball (the build cache of a loaded image)."""
    return [arg for stage in prepare.STAGES for arg in ("--cache-from", stage.tag)]


OFFLINE_BUILD = ["--network", "none", *cache_from()]
# The build stage and the image of the previous session: the classic builder takes a cached
# layer only from the history of a --cache-from image, so these make an unchanged tree a no-op.
BUILD_STAGE = "stackrig-test-cache/stackrig-build-session:latest"
IMAGE_BUILD = [*OFFLINE_BUILD, "--cache-from", BUILD_STAGE, "--cache-from", "stackrig:latest"]


@dataclass(frozen=True)
class BuiltImage:
    name: str
    version: str
    build_log: str

    @property
    def latest(self) -> str:
        return f"{self.name}:latest"


def make_image(engine: Engine, context: Path, name: str = "stackrig") -> subprocess.CompletedProcess[str]:
    """``make image`` exactly as the README says, on ``engine``, offline."""
    env = engine.env | {"IMAGE_CONTEXT": str(context), "DOCKER": engine.docker}
    flags = " ".join(IMAGE_BUILD)
    venv = Path(sys.executable).parent.parent
    argv = ["make", "--no-print-directory", "image", f"VENV={venv}", f"IMAGE={name}"]
    return subprocess.run(
        [*argv, f"IMAGE_BUILD_FLAGS={flags}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def build_image(engine: Engine, context: Path) -> BuiltImage:
    """The stackrig image of this tree on ``engine``; EngineError with make's output if it fails."""
    from stackrig import __version__

    done = make_image(engine, context)
    if done.returncode != 0:
        raise EngineError(
            f"make image failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    # Name the build stage too (all cached: a second or two), so that pruning untagged images
    # at the end keeps the layer of the dependencies' wheels for the next session.
    engine.run("build", "-q", "-f", str(ROOT / "Dockerfile"), "--target", "build", "-t", BUILD_STAGE,
               *IMAGE_BUILD, str(context), timeout=600)  # fmt: skip
    return BuiltImage("stackrig", __version__, done.stdout + done.stderr)
