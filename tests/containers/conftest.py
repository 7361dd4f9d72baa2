"""The container tests' fixtures: one private Docker engine per session, the stackrig image built on it.

The engine loads today's tarball of the base image and the apt stages (made by make test's
install step, ``tests/containers/prepare.py``); every build here runs with ``--network none``
and ``--cache-from`` those stages, so nothing is fetched from a mirror or an index during
the tests. All tests of this folder run in one xdist worker (group ``docker``): one engine,
one image build, while the other worker runs the rest of the suite.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.containers import prepare
from tests.containers.engine import Engine, EngineError, start_engine

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.xdist_group("docker"))


def cache_from() -> list[str]:
    """``--cache-from`` every apt stage of the tarball (the build cache of a loaded image)."""
    return [arg for stage in prepare.STAGES for arg in ("--cache-from", stage.tag)]


OFFLINE_BUILD = ["--network", "none", *cache_from()]
# The build stage and the image of the previous session: the classic builder takes a cached
# layer only from the history of a --cache-from image, so these make an unchanged tree a no-op.
BUILD_STAGE = "stackrig-test-cache/stackrig-build-session:latest"
IMAGE_BUILD = [*OFFLINE_BUILD, "--cache-from", BUILD_STAGE, "--cache-from", "stackrig:latest"]


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """dockerd on a private socket, with the cached base image and apt stages loaded.

    At the end: every container, network and volume removed, images of earlier builds
    (untagged now) pruned, the daemon stopped; the slot keeps today's images for the next run.
    """
    with prepare.engine_slot() as slot:
        try:
            started = start_engine(slot)
        except EngineError as exc:
            pytest.fail(str(exc))
        try:
            prepare.ensure_loaded(started)
            yield started
        except RuntimeError as exc:
            pytest.fail(str(exc))
        finally:
            started.clean()
            started.run("image", "prune", "-f", check=False, timeout=600)
            started.stop()


@dataclass(frozen=True)
class BuiltImage:
    name: str
    version: str
    build_log: str

    @property
    def latest(self) -> str:
        return f"{self.name}:latest"


def make_image(engine: Engine, context: Path, name: str = "stackrig") -> subprocess.CompletedProcess[str]:
    """``make image`` exactly as the README says, on the test engine, offline."""
    env = engine.env | {"IMAGE_CONTEXT": str(context), "DOCKER": engine.docker}
    flags = " ".join(IMAGE_BUILD)
    venv = Path(sys.executable).parent.parent
    argv = ["make", "--no-print-directory", "image", f"VENV={venv}", f"IMAGE={name}"]
    return subprocess.run(
        [*argv, f"IMAGE_BUILD_FLAGS={flags}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def image(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """The stackrig image, built once per session by ``make image`` from this tree's wheels."""
    from stackrig import __version__

    context = tmp_path_factory.mktemp("image-context")
    done = make_image(engine, context)
    if done.returncode != 0:
        pytest.fail(f"make image failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    # Name the build stage too (all cached: a second or two), so that pruning untagged images
    # at the end keeps the layer of the dependencies' wheels for the next session.
    engine.run("build", "-q", "-f", str(ROOT / "Dockerfile"), "--target", "build", "-t", BUILD_STAGE,
               *IMAGE_BUILD, str(context), timeout=600)  # fmt: skip
    return BuiltImage("stackrig", __version__, done.stdout + done.stderr)
