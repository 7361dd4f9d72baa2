"""Fixtures of the bench tests: real fio runs shared across tests, fio servers, a tiny HTTP server."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STACKRIG
from tests.services import Service, free_port, start_service

DATA = Path(__file__).resolve().parent / "data"
FIO = shutil.which("fio")

needs_fio = pytest.mark.skipif(FIO is None, reason="fio is not installed (make test installs it)")


def stackrig(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    if env:
        full.update(env)
    return subprocess.run(
        [str(STACKRIG), *args], capture_output=True, text=True, env=full, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class SharedRun:
    """A real successful ``bench run`` made once per session."""

    home: Path
    db: Path
    runs_dir: Path
    id: str
    folder: Path
    envelope: dict[str, Any]

    def args(self) -> list[str]:
        return ["--db", str(self.db)]


def _run(home: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = stackrig("--data-dir", str(home), "bench", "run", *extra, "--json")
    assert done.returncode == 0, done.stderr
    return done, json.loads(done.stdout)


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SharedRun]:
    """Three real runs in one history: quick with logs, quick without logs, throttled (a regression)."""
    if FIO is None:
        pytest.skip("fio is not installed")
    home = tmp_path_factory.mktemp("bench-shared")
    made: dict[str, SharedRun] = {}
    for key, extra in (
        (
            "logs",
            [
                str(DATA / "quick.fio"),
                "--logs",
                "--log-avg-msec",
                "200",
                "--label",
                "cloud=aws",
                "--label",
                "volume=gp3",
                "--name",
                "baseline",
            ],
        ),
        ("plain", [str(DATA / "quick.fio"), "--label", "cloud=aws", "--name", "again"]),
        ("throttled", [str(DATA / "throttled.fio"), "--label", "cloud=gcp", "--name", "slow"]),
    ):
        _, doc = _run(home, *extra)
        run = doc["data"]["run"]
        made[key] = SharedRun(
            home=home,
            db=home / "stackrig.db",
            runs_dir=home / "runs",
            id=run["id"],
            folder=Path(run["folder"]),
            envelope=doc,
        )
    return made


@pytest.fixture
def home_args(data_dir: Path) -> list[str]:
    return ["--data-dir", str(data_dir)]


@pytest.fixture(scope="session")
def fio_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Service]]:
    """Two real ``fio --server`` processes on 127.0.0.2 and 127.0.0.3."""
    if FIO is None:
        pytest.skip("fio is not installed")
    base = tmp_path_factory.mktemp("fio-servers")
    started: list[Service] = []
    try:
        for address in ("127.0.0.2", "127.0.0.3"):
            port = free_port(address)
            started.append(
                start_service(
                    f"fio-{address}",
                    [FIO, f"--server=ip:{address},{port}"],
                    workdir=base / address,
                    host=address,
                    port=port,
                )
            )
        yield started
    finally:
        for service in started:
            service.stop()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


@pytest.fixture(scope="session")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    root = tmp_path_factory.mktemp("http")
    shutil.copy(DATA / "quick.fio", root / "quick.fio")
    (root / "huge.fio").write_text("[x]\nrw=read\n" + "; padding\n" * 300_000)

    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
