"""The package as people install it: sdist and wheel built once, installed into fresh venvs.

The wheel is built from this checkout with ``python -m build`` (sdist first, then the wheel from
the sdist, so a file missing from the sdist fails here too) and installed with ``--no-index``
from the wheelhouse ``make wheelhouse`` fills (``$STACKRIG_WHEELHOUSE``, else ``.wheelhouse/``):
nothing is downloaded. Two venvs: one with ``stackrig[all]``, one with the bare core. Commands
run there from a folder outside the checkout, with no source tree on ``sys.path``.

Built once per session even under pytest-xdist: the first worker builds under a file lock in
the session's shared temporary folder, the others reuse what it made.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
Done = subprocess.CompletedProcess[str]


def wheelhouse() -> Path:
    folder = Path(os.environ.get("STACKRIG_WHEELHOUSE") or ROOT / ".wheelhouse")
    if not any(folder.glob("*.whl")):
        pytest.fail(f"no wheelhouse at {folder}: run `make wheelhouse` (make test does)")
    return folder


@dataclass(frozen=True)
class Installed:
    """A venv holding the wheel, and how to run its console script."""

    venv: Path
    workdir: Path

    @property
    def stackrig(self) -> Path:
        return self.venv / "bin" / "stackrig"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COVERAGE", "VIRTUAL_ENV"))}
        env["STACKRIG_HOME"] = str(self.workdir / "home")
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.stackrig), *args],
            cwd=self.workdir,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path
    full: Installed
    core: Installed


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )


def _install(folder: Path, requirement: str) -> Installed:
    folder.mkdir()
    venv = folder / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], folder)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    _run([*pip, "install", "-q", "--no-index", "--find-links", str(wheelhouse()), requirement], folder)
    work = folder / "work"
    work.mkdir()
    return Installed(venv, work)


def _build(base: Path) -> Built:
    dist = base / "dist"
    # --no-isolation: hatchling is in the test venv, so the build downloads nothing.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)], base)
    (sdist,) = dist.glob("stackrig-*.tar.gz")
    (wheel,) = dist.glob("stackrig-*.whl")
    full = _install(base / "full", f"{wheel}[all]")
    core = _install(base / "core", str(wheel))
    return Built(sdist, wheel, full, core)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside the session's: share the parent.
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "stackrig-packaging"
    shared.mkdir(exist_ok=True)
    marker = shared / "built.json"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            paths = json.loads(marker.read_text())
            result = Built(
                Path(paths["sdist"]),
                Path(paths["wheel"]),
                Installed(Path(paths["full"]), Path(paths["full_work"])),
                Installed(Path(paths["core"]), Path(paths["core_work"])),
            )
        else:
            result = _build(shared)
            marker.write_text(
                json.dumps(
                    {
                        "sdist": str(result.sdist),
                        "wheel": str(result.wheel),
                        "full": str(result.full.venv),
                        "full_work": str(result.full.workdir),
                        "core": str(result.core.venv),
                        "core_work": str(result.core.workdir),
                    }
                )
            )
    return result
