"""Real MariaDB and PostgreSQL servers on loopback for ``migrate wait``, and the VM fixture tree.

Each server gets its own data folder and a free port; ``wait_for`` polls once
before the server process is spawned (so the first poll finds nothing listening
however fast the server starts and however late this process gets the CPU), the
server is spawned right after that poll, and after every poll that was not ready
the fixture checks on its own whether the server now accepts the login, so the
tests can count polls instead of timing them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg  # imported before a server is spawned, so the first poll is not slowed by the import
import pymysql
import pytest

from stackrig.migrate.wait import PollRecord, WaitResult, WaitSettings, wait_for
from tests.services import Service, free_port, start_service, unprivileged_argv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "migrate"
SEED_V1 = EXAMPLES / "docker-compose.v1.yml"

MARIADB_PASSWORD = "Mdb-Pl4nted-pw"
POSTGRES_PASSWORD = "Pg-Pl4nted-pw"
WRONG_PASSWORD = "Wr0ng-Pl4nted-pw"


@dataclass
class StartedServer:
    name: str
    port: int
    url: str
    wrong_url: str
    service: Service | None = None
    polls: list[PollRecord] = field(default_factory=list)
    accepted_after: dict[int, bool] = field(default_factory=dict)
    result: WaitResult | None = None


def _watch_start(server: StartedServer, start: Callable[[], Service], login: Callable[[], bool]) -> None:
    """Spawn the server right after the first poll; after each not-ready poll, check the login
    independently.

    Spawning first and then polling raced: MariaDB starts in ~0.1 s, and on a loaded machine
    this process could reach its first poll later than that, finding the server already up.
    """

    def record(rec: PollRecord) -> None:
        server.polls.append(rec)
        if rec.poll == 1:
            server.service = start()
        if not rec.ready:
            server.accepted_after[rec.poll] = login()

    server.result = wait_for(WaitSettings((server.url,), timeout=90, interval=0.05), on_poll=record)


def _stop(server: StartedServer) -> None:
    if server.service is not None:
        server.service.stop()


def _program(name: str, *fallbacks: str) -> str:
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(f"{name} is not installed: run scripts/apt-install.sh deps/apt/test-migrate.txt")


def _mariadb_login(port: int) -> bool:
    try:
        conn = pymysql.connect(
            host="127.0.0.1", port=port, user="app", password=MARIADB_PASSWORD, connect_timeout=2
        )
    except pymysql.err.MySQLError:
        return False
    conn.close()
    return True


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartedServer]:
    """A real MariaDB (Debian's mariadbd) with user app, started while wait_for polls it."""
    mariadbd = _program("mariadbd", "mysqld")
    install = _program("mariadb-install-db", "mysql_install_db")
    work = tmp_path_factory.mktemp("mariadb")
    data = work / "data"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
         "--skip-test-db", *as_root],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    init = work / "init.sql"
    init.write_text(
        f"CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY '{MARIADB_PASSWORD}';\n"
        "GRANT ALL ON *.* TO 'app'@'127.0.0.1';\n"
    )
    port = free_port()
    argv = [
        mariadbd, "--no-defaults", f"--datadir={data}", f"--socket={work / 'sock'}",
        f"--pid-file={work / 'mariadb.pid'}", f"--port={port}", "--bind-address=127.0.0.1",
        f"--init-file={init}", "--skip-log-bin", "--innodb-buffer-pool-size=16M", *as_root,
    ]  # fmt: skip
    server = StartedServer(
        "mariadb",
        port,
        f"mysql://app:{MARIADB_PASSWORD}@127.0.0.1:{port}/",
        f"mysql://app:{WRONG_PASSWORD}@127.0.0.1:{port}/",
    )
    try:
        _watch_start(
            server,
            lambda: start_service("mariadb", argv, workdir=work, ready=lambda: True),
            lambda: _mariadb_login(port),
        )
        yield server
    finally:
        _stop(server)


def _postgres_login(port: int) -> bool:
    try:
        conn = psycopg.connect(
            host="127.0.0.1", port=port, user="app", password=POSTGRES_PASSWORD, dbname="postgres",
            connect_timeout=2,
        )  # fmt: skip
    except psycopg.Error:
        return False
    conn.close()
    return True


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if versions:
        return str(versions[-1])
    pytest.fail(f"{name} is not installed: run scripts/apt-install.sh deps/apt/test-migrate.txt")


@pytest.fixture(scope="session")
def postgres() -> Iterator[StartedServer]:
    """A real PostgreSQL (initdb + postgres as nobody: it refuses root), started while wait_for polls it."""
    initdb, postgres_bin = _pg_bin("initdb"), _pg_bin("postgres")
    work = Path(tempfile.mkdtemp(prefix="stackrig-pg-"))
    work.chmod(0o755)
    pwfile = work / "pw"
    pwfile.write_text(POSTGRES_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(work, "nobody", "nogroup")
        shutil.chown(pwfile, "nobody", "nogroup")
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_START"}
    subprocess.run(
        unprivileged_argv([initdb, "-D", str(work / "data"), "-U", "app", "--auth=scram-sha-256",
                           f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True, timeout=120, env=env, cwd=work,
    )  # fmt: skip
    port = free_port()
    argv = unprivileged_argv(
        [postgres_bin, "-D", str(work / "data"), "-k", str(work), "-h", "127.0.0.1", "-p", str(port),
         "-c", "fsync=off", "-c", "shared_buffers=16MB"]
    )  # fmt: skip
    log_dir = work / "log"
    log_dir.mkdir()
    server = StartedServer(
        "postgres",
        port,
        f"postgres://app:{POSTGRES_PASSWORD}@127.0.0.1:{port}/postgres",
        f"postgres://app:{WRONG_PASSWORD}@127.0.0.1:{port}/postgres",
    )
    try:
        _watch_start(
            server,
            lambda: start_service("postgres", argv, workdir=log_dir, ready=lambda: True, env=env),
            lambda: _postgres_login(port),
        )
        yield server
    finally:
        _stop(server)
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
