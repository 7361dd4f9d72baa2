"""The container tests' fixtures: one private Docker engine per session, the stackrig image built on it.

The engine loads today's tarball of the base image and the apt stages (made by make test's
install step, ``tests/containers/prepare.py``); every build here runs with ``--network none``
and ``--cache-from`` those stages, so nothing is fetched from a mirror or an index during
the tests. All tests of this folder run in one xdist worker (group ``docker``): one engine,
one image build, while the other worker runs the rest of the suite.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import STACKRIG, CliResult
from tests.containers import prepare
from tests.containers.build import BuiltImage, build_image
from tests.containers.engine import Engine, EngineError, start_engine

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.xdist_group("docker"))


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


@pytest.fixture(scope="session")
def image(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """The stackrig image, built once per session by ``make image`` from this tree's wheels."""
    try:
        return build_image(engine, tmp_path_factory.mktemp("image-context"))
    except EngineError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def cli_module(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., CliResult]:
    """The real console script for module-scoped fixtures (their own data folder)."""
    home = tmp_path_factory.mktemp("stackrig-home")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
        full = {**os.environ, "STACKRIG_HOME": str(home), **(env or {})}
        done = subprocess.run(
            [str(STACKRIG), *args], capture_output=True, text=True, env=full, timeout=timeout, check=False
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run
